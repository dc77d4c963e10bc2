"""A namespace-scoped operator (a RoleBinding in flux-system and the agent's namespace,
nothing cluster-wide): the API server answers 403 to listing CRDs or Kustomizations
across namespaces. The guard falls back to the Flux source's namespace and says it is
partial; kasboot never shows a raw 403."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

from kasboot.sandbox.kube.rbac import OPERATOR_LABEL, SCOPED_USER, scoped_kubeconfig
from tests.integration.bootstrap_helpers import run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox
TARGET = "scoped-agent"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("rbac-sandbox")
    sandbox = sandbox_up(directory)
    try:
        core = kubernetes.client.CoreV1Api(
            kubernetes.config.new_client_from_config(str(sandbox.kubeconfig))
        )
        core.create_namespace({"metadata": {"name": TARGET}})
        for namespace in ("flux-system", TARGET):
            core.patch_namespace(namespace, {"metadata": {"labels": {OPERATOR_LABEL: SCOPED_USER}}})
        yield sandbox
    finally:
        sandbox_down(directory)


def message(error: kubernetes.client.ApiException) -> str:
    return str(json.loads(error.body)["message"])


def test_the_emulator_answers_403_like_the_api_server(world: Sandbox, tmp_path: Path) -> None:
    config = scoped_kubeconfig(world.kubeconfig, tmp_path / "scoped")
    api_client = kubernetes.config.new_client_from_config(str(config))
    custom = kubernetes.client.CustomObjectsApi(api_client)
    with pytest.raises(kubernetes.client.ApiException) as refused:
        custom.list_cluster_custom_object("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
    assert refused.value.status == 403
    assert message(refused.value) == (
        'kustomizations.kustomize.toolkit.fluxcd.io is forbidden: User "flux-operator" cannot '
        'list resource "kustomizations" in API group "kustomize.toolkit.fluxcd.io" at the '
        "cluster scope"
    )
    listed = custom.list_namespaced_custom_object(
        "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations"
    )
    assert [item["metadata"]["name"] for item in listed["items"]] == ["flux-system"]
    extensions = kubernetes.client.ApiextensionsV1Api(api_client)
    with pytest.raises(kubernetes.client.ApiException) as crd:
        extensions.read_custom_resource_definition("gitrepositories.source.toolkit.fluxcd.io")
    assert crd.value.status == 403
    assert 'cannot get resource "customresourcedefinitions"' in message(crd.value)
    with pytest.raises(kubernetes.client.ApiException) as other:
        kubernetes.client.CoreV1Api(api_client).list_namespaced_secret("default")
    assert 'cannot list resource "secrets" in API group "" in the namespace "default"' in (
        message(other.value)
    )


def test_bootstrap_as_a_namespace_scoped_operator(world: Sandbox, tmp_path: Path) -> None:
    config = scoped_kubeconfig(world.kubeconfig, tmp_path / "scoped")
    result = run_kasboot(
        world,
        "bootstrap",
        "scoped",
        "--manifest-path",
        "clusters/sandbox/scoped",
        "--helm-release-target-namespace",
        TARGET,
        "--timeout",
        "120s",
        env={"KUBECONFIG": str(config)},
    )
    assert result.code == 0, result.stderr
    assert "403" in result.stderr and "partial" in result.stderr
    assert "namespace flux-system only" in result.stderr
    assert "forbidden" not in result.stderr.lower()


def test_doctor_as_a_namespace_scoped_operator(world: Sandbox, tmp_path: Path) -> None:
    """Doctor falls back as bootstrap does: Flux's served versions from API discovery
    (open to every user), its controllers in the Flux namespace; the partial view is a
    warning with the way to see one's rights, never a raw 403 nor "Flux is not
    installed"."""
    config = scoped_kubeconfig(world.kubeconfig, tmp_path / "scoped")
    result = run_kasboot(
        world,
        "doctor",
        "--manifest-path",
        "clusters/sandbox/scoped",
        "--helm-release-target-namespace",
        TARGET,
        "--output",
        "json",
        env={"KUBECONFIG": str(config)},
    )
    report = result.json()
    checks = {check["id"]: check for check in report["checks"]}
    flux = checks["flux"]
    assert flux["status"] == "warn", flux
    assert "partial" in flux["summary"] and "flux-system" in flux["summary"], flux
    assert "kubectl auth can-i --list" in (flux["fix"] or ""), flux
    for check in report["checks"]:
        text = f"{check['summary']} {check['fix'] or ''}".lower()
        assert "forbidden" not in text, check
        assert "flux is not installed" not in text, check
    assert checks["flux-source"]["status"] == "pass", checks["flux-source"]
    assert checks["topology"]["status"] in ("pass", "warn"), checks["topology"]
    assert "partial" in checks["topology"]["summary"], checks["topology"]
    assert result.code == 0, result.stdout + result.stderr


def test_bootstrap_applied_by_a_kustomization_out_of_sight(world: Sandbox, tmp_path: Path) -> None:
    """The manifests go under a Kustomization in a namespace the guard does not list:
    the partial view cannot tell that nothing applies them, so it does not refuse; Flux
    applies them and bootstrap ends Ready."""
    admin = kubernetes.client.CustomObjectsApi(
        kubernetes.config.new_client_from_config(str(world.kubeconfig))
    )
    admin.create_namespaced_custom_object(
        "kustomize.toolkit.fluxcd.io",
        "v1",
        TARGET,
        "kustomizations",
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "team-agents", "namespace": TARGET},
            "spec": {
                "interval": "1m",
                "path": "./team-agents",
                "prune": True,
                "sourceRef": {
                    "kind": "GitRepository",
                    "name": "flux-system",
                    "namespace": "flux-system",
                },
            },
        },
    )
    config = scoped_kubeconfig(world.kubeconfig, tmp_path / "scoped")
    result = run_kasboot(
        world,
        "bootstrap",
        "elsewhere",
        "--manifest-path",
        "team-agents/elsewhere",
        "--helm-release-name",
        "elsewhere",
        "--helm-repository-name",
        "gitlab-elsewhere",
        "--gitlab-agent-token-secret-name",
        "elsewhere-token",
        "--helm-release-target-namespace",
        TARGET,
        "--timeout",
        "120s",
        env={"KUBECONFIG": str(config)},
    )
    assert result.code == 0, result.stderr
    assert "partial view" in result.stderr, result.stderr
    assert "forbidden" not in result.stderr.lower()
