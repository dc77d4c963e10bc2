"""A minimal OpenAPI v3 index: one document per group-version listing each kind's PATCH
operation with its ``x-kubernetes-group-version-kind`` and the ``fieldValidation`` query
parameter, and no schemas.

That is what ``kubectl apply`` looks for to learn that the server validates fields itself
(so it skips client-side validation, which would need the full OpenAPI v2 document).
The PATCH request bodies list no strategic merge patch, so kubectl computes that patch
from its compiled-in types (built-in kinds) or sends a JSON merge patch (custom kinds), as
it does against servers whose OpenAPI it cannot use."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .registry import Registry, ResourceType

Obj = dict[str, Any]
PATCH_MEDIA_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
)


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _patch_path(resource_type: ResourceType, version: str) -> tuple[str, Obj]:
    base = "/" + _gv_path(resource_type.group, version)
    scope = "/namespaces/{namespace}" if resource_type.namespaced else ""
    path = f"{base}{scope}/{resource_type.plural}/{{name}}"
    operation = {
        "operationId": f"patch{resource_type.kind}",
        "parameters": [
            {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
            {"name": "force", "in": "query", "schema": {"type": "boolean"}},
        ],
        "requestBody": {"content": {m: {"schema": {"type": "object"}} for m in PATCH_MEDIA_TYPES}},
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": {
            "group": resource_type.group,
            "version": version,
            "kind": resource_type.kind,
        },
    }
    return path, {"patch": operation}


def group_versions(registry: Registry) -> list[tuple[str, str]]:
    pairs = {(t.group, v) for t in registry.all() for v in t.versions}
    return sorted(pairs)


def gv_document(registry: Registry, group: str, version: str) -> Obj | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": dict(_patch_path(t, version) for t in types),
        "components": {"schemas": {}},
    }


def root(registry: Registry) -> Obj:
    paths = {}
    for group, version in group_versions(registry):
        document = gv_document(registry, group, version)
        digest = hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32]
        gv_path = _gv_path(group, version)
        paths[gv_path] = {"serverRelativeURL": f"/openapi/v3/{gv_path}?hash={digest.upper()}"}
    return {"paths": paths}
