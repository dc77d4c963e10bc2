"""Start-up: `kasboot --help`, `kasboot bootstrap --help` and `kasboot --version`, each as
a ratio to `python -c 'import click'` (the least a click CLI can cost) measured in the
same run, interleaved round by round: each round times the baseline and then each
command back to back, so both see the same load; the figure is the median over the
rounds of command ÷ baseline (a load spike inflates one round, not the median). The best
times are reported too.

Both sides run with bytecode caches written (PYTHONDONTWRITEBYTECODE unset, one warm-up
run first), as a wheel installed with pip has them."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from bench.world import kasboot_command

ROUNDS = 21
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
    times: dict[str, list[float]] = {label: [] for label in commands}
    ratios: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(rounds):
        for label, command in commands.items():
            times[label].append(_timed(command, environ))
        for label in commands:
            ratios[label].append(times[label][-1] / times[BASELINE][-1])
    return {
        label: {
            "best_s": round(min(times[label]), 4),
            "ratio": round(statistics.median(ratios[label]), 2),
        }
        for label in commands
    }
