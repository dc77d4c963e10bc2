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


def _timed(command: list[str], environ: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `command`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environ
    )
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0  # reaped by wait4
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def measure(rounds: int = ROUNDS) -> dict[str, dict[str, float]]:
    """{command: {"best_s", "ratio", "cpu_ratio"}} with the baseline's own row (ratio 1).
    cpu_ratio: the same median over CPU time (user + system), which a busy machine
    disturbs less than wall time."""
    environ = _environment()
    commands = {BASELINE: [sys.executable, "-c", "import click"]}
    for label, args in COMMANDS.items():
        commands[label] = [*kasboot_command(), *args]
    for command in commands.values():  # warm-up: bytecode written, files in the page cache
        _timed(command, environ)
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    for _ in range(rounds):
        for label, command in commands.items():
            times[label].append(_timed(command, environ))

    def median_ratio(label: str, which: int) -> float:
        pairs = zip(times[label], times[BASELINE], strict=True)
        return round(statistics.median(own[which] / base[which] for own, base in pairs), 2)

    return {
        label: {
            "best_s": round(min(wall for wall, _ in times[label]), 4),
            "ratio": median_ratio(label, 0),
            "cpu_ratio": median_ratio(label, 1),
        }
        for label in commands
    }
