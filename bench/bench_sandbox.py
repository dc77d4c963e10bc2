"""Start-up and shut-down of the sandbox world: ``kasboot sandbox up --detach`` (first
up, which seeds, and a restart on the same state) and ``down``, timed through the CLI."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _timed(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "kasboot", *args], check=True, capture_output=True, timeout=120
    )
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as scratch:
        directory = str(Path(scratch) / "world")
        timings = {}
        try:
            timings["up (first, seeds Flux)"] = _timed(
                "sandbox", "up", "--dir", directory, "--detach"
            )
        finally:
            timings["down"] = _timed("sandbox", "down", "--dir", directory)
        try:
            timings["up (restart)"] = _timed("sandbox", "up", "--dir", directory, "--detach")
        finally:
            timings["down (again)"] = _timed("sandbox", "down", "--dir", directory)
    print("sandbox start-up")
    for label, seconds in timings.items():
        print(f"  {label:<24} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
