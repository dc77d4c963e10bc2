"""Races (issue 17 item 3, issue 21 item 13): two kasboot processes on one agent at
once — two identical bootstraps, and a bootstrap racing `kasboot token rotate`. Each
run ends with exit 0 or one clean line naming the other run; the world afterwards is
valid: one agent, config.yaml right, no duplicate environment, at most two active
tokens, the Secret holding an active one, the manifests committed once, the
HelmRelease Ready. The default run repeats each race a few times; `slow` more."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gitlab
import pytest

from kasboot.cluster import TOKEN_ID_ANNOTATION
from tests.integration.bootstrap_helpers import agent_args
from tests.reliability.helpers import clear_faults, set_faults

# pytest-timeout only catches a hang: a case runs kasboot several times, which on a busy
# 2-core machine took up to ~80 s (the default bound is 120 s).
pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(600)]
KUBECTL = str(Path(sys.executable).parent / "kubectl")
SLOW_REPEATS = 6
# What a clean conflict line names: the other run, or the object both runs wrote.
RACE_WORDS = ("another kasboot run", "another run", "concurrent", "changed meanwhile")


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def gl(sandbox: Any) -> gitlab.Gitlab:
    return gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token)


def at_once(sandbox: Any, *commands: list[str]) -> list[Outcome]:
    """Start every command as its own kasboot process, then wait for all of them."""
    environ = {**os.environ, **sandbox.env}
    environ.pop("CI_JOB_TOKEN", None)
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "kasboot", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=environ,
            cwd=sandbox.dir,
            stdin=subprocess.DEVNULL,
        )
        for command in commands
    ]
    outcomes = []
    for run in runs:
        out, err = run.communicate(timeout=240)
        outcomes.append(Outcome(run.returncode, out, err))
    return outcomes


def assert_clean(outcome: Outcome) -> None:
    """Exit 0, or one error line that names the race (never a harmless conflict's 4/5/6)."""
    assert "Traceback" not in outcome.stderr, outcome.stderr
    if outcome.code == 0:
        return
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, outcome.stderr
    assert any(word in errors[0] for word in RACE_WORDS), outcome.stderr


def kubectl_json(sandbox: Any, *args: str) -> dict[str, Any]:
    found = subprocess.run(
        [KUBECTL, "--kubeconfig", str(sandbox.kubeconfig), *args, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(found.stdout))


def assert_valid_world(sandbox: Any, gl: gitlab.Gitlab, name: str, commits: int = 1) -> int:
    """The final state the issue asks for; returns the token id the Secret holds."""
    project = gl.projects.get(sandbox.project)
    agents = [a for a in project.cluster_agents.list(get_all=True) if a.name == name]
    assert len(agents) == 1, agents
    config = project.files.get(f".gitlab/agents/{name}/config.yaml", ref="main")
    assert config.decode().decode() == (
        f"user_access:\n  access_as:\n    agent: {{}}\n  projects:\n  - id: {sandbox.project}\n"
    )
    for environment in (f"flux-system/{name}", "flux-system/flux-system"):
        found = project.environments.list(name=environment, get_all=True)
        assert len([e for e in found if e.name == environment]) == 1, environment
    tokens = gl.http_list(
        f"/projects/{project.id}/cluster_agents/{agents[0].id}/tokens", get_all=True
    )
    active = {int(t["id"]) for t in tokens if t["status"] == "active"}
    assert 1 <= len(active) <= 2, tokens
    secret = kubectl_json(sandbox, "get", "secret", "gitlab-agent-token", "-n", name)
    held = int(secret["metadata"]["annotations"][TOKEN_ID_ANNOTATION])
    assert held in active, (held, active)
    titles = [c.title for c in project.commits.list(ref_name="main", get_all=True)]
    assert titles.count(f"Bootstrap GitLab agent {name}") == commits
    release = kubectl_json(
        sandbox, "get", "helmreleases.helm.toolkit.fluxcd.io", name, "-n", "flux-system"
    )
    ready = [c for c in release["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True", release["status"]
    return held


def widened(sandbox: Any, name: str) -> None:
    """Hold each Secret write of this agent for a second, so that both runs are between
    deciding and writing at once (the race's window, made wide)."""
    rule = {"path": f"/namespaces/{name}/secrets", "latency_ms": 1000, "rate": 0}
    set_faults(sandbox.kube_url, [rule | {"method": "POST"}, rule | {"method": "PUT"}])


def twin_bootstraps(sandbox: Any, gl: gitlab.Gitlab, name: str, wide: bool) -> list[int]:
    if wide:
        widened(sandbox, name)
    try:
        outcomes = at_once(sandbox, agent_args(name), agent_args(name))
    finally:
        clear_faults(sandbox)
    for outcome in outcomes:
        assert_clean(outcome)
    assert any(outcome.code == 0 for outcome in outcomes), [o.stderr for o in outcomes]
    assert_valid_world(sandbox, gl, name)
    codes = [outcome.code for outcome in outcomes]
    print(f"race {name}: exit codes {codes}")  # the figures in docs/reliability.md (-s)
    return codes


def twin_updates(sandbox: Any, gl: gitlab.Gitlab, name: str, tmp_path: Path) -> list[int]:
    """A settled agent; then two identical bootstraps that both update its HelmRelease
    file (new values): the same last_commit_id, so GitLab refuses the second commit as
    stale, and the loser finds the branch head holding exactly its files."""
    first = at_once(sandbox, agent_args(name))[0]
    assert first.code == 0, first.stderr
    values = tmp_path / "values.yaml"
    values.write_text("podLabels:\n  race: twin\n")
    command = agent_args(name, "--helm-release-values", str(values))
    held = {"path": "/repository/commits$", "method": "POST", "latency_ms": 1000, "rate": 0}
    set_faults(sandbox.gitlab_url, [held])  # both commits on the way at once
    try:
        outcomes = at_once(sandbox, command, command)
    finally:
        clear_faults(sandbox)
    for outcome in outcomes:
        assert_clean(outcome)
    assert_valid_world(sandbox, gl, name, commits=2)
    codes = [outcome.code for outcome in outcomes]
    print(f"race {name}: exit codes {codes}")  # the figures in docs/reliability.md (-s)
    return codes


def bootstrap_against_rotate(
    sandbox: Any, gl: gitlab.Gitlab, name: str, *bootstrap_flags: str
) -> list[int]:
    """A settled agent; then a bootstrap (plain, or minting with --rotate-token) and
    `token rotate` at once, each Secret write held a second."""
    first = at_once(sandbox, agent_args(name))[0]
    assert first.code == 0, first.stderr
    rotate = ["token", "rotate", *agent_args(name)[1:]]
    widened(sandbox, name)
    try:
        outcomes = at_once(sandbox, agent_args(name, *bootstrap_flags), rotate)
    finally:
        clear_faults(sandbox)
    for outcome in outcomes:
        assert_clean(outcome)
    assert outcomes[1].code == 0 or outcomes[0].code == 0, [o.stderr for o in outcomes]
    assert_valid_world(sandbox, gl, name)
    codes = [outcome.code for outcome in outcomes]
    print(f"race {name}: exit codes {codes}")  # the figures in docs/reliability.md (-s)
    return codes


@pytest.mark.parametrize("wide", [False, True], ids=["natural", "widened"])
def test_two_identical_bootstraps_at_once(sandbox: Any, gl: gitlab.Gitlab, wide: bool) -> None:
    codes = twin_bootstraps(sandbox, gl, f"race-twin-{'w' if wide else 'n'}", wide)
    assert codes == [0, 0], codes  # every conflict between twins is harmless


def test_two_identical_updating_bootstraps_at_once(
    sandbox: Any, gl: gitlab.Gitlab, tmp_path: Path
) -> None:
    assert twin_updates(sandbox, gl, "race-update", tmp_path) == [0, 0]


@pytest.mark.parametrize("flags", [(), ("--rotate-token",)], ids=["plain", "rotate-token"])
def test_bootstrap_racing_token_rotate(
    sandbox: Any, gl: gitlab.Gitlab, flags: tuple[str, ...]
) -> None:
    bootstrap_against_rotate(sandbox, gl, f"race-rot-{'r' if flags else 'p'}", *flags)


@pytest.mark.slow
@pytest.mark.parametrize("repeat", range(SLOW_REPEATS))
def test_two_identical_bootstraps_at_once_repeated(
    sandbox: Any, gl: gitlab.Gitlab, repeat: int
) -> None:
    codes = twin_bootstraps(sandbox, gl, f"race-twin-slow-{repeat}", repeat % 2 == 1)
    assert codes == [0, 0], codes


@pytest.mark.slow
@pytest.mark.parametrize("repeat", range(SLOW_REPEATS))
def test_two_identical_updating_bootstraps_at_once_repeated(
    sandbox: Any, gl: gitlab.Gitlab, tmp_path: Path, repeat: int
) -> None:
    assert twin_updates(sandbox, gl, f"race-update-slow-{repeat}", tmp_path) == [0, 0]


@pytest.mark.slow
@pytest.mark.parametrize("repeat", range(SLOW_REPEATS))
def test_bootstrap_racing_token_rotate_repeated(
    sandbox: Any, gl: gitlab.Gitlab, repeat: int
) -> None:
    flags = ("--rotate-token",) if repeat % 2 else ()
    bootstrap_against_rotate(sandbox, gl, f"race-rot-slow-{repeat}", *flags)
