"""Graceful deletion as the real API server does it: objects with finalizers go through
Terminating (deletionTimestamp set, MODIFIED) and disappear when their finalizers are
emptied; a namespace waits for its content; the system namespaces exist from the start."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from kasboot.sandbox.kube import KubeEmulator

HOLD = "example.com/hold"
GROUP, VERSION, PLURAL = "source.toolkit.fluxcd.io", "v1", "gitrepositories"


def test_every_cluster_has_its_system_namespaces(core: client.CoreV1Api) -> None:
    names = {n.metadata.name for n in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    default = core.read_namespace("default")
    assert default.status.phase == "Active"
    assert default.metadata.labels["kubernetes.io/metadata.name"] == "default"
    core.create_namespaced_config_map("default", {"metadata": {"name": "in-default"}})


def test_system_namespaces_survive_a_restart_unchanged(tmp_path: Any) -> None:
    with KubeEmulator(tmp_path) as first:
        uid = first.backend.get(first.registry.get("", "namespaces"), "v1", None, "kube-system")[
            "metadata"
        ]["uid"]
    with KubeEmulator(tmp_path) as again:
        found = again.backend.get(again.registry.get("", "namespaces"), "v1", None, "kube-system")
        assert found["metadata"]["uid"] == uid


def test_a_secret_with_finalizers_terminates_until_released(
    core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_secret(namespace, {"metadata": {"name": "held", "finalizers": [HOLD]}})
    core.delete_namespaced_secret("held", namespace)
    held = core.read_namespaced_secret("held", namespace)
    assert held.metadata.deletion_timestamp is not None
    assert held.metadata.finalizers == [HOLD]
    with pytest.raises(ApiException) as caught:  # no new finalizers while deleting
        core.patch_namespaced_secret(
            "held", namespace, {"metadata": {"finalizers": [HOLD, "example.com/more"]}}
        )
    assert caught.value.status == 422
    assert "no new finalizers can be added" in json.loads(caught.value.body)["message"]
    labelled = core.patch_namespaced_secret("held", namespace, {"metadata": {"labels": {"a": "b"}}})
    assert labelled.metadata.deletion_timestamp is not None  # an update keeps the mark
    core.patch_namespaced_secret("held", namespace, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_secret("held", namespace)
    assert gone.value.status == 404


def test_a_custom_resource_with_finalizers_is_modified_then_deleted(
    flux_installed: None, custom: client.CustomObjectsApi, namespace: str
) -> None:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "GitRepository",
        "metadata": {"name": "repo", "finalizers": ["finalizers.fluxcd.io"]},
        "spec": {"url": "https://example.com/x.git", "interval": "1m"},
    }
    created = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    answered = custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "repo")
    assert answered["metadata"]["deletionTimestamp"]
    current = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "repo")
    assert current["metadata"]["deletionTimestamp"]
    events = []
    stream = watch.Watch().stream(
        custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        resource_version=created["metadata"]["resourceVersion"],
        timeout_seconds=5,
    )
    custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "repo",
        {"metadata": {"finalizers": []}},
    )
    for event in stream:
        events.append(event["type"])
        if event["type"] == "DELETED":
            break
    # marked for deletion, then deleted by the update that released it (no MODIFIED)
    assert events == ["MODIFIED", "DELETED"]


def test_a_namespace_terminates_until_its_content_is_gone(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "plain"}})
    core.create_namespaced_secret("doomed", {"metadata": {"name": "held", "finalizers": [HOLD]}})
    core.delete_namespace("doomed")
    namespace = core.read_namespace("doomed")
    assert namespace.status.phase == "Terminating" and namespace.metadata.deletion_timestamp
    assert core.list_namespaced_config_map("doomed").items == []  # content deleted
    assert core.read_namespaced_secret("held", "doomed").metadata.deletion_timestamp
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_config_map("doomed", {"metadata": {"name": "late"}})
    assert refused.value.status == 403
    assert "because it is being terminated" in json.loads(refused.value.body)["message"]
    core.patch_namespaced_secret("held", "doomed", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        core.read_namespace("doomed")
    assert gone.value.status == 404


def test_a_namespace_with_its_own_finalizer_waits_for_it(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "kept", "finalizers": [HOLD]}})
    core.delete_namespace("kept")
    assert core.read_namespace("kept").status.phase == "Terminating"
    core.patch_namespace("kept", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        core.read_namespace("kept")
    assert gone.value.status == 404
