"""`kasboot doctor` end to end: the real CLI as a subprocess against the sandbox. All ✔
and exit 0 on a healthy setup; the matching ✖ line and exit code for KAS disabled, a bad
or read-only token, Flux missing, the root-path trap and a name collision."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import gitlab
import pytest

from kasboot.sandbox.common import free_port
from tests.integration.bootstrap_helpers import CliResult, agent_args, kasboot_writes, run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up
from tests.integration.test_bootstrap import KUBECTL
from tests.integration.test_chart_runtime import eventually

pytestmark = pytest.mark.sandbox
AGENT = "doc-ok"


def doctor_args(name: str, *extra: str) -> list[str]:
    """The options bootstrap got (agent_args), given to doctor instead."""
    return ["doctor", *agent_args(name)[1:], *extra]


def line(result: CliResult, title: str) -> str:
    found = [text for text in result.stdout.splitlines() if text[2:].startswith(title)]
    assert found, f"no {title!r} line in:\n{result.stdout}"
    return found[0]


def statuses(result: CliResult) -> dict[str, str]:
    return {check["id"]: check["status"] for check in result.json()["checks"]}


@pytest.fixture(scope="module")
def healthy(sandbox: Sandbox) -> str:
    result = run_kasboot(sandbox, *agent_args(AGENT))
    assert result.code == 0, result.stderr
    return AGENT


def set_kas(sandbox: Sandbox, enabled: bool) -> None:
    body = json.dumps({"enabled": enabled}).encode()
    request = urllib.request.Request(f"{sandbox.gitlab_url}/-/sandbox/kas", data=body, method="PUT")
    request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request, timeout=10).close()


def test_healthy_setup_is_all_green_and_writes_nothing(sandbox: Sandbox, healthy: str) -> None:
    sandbox.clear_logs()
    result = run_kasboot(sandbox, *doctor_args(healthy))
    assert result.code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    marks = [text[0] for text in lines[1:-1] if not text.startswith(" ")]
    assert marks and set(marks) == {"✔"}, result.stdout
    for title in (
        "GitLab",
        "Token",
        "Project",
        "KAS",
        "Cluster",
        "Flux ",
        "Flux source",
        "agentk version",
        "Flux topology",
        "Agent registered",
        "Agent config",
        "Agent tokens",
        "Token Secret",
        "HelmRelease",
        "Agent connected",
        "Name collisions",
    ):
        assert line(result, title).startswith("✔"), title
    assert "scopes api" in line(result, "Token")
    assert "v18.2.0" in line(result, "agentk version")
    assert "user_access" in line(result, "Agent config")
    assert "all checks pass" in lines[-1]
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert kasboot_writes(sandbox.kube_requests()) == []


def test_agent_found_through_its_token_when_names_are_not_given(
    sandbox: Sandbox, healthy: str
) -> None:
    result = run_kasboot(
        sandbox, "doctor", healthy, "--manifest-path", f"clusters/sandbox/{healthy}"
    )
    assert result.code == 0, result.stdout + result.stderr
    assert f"{healthy}/{healthy}-gitlab-agent-v2 runs agentk v18.2.0" in line(
        result, "agentk version"
    )
    # The names come from the record bootstrap left on the agent's token Secret.
    assert "from the agent's record" in line(result, "HelmRelease")


def test_kas_disabled_is_a_failing_line_exit_3(sandbox: Sandbox, healthy: str) -> None:
    set_kas(sandbox, False)
    try:
        result = run_kasboot(sandbox, *doctor_args(healthy))
    finally:
        set_kas(sandbox, True)
    assert result.code == 3, result.stdout + result.stderr
    assert line(result, "KAS").startswith("✖")
    assert "KAS is not configured" in line(result, "KAS")
    assert "enable the agent server" in result.stdout
    # Every other line is still reported: the guard ran with a stand-in KAS address.
    assert line(result, "Flux topology").startswith("✔")
    assert line(result, "Agent connected").startswith("✔")


def test_bad_token_exit_4_and_gitlab_still_answers(sandbox: Sandbox) -> None:
    result = run_kasboot(sandbox, "doctor", "--output", "json", env={"GITLAB_TOKEN": "glpat-wrong"})
    assert result.code == 4, result.stdout + result.stderr
    document = result.json()
    assert document["ok"] is False and document["exit_code"] == 4
    found = statuses(result)
    assert found["gitlab"] == "pass"
    assert found["token"] == "fail"
    assert found["project"] == "skip"
    assert found["cluster"] == "pass"  # the cluster side is checked all the same
    token = next(c for c in document["checks"] if c["id"] == "token")
    assert "401" in token["summary"] and "GITLAB_TOKEN" in token["fix"]
    assert "glpat-wrong" not in result.stdout + result.stderr


def test_token_without_api_scope_exit_3_as_bootstraps_refusal(sandbox: Sandbox) -> None:
    body = json.dumps({"username": "root", "name": "ro", "scopes": ["read_api"]}).encode()
    request = urllib.request.Request(
        f"{sandbox.gitlab_url}/-/sandbox/personal_access_tokens", data=body, method="POST"
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        read_only = json.loads(response.read())["token"]
    result = run_kasboot(sandbox, *doctor_args(AGENT), env={"GITLAB_TOKEN": read_only})
    assert result.code == 3, result.stdout + result.stderr
    token_line = line(result, "Token")
    assert token_line.startswith("✖") and "read_api" in token_line and "'api'" in token_line


def test_token_expiring_soon_is_a_warning_not_a_failure(sandbox: Sandbox) -> None:
    soon = (datetime.now(timezone.utc).date() + timedelta(days=3)).isoformat()
    body = json.dumps(
        {"username": "root", "name": "soon", "scopes": ["api"], "expires_at": soon}
    ).encode()
    request = urllib.request.Request(
        f"{sandbox.gitlab_url}/-/sandbox/personal_access_tokens", data=body, method="POST"
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        expiring = json.loads(response.read())["token"]
    result = run_kasboot(
        sandbox,
        "doctor",
        "--manifest-path",
        "clusters/sandbox/soon",
        env={"GITLAB_TOKEN": expiring},
    )
    assert result.code == 0, result.stdout + result.stderr
    token_line = line(result, "Token")
    assert token_line.startswith("⚠") and f"expires {soon} (in 3 days)" in token_line
    assert "1 warning(s)" in result.stdout.splitlines()[-1]


def test_name_collision_with_another_agents_release(sandbox: Sandbox, healthy: str) -> None:
    """A second agent aimed at the first one's namespace would share its Secret."""
    result = run_kasboot(
        sandbox,
        "doctor",
        "doc-twin",
        "--manifest-path",
        "clusters/sandbox/doc-twin",
        "--helm-release-name",
        "doc-twin",
        "--helm-release-target-namespace",
        healthy,
        "--output",
        "json",
    )
    document = result.json()
    collisions = next(c for c in document["checks"] if c["id"] == "collisions")
    assert collisions["status"] == "fail", collisions
    assert f"HelmRelease flux-system/{healthy} reads the same Secret" in collisions["summary"]
    assert f"holds the token of agent {sandbox.project}/{healthy}" in collisions["summary"]
    assert collisions["exit_code"] == 3
    # Not registered is the first failure, so it decides the exit code.
    assert statuses(result)["agent"] == "fail"
    assert result.code == 4


