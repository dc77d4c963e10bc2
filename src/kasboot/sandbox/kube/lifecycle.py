"""Graceful deletion as the API server and its controllers do it: an object with
``metadata.finalizers`` is not removed by DELETE but marked (``deletionTimestamp``,
a MODIFIED event) and removed only once an update empties its finalizers; no new
finalizer may be added meanwhile. A namespace goes ``Terminating``: the namespace
controller deletes its content (objects with finalizers stay until released), nothing
new may be created in it, and it disappears once the content is gone and its own
finalizers are empty. A CustomResourceDefinition likewise waits for its objects
(``customresourcecleanup.apiextensions.k8s.io``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import FieldCause, KubeApiError, invalid
from .registry import CRD_KEY, NAMESPACE_KEY, ResourceType
from .store import ObjectKey

if TYPE_CHECKING:
    from .backend import KubeBackend

Obj = dict[str, Any]
NAMESPACE_FINALIZER = "kubernetes"  # spec.finalizers, the namespace controller's
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def now() -> str:
    from .semantics import now_rfc3339

    return now_rfc3339()


def is_deleting(obj: Obj | None) -> bool:
    return bool(obj and (obj.get("metadata") or {}).get("deletionTimestamp"))


def ensure_system_namespaces(backend: KubeBackend) -> None:
    """The namespaces every cluster has, made at start-up as the API server's
    system-namespaces controller does (kept when they exist)."""
    namespaces = backend.registry.get(*NAMESPACE_KEY)
    assert namespaces is not None
    for name in SYSTEM_NAMESPACES:
        if backend.store.get(("", "namespaces", "", name)) is None:
            backend.create(namespaces, "v1", None, {"metadata": {"name": name}})


def refuse_if_terminating(backend: KubeBackend, namespace: str | None) -> None:
    """403 for a create in a namespace being deleted (the NamespaceLifecycle admission)."""
    if namespace and is_deleting(backend.store.get(("", "namespaces", "", namespace))):
        raise KubeApiError(
            403,
            f"unable to create new content in namespace {namespace} because it is being terminated",
            "Forbidden",
            {
                "name": namespace,
                "kind": "namespaces",
                "causes": [
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            },
        )


def carry_deletion(old: Obj, new: Obj, resource_type: ResourceType) -> None:
    """An update keeps the deletion marks and may not add finalizers to a deleting
    object (ValidateObjectMetaUpdate)."""
    old_meta, new_meta = old["metadata"], new["metadata"]
    for field in ("deletionTimestamp", "deletionGracePeriodSeconds"):
        if field in old_meta:
            new_meta[field] = old_meta[field]
        else:
            new_meta.pop(field, None)
    if not is_deleting(old):
        return
    added = [
        f for f in new_meta.get("finalizers") or [] if f not in (old_meta.get("finalizers") or [])
    ]
    if added:
        listed = ", ".join(f'"{f}"' for f in added)
        raise invalid(
            resource_type.kind,
            resource_type.group,
            old_meta["name"],
            [
                FieldCause(
                    "metadata.finalizers",
                    "FieldValueForbidden",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers []string{{{listed}}}",
                )
            ],
        )


def _content_keys(backend: KubeBackend, resource_type: ResourceType, obj: Obj) -> list[ObjectKey]:
    """What must go before a deleting namespace or CRD may: its objects."""
    name = obj["metadata"]["name"]
    if resource_type.key == NAMESPACE_KEY:
        return sorted(
            backend.store.keys_where(lambda k: k[2] == name and backend._is_namespaced(k))
        )
    if resource_type.key == CRD_KEY:
        spec = obj.get("spec") or {}
        plural = (spec.get("names") or {}).get("plural")
        return sorted(
            backend.store.keys_where(lambda k: (k[0], k[1]) == (spec.get("group"), plural))
        )
    return []


def _pending(backend: KubeBackend, resource_type: ResourceType, obj: Obj) -> bool:
    if obj["metadata"].get("finalizers"):
        return True
    if resource_type.key == NAMESPACE_KEY and (obj.get("spec") or {}).get("finalizers"):
        return True
    return bool(_content_keys(backend, resource_type, obj))


def begin_delete(
    backend: KubeBackend, resource_type: ResourceType, key: ObjectKey, old: Obj
) -> Obj:
    """DELETE: remove at once, or mark as deleting when something must happen first.
    Returns the object as the answer shows it (with deletionTimestamp)."""
    container = resource_type.key in (NAMESPACE_KEY, CRD_KEY)
    if not container and not old["metadata"].get("finalizers"):
        final = backend._remove(key, old)
        _settle_containers(backend, resource_type, key)
        final["metadata"]["deletionTimestamp"] = now()
        return final
    marked = {**old, "metadata": {**old["metadata"]}}
    if not is_deleting(old):
        marked["metadata"]["deletionTimestamp"] = now()
        marked["metadata"]["deletionGracePeriodSeconds"] = 0
        if resource_type.key == NAMESPACE_KEY:
            marked["status"] = {"phase": "Terminating"}
        marked["metadata"]["resourceVersion"] = str(backend.store.next_version())
        backend.store.put(key, marked, "MODIFIED")
    if container:
        for content_key in _content_keys(backend, resource_type, marked):
            _delete_content(backend, content_key)
    return settle(backend, resource_type, key) or backend.store.get(key) or marked


def _delete_content(backend: KubeBackend, key: ObjectKey) -> None:
    content = backend.store.get(key)
    content_type = backend.registry.get(key[0], key[1])
    if content is None or content_type is None:
        return
    begin_delete(backend, content_type, key, content)


def released(backend: KubeBackend, resource_type: ResourceType, key: ObjectKey, new: Obj) -> bool:
    """An update that empties the last finalizer of a deleting object deletes it
    instead of storing it: one DELETED event, no MODIFIED (the API server's
    deleteWithoutFinalizers)."""
    if not is_deleting(new) or _pending(backend, resource_type, new):
        return False
    backend._remove(key, new)
    if resource_type.key == CRD_KEY:
        backend.registry.unregister_crd(new)
    _settle_containers(backend, resource_type, key)
    return True


def settle(backend: KubeBackend, resource_type: ResourceType, key: ObjectKey) -> Obj | None:
    """Remove a deleting object once nothing holds it, then let the namespace or CRD
    that waited for it go too. Returns the final state when it was removed."""
    obj = backend.store.get(key)
    if obj is None or not is_deleting(obj):
        return None
    spec = obj.get("spec") or {}
    if (
        resource_type.key == NAMESPACE_KEY
        and NAMESPACE_FINALIZER in (spec.get("finalizers") or [])
        and not _content_keys(backend, resource_type, obj)
    ):
        # the namespace controller's last step: content gone, its finalizer released
        spec["finalizers"] = [f for f in spec["finalizers"] if f != NAMESPACE_FINALIZER]
        obj["spec"] = spec
        obj["metadata"]["resourceVersion"] = str(backend.store.next_version())
        backend.store.put(key, obj, "MODIFIED")
    if _pending(backend, resource_type, obj):
        return None
    final = backend._remove(key, obj)
    if resource_type.key == CRD_KEY:
        backend.registry.unregister_crd(obj)
    _settle_containers(backend, resource_type, key)
    return final


def _settle_containers(backend: KubeBackend, resource_type: ResourceType, key: ObjectKey) -> None:
    """A removed object may be the last one a deleting namespace or CRD waited for."""
    if key[2]:
        namespaces = backend.registry.get(*NAMESPACE_KEY)
        assert namespaces is not None
        settle(backend, namespaces, ("", "namespaces", "", key[2]))
    if resource_type.custom:
        crds = backend.registry.get(*CRD_KEY)
        assert crds is not None
        settle(
            backend,
            crds,
            (
                "apiextensions.k8s.io",
                "customresourcedefinitions",
                "",
                f"{resource_type.plural}.{resource_type.group}",
            ),
        )
