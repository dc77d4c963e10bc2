"""source-controller and OCI Helm repositories (`spec.type: oci`): the object is
"static" — its status is emptied and it is never reconciled (a reconcile request is
never handled: waiting for it hangs); HelmCharts of it pull from the registry
directly, without an index artifact. An `oci://` URL without the type is refused."""

from __future__ import annotations

import time

from kasboot.sandbox.flux import FluxSimulator

from .conftest import Flux, wait_for

OCI_URL = "oci://registry.gitlab.com/gitlab-org/charts"


def test_oci_helm_repository_is_static_and_its_chart_is_pulled(
    fluxapi: Flux, flux: FluxSimulator
) -> None:
    fluxapi.create("HelmRepository", "oci", {"interval": "1m0s", "type": "oci", "url": OCI_URL})
    fluxapi.create(
        "HelmChart",
        "agent",
        {
            "chart": "gitlab-agent",
            "interval": "1m0s",
            "sourceRef": {"kind": "HelmRepository", "name": "oci"},
            "version": "*",
        },
    )
    chart = wait_for(lambda: fluxapi.ready("HelmChart", "agent"), "chart")
    assert (chart["status"], chart["reason"]) == ("True", "Succeeded")
    assert fluxapi.get("HelmChart", "agent")["status"]["artifact"]["revision"] == "2.11.0"

    fluxapi.request_reconcile("HelmRepository", "oci", "t1")
    time.sleep(0.5)  # a reconcile would be long done: none comes
    assert not fluxapi.get("HelmRepository", "oci").get("status")


def test_a_status_left_from_before_is_emptied(fluxapi: Flux, flux: FluxSimulator) -> None:
    fluxapi.create("HelmRepository", "old", {"interval": "1m0s", "url": "https://charts.gitlab.io"})
    wait_for(lambda: fluxapi.ready("HelmRepository", "old"), "default type ready")
    fluxapi.patch("HelmRepository", "old", {"spec": {"type": "oci", "url": OCI_URL}})
    wait_for(lambda: not fluxapi.get("HelmRepository", "old").get("status"), "status emptied")


def test_oci_url_needs_the_oci_type(fluxapi: Flux, flux: FluxSimulator) -> None:
    fluxapi.create("HelmRepository", "bad", {"interval": "1m0s", "url": OCI_URL})
    ready = wait_for(lambda: fluxapi.ready("HelmRepository", "bad"), "verdict")
    assert ready["status"] == "False"
    assert ready["message"] == "'oci' URL scheme cannot be used with 'default' HelmRepository type"