def test_unreachable_gitlab_and_cluster_are_reported_at_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Both sides down: each gets its line (4 and 5); the first decides the exit code."""
    closed = f"http://127.0.0.1:{free_port()}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        sandbox.kubeconfig.read_text().replace(sandbox.kube_url, closed), encoding="utf-8"
    )
    result = run_kasboot(
        sandbox,
        "doctor",
        "-o",
        "json",
        env={"GITLAB_HOST": closed, "KUBECONFIG": str(kubeconfig)},
        timeout=60,
    )
    assert result.code == 4, result.stdout + result.stderr
    checks = {check["id"]: check for check in result.json()["checks"]}
    assert (
        checks["gitlab"]["status"] == "fail"
        and "cannot reach GitLab" in checks["gitlab"]["summary"]
    )
    assert checks["cluster"]["status"] == "fail" and checks["cluster"]["exit_code"] == 5
    assert {checks[name]["status"] for name in ("token", "project", "kas", "flux")} == {"skip"}


@pytest.fixture(scope="module")
def no_flux(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("doctor-no-flux")
    world = sandbox_up(directory, "--no-flux")
    try:
        yield world
    finally:
        sandbox_down(directory)


def test_flux_missing_exit_3(no_flux: Sandbox) -> None:
    result = run_kasboot(no_flux, "doctor", "--manifest-path", "clusters/sandbox/a")
    assert result.code == 3, result.stdout + result.stderr
    flux = line(result, "Flux ")
    assert flux.startswith("✖") and "no Flux CRDs" in flux
    assert "flux bootstrap gitlab" in result.stdout
    # what --no-reconcile does and does not do, not "or pass --no-reconcile" (issue 19.5)
    assert "--no-reconcile does not replace Flux" in result.stdout
    assert line(result, "Flux topology").startswith("-")  # skipped: nothing to predict
    assert line(result, "KAS").startswith("✔")


def test_no_reconcile_makes_missing_flux_a_warning(no_flux: Sandbox) -> None:
    result = run_kasboot(
        no_flux, "doctor", "--manifest-path", "clusters/sandbox/a", "--no-reconcile"
    )
    assert result.code == 0, result.stdout + result.stderr
    assert line(result, "Flux ").startswith("⚠")


@pytest.fixture(scope="module")
def root_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("doctor-root-path")
    world = sandbox_up(directory, "--flux-path", "./")
    try:
        yield world
    finally:
        sandbox_down(directory)


def test_root_path_trap_exit_3_with_the_fixes(root_path: Sandbox) -> None:
    result = run_kasboot(root_path, "doctor", "trapped", "--manifest-path", "agents/trapped")
    assert result.code == 3, result.stdout + result.stderr
    topology = line(result, "Flux topology")
    assert topology.startswith("✖")
    assert ".gitlab/agents/trapped/config.yaml" in topology
    assert "--fix add-kustomization" in result.stdout and "--fix sourceignore" in result.stdout
    assert line(result, "Flux source").startswith("✔")  # nothing is broken yet


def test_doctor_help_lists_bootstraps_options(tmp_path: Path) -> None:
    result = run_kasboot(Sandbox(tmp_path, {}), "doctor", "--help")
    assert result.code == 0
    assert "--manifest-path" in result.stdout and "--flux-source-name" in result.stdout


def test_root_path_trap_that_bit_is_diagnosed_exit_6(root_path: Sandbox) -> None:
    """After a bootstrap that skipped the guard, Flux really fails: doctor names the
    cause from the Kustomization's status (exit 6, Flux failed) and the guard agrees."""
    args = ["bitten", "--manifest-path", "agents/bitten", "--helm-release-name", "bitten"]
    args += ["--helm-release-target-namespace", "bitten", "--helm-repository-name", "g-bitten"]
    skipped = run_kasboot(root_path, "bootstrap", *args, "--skip-preflight", "--timeout", "30s")
    assert skipped.code == 6, skipped.stderr
    result = run_kasboot(root_path, "doctor", *args)
    assert result.code == 6, result.stdout + result.stderr
    source = line(result, "Flux source")
    assert source.startswith("✖") and "root-path trap" in source
    assert ".gitlab/agents/bitten/config.yaml" in source
    # once the trap has fired, the fix offered is kasboot's own repair too (issue 19.13)
    assert "`kasboot bootstrap bitten --fix sourceignore`" in result.stdout
    assert "`kasboot bootstrap bitten --fix sourceignore`" in skipped.stderr
    assert line(result, "Flux topology").startswith("✖")
    assert line(result, "HelmRelease").startswith("✖")  # never applied


