"""At a terminal (pexpect, a real pty): a spinner while kasboot waits, and the wizard
asking for the GitLab host again when the one given does not answer (issue 19, item 2)."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import pexpect
import pytest

pytestmark = pytest.mark.sandbox
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SPINNER = re.compile("[\u2800-\u28ff]")  # rich's "dots" frames
REFUSED = "http://127.0.0.1:1"


def spawn(sandbox: Any, *args: str, env: dict[str, str] | None = None) -> pexpect.spawn:
    environ = {**os.environ, **sandbox.env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
    for name in ("CI", "CI_JOB_TOKEN", "NO_COLOR"):
        environ.pop(name, None)
    environ.update(env or {})
    return pexpect.spawn(
        sys.executable,
        ["-m", "kasboot", *args],
        env=environ,
        cwd=str(sandbox.dir),
        dimensions=(60, 200),
        encoding="utf-8",
        timeout=90,
    )


def screen_of(child: pexpect.spawn) -> tuple[str, int]:
    child.expect(pexpect.EOF)
    raw = str(child.before)
    child.close()
    return raw, int(child.exitstatus if child.exitstatus is not None else -1)


def test_doctor_shows_a_spinner_while_it_checks(sandbox: Any) -> None:
    raw, code = screen_of(spawn(sandbox, "doctor", "--manifest-path", "clusters/sandbox/spin"))
    assert SPINNER.search(raw), ANSI.sub("", raw)[:400]
    assert "Checking GitLab, the cluster and Flux" in ANSI.sub("", raw)
    assert code in (0, 3), ANSI.sub("", raw)


def test_bootstrap_waits_behind_a_spinner_and_fails_fast_on_a_refused_host(sandbox: Any) -> None:
    raw, code = screen_of(
        spawn(sandbox, "plan", "spin", "--manifest-path", "clusters/sandbox/spin",
              env={"GITLAB_HOST": REFUSED})
    )  # fmt: skip
    text = ANSI.sub("", raw)
    assert code == 4, text
    assert SPINNER.search(raw) and "Pre-flight checks" in text
    assert "connection refused" in text and "scheme, host and port of GITLAB_HOST" in text


def test_wizard_asks_for_the_host_again_when_it_does_not_answer(sandbox: Any) -> None:
    child = spawn(sandbox, "wizard", env={"GITLAB_HOST": REFUSED})
    child.expect_exact("GitLab host:")
    child.send("\r")  # the refused host, as guessed from GITLAB_HOST
    child.expect_exact("GitLab project")
    child.send("\r")
    child.expect_exact("connection refused")
    child.expect_exact("GitLab host:")  # asked again, not an exit
    child.send("\x7f" * 40 + sandbox.gitlab_url + "\r")
    child.expect_exact("GitLab project")
    child.send("\r")
    child.expect_exact("Agent name")  # the second host answered
    child.sendintr()
    raw, code = screen_of(child)
    assert code == 130, ANSI.sub("", raw)
