"""Watches through ``kubernetes.watch.Watch`` (and raw streams where the client hides
details): initial state, resume from a resourceVersion, 410 Expired, bookmarks, selectors."""

from __future__ import annotations

import json
import threading

import pytest
import urllib3
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from kasboot.sandbox.kube import KubeEmulator


def _events(
    core: client.CoreV1Api, namespace: str, count: int = 0, **kwargs: object
) -> list[tuple[str, str]]:
    """The first ``count`` events (or all until the server's timeout when count is 0)."""
    watcher = watch.Watch()
    seen = []
    for event in watcher.stream(core.list_namespaced_config_map, namespace, **kwargs):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == count:
            watcher.stop()
    return seen


def test_watch_replays_from_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "a"}})
    core.patch_namespaced_config_map("a", namespace, {"data": {"k": "v"}})
    core.delete_namespaced_config_map("a", namespace)
    events = _events(core, namespace, 3, resource_version=start, timeout_seconds=10)
    assert events == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def test_watch_without_version_starts_with_current_state(
    core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "x"}})
    assert _events(core, namespace, 1, timeout_seconds=10) == [("ADDED", "x")]


def test_watch_streams_live_events(core: client.CoreV1Api, namespace: str) -> None:
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    watcher = watch.Watch()
    seen: list[tuple[str, str]] = []
    ready = threading.Event()

    def consume() -> None:
        for event in watcher.stream(
            core.list_namespaced_config_map, namespace, resource_version=start, timeout_seconds=30
        ):
            seen.append((event["type"], event["object"].metadata.name))
            ready.set()
            if event["type"] == "DELETED":
                watcher.stop()

    consumer = threading.Thread(target=consume)
    consumer.start()
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "live"}})
    core.delete_namespaced_config_map("live", namespace)
    consumer.join(timeout=30)
    assert seen == [("ADDED", "live"), ("DELETED", "live")]


def test_watch_applies_selectors(core: client.CoreV1Api, namespace: str) -> None:
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "in", "labels": {"w": "1"}}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "out"}})
    core.patch_namespaced_config_map("in", namespace, {"metadata": {"labels": {"w": "2"}}})
    events = _events(
        core, namespace, 2, resource_version=start, label_selector="w=1", timeout_seconds=10
    )
    # Leaving the selection reads as a deletion to the watcher, as on a real API server.
    assert events == [("ADDED", "in"), ("DELETED", "in")]
    named = _events(
        core,
        namespace,
        resource_version=start,
        field_selector="metadata.name=out",
        timeout_seconds=1,
    )
    assert named == [("ADDED", "out")]


def test_expired_resource_version_gets_410() -> None:
    with KubeEmulator(watch_history=2) as emu:  # a tiny watch cache
        api = client.ApiClient(client.Configuration(host=emu.url))
        core = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": "w"}})
        for n in range(4):
            core.create_namespaced_config_map("w", {"metadata": {"name": f"c{n}"}})
        # The raw stream: one ERROR event carrying a 410 Expired Status.
        http = urllib3.PoolManager()
        response = http.request(
            "GET",
            f"{emu.url}/api/v1/namespaces/w/configmaps?watch=1&resourceVersion=1&timeoutSeconds=1",
        )
        lines = [json.loads(line) for line in response.data.splitlines() if line]
        assert lines[0]["type"] == "ERROR"
        assert lines[0]["object"]["code"] == 410 and lines[0]["object"]["reason"] == "Expired"
        assert lines[0]["object"]["message"].startswith("too old resource version: 1 (")
        # The client retries once, then raises 410 so the caller re-lists.
        with pytest.raises(ApiException) as caught:
            list(watch.Watch().stream(core.list_namespaced_config_map, "w", resource_version="1"))
        assert caught.value.status == 410
        listed = core.list_namespaced_config_map("w")
        fresh = _events(
            core, "w", resource_version=listed.metadata.resource_version, timeout_seconds=1
        )
        assert fresh == []
        api.close()


def test_bookmarks_when_allowed(
    emulator: KubeEmulator, core: client.CoreV1Api, namespace: str
) -> None:
    http = urllib3.PoolManager()
    start = core.list_namespaced_config_map(namespace).metadata.resource_version
    url = (
        f"{emulator.url}/api/v1/namespaces/{namespace}/configmaps?watch=true"
        f"&resourceVersion={start}&allowWatchBookmarks=true&timeoutSeconds=1"
    )
    events = [json.loads(line) for line in http.request("GET", url).data.splitlines() if line]
    assert events[-1]["type"] == "BOOKMARK"
    assert events[-1]["object"]["metadata"]["resourceVersion"] == start
    watcher = watch.Watch()
    assert (
        list(
            watcher.stream(
                core.list_namespaced_config_map,
                namespace,
                resource_version=start,
                allow_watch_bookmarks=True,
                timeout_seconds=1,
            )
        )[-1]["type"]
        == "BOOKMARK"
    )


def test_custom_objects_watch(
    custom: client.CustomObjectsApi, flux_installed: None, namespace: str
) -> None:
    group, version, plural = "source.toolkit.fluxcd.io", "v1", "gitrepositories"
    start = custom.list_namespaced_custom_object(group, version, namespace, plural)["metadata"][
        "resourceVersion"
    ]
    body = {
        "apiVersion": f"{group}/{version}",
        "kind": "GitRepository",
        "metadata": {"name": "repo"},
        "spec": {"url": "https://example.com/r.git", "interval": "1m"},
    }
    custom.create_namespaced_custom_object(group, version, namespace, plural, body)
    custom.patch_namespaced_custom_object_status(
        group, version, namespace, plural, "repo", {"status": {"observedGeneration": 1}}
    )
    stream = watch.Watch().stream(
        custom.list_namespaced_custom_object,
        group,
        version,
        namespace,
        plural,
        resource_version=start,
        timeout_seconds=10,
    )
    events = []
    for event in stream:
        events.append((event["type"], event["object"]["metadata"]["name"]))
        if len(events) == 2:
            break
    assert events == [("ADDED", "repo"), ("MODIFIED", "repo")]
