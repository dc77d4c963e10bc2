"""`kasboot token rotate` end to end against the sandbox: the agent stays connected the
whole time — the old token is still active when the Secret changes, and with
--revoke-previous it is revoked only after GitLab saw the new one used (the simulated
agentk reconnects when kasboot reconciles its HelmRelease). Order is read from the
emulators' request logs (one process, one clock)."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import gitlab
import pytest

from kasboot.cluster import TOKEN_ID_ANNOTATION
from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot

pytestmark = pytest.mark.sandbox
AGENT = "token-rotated"


def rotate_args(*extra: str) -> list[str]:
    return ["token", "rotate", *agent_args(AGENT)[1:], "--no-create-flux-environment", *extra]


@pytest.fixture(scope="module")
def gl(sandbox: Any) -> gitlab.Gitlab:
    return gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token)


@pytest.fixture(scope="module")
def bootstrapped(sandbox: Any, gl: gitlab.Gitlab) -> dict[str, Any]:
    result = run_kasboot(sandbox, *agent_args(AGENT), "--no-create-flux-environment")
    assert result.code == 0, result.stderr
    project = gl.projects.get(sandbox.project)
    agent = next(a for a in project.cluster_agents.list(get_all=True) if a.name == AGENT)
    return {"project": project, "agent_id": int(agent.id)}


def tokens_path(world: dict[str, Any]) -> str:
    return f"/projects/{world['project'].id}/cluster_agents/{world['agent_id']}/tokens"


def active_ids(gl: gitlab.Gitlab, world: dict[str, Any]) -> set[int]:
    return {int(t["id"]) for t in gl.http_list(tokens_path(world), get_all=True)}


def token_detail(gl: gitlab.Gitlab, world: dict[str, Any], token_id: int) -> dict[str, Any]:
    return dict(gl.http_get(f"{tokens_path(world)}/{token_id}"))  # type: ignore[arg-type]


def held_token(sandbox: Any) -> tuple[int, str]:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(str(sandbox.kubeconfig)))
    secret: Any = api.read_namespaced_secret("gitlab-agent-token", AGENT)
    token_id = int(secret.metadata.annotations[TOKEN_ID_ANNOTATION])
    return token_id, base64.b64decode(secret.data["token"]).decode()


def write_times(records: list[dict[str, Any]], method: str, fragment: str) -> list[float]:
    return [
        float(r["at"])
        for r in records
        if r["method"] == method
        and fragment in r["path"]
        and r.get("user_agent", "").startswith("kasboot/")
    ]


@pytest.fixture
def agent_unreachable(sandbox: Any) -> Iterator[None]:
    """KAS answers agentk with 503: no token can be used."""
    url = f"{sandbox.gitlab_url}/-/sandbox/faults"
    rule = {"method": "GET", "path": "kubernetes-agent/agent_info", "status": 503}
    body = json.dumps({"rules": [rule]}).encode()
    request = urllib.request.Request(url, data=body, method="PUT")
    request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request, timeout=10).close()
    try:
        yield
    finally:
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10).close()


def test_rotate_keeps_the_previous_token_active(
    sandbox: Any, gl: gitlab.Gitlab, bootstrapped: dict[str, Any]
) -> None:
    before_id, before_secret = held_token(sandbox)
    sandbox.clear_logs()

    result = run_kasboot(sandbox, *rotate_args())
    assert result.code == 0, result.stderr
    assert "STILL ACTIVE" in result.stdout

    new_id, new_secret = held_token(sandbox)
    assert new_id != before_id and new_secret != before_secret
    assert new_secret not in result.stdout + result.stderr
    # Both tokens active: the running agent never held a token GitLab refuses.
    assert active_ids(gl, bootstrapped) == {before_id, new_id}
    # The agent reconnected with the new token (kasboot reconciled its HelmRelease).
    assert token_detail(gl, bootstrapped, new_id)["last_used_at"]
    gitlab_writes = kasboot_writes(sandbox.gitlab_requests())
    assert [m for m, _ in gitlab_writes] == ["POST"]  # the new token only, no revocation
    kube = kasboot_writes(sandbox.kube_requests())
    assert ("PUT", f"/api/v1/namespaces/{AGENT}/secrets/gitlab-agent-token") in kube
    # Replaced in one call, never deleted (the only DELETE is the token lease's release).
    assert [p for m, p in kube if m == "DELETE"] == [
        f"/apis/coordination.k8s.io/v1/namespaces/{AGENT}/leases/kasboot-token-gitlab-agent-token"
    ]


def test_rotate_revoke_previous_waits_for_the_new_token(
    sandbox: Any, gl: gitlab.Gitlab, bootstrapped: dict[str, Any]
) -> None:
    held_id, _ = held_token(sandbox)
    if len(active_ids(gl, bootstrapped)) < 2:  # run alone: reach the 2-token limit first
        assert run_kasboot(sandbox, *rotate_args()).code == 0
        held_id, _ = held_token(sandbox)
    (spare_id,) = active_ids(gl, bootstrapped) - {held_id}
    sandbox.clear_logs()

    result = run_kasboot(sandbox, *rotate_args("--revoke-previous", "--output", "json"))
    assert result.code == 0, result.stderr
    document = result.json()
    new_id, _ = held_token(sandbox)
    assert document["token_id"] == new_id and document["previous_token_id"] == held_id
    assert document["restarted"] == [
        f"{AGENT}/{AGENT}-gitlab-agent-v2"
    ]  # the chart's Deployment, rolled
    results = {step["name"]: step["result"] for step in document["steps"]}
    assert results == {
        "preflight": "OK",
        "token": "CHANGED",
        "secret": "CHANGED",
        "reconnect": "CHANGED",
        "revoke-previous": "CHANGED",
        "confirm-token": "UNCHANGED",  # checked: the Secret's token is active in GitLab
    }
    # The 2-token limit made room by revoking the token the cluster did NOT hold; the
    # held one went only after the new one was used.
    assert sorted(document["revoked_token_ids"]) == sorted([spare_id, held_id])
    assert active_ids(gl, bootstrapped) == {new_id}
    records = sandbox.gitlab_requests()
    revoke_spare = write_times(records, "DELETE", f"/tokens/{spare_id}")
    revoke_held = write_times(records, "DELETE", f"/tokens/{held_id}")
    secret_put = write_times(sandbox.kube_requests(), "PUT", "/secrets/gitlab-agent-token")
    saw_new_used = [
        float(r["at"])
        for r in records
        if r["method"] == "GET" and r["path"].endswith(f"/tokens/{new_id}")
    ]
    assert len(revoke_spare) == 1 and len(revoke_held) == 1 and len(secret_put) == 1
    assert revoke_spare[0] < secret_put[0] < revoke_held[0]
    # GitLab was asked about the new token between the Secret write and the revocation.
    assert any(secret_put[0] < at <= revoke_held[0] for at in saw_new_used)


def test_rotate_not_connected_in_time_revokes_nothing(
    sandbox: Any, gl: gitlab.Gitlab, bootstrapped: dict[str, Any], agent_unreachable: None
) -> None:
    held_id, _ = held_token(sandbox)
    before = active_ids(gl, bootstrapped)
    # --timeout bounds the whole run's cluster side: leave a busy machine time to reach
    # the connection wait (which never ends here) before it runs out.
    result = run_kasboot(
        sandbox, *rotate_args("--revoke-previous", "--timeout", "10s", "--output", "json")
    )
    assert result.code == 6, result.stderr
    document = result.json()
    assert document["error"]["exit_code"] == 6
    assert "nothing was revoked" in document["error"]["message"]
    new_id, _ = held_token(sandbox)
    # The held token is still active next to the new one (the 2-token limit may have
    # revoked a spare the cluster did not hold, never the held one).
    assert held_id in active_ids(gl, bootstrapped)
    assert new_id in active_ids(gl, bootstrapped)
    assert before - active_ids(gl, bootstrapped) <= before - {held_id}


def test_rotate_unknown_agent_is_refused(sandbox: Any) -> None:
    result = run_kasboot(sandbox, "token", "rotate", "never-bootstrapped", "--timeout", "5s")
    assert result.code == 3, result.stderr
    assert "not registered" in result.stderr
