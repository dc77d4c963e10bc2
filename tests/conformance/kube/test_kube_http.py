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

from kasboot.kube_http import custom_objects, get_json, send


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


def test_custom_objects_take_a_merge_patch_content_type(
    flux_installed: None, api_client: client.ApiClient, namespace: str
) -> None:
    api = custom_objects(api_client)
    body = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "r"},
        "spec": {"url": "https://example.com/r.git", "interval": "1m"},
    }
    api.create_namespaced_custom_object(
        "source.toolkit.fluxcd.io", "v1", namespace, "gitrepositories", body
    )
    patched = api.patch_namespaced_custom_object(
        "source.toolkit.fluxcd.io",
        "v1",
        namespace,
        "gitrepositories",
        "r",
        {"metadata": {"annotations": {"a": "b"}}},
        _content_type="application/merge-patch+json",
    )
    assert patched["metadata"]["annotations"] == {"a": "b"}
