"""Start-up: `kasboot --help`, `kasboot bootstrap --help` and `kasboot --version`, each as
a ratio to `python -c 'import click'` (the least a click CLI can cost) measured in the
same run, interleaved round by round, best of N each (the best run is the one the busy
machine disturbed least; a ratio of two bests cancels the machine's speed).

Both sides run with bytecode caches written (PYTHONDONTWRITEBYTECODE unset, one warm-up
run first), as a wheel installed with pip has them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.world import kasboot_command

ROUNDS = 15
BASELINE = "python -c 'import click'"
COMMANDS: dict[str, list[str]] = {
    "kasboot --help": ["--help"],
    "kasboot bootstrap --help": ["bootstrap", "--help"],
    "kasboot --version": ["--version"],
}


def _environment() -> dict[str, str]:
    environ = dict(os.environ)
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    return environ


def _timed(command: list[str], environ: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environ)
    return time.perf_counter() - started


def measure(rounds: int = ROUNDS) -> dict[str, dict[str, float]]:
    """{command: {"best_s", "ratio"}} with the baseline's own row (ratio 1)."""
    environ = _environment()
    commands = {BASELINE: [sys.executable, "-c", "import click"]}
    for label, args in COMMANDS.items():
        commands[label] = [*kasboot_command(), *args]
    for command in commands.values():  # warm-up: bytecode written, files in the page cache
        _timed(command, environ)
    best = {label: float("inf") for label in commands}
    for _ in range(rounds):
        for label, command in commands.items():
            best[label] = min(best[label], _timed(command, environ))
    return {
        label: {"best_s": round(seconds, 4), "ratio": round(seconds / best[BASELINE], 2)}
        for label, seconds in best.items()
    }
