#!/usr/bin/env python3
"""Project tasks that need nothing but Python 3.10+ and git.

    python3 tasks.py demo   install into .venv, then run the narrated demo on the sandbox
    python3 tasks.py test   install into .venv, then ruff, mypy and the whole test suite
    python3 tasks.py lint   ruff + mypy only
    python3 tasks.py bench  the benchmarks in bench/

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


def _run(*cmd: str | os.PathLike[str]) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    completed = subprocess.run([str(c) for c in cmd], cwd=ROOT)
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
    _run(BIN / "ruff", "check", "src", "tests", "bench", "e2e", "tasks.py")
    _run(BIN / "ruff", "format", "--check", "src", "tests", "bench", "e2e", "tasks.py")
    _run(BIN / "mypy")


def test(extra: list[str]) -> None:
    lint()
    # One worker per core; a test module stays on one worker (its tests share a sandbox
    # and may build on each other's state).
    parallel = ["-n", "auto", "--dist", "loadfile"] if not extra else []
    _run(BIN / "python", "-m", "pytest", "-q", *parallel, *extra)


def demo(extra: list[str]) -> None:
    _run(BIN / "kasboot", "demo", *extra)


def bench(extra: list[str]) -> None:
    _run(BIN / "python", "-m", "bench", *extra)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"demo", "test", "lint", "bench", "install"}:
        print(__doc__)
        sys.exit(2)
    task, extra = argv[0], argv[1:]
    ensure_venv()
    if task == "test":
        test(extra)
    elif task == "lint":
        lint()
    elif task == "demo":
        demo(extra)
    elif task == "bench":
        bench(extra)


if __name__ == "__main__":
    main(sys.argv[1:])
