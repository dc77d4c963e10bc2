"""The API server's behaviour on objects, independent of HTTP: create, read, list, replace,
patch, delete — with resourceVersion checks, generation, status isolation and cascades."""

from __future__ import annotations

import base64
import copy
import json
import secrets
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import yaml

from . import lifecycle, pods, semantics, workloads
from .errors import KubeApiError, already_exists, bad_request, conflict, not_found
from .images import ImageRegistry
from .patch import apply_merge, json_merge_patch, json_patch, strategic_merge_patch
from .registry import CRD_KEY, NAMESPACE_KEY, Registry, ResourceType
from .store import ObjectKey, Store

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def present(obj: Obj, resource_type: ResourceType, version: str) -> Obj:
    """The object as served at ``version`` (versions of one kind share a schema here)."""
    obj["apiVersion"] = resource_type.api_version(version)
    obj["kind"] = resource_type.kind
    return obj


class KubeBackend:
    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self.images = ImageRegistry()  # what the emulated kubelet can pull
        # (namespace, pod) -> (timestamp, line): what the simulated containers logged
        self.pod_logs: dict[tuple[str, str], deque[tuple[str, str]]] = {}
        for crd in store.list_objects(*CRD_KEY)[0]:
            registry.register_crd(crd)
        lifecycle.ensure_system_namespaces(self)

    # ---- helpers ----------------------------------------------------------------------

    @staticmethod
    def key(resource_type: ResourceType, namespace: str | None, name: str) -> ObjectKey:
        return (resource_type.group, resource_type.plural, namespace or "", name)

    def _require_namespace(self, namespace: str) -> None:
        if self.store.get(("", "namespaces", "", namespace)) is None:
            raise not_found("namespaces", "", namespace)

    def _existing(self, resource_type: ResourceType, namespace: str | None, name: str) -> Obj:
        found = self.store.get(self.key(resource_type, namespace, name))
        if found is None:
            raise not_found(resource_type.plural, resource_type.group, name)
        return found

    # ---- reads ------------------------------------------------------------------------

    def get(
        self, resource_type: ResourceType, version: str, namespace: str | None, name: str
    ) -> Obj:
        return present(self._existing(resource_type, namespace, name), resource_type, version)

    def list(
        self,
        resource_type: ResourceType,
        version: str,
        namespace: str | None,
        matches: Predicate,
        limit: int = 0,
        continue_token: str | None = None,
    ) -> Obj:
        items, list_version = self.store.list_objects(
            resource_type.group, resource_type.plural, namespace
        )
        items = [present(i, resource_type, version) for i in items if matches(i)]
        metadata: Obj = {"resourceVersion": str(list_version)}
        if continue_token:
            try:
                start = json.loads(base64.urlsafe_b64decode(continue_token.encode()))["start"]
            except (ValueError, KeyError) as error:
                raise bad_request(f"invalid continue token: {error}") from error
            items = [i for i in items if _position(i) > tuple(start)]
        if limit and len(items) > limit:
            remaining = len(items) - limit
            items = items[:limit]
            token = {"rv": list_version, "start": list(_position(items[-1]))}
            metadata["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
            metadata["remainingItemCount"] = remaining
        return {
            "kind": f"{resource_type.kind}List",
            "apiVersion": resource_type.api_version(version),
            "metadata": metadata,
            "items": items,
        }

    # ---- writes -----------------------------------------------------------------------

    def create(
        self,
        resource_type: ResourceType,
        version: str,
        namespace: str | None,
        body: Obj,
        *,
        dry_run: bool = False,
    ) -> Obj:
        if not isinstance(body, dict):
            raise bad_request("the body of the request is not a JSON object")
        obj = copy.deepcopy(body)
        obj.setdefault("kind", resource_type.kind)
        obj.setdefault("apiVersion", resource_type.api_version(version))
        metadata = obj.setdefault("metadata", {}) or {}
        obj["metadata"] = metadata
        if not metadata.get("name") and metadata.get("generateName"):
            suffix = "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            metadata["name"] = metadata["generateName"] + suffix
        self._check_namespace(resource_type, namespace, metadata)
        semantics.validate(resource_type, obj, resource_type.api_version(version))
        with self.store.transaction():
            if namespace and resource_type.key != NAMESPACE_KEY:
                self._require_namespace(namespace)
                lifecycle.refuse_if_terminating(self, namespace)
            key = self.key(resource_type, namespace, metadata["name"])
            if self.store.get(key) is not None:
                raise already_exists(resource_type.plural, resource_type.group, metadata["name"])
            for field in ("resourceVersion", "deletionTimestamp", "managedFields"):
                metadata.pop(field, None)
            metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = semantics.now_rfc3339()
            if resource_type.tracks_generation:
                metadata["generation"] = 1
            else:
                metadata.pop("generation", None)
            if resource_type.has_status:
                obj.pop("status", None)
            semantics.normalise(resource_type, obj)
            semantics.simulate_status(resource_type, obj, self.images)
            if dry_run:
                metadata["resourceVersion"] = ""
                return present(obj, resource_type, version)
            metadata["resourceVersion"] = str(self.store.next_version())
            self.store.put(key, obj, "ADDED")
            if resource_type.key == CRD_KEY:
                self.registry.register_crd(obj)
            if resource_type.key == workloads.DEPLOYMENT_KEY:
                workloads.record_pod_events(self, obj)
                pods.sync_pods(self, obj)
        return present(obj, resource_type, version)

    @staticmethod
    def _check_namespace(resource_type: ResourceType, namespace: str | None, metadata: Obj) -> None:
        if not resource_type.namespaced:
            metadata.pop("namespace", None)
            return
        if metadata.get("namespace") and metadata["namespace"] != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        metadata["namespace"] = namespace

    def replace(
        self,
        resource_type: ResourceType,
        version: str,
        namespace: str | None,
        name: str,
        body: Obj,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        if not isinstance(body, dict):
            raise bad_request("the body of the request is not a JSON object")
        semantics.refuse_unconditional_update(resource_type, body)
        with self.store.transaction():
            old = self._existing(resource_type, namespace, name)
            return self._update(
                resource_type, version, old, copy.deepcopy(body), subresource, dry_run
            )

    def patch(
        self,
        resource_type: ResourceType,
        version: str,
        namespace: str | None,
        name: str,
        content_type: str,
        raw: bytes,
        *,
        subresource: str | None = None,
        field_manager: str | None = None,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """The patched object and whether it was created (server-side apply of a new name)."""
        media = content_type.split(";")[0].strip().lower()
        semantics.ensure_kind_allowed(resource_type, media)
        document = _parse_patch(media, raw)
        with self.store.transaction():
            old = self.store.get(self.key(resource_type, namespace, name))
            if old is None:
                if media != APPLY_PATCH or subresource:
                    raise not_found(resource_type.plural, resource_type.group, name)
                _require_field_manager(field_manager)
                document.setdefault("metadata", {}).setdefault("name", name)
                created = self.create(resource_type, version, namespace, document, dry_run=dry_run)
                return created, True
            if media == APPLY_PATCH:
                _require_field_manager(field_manager)
                patched = apply_merge(old, document)
            elif media == STRATEGIC_PATCH:
                patched = strategic_merge_patch(old, document)
            elif media == JSON_PATCH:
                patched = json_patch(old, document)
            else:
                patched = json_merge_patch(old, document)
            return self._update(resource_type, version, old, patched, subresource, dry_run), False

    def _update(
        self,
        resource_type: ResourceType,
        version: str,
        old: Obj,
        new: Obj,
        subresource: str | None,
        dry_run: bool,
    ) -> Obj:
        name = old["metadata"]["name"]
        metadata = new.get("metadata")
        if not isinstance(metadata, dict):
            metadata = new["metadata"] = {}
        sent_version = metadata.get("resourceVersion")
        if sent_version and str(sent_version) != old["metadata"]["resourceVersion"]:
            raise conflict(resource_type.plural, resource_type.group, name)
        if metadata.get("name", name) != name:
            raise bad_request(
                f"the name of the object ({metadata.get('name')}) does not match the name on "
                f"the URL ({name})"
            )
        new.setdefault("kind", resource_type.kind)
        new.setdefault("apiVersion", resource_type.api_version(version))
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        else:
            self._carry_system_metadata(old, new)
            lifecycle.carry_deletion(old, new, resource_type)
            if resource_type.has_status:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            semantics.validate(resource_type, new, resource_type.api_version(version))
            semantics.normalise(resource_type, new)
            semantics.check_immutable(resource_type, old, new)
        new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if resource_type.tracks_generation and subresource != "status":
            generation = int(old["metadata"].get("generation", 1))
            changed = semantics.spec_changed(resource_type, old, new)
            new["metadata"]["generation"] = generation + 1 if changed else generation
            if changed:
                semantics.simulate_status(resource_type, new, self.images)
        if new == old:  # a no-op write: no new resourceVersion, no watch event
            return present(new, resource_type, version)
        if dry_run:
            return present(new, resource_type, version)
        new["metadata"]["resourceVersion"] = str(self.store.next_version())
        key = self.key(resource_type, old["metadata"].get("namespace"), name)
        if lifecycle.released(self, resource_type, key, new):
            return present(new, resource_type, version)  # its last finalizer went: deleted
        self.store.put(key, new, "MODIFIED")
        if resource_type.key == CRD_KEY:
            self.registry.register_crd(new)
        if resource_type.key == workloads.DEPLOYMENT_KEY and subresource != "status":
            workloads.record_pod_events(self, new)
            pods.sync_pods(self, new)
        return present(new, resource_type, version)

    @staticmethod
    def _carry_system_metadata(old: Obj, new: Obj) -> None:
        for field in ("uid", "creationTimestamp", "namespace", "name", "generation"):
            if field in old["metadata"]:
                new["metadata"][field] = old["metadata"][field]
            else:
                new["metadata"].pop(field, None)
        new["metadata"].pop("managedFields", None)

    def delete(
        self,
        resource_type: ResourceType,
        version: str,
        namespace: str | None,
        name: str,
        preconditions: Obj | None = None,
        *,
        dry_run: bool = False,
    ) -> Obj:
        with self.store.transaction():
            old = self._existing(resource_type, namespace, name)
            preconditions = preconditions or {}
            if preconditions.get("resourceVersion") and (
                preconditions["resourceVersion"] != old["metadata"]["resourceVersion"]
            ):
                raise conflict(resource_type.plural, resource_type.group, name)
            if preconditions.get("uid") and preconditions["uid"] != old["metadata"]["uid"]:
                raise KubeApiError(
                    409,
                    f'Operation cannot be fulfilled on {resource_type.plural} "{name}": '
                    f"Precondition failed: UID in precondition: {preconditions['uid']}, UID in "
                    f"object meta: {old['metadata']['uid']}",
                    "Conflict",
                )
            if dry_run:
                return present(old, resource_type, version)
            key = self.key(resource_type, namespace, name)
            final = lifecycle.begin_delete(self, resource_type, key, old)
            still_there = self.store.get(key) is not None
            if resource_type.key == workloads.DEPLOYMENT_KEY and not still_there:
                pods.remove_pods(self, namespace, name)  # the garbage collector's part
        if still_there or resource_type.custom or resource_type.key in (NAMESPACE_KEY, CRD_KEY):
            # The object as deletion left it (finalizers pending: it is still there), as
            # the API server answers for these kinds.
            return present(final, resource_type, version)
        details: Obj = {"name": name, "kind": resource_type.plural, "uid": old["metadata"]["uid"]}
        if resource_type.group:
            details["group"] = resource_type.group
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": details,
        }

    def delete_collection(
        self, resource_type: ResourceType, version: str, namespace: str | None, matches: Predicate
    ) -> Obj:
        listed = self.list(resource_type, version, namespace, matches)
        for item in listed["items"]:
            self.delete(resource_type, version, namespace, item["metadata"]["name"])
        return listed

    def _is_namespaced(self, key: ObjectKey) -> bool:
        resource_type = self.registry.get(key[0], key[1])
        return resource_type is not None and resource_type.namespaced

    def _remove(self, key: ObjectKey, old: Obj) -> Obj:
        final = copy.deepcopy(old)
        final["metadata"]["resourceVersion"] = str(self.store.next_version())
        self.store.remove(key, final)
        return final


def _position(obj: Obj) -> tuple[str, str]:
    metadata = obj.get("metadata") or {}
    return (metadata.get("namespace") or "", metadata.get("name") or "")


def _require_field_manager(field_manager: str | None) -> None:
    if not field_manager:
        raise KubeApiError(
            422,
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
            "for apply patch",
            "Invalid",
        )


def _parse_patch(media: str, raw: bytes) -> Any:
    try:
        if media == APPLY_PATCH:
            document = yaml.safe_load(raw.decode() or "{}")
        else:
            document = json.loads(raw or b"null")
    except (ValueError, yaml.YAMLError) as error:
        raise bad_request(f"error decoding patch: {error}") from error
    if media == JSON_PATCH:
        return document
    if media in (MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH):
        if not isinstance(document, dict):
            raise bad_request("the body of the request must be a JSON object")
        return document
    raise KubeApiError(
        415,
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{JSON_PATCH}, {MERGE_PATCH}, {APPLY_PATCH}, {STRATEGIC_PATCH}",
        "UnsupportedMediaType",
    )
