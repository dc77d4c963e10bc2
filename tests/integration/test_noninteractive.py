"""Non-interactive runs: nothing ever waits for input. A missing value is exit 2 with
one line naming its flag and variable; a GitLab CI job's variables are enough; JSON
for machines; no colour or spinner off a terminal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.integration.bootstrap_helpers import kasboot_writes

pytestmark = pytest.mark.sandbox
ESCAPE = re.compile(r"\x1b\[")
SCRUBBED = ("CI", "CI_JOB_TOKEN", "NO_COLOR", "GITLAB_HOST", "GITLAB_TOKEN", "KASBOOT_PROJECT",
            "KASBOOT_AGENT", "CI_PROJECT_PATH", "CI_SERVER_URL", "KUBECONFIG")  # fmt: skip


def isolated_flags(name: str) -> list[str]:
    return [
        "--manifest-path", f"clusters/sandbox/{name}", "--helm-release-name", name,
        "--helm-release-target-namespace", name, "--helm-repository-name", f"gitlab-{name}",
    ]  # fmt: skip


def run(
    *args: str, env: dict[str, str], cwd: Path, close_stdin: bool = False
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in SCRUBBED} | env
    return subprocess.run(
        [sys.executable, "-m", "kasboot", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=120,
        stdin=subprocess.DEVNULL,
        preexec_fn=(lambda: os.close(0)) if close_stdin else None,
    )


def no_requests(sandbox: Any) -> bool:
    """No request from kasboot (the simulated Flux controllers keep reconciling the
    shared sandbox's objects on their intervals meanwhile)."""
    records = [*sandbox.gitlab_requests(), *sandbox.kube_requests()]
    return not [r for r in records if r.get("user_agent", "").startswith("kasboot/")]


@pytest.mark.parametrize("close_stdin", [False, True])
@pytest.mark.parametrize("command", ["bootstrap", "wizard"])
def test_missing_agent_without_a_terminal_is_exit_2_before_any_request(
    sandbox: Any, tmp_path: Path, command: str, close_stdin: bool
) -> None:
    sandbox.clear_logs()
    done = run(command, env=sandbox.env, cwd=tmp_path, close_stdin=close_stdin)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "stdin is not a terminal" in lines[0]
    if command == "bootstrap":
        assert "first argument" in lines[0] and "KASBOOT_AGENT" in lines[0]
    assert done.stdout == ""
    assert no_requests(sandbox)


def test_yes_on_a_terminal_never_prompts(sandbox: Any, tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k not in SCRUBBED} | sandbox.env
    child = pexpect.spawn(
        sys.executable, ["-m", "kasboot", "bootstrap", "--yes"], env=environ,
        cwd=str(tmp_path), encoding="utf-8", timeout=60,
    )  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "--non-interactive/--yes was given" in str(child.before)


def test_missing_project_names_the_flag_and_the_variable(sandbox: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in sandbox.env.items() if k != "KASBOOT_PROJECT"}
    done = run("plan", "a", env=env, cwd=tmp_path)
    assert done.returncode == 2
    assert "-R group/project" in done.stderr and "KASBOOT_PROJECT" in done.stderr


def test_only_the_job_token_is_a_clear_error(sandbox: Any, tmp_path: Path) -> None:
    env = {
        "CI": "true",
        "CI_JOB_TOKEN": "job-token",
        "CI_PROJECT_PATH": sandbox.project,
        "CI_SERVER_URL": sandbox.gitlab_url,
        "KUBECONFIG": str(sandbox.kubeconfig),
        "HOME": str(tmp_path),  # no glab or python-gitlab config to fall back on
    }
    sandbox.clear_logs()
    done = run("bootstrap", "ci-agent", env=env, cwd=tmp_path)
    assert done.returncode == 2
    assert "CI_JOB_TOKEN" in done.stderr and "cluster agents API" in done.stderr
    assert "GITLAB_TOKEN" in done.stderr
    assert no_requests(sandbox)


def test_gitlab_ci_job_variables_and_json_output(sandbox: Any, tmp_path: Path) -> None:
    """As in a pipeline: project and host from CI_PROJECT_PATH/CI_SERVER_URL, the token
    from GITLAB_TOKEN, AGENT from KASBOOT_AGENT, an option from KASBOOT_<OPTION>."""
    env = {
        "CI": "true",
        "CI_JOB_TOKEN": "job-token",
        "CI_PROJECT_PATH": sandbox.project,
        "CI_SERVER_URL": sandbox.gitlab_url,
        "GITLAB_TOKEN": sandbox.token,
        "KUBECONFIG": str(sandbox.kubeconfig),
        "KASBOOT_AGENT": "ci-agent",
        "KASBOOT_TIMEOUT": "60s",
        "HOME": str(tmp_path),
    }
    first = run("bootstrap", *isolated_flags("ci-agent"), "-o", "json", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    assert document["ok"] is True and document["agent"]["name"] == "ci-agent"
    assert document["project"] == sandbox.project
    assert not ESCAPE.search(first.stdout + first.stderr)

    sandbox.clear_logs()
    again = run("bootstrap", *isolated_flags("ci-agent"), "-o", "json", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    results = {s["name"]: s["result"] for s in json.loads(again.stdout)["steps"]}
    assert results.pop("preflight") == "OK" and set(results.values()) == {"UNCHANGED"}
    assert kasboot_writes(sandbox.gitlab_requests()) == []


def test_text_output_off_a_terminal_has_no_colour_or_spinner(sandbox: Any, tmp_path: Path) -> None:
    done = run("plan", "plain", *isolated_flags("plain"), env=sandbox.env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Pre-flight checks … OK" in done.stderr
    assert not ESCAPE.search(done.stdout + done.stderr)


def test_no_color_on_a_terminal_has_no_colour(sandbox: Any, tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    environ |= {**sandbox.env, "NO_COLOR": "1", "TERM": "xterm"}
    child = pexpect.spawn(
        sys.executable, ["-m", "kasboot", "plan", "tinted", *isolated_flags("tinted")],
        env=environ, cwd=str(tmp_path), encoding="utf-8", timeout=90,
    )  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    screen = str(child.before)
    assert child.exitstatus == 0, screen
    assert "Pre-flight checks" in screen
    colours = re.findall(r"\x1b\[([0-9;]*)m", screen)
    assert not [c for c in colours if re.search(r"(^|;)(3[0-8]|9[0-7])(;|$)", c)], colours
