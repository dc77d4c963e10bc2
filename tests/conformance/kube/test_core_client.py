"""Object semantics through the official Python client (CoreV1Api, AppsV1Api)."""

from __future__ import annotations

import base64
import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException


def _status(error: ApiException) -> dict:
    return json.loads(error.body)


def _deployment(name: str, image: str = "nginx:1", replicas: int = 2) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {"name": "main", "image": image, "env": [{"name": "A", "value": "1"}]},
                        {"name": "side", "image": "busybox"},
                    ]
                },
            },
        },
    }


def test_create_sets_system_metadata(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "c"}, "data": {"k": "v"}}
    )
    assert created.metadata.uid and created.metadata.creation_timestamp
    assert int(created.metadata.resource_version) > 0
    assert created.metadata.generation is None  # ConfigMaps carry no generation
    assert core.read_namespaced_config_map("c", namespace).data == {"k": "v"}


def test_resource_version_is_a_global_counter(core: client.CoreV1Api, namespace: str) -> None:
    first = core.create_namespaced_config_map(namespace, {"metadata": {"name": "a"}})
    second = core.create_namespaced_secret(namespace, {"metadata": {"name": "b"}})
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    listed = core.list_namespaced_config_map(namespace)
    assert int(listed.metadata.resource_version) >= int(second.metadata.resource_version)


def test_stale_update_is_a_conflict(core: client.CoreV1Api, namespace: str) -> None:
    stale = core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "c"}, "data": {"n": "1"}}
    )
    fresh = core.read_namespaced_config_map("c", namespace)
    fresh.data = {"n": "2"}
    core.replace_namespaced_config_map("c", namespace, fresh)
    stale.data = {"n": "3"}
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("c", namespace, stale)
    status = _status(caught.value)
    assert caught.value.status == 409 and status["reason"] == "Conflict"
    assert status["message"] == (
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; please '
        "apply your changes to the latest version and try again"
    )
    with pytest.raises(ApiException) as patched:
        core.patch_namespaced_config_map(
            "c", namespace, {"metadata": {"resourceVersion": stale.metadata.resource_version}}
        )
    assert patched.value.status == 409


def test_stale_update_message_is_group_qualified(apps: client.AppsV1Api, namespace: str) -> None:
    stale = apps.create_namespaced_deployment(namespace, _deployment("web"))
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 3}})
    with pytest.raises(ApiException) as caught:
        apps.replace_namespaced_deployment("web", namespace, stale)
    assert (
        'on deployments.apps "web": the object has been modified'
        in _status(caught.value)["message"]
    )


def test_generation_moves_only_with_spec(apps: client.AppsV1Api, namespace: str) -> None:
    created = apps.create_namespaced_deployment(namespace, _deployment("web"))
    assert created.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment(
        "web", namespace, {"metadata": {"labels": {"x": "y"}}}
    )
    assert labelled.metadata.generation == 1
    assert int(labelled.metadata.resource_version) > int(created.metadata.resource_version)
    scaled = apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 5}})
    assert scaled.metadata.generation == 2
    assert scaled.status.observed_generation == 2 and scaled.status.ready_replicas == 5


def test_deployment_is_ready_at_once(apps: client.AppsV1Api, namespace: str) -> None:
    created = apps.create_namespaced_deployment(namespace, _deployment("web", replicas=3))
    status = apps.read_namespaced_deployment_status("web", namespace).status
    assert created.status.ready_replicas == 3
    assert (status.replicas, status.updated_replicas, status.available_replicas) == (3, 3, 3)
    assert status.observed_generation == 1
    available = next(c for c in status.conditions if c.type == "Available")
    assert available.status == "True"


def test_status_subresource_isolation(apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, _deployment("web"))
    # A main-resource write cannot change status…
    patched = apps.patch_namespaced_deployment("web", namespace, {"status": {"readyReplicas": 0}})
    assert patched.status.ready_replicas == 2
    # …and a status write cannot change anything else.
    status_patched = apps.patch_namespaced_deployment_status(
        "web", namespace, {"spec": {"replicas": 9}, "status": {"readyReplicas": 1}}
    )
    assert status_patched.status.ready_replicas == 1
    assert status_patched.spec.replicas == 2
    assert status_patched.metadata.generation == 1


