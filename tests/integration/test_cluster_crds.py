"""Flux's CRDs through the cluster seam (cluster_flux.py), counted in the emulator's
request log: installed as `flux install` labels them, one list answers Flux's version
and every kind's served versions; CRDs without those labels (applied by hand) are read
by name, with the same answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from kasboot.cluster import FLUX_KINDS, Cluster
from kasboot.sandbox.kube import KubeEmulator, flux_crds


def _emulator(tmp_path: Path, labelled: bool) -> KubeEmulator:
    emulator = KubeEmulator(tmp_path / "state").start()
    extensions = client.ApiextensionsV1Api(
        client.ApiClient(client.Configuration(host=emulator.url))
    )
    for crd in flux_crds():
        if not labelled:
            crd["metadata"]["labels"] = {}
        extensions.create_custom_resource_definition(crd)
    emulator.request_log.clear()
    return emulator


@pytest.fixture(params=[True, False], ids=["labelled", "unlabelled"])
def kube(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[KubeEmulator, bool]]:
    emulator = _emulator(tmp_path, bool(request.param))
    yield emulator, bool(request.param)
    emulator.close()


def test_flux_version_and_served_versions(kube: tuple[KubeEmulator, bool], tmp_path: Path) -> None:
    emulator, labelled = kube
    cluster = Cluster(Path(emulator.write_kubeconfig(tmp_path / "kubeconfig")))
    version = cluster.flux_version()
    served = {kind: cluster.served_versions(kind) for kind in FLUX_KINDS}
    assert served["HelmRelease"] is not None and "v2" in served["HelmRelease"]
    assert all(versions for versions in served.values()), served
    expected = 1 if labelled else 1 + len(FLUX_KINDS)  # the (empty) list, then each by name
    # The log records a request once its handler has finished, a moment after the client
    # read the answer: wait for it (a bound on waiting, not on speed).
    deadline = time.monotonic() + 30
    while True:
        sent = [r for r in emulator.request_log.records() if r.user_agent.startswith("kasboot/")]
        if len(sent) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    time.sleep(0.2)  # and nothing more comes
    sent = [r for r in emulator.request_log.records() if r.user_agent.startswith("kasboot/")]
    if labelled:
        assert version is not None and version.startswith("v2.")
        assert len(sent) == 1, [(r.method, r.path, r.query) for r in sent]
        assert "labelSelector=app.kubernetes.io%2Fpart-of%3Dflux" in sent[0].query
    else:
        assert version == "unknown"  # no version label to read
        assert len(sent) == expected, [(r.method, r.path) for r in sent]
