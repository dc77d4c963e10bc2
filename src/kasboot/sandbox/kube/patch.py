"""The four PATCH flavours the API server accepts.

- JSON merge patch (RFC 7386): maps merge, ``null`` deletes, lists replace.
- Strategic merge patch: like merge patch, but lists of objects with a merge key
  (containers by name, env by name, …) merge element-wise, and the directives kubectl
  emits (``$patch``, ``$retainKeys``, ``$setElementOrder/…``, ``$deleteFromPrimitiveList/…``)
  are honoured. Built-in kinds only, as on a real server.
- JSON patch (RFC 6902).
- Server-side apply: merged like a strategic merge patch without directives (the field
  ownership bookkeeping of real SSA is not modelled)."""

from __future__ import annotations

import copy
from typing import Any

from .errors import KubeApiError, bad_request

# Field name → merge key, as declared by ``patchMergeKey`` in the Kubernetes API types.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "hostAliases": "ip",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "secrets": "name",
}
# Lists of scalars with patchStrategy "merge" (union instead of replace).
MERGED_SCALAR_LISTS = {"finalizers"}


def _port_merge_key(items: list[Any]) -> str:
    # Container ports merge by containerPort, Service ports by port.
    if any(isinstance(i, dict) and "containerPort" in i for i in items):
        return "containerPort"
    return "port"


def merge_key_for(field: str, *lists: list[Any]) -> str | None:
    if field == "ports":
        return _port_merge_key([i for items in lists for i in items])
    return MERGE_KEYS.get(field)


# ---- JSON merge patch ------------------------------------------------------------------


def json_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


# ---- strategic merge patch -------------------------------------------------------------


def strategic_merge_patch(target: Any, patch: Any, *, directives: bool = True) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    if directives and patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directives and patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target)
    if directives and isinstance(patch.get("$retainKeys"), list):
        keep = set(patch["$retainKeys"])
        result = {k: v for k, v in result.items() if k in keep}
    order_hints: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            order_hints[key.split("/", 1)[1]] = value
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value, directives=directives)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value, directives)
        else:
            result[key] = copy.deepcopy(value)
    for field, order in order_hints.items():
        if isinstance(result.get(field), list):
            result[field] = _apply_order(field, result[field], order)
    return result


def _merge_list(field: str, current: Any, patch: list[Any], directives: bool) -> list[Any]:
    current_items = current if isinstance(current, list) else []
    if field in MERGED_SCALAR_LISTS:
        return list(current_items) + [v for v in patch if v not in current_items]
    merge_key = merge_key_for(field, current_items, patch)
    if merge_key is None or not all(isinstance(i, dict) for i in patch):
        return copy.deepcopy([i for i in patch if not _is_directive_item(i)])
    if directives and any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if i.get("$patch") != "replace"]
    result = copy.deepcopy(current_items)
    for item in patch:
        key_value = item.get(merge_key)
        index = next(
            (
                n
                for n, existing in enumerate(result)
                if isinstance(existing, dict) and existing.get(merge_key) == key_value
            ),
            None,
        )
        if directives and item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            result.append(strategic_merge_patch({}, item, directives=directives))
        else:
            result[index] = strategic_merge_patch(result[index], item, directives=directives)
    return result


def _is_directive_item(item: Any) -> bool:
    return isinstance(item, dict) and set(item) == {"$patch"}


def _apply_order(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    """Reorder per ``$setElementOrder``; items the hint does not name keep their place after."""
    merge_key = merge_key_for(field, items)

    def identity(item: Any) -> Any:
        if merge_key and isinstance(item, dict):
            return item.get(merge_key)
        return item

    wanted = [identity(o) for o in order]
    positions = {value: n for n, value in enumerate(wanted)}
    return sorted(items, key=lambda i: positions.get(identity(i), len(wanted)))


# ---- JSON patch ------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"the server rejected our request due to an error in our request: {path}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node[part]
        else:
            raise KeyError(part)
    return node


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    parent = _parent(doc, parts)
    return parent[int(parts[-1])] if isinstance(parent, list) else parent[parts[-1]]


def _remove(doc: Any, parts: list[str]) -> Any:
    parent = _parent(doc, parts)
    if isinstance(parent, list):
        return parent.pop(int(parts[-1]))
    return parent.pop(parts[-1])


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _parent(doc, parts)
    if isinstance(parent, list):
        index = len(parent) if parts[-1] == "-" else int(parts[-1])
        if index > len(parent):
            raise IndexError(index)
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[parts[-1]] = value
    else:
        raise KeyError(parts[-1])
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise bad_request("json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for operation in operations:
        op = operation.get("op")
        parts = _pointer(operation.get("path", ""))
        try:
            if op == "add":
                doc = _add(doc, parts, copy.deepcopy(operation.get("value")))
            elif op == "remove":
                _remove(doc, parts)
            elif op == "replace":
                _get(doc, parts)  # must exist
                if parts:
                    _remove(doc, parts)
                doc = _add(doc, parts, copy.deepcopy(operation.get("value")))
            elif op in ("move", "copy"):
                source = _pointer(operation.get("from", ""))
                value = _remove(doc, source) if op == "move" else copy.deepcopy(_get(doc, source))
                doc = _add(doc, parts, value)
            elif op == "test":
                if _get(doc, parts) != operation.get("value"):
                    raise KubeApiError(
                        422,
                        f"the server rejected our request due to an error in our request: "
                        f"testing value {operation.get('path')} failed",
                        "Invalid",
                    )
            else:
                raise bad_request(f"Unexpected kind: {op}")
        except (KeyError, IndexError, ValueError, TypeError) as error:
            raise KubeApiError(
                422,
                "the server rejected our request due to an error in our request: "
                f"{op} operation does not apply: doc is missing path: "
                f'"{operation.get("path")}": {error}',
                "Invalid",
            ) from error
    return doc


def apply_merge(live: Any, applied: Any) -> Any:
    """Server-side apply, simplified: the applied configuration merged over the live object."""
    return strategic_merge_patch(live, applied, directives=False)
