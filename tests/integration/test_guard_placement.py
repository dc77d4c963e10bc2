"""Kustomization fields that move objects, end to end: with `targetNamespace: apps` the
HelmRelease lands in `apps` while its sourceRef still names the HelmRepository's
written namespace. kasboot refuses when that breaks the chart source (exit 3, with the
flag that fixes it), and otherwise waits for the HelmRelease where Flux really puts it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kubernetes
import pytest

from tests.integration.bootstrap_helpers import CliResult, kasboot_writes, run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox
KS = ("kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("placement-sandbox")
    sandbox = sandbox_up(directory)
    try:
        api_client = kubernetes.config.new_client_from_config(str(sandbox.kubeconfig))
        kubernetes.client.CoreV1Api(api_client).create_namespace({"metadata": {"name": "apps"}})
        group, version, namespace, plural = KS
        kubernetes.client.CustomObjectsApi(api_client).create_namespaced_custom_object(
            group,
            version,
            namespace,
            plural,
            {
                "apiVersion": f"{group}/{version}",
                "kind": "Kustomization",
                "metadata": {"name": "apps", "namespace": namespace},
                "spec": {
                    "interval": "10m0s",
                    "path": "./apps",
                    "prune": True,
                    "targetNamespace": "apps",
                    "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                },
            },
        )
        yield sandbox
    finally:
        sandbox_down(directory)


def _bootstrap(world: Sandbox, name: str, *extra: str) -> CliResult:
    return run_kasboot(
        world,
        "bootstrap",
        name,
        "--manifest-path",
        f"apps/{name}",
        "--helm-release-target-namespace",
        name,
        "--timeout",
        "120s",
        *extra,
    )


def _helm_release(world: Sandbox, namespace: str, name: str) -> dict[str, Any]:
    api = kubernetes.client.CustomObjectsApi(
        kubernetes.config.new_client_from_config(str(world.kubeconfig))
    )
    found = api.get_namespaced_custom_object(
        "helm.toolkit.fluxcd.io", "v2", namespace, "helmreleases", name
    )
    return dict(found)


def test_target_namespace_that_breaks_the_source_ref_is_refused(world: Sandbox) -> None:
    world.clear_logs()
    result = _bootstrap(world, "moved")
    assert result.code == 3, result.stderr
    assert "HelmRepository flux-system/gitlab as apps/gitlab" in result.stderr
    assert "--helm-repository-namespace apps" in result.stderr
    assert kasboot_writes(world.gitlab_requests()) == []


def test_the_wait_follows_the_helm_release_into_the_target_namespace(world: Sandbox) -> None:
    result = _bootstrap(world, "followed", "--helm-repository-namespace", "apps")
    assert result.code == 0, result.stderr
    release = _helm_release(world, "apps", "gitlab-agent")
    ready = next(c for c in release["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
