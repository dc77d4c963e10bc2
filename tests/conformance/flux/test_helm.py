"""helm-controller rules for the GitLab agent chart: Ready only with a Ready chart
source and the token Secret; the simulated agentk connects to the KAS stand-in, so
GitLab records last_used_at for an active token only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gitlab
import pytest
from kubernetes import client

from kasboot.sandbox.flux import FluxSimulator
from kasboot.sandbox.gitlab import GitLabEmulator

from .conftest import Flux, wait_for

CHART = "gitlab-agent@2.11.0"


@pytest.fixture(scope="module")
def gitlab_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gitlab.Gitlab]:
    emulator = GitLabEmulator(tmp_path_factory.mktemp("gitlab-helm")).start()
    emulator.backend.ensure_user("root", "Administrator", "admin@example.com")
    token = emulator.backend.create_personal_access_token("root", "t", ["api"])
    emulator.backend.ensure_project("demo/fleet", owner="root")
    yield gitlab.Gitlab(emulator.url, private_token=token)
    emulator.stop()


def _agent_token(gl: gitlab.Gitlab, name: str) -> dict[str, Any]:
    project = gl.projects.get("demo/fleet")
    agent = gl.http_post(f"/projects/{project.id}/cluster_agents", post_data={"name": name})
    token = gl.http_post(
        f"/projects/{project.id}/cluster_agents/{agent['id']}/tokens", post_data={"name": "t"}
    )
    return {"project": project.id, "agent": agent["id"], **token}


def _last_used(gl: gitlab.Gitlab, token: dict[str, Any]) -> Any:
    found = gl.http_get(
        f"/projects/{token['project']}/cluster_agents/{token['agent']}/tokens/{token['id']}"
    )
    return found.get("last_used_at")


def _release(fluxapi: Flux, kas: str, target: str, repository: str = "gitlab") -> None:
    fluxapi.create(
        "HelmRelease",
        "gitlab-agent",
        {
            "chart": {
                "spec": {
                    "chart": "gitlab-agent",
                    "reconcileStrategy": "ChartVersion",
                    "sourceRef": {"kind": "HelmRepository", "name": repository},
                }
            },
            "install": {"createNamespace": True},
            "interval": "1m0s",
            "releaseName": "gitlab-agent",
            "storageNamespace": target,
            "targetNamespace": target,
            "values": {
                "config": {"kasAddress": kas, "secretName": "gitlab-agent-token"},
                "image": {"tag": "v17.11.0"},
            },
        },
    )


def _condition(status: dict[str, Any], kind: str) -> Any:
    return next((c for c in status.get("conditions") or [] if c["type"] == kind), None)


def _ready_history(fluxapi: Flux, name: str, until: str) -> list[tuple[str, str]]:
    """Every Ready (reason, message) the HelmRelease went through, from a watch (short
    transient states included), until ``until``."""
    from kubernetes import watch

    seen: list[tuple[str, str]] = []
    stream = watch.Watch().stream(
        fluxapi.custom.list_namespaced_custom_object,
        "helm.toolkit.fluxcd.io",
        "v2",
        fluxapi.namespace,
        "helmreleases",
        field_selector=f"metadata.name={name}",
        timeout_seconds=30,
    )
    for event in stream:
        ready = _condition(event["object"].get("status") or {}, "Ready")
        if ready is not None and (not seen or seen[-1] != (ready["reason"], ready["message"])):
            seen.append((ready["reason"], ready["message"]))
            if ready["reason"] == until:
                break
    return seen


def _kas(gl: gitlab.Gitlab) -> str:
    return str(gl.http_get("/metadata")["kas"]["externalUrl"])


def test_failed_install_stalls_until_reset_then_installs_and_agent_connects(
    fluxapi: Flux, gitlab_api: gitlab.Gitlab, flux: FluxSimulator, k8s: client.ApiClient
) -> None:
    """Default remediation (0 retries): one failed install leaves the release Stalled,
    RetriesExceeded; a plain reconcile request does not retry it (nothing changed), a
    reset (resetAt = requestedAt, as `flux reconcile hr --reset`) does."""
    target = f"{fluxapi.namespace}-agent"
    fluxapi.create(
        "HelmRepository", "gitlab", {"interval": "1m0s", "url": "https://charts.gitlab.io"}
    )
    repo_ready = wait_for(lambda: fluxapi.ready("HelmRepository", "gitlab"), "repo")
    assert repo_ready["message"].startswith("stored artifact: revision 'sha256:")
    _release(fluxapi, _kas(gitlab_api), target)
    failed = wait_for(lambda: fluxapi.settled("HelmRelease", "gitlab-agent"), "verdict")
    assert (failed["status"], failed["reason"]) == ("False", "InstallFailed")
    assert failed["message"].startswith(
        f"Helm install failed for release {target}/gitlab-agent.v1 with chart gitlab-agent@2.11.0: "
    )
    assert 'secret "gitlab-agent-token" not found' in failed["message"]
    # The status between two passes (a reconcile that started since, e.g. on the chart's
    # next artifact, marks Reconciling for its duration): the settled one is asserted.
    status = wait_for(
        lambda: (
            found
            if _condition(
                found := fluxapi.get("HelmRelease", "gitlab-agent")["status"], "Reconciling"
            )
            is None
            else None
        ),
        "a status between reconciles",
    )
    stalled = _condition(status, "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "RetriesExceeded")
    assert stalled["message"] == "Failed to install after 1 attempt(s)"
    assert status["installFailures"] == 1
    assert _condition(status, "Reconciling") is None
    assert status["observedGeneration"] == status["lastAttemptedGeneration"]

    token = _agent_token(gitlab_api, "helm-a")
    assert _last_used(gitlab_api, token) is None
    fluxapi.secret("gitlab-agent-token", {"token": token["token"]}, namespace=target)
    fluxapi.request_reconcile("HelmRelease", "gitlab-agent", "t1")
    wait_for(
        lambda: (
            fluxapi.get("HelmRelease", "gitlab-agent")["status"].get("lastHandledReconcileAt")
            == "t1"
        ),
        "request handled",
    )
    still = fluxapi.get("HelmRelease", "gitlab-agent")["status"]
    assert _condition(still, "Stalled")["reason"] == "RetriesExceeded"  # not retried

    fluxapi.patch(
        "HelmRelease",
        "gitlab-agent",
        {
            "metadata": {
                "annotations": {
                    "reconcile.fluxcd.io/requestedAt": "t2",
                    "reconcile.fluxcd.io/resetAt": "t2",
                    "reconcile.fluxcd.io/forceAt": "t2",
                }
            }
        },
    )
    wait_for(
        lambda: (
            fluxapi.get("HelmRelease", "gitlab-agent")["status"].get("lastHandledReconcileAt")
            == "t2"
        ),
        "reset handled",
    )
    status = fluxapi.get("HelmRelease", "gitlab-agent")["status"]
    assert (status["lastHandledResetAt"], status["lastHandledForceAt"]) == ("t2", "t2")
    assert _condition(status, "Stalled") is None
    assert not status.get("installFailures")
    ready = fluxapi.ready("HelmRelease", "gitlab-agent")
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("True", "InstallSucceeded")
    assert ready["message"] == (
        f"Helm install succeeded for release {target}/gitlab-agent.v1 with chart {CHART}"
    )
    status = fluxapi.get("HelmRelease", "gitlab-agent")["status"]
    assert status["lastAttemptedRevision"] == "2.11.0"
    assert status["history"][0]["chartVersion"] == "2.11.0"
    deployment = client.AppsV1Api(k8s).read_namespaced_deployment("gitlab-agent-v2", target)
    assert deployment.spec.template.spec.containers[0].image == (
        "registry.gitlab.com/gitlab-org/cluster-integration/gitlab-agent/agentk:v17.11.0"
    )
    assert _last_used(gitlab_api, token) is not None
    assert any(c.namespace == target and c.accepted for c in flux.connections)

    # a change of values is an upgrade
    fluxapi.patch("HelmRelease", "gitlab-agent", {"spec": {"values": {"replicas": 1}}})
    upgraded = wait_for(
        lambda: (
            (fluxapi.ready("HelmRelease", "gitlab-agent") or {}).get("reason") == "UpgradeSucceeded"
            and fluxapi.ready("HelmRelease", "gitlab-agent")
        ),
        "upgrade",
    )
    assert upgraded["message"] == (
        f"Helm upgrade succeeded for release {target}/gitlab-agent.v2 with chart {CHART}"
    )


def test_deleted_release_is_uninstalled(
    fluxapi: Flux, gitlab_api: gitlab.Gitlab, k8s: client.ApiClient
) -> None:
    target = f"{fluxapi.namespace}-agent"
    fluxapi.create(
        "HelmRepository", "gitlab", {"interval": "1m0s", "url": "https://charts.gitlab.io"}
    )
    fluxapi.core.create_namespace({"metadata": {"name": target}})
    fluxapi.secret("gitlab-agent-token", {"token": "glagent-x"}, namespace=target)
    _release(fluxapi, _kas(gitlab_api), target)
    assert (
        wait_for(lambda: fluxapi.settled("HelmRelease", "gitlab-agent"), "install")["status"]
        == "True"
    )
    apps = client.AppsV1Api(k8s)
    assert apps.read_namespaced_deployment("gitlab-agent-v2", target)
    fluxapi.custom.delete_namespaced_custom_object(
        "helm.toolkit.fluxcd.io", "v2", fluxapi.namespace, "helmreleases", "gitlab-agent"
    )
    wait_for(lambda: not apps.list_namespaced_deployment(target).items, "agentk Deployment removed")
    assert client.CoreV1Api(k8s).read_namespaced_secret("gitlab-agent-token", target)


def test_revoked_token_is_not_recorded_as_used(
    fluxapi: Flux, gitlab_api: gitlab.Gitlab, flux: FluxSimulator
) -> None:
    target = f"{fluxapi.namespace}-agent"
    fluxapi.create(
        "HelmRepository", "gitlab", {"interval": "1m0s", "url": "https://charts.gitlab.io"}
    )
    fluxapi.core.create_namespace({"metadata": {"name": target}})
    fluxapi.secret("gitlab-agent-token", {"token": "glagent-not-a-real-token"}, namespace=target)
    _release(fluxapi, _kas(gitlab_api), target)
    ready = wait_for(lambda: fluxapi.settled("HelmRelease", "gitlab-agent"), "verdict")
    assert ready["status"] == "True"  # helm installed; the agent just cannot connect
    wait_for(lambda: any(c.namespace == target for c in flux.connections), "agentk attempt")
    assert not any(c.namespace == target and c.accepted for c in flux.connections)


def test_missing_chart_source_is_source_not_ready(fluxapi: Flux, gitlab_api: gitlab.Gitlab) -> None:
    _release(fluxapi, _kas(gitlab_api), fluxapi.namespace, repository="absent")
    ready = wait_for(lambda: fluxapi.ready("HelmRelease", "gitlab-agent"), "verdict")
    assert (ready["status"], ready["reason"]) == ("False", "SourceNotReady")
    chart = f"{fluxapi.namespace}/{fluxapi.namespace}-gitlab-agent"
    assert ready["message"].startswith(f"HelmChart '{chart}' is not ready")
    status = fluxapi.get("HelmRelease", "gitlab-agent")["status"]
    assert _condition(status, "Reconciling")["status"] == "True"  # kstatus: InProgress
    assert "observedGeneration" not in status


def test_release_proceeds_when_its_chart_source_appears(
    fluxapi: Flux, gitlab_api: gitlab.Gitlab
) -> None:
    target = f"{fluxapi.namespace}-agent"
    fluxapi.core.create_namespace({"metadata": {"name": target}})
    fluxapi.secret("gitlab-agent-token", {"token": "glagent-y"}, namespace=target)
    _release(fluxapi, _kas(gitlab_api), target, repository="late")
    waiting = wait_for(lambda: fluxapi.ready("HelmRelease", "gitlab-agent"), "waiting")
    assert waiting["reason"] == "SourceNotReady"
    fluxapi.create(
        "HelmRepository", "late", {"interval": "1m0s", "url": "https://charts.gitlab.io"}
    )
    done = wait_for(lambda: fluxapi.settled("HelmRelease", "gitlab-agent"), "install")
    assert (done["status"], done["reason"]) == ("True", "InstallSucceeded")


def test_first_pass_adds_the_finalizer_and_the_helmchart_comes_on_the_second(
    fluxapi: Flux, gitlab_api: gitlab.Gitlab, kube: Any
) -> None:
    kube.request_log.clear()
    _release(fluxapi, _kas(gitlab_api), fluxapi.namespace, repository="second-pass")
    chart = f"{fluxapi.namespace}-gitlab-agent"
    wait_for(
        lambda: any(
            r.method == "POST" and r.path.endswith("/helmcharts")
            for r in kube.request_log.records()
        ),
        "HelmChart created",
    )
    obj = fluxapi.get("HelmRelease", "gitlab-agent")
    assert "finalizers.fluxcd.io" in obj["metadata"]["finalizers"]
    helm = [r for r in kube.request_log.records() if r.user_agent.startswith("helm-controller/")]
    finalizer_patch = next(
        i for i, r in enumerate(helm) if r.method == "PATCH" and r.path.endswith("/gitlab-agent")
    )
    chart_create = next(
        i for i, r in enumerate(helm) if r.method == "POST" and r.path.endswith("/helmcharts")
    )
    assert finalizer_patch < chart_create
    assert fluxapi.get("HelmChart", chart)["spec"]["chart"] == "gitlab-agent"


def test_an_artifact_not_yet_served_is_artifact_failed_then_retried(
    fluxapi: Flux, gitlab_api: gitlab.Gitlab, flux: FluxSimulator
) -> None:
    helm = next(
        loop.reconciler for loop in flux.loops if loop.reconciler.component == "helm-controller"
    )
    target = f"{fluxapi.namespace}-agent"
    fluxapi.core.create_namespace({"metadata": {"name": target}})
    fluxapi.secret("gitlab-agent-token", {"token": "glagent-z"}, namespace=target)
    fluxapi.create(
        "HelmRepository", "gitlab", {"interval": "1m0s", "url": "https://charts.gitlab.io"}
    )
    helm.dependency_requeue = 0.5
    helm.artifact_fetch_failures = 1
    try:
        _release(fluxapi, _kas(gitlab_api), target)
        seen = _ready_history(fluxapi, "gitlab-agent", until="InstallSucceeded")
        failed = [m for r, m in seen if r == "ArtifactFailed"]
        assert failed
        assert failed[0].startswith("Source not ready: artifact not found. Retrying in")
        assert seen[-1][0] == "InstallSucceeded"
    finally:
        helm.artifact_fetch_failures = 0
        helm.dependency_requeue = 5.0
