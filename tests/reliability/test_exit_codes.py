"""Issue 21 items 12 and 17: --debug never changes an exit code, KASBOOT_DEBUG=0/false
mean off, --debug shows the (redacted) requests without -v; SIGTERM and SIGINT mid-run
end with one line, 143 / 130, no traceback, and a re-run finishes the job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

import pytest

from tests.integration.bootstrap_helpers import agent_args, run_kasboot
from tests.reliability.helpers import clear_faults, set_faults

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--debug", "bootstrap", "Bad_Name"], 2),
        (["--debug", "bootstrap", "ok-agent", "--helm-release-target-namespace", ""], 2),
        (["--debug", "bootstrap", "ok-agent", "--context", "prod"], 2),
        (["bootstrap", "Bad_Name", "--debug"], 2),  # where people add it: at the end
    ],
)
def test_debug_keeps_the_documented_exit_code_and_adds_the_trace(
    sandbox: Any, argv: list[str], code: int
) -> None:
    result = run_kasboot(sandbox, *argv)
    assert result.code == code, result.stderr
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("Error: ")


@pytest.mark.parametrize("word", ["0", "false", "no", "off", "False"])
def test_kasboot_debug_off_words_mean_off(sandbox: Any, word: str) -> None:
    result = run_kasboot(sandbox, "bootstrap", "Bad_Name", env={"KASBOOT_DEBUG": word})
    assert result.code == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]


def test_kasboot_debug_on_words_mean_on(sandbox: Any) -> None:
    result = run_kasboot(sandbox, "bootstrap", "Bad_Name", env={"KASBOOT_DEBUG": "1"})
    assert result.code == 2 and "Traceback" in result.stderr


@pytest.mark.parametrize("output", ["text", "json"])
def test_debug_shows_redacted_requests_without_verbose(sandbox: Any, output: str) -> None:
    result = run_kasboot(sandbox, "--debug", "plan", *agent_args("debugged")[1:], "-o", output)
    assert result.code == 0, result.stderr
    assert f"GET {sandbox.gitlab_url}/api/graphql (kasbootSurvey)" in result.stderr
    assert sandbox.token not in result.stderr + result.stdout
    if output == "json":
        json.loads(result.stdout)  # the requests went to stderr


def _start(sandbox: Any, *args: str) -> subprocess.Popen[str]:
    environ = {**os.environ, **sandbox.env}
    environ.pop("CI_JOB_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "kasboot", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=environ,
        cwd=sandbox.dir,
    )


def _wait_for_line(stream: Any, needle: str) -> list[str]:
    """Read lines until one contains `needle` (the process is held at a slow request,
    so this does not race the end of the run)."""
    seen: list[str] = []
    for line in stream:
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never appeared: {''.join(seen)}")


HOLD_MS = 15_000  # how long the emulator holds the run inside its first write


def _fault_hits(sandbox: Any) -> int:
    with urllib.request.urlopen(f"{sandbox.gitlab_url}/-/sandbox/faults", timeout=10) as answer:
        return sum(int(rule["hits"]) for rule in json.loads(answer.read())["rules"])


def _drain_held_request(sandbox: Any) -> None:
    """The held request is still handled (and logged) once its latency is over, after
    kasboot is gone: wait for it here, so that it lands in no later test's request log.
    Polls the log; the bound only keeps a broken emulator from hanging the suite."""
    deadline = time.monotonic() + HOLD_MS / 1000 + 90
    while time.monotonic() < deadline:
        if any(
            r["method"] == "POST"
            and r["path"].endswith("/cluster_agents")
            and r["ms"] >= HOLD_MS * 0.9
            for r in sandbox.gitlab_requests()
        ):
            return
        time.sleep(0.5)
    raise AssertionError("the held request never completed")


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"),
                                                    (signal.SIGINT, 130, "SIGINT")])  # fmt: skip
def test_a_signal_mid_run_is_one_line_and_a_rerun_finishes(
    sandbox: Any, sig: int, code: int, name: str
) -> None:
    agent = f"signalled-{name.lower()}"
    args = agent_args(agent, "--no-reconcile")
    sandbox.clear_logs()  # the drain below must find this test's held request, not another's
    # Hold the run inside its first write (the agent registration) until signalled.
    set_faults(
        sandbox.gitlab_url,
        [{"path": r"/cluster_agents$", "method": "POST", "latency_ms": HOLD_MS, "times": 1}],
    )
    try:
        process = _start(sandbox, *args)
        assert process.stderr is not None
        before = _wait_for_line(process.stderr, "Pre-flight checks")
        timer = threading.Timer(0.5, process.send_signal, (sig,))
        timer.start()
        _, rest = process.communicate(timeout=120)
        timer.cancel()
        held = _fault_hits(sandbox)
    finally:
        clear_faults(sandbox)
    stderr = "".join(before) + rest
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    lines = [line for line in rest.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"Interrupted. ({name})"), stderr
    rerun = run_kasboot(sandbox, *args)
    assert rerun.code == 0, rerun.stderr
    if held:
        _drain_held_request(sandbox)
