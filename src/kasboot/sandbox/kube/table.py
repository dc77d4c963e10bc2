"""``meta.k8s.io/v1`` Table rendering, what ``kubectl get`` asks for (``as=Table``):
the API server's columns for the built-in kinds, and a CRD's additionalPrinterColumns."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .registry import PrinterColumn, ResourceType

Obj = dict[str, Any]
Cell = Callable[[Obj], Any]

_NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created."
)


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    seconds = int(seconds)
    if seconds < 0:
        return "<invalid>"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y{rest}d" if rest else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    created = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return human_duration((datetime.now(timezone.utc) - created).total_seconds())


# ---- a JSONPath subset: .a.b, [n], [*], [?(@.k=="v")] ------------------------------------

_TOKEN = re.compile(
    r"\.([^.\[]+)|\[\?\(@\.([^=!]+?)\s*==\s*[\"']?([^\"')]*)[\"']?\)\]|\[(\*|-?\d+)\]"
)


def jsonpath_values(obj: Any, path: str) -> list[Any]:
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    path = path.lstrip("$")
    nodes = [obj]
    for match in _TOKEN.finditer(path):
        field, filter_key, filter_value, index = match.groups()
        following: list[Any] = []
        for node in nodes:
            if field is not None:
                if isinstance(node, dict) and field in node:
                    following.append(node[field])
            elif filter_key is not None:
                for item in node if isinstance(node, list) else []:
                    value = _dig(item, filter_key)
                    if value is not None and str(value) == filter_value:
                        following.append(item)
            elif isinstance(node, list):
                if index == "*":
                    following.extend(node)
                elif -len(node) <= int(index) < len(node):
                    following.append(node[int(index)])
        nodes = following
    return nodes


def _dig(node: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _custom_cell(column: PrinterColumn) -> Cell:
    def cell(obj: Obj) -> Any:
        values = jsonpath_values(obj, column.json_path)
        if not values:
            return None
        value = values[0]
        if column.type == "date" and isinstance(value, str):
            return age(value)
        if isinstance(value, (dict, list)):
            return json.dumps(value)
        return value

    return cell


def _column(
    name: str, kind: str = "string", priority: int = 0, fmt: str = "", desc: str = ""
) -> Obj:
    return {"name": name, "type": kind, "format": fmt, "description": desc, "priority": priority}


def _name(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def _age(obj: Obj) -> str:
    return age(obj["metadata"].get("creationTimestamp"))


def _deployment_ready(obj: Obj) -> str:
    status = obj.get("status") or {}
    return f"{status.get('readyReplicas', 0)}/{(obj.get('spec') or {}).get('replicas', 1)}"


def _containers(obj: Obj) -> list[Obj]:
    return list(
        (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    )


def _selector(obj: Obj) -> str:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _event_object(obj: Obj) -> str:
    involved = obj.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


NAME = (_column("Name", fmt="name", desc=_NAME_DESCRIPTION), _name)
AGE = (_column("Age", desc=_AGE_DESCRIPTION), _age)

BUILTIN_COLUMNS: dict[tuple[str, str], list[tuple[Obj, Cell]]] = {
    ("", "namespaces"): [
        NAME,
        (_column("Status"), lambda o: (o.get("status") or {}).get("phase", "")),
        AGE,
    ],
    ("", "secrets"): [
        NAME,
        (_column("Type"), lambda o: o.get("type", "")),
        (_column("Data", "integer"), lambda o: len(o.get("data") or {})),
        AGE,
    ],
    ("", "configmaps"): [
        NAME,
        (
            _column("Data", "integer"),
            lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}),
        ),
        AGE,
    ],
    ("", "serviceaccounts"): [
        NAME,
        (_column("Secrets", "string"), lambda o: len(o.get("secrets") or [])),
        AGE,
    ],
    ("", "events"): [
        (
            _column("Last Seen"),
            lambda o: age(o.get("lastTimestamp") or o["metadata"].get("creationTimestamp")),
        ),
        (_column("Type"), lambda o: o.get("type", "")),
        (_column("Reason"), lambda o: o.get("reason", "")),
        (_column("Object"), _event_object),
        (_column("Message"), lambda o: o.get("message", "")),
    ],
    ("apps", "deployments"): [
        NAME,
        (_column("Ready"), _deployment_ready),
        (
            _column("Up-to-date", "integer"),
            lambda o: (o.get("status") or {}).get("updatedReplicas", 0),
        ),
        (
            _column("Available", "integer"),
            lambda o: (o.get("status") or {}).get("availableReplicas", 0),
        ),
        AGE,
        (
            _column("Containers", priority=1),
            lambda o: ",".join(c.get("name", "") for c in _containers(o)),
        ),
        (
            _column("Images", priority=1),
            lambda o: ",".join(c.get("image", "") for c in _containers(o)),
        ),
        (_column("Selector", priority=1), _selector),
    ],
    ("apiextensions.k8s.io", "customresourcedefinitions"): [
        NAME,
        (_column("Created At", "date"), lambda o: o["metadata"].get("creationTimestamp", "")),
    ],
}


def columns_for(resource_type: ResourceType) -> list[tuple[Obj, Cell]]:
    if resource_type.key in BUILTIN_COLUMNS:
        return BUILTIN_COLUMNS[resource_type.key]
    if resource_type.printer_columns:
        return [NAME] + [
            (
                _column(c.name, c.type, c.priority, c.format, c.description),
                _custom_cell(c),
            )
            for c in resource_type.printer_columns
        ]
    return [NAME, AGE]


def _row(obj: Obj, columns: list[tuple[Obj, Cell]], include_object: str) -> Obj:
    row: Obj = {"cells": [cell(obj) for _, cell in columns]}
    if include_object == "Object":
        row["object"] = obj
    elif include_object != "None":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {},
        }
    return row


def table(
    resource_type: ResourceType,
    objects: list[Obj],
    list_metadata: Obj | None = None,
    *,
    include_object: str = "Metadata",
    with_headers: bool = True,
) -> Obj:
    columns = columns_for(resource_type)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata or {},
        "columnDefinitions": [definition for definition, _ in columns] if with_headers else None,
        "rows": [_row(o, columns, include_object) for o in objects],
    }
