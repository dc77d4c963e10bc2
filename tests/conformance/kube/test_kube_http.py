"""kasboot's plain-JSON requests (kube_http.py) through the official client's machinery,
against the emulator: the same answers the generated APIs give, on every client version
kasboot allows (`python3 tasks.py oldest-client` runs the doctor/status tests on the
oldest)."""

from __future__ import annotations

import json
import time

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from kasboot.kube_http import get_json, request_json, send, watch_events


def test_get_json_reads_lists_objects_and_not_found(
    api_client: client.ApiClient, core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "c"}, "data": {"k": "v"}})
    found = get_json(api_client, f"/api/v1/namespaces/{namespace}/configmaps/c")
    assert found["data"] == {"k": "v"}
    listed = get_json(
        api_client,
        f"/api/v1/namespaces/{namespace}/configmaps",
        [("fieldSelector", "metadata.name=c")],
    )
    assert [i["metadata"]["name"] for i in listed["items"]] == ["c"]
    assert get_json(api_client, f"/api/v1/namespaces/{namespace}/configmaps/absent") is None


def test_errors_are_api_exceptions_with_the_status(
    api_client: client.ApiClient, namespace: str
) -> None:
    with pytest.raises(ApiException) as caught:
        get_json(
            api_client,
            f"/api/v1/namespaces/{namespace}/configmaps",
            [("fieldSelector", "no-operator-here")],
        )
    assert caught.value.status == 400
    body = caught.value.body
    assert json.loads(body.decode() if isinstance(body, bytes) else body)["kind"] == "Status"


def test_send_writes_json_with_the_clients_headers(
    api_client: client.ApiClient, emulator: object, namespace: str
) -> None:
    api_client.user_agent = "kasboot-test/1"
    response = send(
        api_client,
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        query=[("fieldManager", "kube-http-test")],  # marks this request in the shared log
        body={"metadata": {"name": "sent"}, "data": {"a": "b"}},
    )
    assert response.status == 201 and b'"sent"' in response.read()
    response.release()
    # The log records a request once its handler has finished, which may be a moment
    # after the client read the answer: wait for it (a bound on waiting, not on speed).
    deadline = time.monotonic() + 60
    while True:
        records = [
            r
            for r in emulator.request_log.records()  # type: ignore[attr-defined]
            if r.method == "POST" and "fieldManager=kube-http-test" in r.query
        ]
        if records or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert records and records[-1].user_agent == "kasboot-test/1"


def test_request_json_creates_and_merge_patches_on_every_client(
    flux_installed: None, api_client: client.ApiClient, namespace: str
) -> None:
    path = f"/apis/source.toolkit.fluxcd.io/v1/namespaces/{namespace}/gitrepositories"
    body = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "r"},
        "spec": {"url": "https://example.com/r.git", "interval": "1m"},
    }
    created = request_json(api_client, "POST", path, body=body)
    patched = request_json(
        api_client,
        "PATCH",
        f"{path}/r",
        body={"metadata": {"annotations": {"a": "b"}}},
        content_type="application/merge-patch+json",
    )
    assert patched["metadata"]["annotations"] == {"a": "b"}
    assert patched["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    with pytest.raises(ApiException) as caught:
        request_json(api_client, "GET", f"{path}/absent")
    assert caught.value.status == 404  # absence is the caller's to judge


def test_watch_events_stream_from_a_resource_version(
    api_client: client.ApiClient, core: client.CoreV1Api, namespace: str
) -> None:
    """A watch from the version a write answered: only what came after it, line by line."""
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    first = request_json(api_client, "POST", path, body={"metadata": {"name": "w1"}})
    request_json(api_client, "POST", path, body={"metadata": {"name": "w2"}})
    events = watch_events(
        api_client,
        path,
        [("resourceVersion", first["metadata"]["resourceVersion"]), ("timeoutSeconds", "1")],
        timeout=(10.0, 30.0),
    )
    seen = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
    assert seen == [("ADDED", "w2")]


def test_flux_crds_are_listed_by_the_label_flux_install_gives_them(
    flux_installed: None, api_client: client.ApiClient
) -> None:
    """One request answers which Flux kinds are served, in which versions, of which Flux
    release (cluster_flux.py): `flux install` labels every CRD app.kubernetes.io/part-of=flux."""
    found = get_json(
        api_client,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        [("labelSelector", "app.kubernetes.io/part-of=flux")],
    )
    names = {crd["metadata"]["name"] for crd in found["items"]}
    assert "gitrepositories.source.toolkit.fluxcd.io" in names
    assert "helmreleases.helm.toolkit.fluxcd.io" in names
    assert all(name.endswith(".toolkit.fluxcd.io") for name in names)
    labels = found["items"][0]["metadata"]["labels"]
    assert labels["app.kubernetes.io/version"].startswith("v2.")
