"""python -m bench [--counts-only] [--skip startup,latency,growth] [--output FILE]
python -m bench sandbox     (sandbox up/down times, informational)

Runs every figure of the budget table (bench/figures.py), prints it, writes
bench/results.json and exits 1 when a budget is missed."""

from __future__ import annotations

import sys

from bench import bench_budgets


def main(argv: list[str]) -> int:
    if argv[:1] == ["sandbox"]:
        from bench import bench_sandbox

        bench_sandbox.main()
        return 0
    return bench_budgets.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
