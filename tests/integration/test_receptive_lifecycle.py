"""Receptive agents after the first bootstrap: a token rotation reaches the chart's copy
of the token and agentk, and a first bootstrap into a namespace that does not exist yet.

In receptive mode the chart renders its own Secret (``config.secretName`` =
``<token Secret>-receptive``) holding ``config.token``, which Flux composes from the token
Secret (``valuesFrom``). agentk reads the token file of that Secret when its pods start,
and the chart's pod template carries no checksum of it (gitlab-agent chart
templates/deployment.yaml): a new token in the chart's Secret reaches agentk only through
a restart AFTER helm-controller upgraded the release with the new values."""

from __future__ import annotations

import base64
from typing import Any

import gitlab
import pytest

from tests.integration.bootstrap_helpers import agent_args, run_kasboot
from tests.integration.test_bootstrap import kubectl_json
from tests.integration.test_bootstrap_flags import ensure_namespace

pytestmark = pytest.mark.sandbox
URL = "grpcs://agent.example.com:8082"


def receptive_args(name: str) -> list[str]:
    return agent_args(name, "--receptive", "--receptive-url", URL, "--no-create-flux-environment")


def secret_token(sandbox: Any, namespace: str, name: str) -> str:
    secret = kubectl_json(sandbox, "get", "secret", "-n", namespace, name)
    return base64.b64decode(secret["data"]["token"]).decode()


def test_a_rotation_reaches_the_charts_copy_and_then_agentk(sandbox: Any) -> None:
    name = "receptive-rotated"
    ensure_namespace(sandbox, name)
    first = run_kasboot(sandbox, *receptive_args(name))
    assert first.code == 0, first.stderr
    before = secret_token(sandbox, name, "gitlab-agent-token")
    assert secret_token(sandbox, name, "gitlab-agent-token-receptive") == before

    sandbox.clear_logs()
    rotate = ["token", "rotate", *agent_args(name)[1:], "--no-create-flux-environment"]
    rotated = run_kasboot(sandbox, *rotate)
    assert rotated.code == 0, rotated.stderr
    after = secret_token(sandbox, name, "gitlab-agent-token")
    assert after != before
    # helm-controller upgraded the release with the new valuesFrom: the chart's copy follows
    assert secret_token(sandbox, name, "gitlab-agent-token-receptive") == after
    records = sandbox.kube_requests()
    copied = [
        float(r["at"])
        for r in records
        if r["path"].endswith(f"/namespaces/{name}/secrets/gitlab-agent-token-receptive")
        and r["method"] in ("PUT", "PATCH", "POST")
        and r.get("user_agent", "").startswith("helm-controller")
    ]
    restarts = [
        float(r["at"])
        for r in records
        if r["method"] == "PATCH"
        and f"/namespaces/{name}/deployments/" in r["path"]
        and r.get("user_agent", "").startswith("kasboot/")
    ]
    assert copied and restarts, (copied, restarts)
    # agentk's pods start (and read the token file) after the chart's Secret has the new token
    assert min(restarts) > max(copied), (copied, restarts)


def test_a_first_receptive_bootstrap_into_a_new_namespace(sandbox: Any) -> None:
    """The HelmRelease lives in the agent's namespace (Flux reads valuesFrom only there):
    a first bootstrap whose namespace does not exist yet still ends Ready."""
    name = "receptive-fresh"
    result = run_kasboot(sandbox, *receptive_args(name))
    assert result.code == 0, result.stderr
    hr = kubectl_json(sandbox, "get", "helmrelease", "-n", name, name)
    assert next(c for c in hr["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"
    assert secret_token(sandbox, name, "gitlab-agent-token-receptive") == secret_token(
        sandbox, name, "gitlab-agent-token"
    )
    again = run_kasboot(sandbox, *receptive_args(name))
    assert again.code == 0, again.stderr
    assert "… CHANGED" not in again.stderr


def url_configurations(sandbox: Any, name: str) -> tuple[Any, list[dict[str, Any]]]:
    gl = gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token)
    project = gl.projects.get(sandbox.project)
    agent = next(a for a in project.cluster_agents.list(get_all=True) if a.name == name)
    path = f"/projects/{project.id}/cluster_agents/{agent.id}/url_configurations"
    return (gl, path), list(gl.http_list(path, get_all=True))  # type: ignore[arg-type]


def uninstall_args(name: str) -> list[str]:
    return ["uninstall", *agent_args(name)[1:], "--no-create-flux-environment", "-o", "json"]


def test_uninstall_deletes_the_url_configuration_bootstrap_made(sandbox: Any) -> None:
    name = "receptive-gone"
    first = run_kasboot(sandbox, *receptive_args(name))
    assert first.code == 0, first.stderr
    _, made = url_configurations(sandbox, name)
    assert [c["url"] for c in made] == [URL]
    again = run_kasboot(sandbox, *receptive_args(name))  # a re-run keeps it recorded
    assert again.code == 0, again.stderr

    removed = run_kasboot(sandbox, *uninstall_args(name))
    assert removed.code == 0, removed.stderr
    steps = {s["name"]: s for s in removed.json()["steps"]}
    assert steps["url-configuration"]["result"] == "CHANGED"
    assert steps["url-configuration"]["summary"] == (
        f"URL configuration {made[0]['id']} ({URL}) deleted"
    )
    _, left = url_configurations(sandbox, name)  # the agent stays registered, not receptive
    assert left == []


@pytest.mark.slow  # four runs; the default suite has the deleting case
def test_uninstall_keeps_a_url_configuration_that_is_not_provably_kasboots(
    sandbox: Any,
) -> None:
    """One replaced since bootstrap (another id), and one bootstrap found already made
    with the same URL (never recorded): both stay, and the summary says why."""
    name = "receptive-kept"
    first = run_kasboot(sandbox, *receptive_args(name))
    assert first.code == 0, first.stderr
    (gl, path), made = url_configurations(sandbox, name)
    gl.http_delete(f"{path}/{made[0]['id']}")  # someone replaces it with their own
    theirs: Any = gl.http_post(path, post_data={"url": "grpcs://theirs.example.com:8082"})

    removed = run_kasboot(sandbox, *uninstall_args(name))
    assert removed.code == 0, removed.stderr
    summary = {s["name"]: s for s in removed.json()["steps"]}["url-configuration"]
    assert summary["result"] == "UNCHANGED"
    assert "kept: it is not the one bootstrap created" in summary["summary"]
    _, left = url_configurations(sandbox, name)
    assert [c["id"] for c in left] == [theirs["id"]]

    # The user's own configuration with kasboot's URL: bootstrap keeps it (same URL, no
    # change) but never claims it, so uninstall leaves it.
    gl.http_delete(f"{path}/{theirs['id']}")
    own: Any = gl.http_post(path, post_data={"url": URL})
    kept = run_kasboot(sandbox, *receptive_args(name))
    assert kept.code == 0, kept.stderr
    assert "Configuring the receptive agent's URL … UNCHANGED" in kept.stderr
    removed = run_kasboot(sandbox, *uninstall_args(name))
    assert removed.code == 0, removed.stderr
    summary = {s["name"]: s for s in removed.json()["steps"]}["url-configuration"]
    assert summary["result"] == "UNCHANGED"
    assert summary["summary"].startswith("none recorded as kasboot's")
    _, left = url_configurations(sandbox, name)
    assert [c["id"] for c in left] == [own["id"]]
