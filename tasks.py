#!/usr/bin/env python3
"""Project tasks that need nothing but Python 3.10+ and git.

    python3 tasks.py demo   install into .venv, then run the narrated demo on the sandbox
    python3 tasks.py test   install into .venv, then ruff, mypy and the whole test suite
    python3 tasks.py lint   ruff + mypy only
    python3 tasks.py bench  every figure of the performance budget (bench/, docs/performance.md):
                            writes bench/results.json, exits 1 when a budget is missed;
                            `bench --counts-only` for the exact counts alone
    python3 tasks.py oldest-client
                            doctor/status integration tests with the oldest kubernetes
                            client pyproject.toml allows (a separate .venv-oldest-client)
    python3 tasks.py test-slow
                            the slow variants alone (KASBOOT_SLOW_TESTS=1 pytest -m slow),
                            in one process; CI runs it after test and oldest-client

The virtual environment is (re)built whenever pyproject.toml changes, so a fresh
clone and a stale checkout behave the same.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".kasboot-installed"


def _run(*cmd: str | os.PathLike[str], env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    completed = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[test]")
    STAMP.write_text(wanted)


def lint() -> None:
    _run(
        BIN / "ruff", "check", "src", "tests", "bench", "e2e", "examples", "conftest.py", "tasks.py"
    )
    _run(
        BIN / "ruff",
        "format",
        "--check",
        "src",
        "tests",
        "bench",
        "e2e",
        "examples",
        "conftest.py",
        "tasks.py",
    )
    _run(BIN / "mypy")


def test(extra: list[str]) -> None:
    lint()
    # One worker per core; a test module stays on one worker (its tests share a sandbox
    # and may build on each other's state).
    parallel = ["-n", "auto", "--dist", "loadfile"] if not extra else []
    _run(BIN / "python", "-m", "pytest", "-q", *parallel, *extra)


def test_slow(extra: list[str]) -> None:
    """The `slow` variants (crash matrix, races, fault rates, fleet, e2e on a sandbox…)
    in one process. Their sandboxes are their own (free ports), so xdist's loadfile would
    be as safe as in `test`, but two workers on two cores would put the fault cases'
    2 s GitLab read timeout and the races' natural timing under load they were not
    measured under, for a few minutes saved: serially the pass takes about 18 minutes,
    well inside CI's 90 with `test` (about 8)."""
    env = {**os.environ, "KASBOOT_SLOW_TESTS": "1"}
    _run(BIN / "python", "-m", "pytest", "-q", "-m", "slow", *extra, env=env)


OLDEST = ROOT / ".venv-oldest-client"
OLDEST_SUBSET = (
    "tests/conformance/kube/test_kube_http.py",
    "tests/integration/test_doctor.py",
    "tests/integration/test_status.py",
)


def oldest_kubernetes() -> str:
    """``kubernetes>=29.0`` in pyproject.toml -> ``kubernetes==29.0.*``."""
    import re

    found = re.search(r'"kubernetes>=([0-9][0-9.]*)', (ROOT / "pyproject.toml").read_text())
    if found is None:
        sys.exit("pyproject.toml names no kubernetes>= floor")
    return f"kubernetes=={found.group(1)}.*"


def oldest_client(extra: list[str]) -> None:
    """The floor of the allowed kubernetes clients, tested: a venv holding only that
    client (and what it needs), which sees .venv's packages (kasboot, pytest) behind its
    own, runs the doctor/status integration tests; the sandbox and the CLI they start run
    with the old client too."""
    bin_dir = OLDEST / ("Scripts" if os.name == "nt" else "bin")
    if not (bin_dir / "python").exists():
        venv.EnvBuilder(with_pip=True).create(OLDEST)
    purelib = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    main_purelib = subprocess.run(
        [str(BIN / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # addsitedir (not a bare path line) so .venv's own .pth files (kasboot's editable
    # install) are processed; appended after this venv's site-packages, which wins.
    (Path(purelib) / "kasboot_main_venv.pth").write_text(
        f"import site; site.addsitedir({main_purelib!r})\n"
    )
    kubectl = bin_dir / "kubectl"
    if not kubectl.exists() and (BIN / "kubectl").exists():
        kubectl.symlink_to(BIN / "kubectl")
    _run(bin_dir / "python", "-m", "pip", "install", "--quiet", oldest_kubernetes())
    _run(bin_dir / "python", "-c", "import kubernetes; print('kubernetes', kubernetes.__version__)")
    _run(bin_dir / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *OLDEST_SUBSET, *extra)


def demo(extra: list[str]) -> None:
    _run(BIN / "kasboot", "demo", *extra)


def bench(extra: list[str]) -> None:
    _run(BIN / "python", "-m", "bench", *extra)


def main(argv: list[str]) -> None:
    tasks = {"demo", "test", "test-slow", "lint", "bench", "install", "oldest-client"}
    if not argv or argv[0] not in tasks:
        print(__doc__)
        sys.exit(2)
    task, extra = argv[0], argv[1:]
    ensure_venv()
    if task == "test":
        test(extra)
    elif task == "test-slow":
        test_slow(extra)
    elif task == "lint":
        lint()
    elif task == "demo":
        demo(extra)
    elif task == "bench":
        bench(extra)
    elif task == "oldest-client":
        oldest_client(extra)


if __name__ == "__main__":
    main(sys.argv[1:])
