"""`kasboot status AGENT` end to end: a bootstrapped agent is healthy (exit 0), one that
is only registered is not (exit 6), an unknown one is not registered (exit 4); text and
--output json, never the token."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import gitlab
import pytest

from tests.integration.bootstrap_helpers import agent_args, run_kasboot
from tests.integration.conftest import Sandbox

pytestmark = pytest.mark.sandbox
AGENT = "stat-ok"
KUBECTL = str(Path(sys.executable).parent / "kubectl")


def status_args(name: str, *extra: str) -> list[str]:
    return ["status", *agent_args(name)[1:], *extra]


@pytest.fixture(scope="module")
def bootstrapped(sandbox: Sandbox) -> str:
    result = run_kasboot(sandbox, *agent_args(AGENT))
    assert result.code == 0, result.stderr
    return AGENT


def secret_token(sandbox: Sandbox, namespace: str) -> str:
    completed = subprocess.run(
        [
            KUBECTL,
            "--kubeconfig",
            str(sandbox.kubeconfig),
            "get",
            "secret",
            "-n",
            namespace,
            "gitlab-agent-token",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return base64.b64decode(json.loads(completed.stdout)["data"]["token"]).decode()


def test_bootstrapped_agent_is_healthy(sandbox: Sandbox, bootstrapped: str) -> None:
    result = run_kasboot(sandbox, *status_args(bootstrapped))
    assert result.code == 0, result.stdout + result.stderr
    rows = {text.split()[0]: text for text in result.stdout.splitlines()}
    assert f"{bootstrapped} (id " in rows["agent"]
    assert "last used" in rows["tokens"] and "never" not in rows["tokens"]
    assert f"{bootstrapped}/gitlab-agent-token holds token" in rows["secret"]
    assert "(active)" in rows["secret"]
    assert rows["helmrelease"].endswith(f"flux-system/{bootstrapped} Ready")
    assert rows["connected"].split()[1] == "yes"
    assert rows["health"].split()[1] == "healthy"
    assert secret_token(sandbox, bootstrapped) not in result.stdout + result.stderr


def test_registered_only_agent_exits_6(sandbox: Sandbox) -> None:
    project = gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token).projects.get(
        sandbox.project
    )
    project.cluster_agents.create({"name": "stat-bare"})
    result = run_kasboot(sandbox, *status_args("stat-bare", "--output", "json"))
    assert result.code == 6, result.stdout + result.stderr
    document = result.json()
    assert document["registered"] is True
    assert document["tokens"] == []
    assert document["secret"]["present"] is False
    assert document["helm_release"]["present"] is False
    assert document["connected"] is False and document["healthy"] is False


def test_unknown_agent_exits_4(sandbox: Sandbox) -> None:
    result = run_kasboot(sandbox, "status", "no-such-agent")
    assert result.code == 4, result.stdout + result.stderr
    assert "no-such-agent is not registered in demo/fleet" in result.stdout


def test_json_and_the_agent_found_through_its_token(sandbox: Sandbox, bootstrapped: str) -> None:
    """Bootstrapped with its own release and namespace, asked with no options: the
    record on its token Secret gives the names (the token search is the fallback)."""
    result = run_kasboot(sandbox, "status", bootstrapped, "-o", "json")
    assert result.code == 0, result.stdout + result.stderr
    document = result.json()
    assert (
        document["settings_from"]
        == f"Secret {document['secret']['namespace']}/" + (document["secret"]["name"])
    )
    assert document["registered"] is True and document["healthy"] is True
    assert document["secret"]["token_id"] in [token["id"] for token in document["tokens"]]
    assert document["secret"]["token_active"] is True
    assert document["connected"] is True and document["last_contact"]
    assert document["exit_code"] == 0
    assert secret_token(sandbox, bootstrapped) not in result.stdout
    assert document["secret"]["namespace"] == bootstrapped
    assert (document["helm_release"]["name"], document["helm_release"]["ready"]) == (
        bootstrapped,
        True,
    )


def test_revoked_token_in_the_secret_exits_6(sandbox: Sandbox, bootstrapped: str) -> None:
    """Runs last here: it breaks this module's agent on purpose."""
    gl = gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token)
    project = gl.projects.get(sandbox.project)
    agent = next(a for a in project.cluster_agents.list(get_all=True) if a.name == bootstrapped)
    tokens_path = f"/projects/{project.id}/cluster_agents/{agent.id}/tokens"
    (only,) = gl.http_list(tokens_path, get_all=True)  # a fresh bootstrap mints one
    held = {"token_id": only["id"]}
    gl.http_delete(f"{tokens_path}/{held['token_id']}")
    result = run_kasboot(sandbox, *status_args(bootstrapped))
    assert result.code == 6, result.stdout + result.stderr
    secret_row = next(r for r in result.stdout.splitlines() if r.startswith("secret"))
    assert f"holds token {held['token_id']} (NOT active)" in secret_row
    assert "NOT healthy" in result.stdout
    doctor = run_kasboot(sandbox, "doctor", *agent_args(bootstrapped)[1:], "-o", "json")
    assert doctor.code == 6, doctor.stdout + doctor.stderr
    checks = {check["id"]: check for check in doctor.json()["checks"]}
    assert checks["agent-tokens"]["status"] == "fail"  # the only token was revoked
    assert checks["agent-secret"]["status"] == "fail"
    assert "not an active token" in checks["agent-secret"]["summary"]