def test_secret_string_data_is_encoded_and_not_stored(
    core: client.CoreV1Api, namespace: str
) -> None:
    created = core.create_namespaced_secret(
        namespace,
        {"metadata": {"name": "s"}, "stringData": {"token": "hunter2"}, "data": {"a": "Yg=="}},
    )
    assert created.type == "Opaque" and created.string_data is None
    assert base64.b64decode(created.data["token"]) == b"hunter2" and created.data["a"] == "Yg=="
    patched = core.patch_namespaced_secret("s", namespace, {"stringData": {"token": "new"}})
    assert base64.b64decode(patched.data["token"]) == b"new"
    assert core.read_namespaced_secret("s", namespace).string_data is None


def test_immutable_secret_refuses_data_changes(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "s"}, "immutable": True, "data": {"a": "Yg=="}}
    )
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_secret("s", namespace, {"data": {"a": "Yw=="}})
    assert caught.value.status == 422
    assert "field is immutable when `immutable` is set" in _status(caught.value)["message"]


def test_not_found_status(core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_secret("nope", namespace)
    status = _status(caught.value)
    assert caught.value.status == 404
    assert status["kind"] == "Status" and status["reason"] == "NotFound"
    assert status["message"] == 'secrets "nope" not found'
    assert status["details"] == {"name": "nope", "kind": "secrets"}
    with pytest.raises(ApiException) as grouped:
        apps.read_namespaced_deployment("nope", namespace)
    assert _status(grouped.value)["message"] == 'deployments.apps "nope" not found'


def test_create_in_missing_namespace(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_secret("absent", {"metadata": {"name": "s"}})
    assert caught.value.status == 404
    assert _status(caught.value)["message"] == 'namespaces "absent" not found'


def test_already_exists_status(
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str
) -> None:
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "sa"}})
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_service_account(namespace, {"metadata": {"name": "sa"}})
    status = _status(caught.value)
    assert (caught.value.status, status["reason"]) == (409, "AlreadyExists")
    assert status["message"] == 'serviceaccounts "sa" already exists'
    apps.create_namespaced_deployment(namespace, _deployment("web"))
    with pytest.raises(ApiException) as grouped:
        apps.create_namespaced_deployment(namespace, _deployment("web"))
    assert _status(grouped.value)["message"] == 'deployments.apps "web" already exists'


@pytest.mark.parametrize(
    ("body", "field", "message_part"),
    [
        ({"metadata": {}}, "metadata.name", "Required value: name or generateName is required"),
        ({"metadata": {"name": "Bad_Name"}}, "metadata.name", "a lowercase RFC 1123 subdomain"),
        ({"kind": "ConfigMap", "metadata": {"name": "ok"}}, "kind", "must be Secret"),
    ],
)
def test_invalid_status_with_causes(
    core: client.CoreV1Api, namespace: str, body: dict, field: str, message_part: str
) -> None:
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_secret(namespace, body)
    status = _status(caught.value)
    assert (caught.value.status, status["reason"]) == (422, "Invalid")
    assert status["message"].startswith(f'Secret "{body["metadata"].get("name", "")}" is invalid: ')
    assert message_part in status["message"]
    assert any(c["field"] == field for c in status["details"]["causes"])


def test_generate_name(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, {"metadata": {"generateName": "cfg-"}})
    assert created.metadata.name.startswith("cfg-") and len(created.metadata.name) == 9


def test_strategic_merge_patch_merges_containers_and_env(
    apps: client.AppsV1Api, namespace: str
) -> None:
    apps.create_namespaced_deployment(namespace, _deployment("web"))
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "main", "env": [{"name": "B", "value": "2"}]}]}
            }
        }
    }
    patched = apps.patch_namespaced_deployment("web", namespace, patch)  # SMP by default
    containers = {c.name: c for c in patched.spec.template.spec.containers}
    assert set(containers) == {"main", "side"}
    assert containers["main"].image == "nginx:1"
    assert [(e.name, e.value) for e in containers["main"].env] == [("A", "1"), ("B", "2")]


def test_json_patch_and_merge_patch(
    api_client: client.ApiClient, core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}
    )
    core.patch_namespaced_config_map(
        "c",
        namespace,
        [{"op": "replace", "path": "/data/a", "value": "x"}, {"op": "remove", "path": "/data/b"}],
    )
    assert core.read_namespaced_config_map("c", namespace).data == {"a": "x"}
    core.patch_namespaced_config_map(
        "c",
        namespace,
        {"data": {"a": None, "c": "3"}},
        _content_type="application/merge-patch+json",
    )
    assert core.read_namespaced_config_map("c", namespace).data == {"c": "3"}


