"""The cluster seam's watch (cluster_watch.py) and Lease calls, counted in the Kubernetes
emulator's request log: a watch started from a PATCH answer sends no list; a version
the API server's watch cache no longer holds (410 Gone, an ERROR event in the stream,
as the real watch cache answers) is listed once and watched from there; a cut stream
is watched again from the last version seen, without a list; a Lease deleted with a
stale resourceVersion precondition is left alone (409)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from kasboot.cluster import FLUX_KINDS, Cluster, LeaseTaken
from kasboot.sandbox.kube import KubeEmulator, flux_crds

NAMESPACE = "watched"
KIND = FLUX_KINDS["GitRepository"]
COLLECTION = f"/apis/{KIND.group}/{KIND.version}/namespaces/{NAMESPACE}/{KIND.plural}"


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeEmulator]:
    emulator = KubeEmulator(tmp_path_factory.mktemp("kube-watch"), watch_history=3)
    # The log records a watch once its handler ends, which is when the server next
    # writes to a closed stream: frequent bookmarks make that soon after kasboot left.
    emulator.http.bookmark_interval = 0.2
    emulator.start()
    api = client.ApiClient(client.Configuration(host=emulator.url))
    extensions = client.ApiextensionsV1Api(api)
    for crd in flux_crds():
        extensions.create_custom_resource_definition(crd)
    client.CoreV1Api(api).create_namespace({"metadata": {"name": NAMESPACE}})
    yield emulator
    emulator.close()


@pytest.fixture(scope="module")
def cluster(kube: KubeEmulator, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    return Cluster(Path(kube.write_kubeconfig(tmp_path_factory.mktemp("cfg") / "kubeconfig")))


@pytest.fixture(scope="module")
def custom(kube: KubeEmulator) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(client.ApiClient(client.Configuration(host=kube.url)))


def _create(custom: client.CustomObjectsApi, name: str) -> dict[str, Any]:
    body = {
        "apiVersion": KIND.api_version,
        "kind": KIND.kind,
        "metadata": {"name": name},
        "spec": {"interval": "1m", "url": "http://example/x.git"},
    }
    return dict(
        custom.create_namespaced_custom_object(
            KIND.group, KIND.version, NAMESPACE, KIND.plural, body
        )
    )


def _set_status(custom: client.CustomObjectsApi, name: str, status: dict[str, Any]) -> None:
    custom.patch_namespaced_custom_object_status(
        KIND.group, KIND.version, NAMESPACE, KIND.plural, name, {"status": status}
    )


def _collection_requests(kube: KubeEmulator, name: str, at_least: int = 1) -> list[str]:
    """The kind ("list" / "watch") of each kasboot request on the object's collection, once the
    log holds ``at_least`` of them (a bound on waiting for it, not on speed)."""
    deadline = time.monotonic() + 60
    while True:
        sent = [
            "watch" if "watch=true" in r.query else "list"
            for r in kube.request_log.records()
            if r.path == COLLECTION
            and f"metadata.name%3D{name}" in r.query
            and r.user_agent.startswith("kasboot/")
        ]
        if len(sent) >= at_least or time.monotonic() > deadline:
            return sent
        time.sleep(0.1)


def _later(action: Any, delay: float = 0.3) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), action()), daemon=True)
    thread.start()
    return thread


def _marked(obj: dict[str, Any] | None) -> bool:
    return obj is not None and (obj.get("status") or {}).get("mark") == "done"


def test_a_watch_from_the_patch_answer_sends_no_list(
    kube: KubeEmulator, cluster: Cluster, custom: client.CustomObjectsApi
) -> None:
    _create(custom, "from-patch")
    patched = cluster.request_reconcile("GitRepository", NAMESPACE, "from-patch", "t1")
    thread = _later(lambda: _set_status(custom, "from-patch", {"mark": "done"}))
    seen = cluster.watch_object("GitRepository", NAMESPACE, "from-patch", _marked, 30, patched)
    thread.join()
    assert _marked(seen)
    assert _collection_requests(kube, "from-patch") == ["watch"]


def test_an_expired_version_is_listed_once_then_watched(
    kube: KubeEmulator, cluster: Cluster, custom: client.CustomObjectsApi
) -> None:
    stale = _create(custom, "expired")
    for n in range(4):  # more writes than the emulator's watch history (3) keeps
        _set_status(custom, "expired", {"step": str(n)})
    thread = _later(lambda: _set_status(custom, "expired", {"mark": "done"}))
    seen = cluster.watch_object("GitRepository", NAMESPACE, "expired", _marked, 30, stale)
    thread.join()
    assert _marked(seen)
    # 410 Gone for the stale version, then one list (and a watch from its version,
    # unless the list already showed the mark).
    sent = _collection_requests(kube, "expired", at_least=2)
    assert sent[:2] == ["watch", "list"] and sent.count("list") == 1, sent


def test_a_cut_stream_is_watched_again_from_the_last_version_without_a_list(
    kube: KubeEmulator, cluster: Cluster, custom: client.CustomObjectsApi
) -> None:
    _create(custom, "cut")
    patched = cluster.request_reconcile("GitRepository", NAMESPACE, "cut", "t1")
    kube.faults.replace(
        [{"path": f"{COLLECTION}$", "method": "GET", "mode": "cut", "cut_after_chunks": 1}]
    )

    def statuses() -> None:
        for n in range(3):
            _set_status(custom, "cut", {"step": str(n)})
            time.sleep(0.2)
        kube.faults.replace([])
        _set_status(custom, "cut", {"mark": "done"})

    try:
        thread = _later(statuses)
        seen = cluster.watch_object("GitRepository", NAMESPACE, "cut", _marked, 30, patched)
        thread.join()
    finally:
        kube.faults.replace([])
    assert _marked(seen)
    sent = _collection_requests(kube, "cut", at_least=2)
    assert "list" not in sent and len(sent) >= 2, sent


def test_a_lease_is_deleted_only_at_the_version_held(kube: KubeEmulator, cluster: Cluster) -> None:
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "held", "namespace": NAMESPACE},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 30},
    }
    created = cluster.create_lease(NAMESPACE, body)
    assert created is not None
    stale = created["metadata"]["resourceVersion"]
    renewed = cluster.replace_lease(
        NAMESPACE, {**created, "spec": {**created["spec"], "holderIdentity": "b"}}
    )
    assert renewed is not None
    with pytest.raises(LeaseTaken):  # 409: it changed hands since
        cluster.delete_lease(NAMESPACE, "held", stale)
    assert cluster.get_lease(NAMESPACE, "held") is not None
    cluster.delete_lease(NAMESPACE, "held", renewed["metadata"]["resourceVersion"])
    assert cluster.get_lease(NAMESPACE, "held") is None
    cluster.delete_lease(NAMESPACE, "held")  # gone already: done
