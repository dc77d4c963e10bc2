"""Issue 15 items 3 and 4 end to end against the sandbox:

- a HelmRelease Stalled after a failed upgrade (default remediation: no retries) is
  recovered by re-running bootstrap once the cause is gone — kasboot resets and forces
  it (resetAt/forceAt = requestedAt) as `flux reconcile hr --reset --force` does;
- with an `oci://` HelmRepository address (static: source-controller never reconciles
  it) bootstrap ends Ready.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client, config

from tests.integration.bootstrap_helpers import agent_args, run_kasboot

pytestmark = pytest.mark.sandbox
HELM = ("helm.toolkit.fluxcd.io", "v2", "flux-system", "helmreleases")


def _api(sandbox: Any) -> client.ApiClient:
    return config.new_client_from_config(str(sandbox.kubeconfig))


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for entry in (obj.get("status") or {}).get("conditions") or []:
        if entry["type"] == kind:
            return dict(entry)
    return None


def _wait_stalled(custom: client.CustomObjectsApi, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120  # only bounds a hang
    while time.monotonic() < deadline:
        obj = dict(custom.get_namespaced_custom_object(*HELM, name))
        stalled = _condition(obj, "Stalled")
        if stalled and stalled["status"] == "True":
            return obj
        time.sleep(0.1)
    raise AssertionError("the HelmRelease never stalled")


def test_rerun_recovers_a_release_stalled_after_a_failed_upgrade(sandbox: Any) -> None:
    name = "stall-agent"
    first = run_kasboot(sandbox, *agent_args(name))
    assert first.code == 0, first.stderr
    api = _api(sandbox)
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    # The cause: the token Secret is gone, and an upgrade runs (flux reconcile hr --force).
    core.delete_namespaced_secret("gitlab-agent-token", name)
    stamp = "2026-12-01T00:00:00.000000000Z"
    custom.patch_namespaced_custom_object(
        *HELM,
        name,
        {
            "metadata": {
                "annotations": {
                    "reconcile.fluxcd.io/requestedAt": stamp,
                    "reconcile.fluxcd.io/forceAt": stamp,
                }
            }
        },
    )
    stalled = _wait_stalled(custom, name)
    assert _condition(stalled, "Stalled")["reason"] == "RetriesExceeded"  # type: ignore[index]
    assert _condition(stalled, "Ready")["reason"] == "UpgradeFailed"  # type: ignore[index]

    # The re-run writes the Secret again; the release must be tried again and end Ready.
    second = run_kasboot(sandbox, *agent_args(name))
    assert second.code == 0, second.stderr
    obj = dict(custom.get_namespaced_custom_object(*HELM, name))
    assert _condition(obj, "Ready")["status"] == "True"  # type: ignore[index]
    assert _condition(obj, "Stalled") is None
    annotations = obj["metadata"]["annotations"]
    token = annotations["reconcile.fluxcd.io/requestedAt"]
    assert annotations["reconcile.fluxcd.io/resetAt"] == token
    assert obj["status"]["lastHandledResetAt"] == token


def test_bootstrap_with_an_oci_helm_repository_ends_ready(sandbox: Any) -> None:
    name = "oci-agent"
    result = run_kasboot(
        sandbox,
        *agent_args(name),
        "--helm-repository-address",
        "oci://registry.gitlab.com/gitlab-org/charts",
    )
    assert result.code == 0, result.stderr
    api = _api(sandbox)
    repository = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "source.toolkit.fluxcd.io", "v1", "flux-system", "helmrepositories", f"gitlab-{name}"
    )
    assert repository["spec"]["type"] == "oci"
    # source-controller leaves a static repository alone: kasboot never annotated it
    assert "reconcile.fluxcd.io/requestedAt" not in (
        repository["metadata"].get("annotations") or {}
    )
