"""Issue 15 item 5: an older Flux (`sandbox up --flux-version 2.2.0`) serves only
HelmRelease v2beta1/v2beta2 and HelmRepository v1beta2 — it could never apply the
`helm.toolkit.fluxcd.io/v2` / `source.toolkit.fluxcd.io/v1` manifests kasboot commits.
Pre-flight refuses it (exit 3) with the upgrade hint, before any write."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from kasboot.sandbox.flux.versions import crds_for, served_versions
from kasboot.sandbox.kube import flux_crds
from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def old_flux(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("flux-2.2")
    world = sandbox_up(directory, "--flux-version", "2.2.0")
    try:
        yield world
    finally:
        sandbox_down(directory)


def _get(sandbox: Sandbox, path: str) -> Any:
    with urllib.request.urlopen(f"{sandbox.kube_url}{path}", timeout=10) as response:
        return json.loads(response.read())


def test_the_old_flux_serves_only_what_it_served(old_flux: Sandbox) -> None:
    groups = {g["name"]: g for g in _get(old_flux, "/apis")["groups"]}
    helm = [v["version"] for v in groups["helm.toolkit.fluxcd.io"]["versions"]]
    assert helm == ["v2beta2", "v2beta1"]
    source = [v["version"] for v in groups["source.toolkit.fluxcd.io"]["versions"]]
    assert "v1" in source  # GitRepository v1 (Flux 2.0)
    resources = _get(old_flux, "/apis/source.toolkit.fluxcd.io/v1")["resources"]
    assert "helmrepositories" not in {r["name"] for r in resources}
    crd = _get(
        old_flux,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
        "gitrepositories.source.toolkit.fluxcd.io",
    )
    assert crd["metadata"]["labels"]["app.kubernetes.io/version"] == "v2.2.0"


def test_bootstrap_on_flux_2_2_is_refused_before_any_write(old_flux: Sandbox) -> None:
    old_flux.clear_logs()
    result = run_kasboot(old_flux, *agent_args("old-flux-agent"))
    assert result.code == 3, result.stderr
    assert "Flux v2.2.0 is too old" in result.stderr
    assert "helm.toolkit.fluxcd.io/v2" in result.stderr
    assert "upgrade Flux to 2.3 or later" in result.stderr
    assert "Traceback" not in result.stderr
    assert not kasboot_writes(old_flux.kube_requests())
    assert not [r for r in old_flux.gitlab_requests() if r["method"] != "GET"]


@pytest.mark.parametrize(
    ("release", "helm_release", "helm_repository"),
    [
        ("2.2.0", ["v2beta2", "v2beta1"], ["v1beta2"]),
        ("2.3.0", ["v2", "v2beta2", "v2beta1"], ["v1", "v1beta2"]),
        ("2.7.0", ["v2", "v2beta2"], ["v1", "v1beta2"]),
        ("2.9.4", ["v2"], ["v1"]),
    ],
)
def test_served_versions_by_release(
    release: str, helm_release: list[str], helm_repository: list[str]
) -> None:
    crds = {c["spec"]["names"]["kind"]: c for c in crds_for(flux_crds(), release)}
    served = {
        kind: [v["name"] for v in crd["spec"]["versions"] if v["served"]]
        for kind, crd in crds.items()
    }
    assert served["HelmRelease"] == helm_release
    assert served["HelmRepository"] == helm_repository
    assert [v["name"] for v in crds["HelmRelease"]["spec"]["versions"] if v["storage"]] == [
        helm_release[0]
    ]
    assert served_versions("OCIRepository", (2, 5)) == ["v1beta2"]
