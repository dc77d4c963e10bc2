"""HelmRelease Ready -> process exit (issue 18, bench measures it): after kasboot's last
request the interpreter's shutdown used to run the cyclic garbage collector over every
object of 1,000+ modules, several times. The entry point freezes them first. Checked by
what a child interpreter's atexit handler sees (run after the entry point returned), and
that the exit code and output stay those of the command — never by time."""

from __future__ import annotations

import subprocess
import sys

# An atexit handler registered before kasboot's entry point runs after it: it reports
# whether the collector is off and how many objects were frozen.
_PROBE = """
import atexit, gc, sys
atexit.register(lambda: sys.stderr.write(f"probe {gc.isenabled()} {gc.get_freeze_count()}\\n"))
sys.argv = ["kasboot", *sys.argv[1:]]
from kasboot.cli import main
main()
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _probe(stderr: str) -> tuple[str, int]:
    line = next(line for line in stderr.splitlines() if line.startswith("probe "))
    _, enabled, frozen = line.split()
    return enabled, int(frozen)


def test_the_entry_point_freezes_the_heap_before_shutdown_and_keeps_the_exit_code() -> None:
    done = _run("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("kasboot"), done.stdout
    enabled, frozen = _probe(done.stderr)
    assert enabled == "False" and frozen > 0, done.stderr


def test_an_error_exit_keeps_its_code_and_line_with_the_heap_frozen() -> None:
    usage = _run("bootstrap", "--no-such-option")
    assert usage.returncode == 2, usage.stderr
    assert "no-such-option" in usage.stderr, usage.stderr
    assert _probe(usage.stderr)[0] == "False", usage.stderr


def test_main_called_with_arguments_leaves_the_collector_alone() -> None:
    # A caller that passes argv runs kasboot inside its own process: not frozen.
    code = (
        "import gc, sys\n"
        "from kasboot.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(gc.isenabled(), gc.get_freeze_count())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split()[-2:] == ["True", "0"], done.stdout + done.stderr