def test_server_side_apply_creates_then_merges(core: client.CoreV1Api, namespace: str) -> None:
    def apply(body: dict) -> client.V1ConfigMap:
        return core.patch_namespaced_config_map(
            body["metadata"]["name"],
            namespace,
            {"apiVersion": "v1", "kind": "ConfigMap", **body},
            field_manager="tests",
            _content_type="application/apply-patch+yaml",
        )

    apply({"metadata": {"name": "applied"}, "data": {"a": "1"}})
    apply({"metadata": {"name": "applied", "labels": {"x": "y"}}, "data": {"b": "2"}})
    stored = core.read_namespaced_config_map("applied", namespace)
    assert stored.data == {"a": "1", "b": "2"} and stored.metadata.labels == {"x": "y"}
    with pytest.raises(ApiException) as caught:  # apply needs a field manager
        core.patch_namespaced_config_map(
            "other",
            namespace,
            {"metadata": {"name": "other"}},
            _content_type="application/apply-patch+yaml",
        )
    assert caught.value.status == 422


def test_no_op_write_keeps_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(
        namespace, {"metadata": {"name": "c"}, "data": {"a": "1"}}
    )
    again = core.patch_namespaced_config_map("c", namespace, {"data": {"a": "1"}})
    assert again.metadata.resource_version == created.metadata.resource_version


def test_label_and_field_selectors(core: client.CoreV1Api, namespace: str) -> None:
    for name, labels in [("a", {"tier": "web", "env": "prod"}), ("b", {"tier": "db"}), ("c", {})]:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": labels}})

    def names(**kwargs: str) -> list[str]:
        return [i.metadata.name for i in core.list_namespaced_config_map(namespace, **kwargs).items]

    assert names(label_selector="tier=web") == ["a"]
    assert names(label_selector="tier==db") == ["b"]
    assert names(label_selector="tier!=web") == ["b", "c"]
    assert names(label_selector="tier in (web, db)") == ["a", "b"]
    assert names(label_selector="tier notin (web)") == ["b", "c"]
    assert names(label_selector="tier") == ["a", "b"]
    assert names(label_selector="!tier") == ["c"]
    assert names(label_selector="tier,env=prod") == ["a"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="metadata.name!=b") == ["a", "c"]


def test_all_namespaces_list_and_paging(core: client.CoreV1Api, namespace: str) -> None:
    other = f"{namespace}-other"
    core.create_namespace({"metadata": {"name": other}})
    for ns in (namespace, other):
        core.create_namespaced_secret(
            ns, {"metadata": {"name": "s", "labels": {"mark": namespace}}}
        )
    everywhere = core.list_secret_for_all_namespaces(label_selector=f"mark={namespace}")
    assert sorted(i.metadata.namespace for i in everywhere.items) == sorted([namespace, other])
    first = core.list_secret_for_all_namespaces(label_selector=f"mark={namespace}", limit=1)
    assert len(first.items) == 1 and first.metadata._continue
    rest = core.list_secret_for_all_namespaces(
        label_selector=f"mark={namespace}", limit=1, _continue=first.metadata._continue
    )
    assert [i.metadata.namespace for i in first.items + rest.items] == sorted([namespace, other])


def test_event_field_selectors(core: client.CoreV1Api, namespace: str) -> None:
    for name, kind in [("e1", "Secret"), ("e2", "Deployment")]:
        core.create_namespaced_event(
            namespace,
            {
                "metadata": {"name": name},
                "involvedObject": {"kind": kind, "name": "x", "namespace": namespace},
                "reason": "Tested",
            },
        )
    found = core.list_namespaced_event(
        namespace, field_selector="involvedObject.kind=Secret,involvedObject.name=x"
    )
    assert [e.metadata.name for e in found.items] == ["e1"]
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_config_map(namespace, field_selector="data.a=1")
    assert caught.value.status == 400


def test_delete_returns_status_and_namespace_delete_cascades(
    core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "c"}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}})
    deleted = core.delete_namespaced_config_map("c", namespace)
    body = deleted if isinstance(deleted, dict) else deleted.to_dict()
    assert body["kind"] == "Status" and body["status"] == "Success"
    assert body["details"]["name"] == "c" and body["details"]["kind"] == "configmaps"
    core.delete_namespace(namespace)
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_secret("s", namespace)
    assert caught.value.status == 404
    assert namespace not in [n.metadata.name for n in core.list_namespace().items]
