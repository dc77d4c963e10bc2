"""Concurrent and interrupted token rotations (issue items 21.3 and 21.6):

- a run never revokes a token another run may be storing: the token Lease makes it wait
  while another live run holds it, and a fresh kasboot token nobody used yet is never
  "not held by the cluster" enough to revoke without --force;
- two rotations at once (the Secret write slowed down to widen the race) end with an
  active token in the Secret, and no run reports success otherwise;
- a run that died between replacing the Secret and restarting agentk leaves a restart
  pending that the next plain bootstrap finishes (the pod template then records the
  token agentk started with).
The Lease itself is the emulator's coordination.k8s.io/v1 (409 on a taken name or a
stale resourceVersion)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gitlab
import pytest

from kasboot.cluster import STARTED_WITH_TOKEN, TOKEN_ID_ANNOTATION, Cluster, LeaseTaken
from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot

pytestmark = pytest.mark.sandbox
KUBECTL = str(Path(sys.executable).parent / "kubectl")


def kubectl_json(sandbox: Any, *args: str) -> dict[str, Any]:
    found = subprocess.run(
        [KUBECTL, "--kubeconfig", str(sandbox.kubeconfig), *args, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(found.stdout))


def held(sandbox: Any, agent: str) -> int:
    secret = kubectl_json(sandbox, "get", "secret", "gitlab-agent-token", "-n", agent)
    return int(secret["metadata"]["annotations"][TOKEN_ID_ANNOTATION])


def faults(sandbox: Any, url: str, rules: list[dict[str, Any]] | None) -> None:
    if rules is None:
        request = urllib.request.Request(f"{url}/-/sandbox/faults", method="DELETE")
    else:
        body = json.dumps({"rules": rules}).encode()
        request = urllib.request.Request(f"{url}/-/sandbox/faults", data=body, method="PUT")
        request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="module")
def gl(sandbox: Any) -> gitlab.Gitlab:
    return gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token)


def bootstrapped(sandbox: Any, gl: gitlab.Gitlab, agent: str) -> tuple[Any, int]:
    result = run_kasboot(sandbox, *agent_args(agent), "--no-create-flux-environment")
    assert result.code == 0, result.stderr
    project = gl.projects.get(sandbox.project)
    found = next(a for a in project.cluster_agents.list(get_all=True) if a.name == agent)
    return project, int(found.id)


def active(gl: gitlab.Gitlab, project: Any, agent_id: int) -> set[int]:
    path = f"/projects/{project.id}/cluster_agents/{agent_id}/tokens"
    return {int(t["id"]) for t in gl.http_list(path, get_all=True)}


def rotate(agent: str, *extra: str) -> list[str]:
    return ["token", "rotate", *agent_args(agent)[1:], "--no-create-flux-environment", *extra]


def test_the_lease_is_a_lock_in_the_emulator(sandbox: Any) -> None:
    cluster = Cluster(sandbox.kubeconfig)
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "lock-probe", "namespace": "flux-system"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 30},
    }
    created = cluster.create_lease("flux-system", body)
    with pytest.raises(LeaseTaken):
        cluster.create_lease("flux-system", body)
    stale = dict(created, spec={"holderIdentity": "b"})
    assert cluster.replace_lease("flux-system", stale) is not None
    with pytest.raises(LeaseTaken):  # the same resourceVersion again: stale now
        cluster.replace_lease("flux-system", dict(created, spec={"holderIdentity": "c"}))
    cluster.delete_lease("flux-system", "lock-probe")
    assert cluster.get_lease("flux-system", "lock-probe") is None


def test_a_live_lease_of_another_run_is_waited_for_and_nothing_is_revoked(
    sandbox: Any, gl: gitlab.Gitlab
) -> None:
    agent = "lease-held"
    project, agent_id = bootstrapped(sandbox, gl, agent)
    before = active(gl, project, agent_id)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    Cluster(sandbox.kubeconfig).create_lease(
        agent,
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": "kasboot-token-gitlab-agent-token",
                "namespace": agent,
                "annotations": {"kasboot.dev/storing-token-id": "999999"},
            },
            "spec": {"holderIdentity": "kasboot-other", "leaseDurationSeconds": 600}
            | {"acquireTime": now, "renewTime": now},
        },
    )
    sandbox.clear_logs()
    # --timeout bounds the whole run: leave a busy machine time to reach the lease wait.
    result = run_kasboot(sandbox, *rotate(agent, "--timeout", "10s"))
    assert result.code == 5, result.stderr
    assert "another kasboot run (kasboot-other)" in result.stderr
    gitlab_writes = kasboot_writes(sandbox.gitlab_requests())
    assert gitlab_writes == []  # neither minted nor revoked anything
    assert active(gl, project, agent_id) == before


def test_a_fresh_token_of_another_run_is_not_revoked(sandbox: Any, gl: gitlab.Gitlab) -> None:
    agent = "lease-fresh"
    project, agent_id = bootstrapped(sandbox, gl, agent)
    # Another run has just minted this one and is about to store it.
    path = f"/projects/{project.id}/cluster_agents/{agent_id}/tokens"
    other = gl.http_post(path, post_data={"name": f"kasboot-{agent}-{int(time.time())}-abcdef"})
    sandbox.clear_logs()
    result = run_kasboot(sandbox, *rotate(agent))
    assert result.code == 3, result.stderr
    assert f"token {other['id']}" in result.stderr and "another kasboot run" in result.stderr
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert kasboot_writes(sandbox.kube_requests()) == []


def test_two_rotations_at_once_leave_an_active_token(sandbox: Any, gl: gitlab.Gitlab) -> None:
    agent = "lease-race"
    project, agent_id = bootstrapped(sandbox, gl, agent)
    # A second active token (the previous one of a rotation long done), then the race.
    assert run_kasboot(sandbox, *rotate(agent)).code == 0
    slow_secret_write = {"path": f"/namespaces/{agent}/secrets/", "method": "PUT"}
    faults(sandbox, sandbox.kube_url, [slow_secret_write | {"latency_ms": 1500, "rate": 0}])
    environ = {**os.environ, **sandbox.env}
    environ.pop("CI_JOB_TOKEN", None)
    try:
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "kasboot", *rotate(agent, "--timeout", "60s")],
                env=environ,
                cwd=sandbox.dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outcomes = [(run.wait(timeout=180), run.communicate()) for run in runs]
    finally:
        faults(sandbox, sandbox.kube_url, None)
    codes = [code for code, _ in outcomes]
    assert 0 in codes, outcomes
    assert set(codes) <= {0, 3, 5}, outcomes  # a refusal, never a silent loss
    assert held(sandbox, agent) in active(gl, project, agent_id)


def test_a_restart_left_pending_by_a_crash_is_finished_by_the_rerun(
    sandbox: Any, gl: gitlab.Gitlab
) -> None:
    agent = "restart-pending"
    bootstrapped(sandbox, gl, agent)
    # The run "dies" at the restart: the Secret holds the new token, agentk the old one.
    faults(
        sandbox,
        sandbox.kube_url,
        [{"path": f"/namespaces/{agent}/deployments/", "method": "PATCH", "status": 503}],
    )
    try:
        crashed = run_kasboot(
            sandbox, *agent_args(agent), "--no-create-flux-environment", "--rotate-token"
        )
    finally:
        faults(sandbox, sandbox.kube_url, None)
    assert crashed.code == 5, crashed.stderr
    new_token = held(sandbox, agent)

    rerun = run_kasboot(sandbox, *agent_args(agent), "--no-create-flux-environment", "-o", "json")
    assert rerun.code == 0, rerun.stderr
    steps = {step["name"]: step["result"] for step in rerun.json()["steps"]}
    assert steps["restart"] == "CHANGED", steps
    deployment = kubectl_json(sandbox, "get", "deployment", f"{agent}-gitlab-agent-v2", "-n", agent)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations[STARTED_WITH_TOKEN] == str(new_token)

    again = run_kasboot(sandbox, *agent_args(agent), "--no-create-flux-environment", "-o", "json")
    steps = {step["name"]: step["result"] for step in again.json()["steps"]}
    assert steps["restart"] == "UNCHANGED", steps


@pytest.fixture(autouse=True)
def _no_faults_left(sandbox: Any) -> Iterator[None]:
    yield
    faults(sandbox, sandbox.kube_url, None)
    faults(sandbox, sandbox.gitlab_url, None)


def test_two_tokens_in_use_and_no_token_id_on_the_secret_refuse_without_force(
    sandbox: Any, gl: gitlab.Gitlab
) -> None:
    """The Secret does not say which token it holds and both active tokens were used in
    the last hour (GitLab counts an agent connected for an hour): either may be what a
    cluster runs on. Refused before any write, naming them; --force goes ahead."""
    agent = "hour-rule"
    project, agent_id = bootstrapped(sandbox, gl, agent)
    path = f"/projects/{project.id}/cluster_agents/{agent_id}/tokens"
    other = gl.http_post(path, post_data={"name": "other-cluster"})
    info = urllib.request.Request(f"{sandbox.gitlab_url}/-/kubernetes-agent/agent_info")
    info.add_header("Authorization", f"Bearer {other['token']}")
    urllib.request.urlopen(info, timeout=10).close()  # another cluster's agentk connects
    drop_token_id = ["gitlab-agent-token", "-n", agent, f"{TOKEN_ID_ANNOTATION}-"]
    annotated = subprocess.run(
        [KUBECTL, "--kubeconfig", str(sandbox.kubeconfig), "annotate", "secret", *drop_token_id],
        capture_output=True,
        text=True,
        check=False,
    )
    assert annotated.returncode == 0, annotated.stderr
    before = active(gl, project, agent_id)
    assert len(before) == 2

    sandbox.clear_logs()
    refused = run_kasboot(sandbox, *agent_args(agent), "--no-create-flux-environment")
    assert refused.code == 3, refused.stderr
    assert "within the last hour" in refused.stderr and "other-cluster" in refused.stderr
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert kasboot_writes(sandbox.kube_requests()) == []
    assert active(gl, project, agent_id) == before

    forced = run_kasboot(sandbox, *agent_args(agent), "--no-create-flux-environment", "--force")
    assert forced.code == 0, forced.stderr
    assert len(active(gl, project, agent_id) & before) == 1  # one made room for the new one
