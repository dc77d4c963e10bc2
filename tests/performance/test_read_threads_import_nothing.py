"""Pre-flight's reads start before the steps are imported, and the main thread imports
them while the reads travel (issue 18: start-up overlapped with round trips). Two
threads importing at once can deadlock on CPython's module locks (``_DeadlockError``)
when their imports meet, so the read threads must import nothing: every module they
run is imported before they start (steps/preflight_reads.py). Checked in a child
interpreter with an import hook that records each module found off the main thread,
on a real bootstrap of a sandbox world — the imports, never the time. The same run
shows that the garbage collector, paused while the command starts (startup_gc.py),
runs again before the end."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest
from bench.world import BOOTSTRAP_ARGS, World

pytestmark = pytest.mark.sandbox

# Records (thread name, module) for every module a thread other than the main one
# imports for the first time; reports them at exit.
_PROBE = """
import atexit, gc, sys, threading

found = []
collections = []
gc.callbacks.append(lambda phase, info: collections.append(phase) if phase == "start" else None)


class Recorder:
    @staticmethod
    def find_spec(name, path=None, target=None):
        thread = threading.current_thread()
        if thread is not threading.main_thread():
            found.append((thread.name, name))
        return None


sys.meta_path.insert(0, Recorder)
atexit.register(lambda: sys.stderr.write(f"off-main-imports {found!r}\\n"))
atexit.register(lambda: sys.stderr.write(f"collections {len(collections)}\\n"))
sys.argv = ["kasboot", *sys.argv[1:]]
from kasboot.cli import main
collections.clear()  # from here on: what the entry point paused, and resumed
main()
"""
# The threads that run while the main thread imports the steps (steps/preflight_reads.py
# and the parallel reads inside them, steps/parallel.py).
_READ_THREADS = ("preflight-", "read-")


@pytest.mark.timeout(300)
def test_preflight_read_threads_import_no_module() -> None:
    with World("read-imports") as world:
        environ = {**os.environ, **world.env}
        environ.pop("CI_JOB_TOKEN", None)
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, *BOOTSTRAP_ARGS],
            capture_output=True,
            text=True,
            env=environ,
            cwd=world.dir.parent,  # not inside a clone: -R names the project
            stdin=subprocess.DEVNULL,
            timeout=240,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stderr.splitlines() if line.startswith("off-main-imports"))
    imported = ast.literal_eval(line.removeprefix("off-main-imports "))
    by_reads = [(thread, module) for thread, module in imported if thread.startswith(_READ_THREADS)]
    assert by_reads == [], f"pre-flight's read threads imported modules: {by_reads}"
    collected = next(line for line in done.stderr.splitlines() if line.startswith("collections "))
    assert int(collected.split()[1]) > 0, "the collector never ran again after start-up"
