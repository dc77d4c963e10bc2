"""Every figure of the budget table, measured in one run: prints the table, writes
bench/results.json ([{figure, budget, measured, pass, unit, detail}, …]) and returns 1
when a budget is missed (or a scenario could not run)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from bench import figures
from bench.figures import Figure

RESULTS = Path(__file__).resolve().parent / "results.json"
PARTS = ("base", "growth", "latency", "startup")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--counts-only", action="store_true", help="only the exact counts")
    parser.add_argument("--skip", default="", help=f"comma-separated parts of {PARTS}")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def _show(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ratio":
        return f"{value:.2f}"
    return f"{value:g}"


def print_table(results: list[Figure]) -> None:
    width = max(len(f.figure) for f in results)
    print(f"{'figure':<{width}}  {'budget':>8}  {'measured':>9}  pass")
    for f in results:
        verdict = {True: "ok", False: "MISSED", None: "-"}[f.passed]
        budget = "-" if f.budget is None else f"<= {_show(f.budget, f.unit)}"
        print(f"{f.figure:<{width}}  {budget:>8}  {_show(f.measured, f.unit):>9}  {verdict}")
        if f.detail:
            print(f"{'':<{width}}    {f.detail}")


def compile_kasboot() -> None:
    """Byte-compile kasboot's package first, as installing a wheel with pip does: every
    bootstrap bench runs is a new interpreter, and with PYTHONDONTWRITEBYTECODE (set in
    CI and in the test environments) a tree without caches recompiles each of its 240
    modules on every start — 0.2 s before the first request that an installed kasboot
    never spends, counted into wall / floor."""
    import compileall

    import kasboot

    compileall.compile_dir(str(Path(kasboot.__file__).parent), quiet=2)


def main(argv: list[str]) -> int:
    options = _parse(argv)
    compile_kasboot()
    skip = {part.strip() for part in options.skip.split(",") if part.strip()}
    if options.counts_only:
        skip |= {"latency", "startup"}
    results: list[Figure] = []
    failures: list[str] = []
    started = time.time()

    def attempt(part: str, produce: object) -> None:
        if part in skip:
            return
        try:
            made = produce()  # type: ignore[operator]
            results.extend(made if isinstance(made, list) else [made])
        except Exception as error:  # a scenario that cannot run is a missed budget
            failures.append(f"{part}: {type(error).__name__}: {error}")

    baseline: list[int] = []

    def base() -> list[Figure]:
        made, total = figures.base_figures()
        baseline.append(total)
        return made

    attempt("base", base)
    if baseline:
        for key in figures.GROWTH:
            attempt("growth", lambda key=key: figures.growth_figure(key, baseline[0]))
    for milliseconds in figures.LATENCIES_MS:
        attempt("latency", lambda ms=milliseconds: figures.latency_figures(ms))
    attempt("startup", figures.startup_figures)
    print_table(results)
    for failure in failures:
        print(f"could not measure: {failure}")
    document = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "python": platform.python_version(),
        "seconds": round(time.time() - started, 1),
        # Timing figures are ratios, but a machine this busy still blurs them.
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "figures": [f.as_json() for f in results],
        "errors": failures,
    }
    options.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; wrote {options.output}")
    missed = [f for f in results if f.passed is False]
    return 1 if missed or failures else 0