def test_agent_that_cannot_connect_is_diagnosed_from_agentks_log(sandbox: Sandbox) -> None:
    """A token revoked behind kasboot's back: agentk keeps retrying and logs KAS's
    refusal; doctor reads the agentk pods' log (as `kubectl logs deploy/…` shows it) and
    names the cause and the fix instead of "see kubectl logs"."""
    name = "doc-revoked"
    assert run_kasboot(sandbox, *agent_args(name)).code == 0
    gl = gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token)
    project = gl.projects.get(sandbox.project)
    agent = next(a for a in project.cluster_agents.list(get_all=True) if a.name == name)
    tokens_path = f"/projects/{project.id}/cluster_agents/{agent.id}/tokens"
    for token in gl.http_list(tokens_path, get_all=True):
        gl.http_delete(f"{tokens_path}/{token['id']}")  # type: ignore[index]
    subprocess.run(
        [
            KUBECTL,
            "--kubeconfig",
            str(sandbox.kubeconfig),
            "annotate",
            "--overwrite",
            "helmrelease",
            "-n",
            "flux-system",
            name,
            f"reconcile.fluxcd.io/requestedAt={datetime.now(timezone.utc).isoformat()}",
        ],
        check=True,
        capture_output=True,
    )

    def logged_refusal() -> bool:
        deployment = f"deploy/{name}-gitlab-agent-v2"
        found = subprocess.run(
            [KUBECTL, "--kubeconfig", str(sandbox.kubeconfig), "logs", "-n", name, deployment],
            capture_output=True,
            text=True,
        )
        return "Unauthenticated" in found.stdout

    eventually(logged_refusal, "agentk logging KAS's refusal")
    result = run_kasboot(sandbox, *doctor_args(name, "--output", "json"))
    assert result.code == 6, result.stdout + result.stderr
    check = next(c for c in result.json()["checks"] if c["id"] == "agent-connected")
    assert check["status"] == "fail"
    assert "[agent-token-rejected]" in check["summary"], check
    assert f"log of pod {name}/{name}-gitlab-agent-v2-" in check["summary"]
    assert "kasboot token rotate" in check["fix"]
