"""The resource types the emulator serves: the built-in kinds plus whatever the stored
CustomResourceDefinitions declare (registered on CRD create, dropped on CRD delete)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUBRESOURCE_VERBS = ["get", "patch", "update"]


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0
    format: str = ""


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    versions: tuple[str, ...]  # served versions, preferred first
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_status: bool = False  # a /status subresource
    tracks_generation: bool = False
    custom: bool = False  # defined by a CRD (merge patch only, no strategic merge)
    printer_columns: tuple[PrinterColumn, ...] = ()
    field_selectors: tuple[str, ...] = ()  # beyond metadata.name / metadata.namespace
    extra_subresources: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    def api_version(self, version: str | None = None) -> str:
        chosen = version or self.versions[0]
        return f"{self.group}/{chosen}" if self.group else chosen


def _builtin(
    group: str,
    version: str,
    plural: str,
    kind: str,
    *,
    namespaced: bool = True,
    short_names: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    has_status: bool = False,
    tracks_generation: bool = False,
    field_selectors: tuple[str, ...] = (),
) -> ResourceType:
    return ResourceType(
        group=group,
        versions=(version,),
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        short_names=short_names,
        categories=categories,
        has_status=has_status,
        tracks_generation=tracks_generation,
        field_selectors=field_selectors,
    )


_INVOLVED_OBJECT_FIELDS = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion")
_EVENT_FIELDS = (
    *(f"involvedObject.{k}" for k in (*_INVOLVED_OBJECT_FIELDS, "fieldPath")),
    "reason",
    "reportingComponent",
    "source",
    "type",
)

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _builtin(
        "",
        "v1",
        "namespaces",
        "Namespace",
        namespaced=False,
        short_names=("ns",),
        has_status=True,
        field_selectors=("status.phase",),
    ),
    _builtin("", "v1", "secrets", "Secret", field_selectors=("type",)),
    _builtin("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    _builtin("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
    _builtin("", "v1", "events", "Event", short_names=("ev",), field_selectors=_EVENT_FIELDS),
    _builtin(
        "",
        "v1",
        "services",
        "Service",
        short_names=("svc",),
        categories=("all",),
        has_status=True,
    ),
    _builtin(
        "",
        "v1",
        "pods",
        "Pod",
        short_names=("po",),
        categories=("all",),
        has_status=True,
        field_selectors=("spec.nodeName", "status.phase"),
    ),
    _builtin(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        short_names=("deploy",),
        categories=("all",),
        has_status=True,
        tracks_generation=True,
    ),
    _builtin(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        short_names=("rs",),
        categories=("all",),
        has_status=True,
        tracks_generation=True,
    ),
    # RBAC objects as the gitlab-agent chart renders them (and users pre-create).
    _builtin("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    _builtin(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        namespaced=False,
    ),
    _builtin("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _builtin(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        short_names=("crd", "crds"),
        has_status=True,
        tracks_generation=True,
    ),
)

CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY = ("", "namespaces")


def resource_type_from_crd(crd: dict[str, Any]) -> ResourceType | None:
    """The kind a CRD declares, or None when it serves no version."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    served = [v for v in spec.get("versions") or [] if v.get("served")]
    if not served:
        return None
    # The storage version is preferred, as the API server's discovery orders it first
    # among equals; the rest keep the CRD's order.
    served.sort(key=lambda v: 0 if v.get("storage") else 1)
    preferred = served[0]
    columns = tuple(
        PrinterColumn(
            name=c["name"],
            type=c.get("type", "string"),
            json_path=c["jsonPath"],
            description=c.get("description", ""),
            priority=int(c.get("priority", 0)),
            format=c.get("format", ""),
        )
        for c in preferred.get("additionalPrinterColumns") or []
    )
    return ResourceType(
        group=spec.get("group", ""),
        versions=tuple(v["name"] for v in served),
        plural=names.get("plural", ""),
        singular=names.get("singular") or names.get("kind", "").lower(),
        kind=names.get("kind", ""),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        has_status="status" in (preferred.get("subresources") or {}),
        tracks_generation=True,
        custom=True,
        printer_columns=columns,
    )


class Registry:
    """Thread-safe map (group, plural) → ResourceType, plus lookups by version and kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._types: dict[tuple[str, str], ResourceType] = {t.key: t for t in BUILTIN_TYPES}
        from kasboot.sandbox.kube.coordination import COORDINATION_TYPES  # Lease (a lock)

        self._types.update({t.key: t for t in COORDINATION_TYPES})

    def register_crd(self, crd: dict[str, Any]) -> None:
        resource_type = resource_type_from_crd(crd)
        with self._lock:
            key = self._key_from_crd_name(crd)
            self._types.pop(key, None)
            if resource_type is not None:
                self._types[resource_type.key] = resource_type

    def unregister_crd(self, crd: dict[str, Any]) -> None:
        with self._lock:
            self._types.pop(self._key_from_crd_name(crd), None)

    @staticmethod
    def _key_from_crd_name(crd: dict[str, Any]) -> tuple[str, str]:
        spec = crd.get("spec") or {}
        return (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))

    def get(self, group: str, plural: str) -> ResourceType | None:
        with self._lock:
            return self._types.get((group, plural))

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        resource_type = self.get(group, plural)
        if resource_type is None or version not in resource_type.versions:
            return None
        return resource_type

    def all(self) -> list[ResourceType]:
        with self._lock:
            return list(self._types.values())

    def groups(self) -> dict[str, list[str]]:
        """Named groups (core excluded) → served versions, preferred first."""
        result: dict[str, list[str]] = {}
        for resource_type in self.all():
            if not resource_type.group:
                continue
            versions = result.setdefault(resource_type.group, [])
            for version in resource_type.versions:
                if version not in versions:
                    versions.append(version)
        return result

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return sorted(
            (t for t in self.all() if t.group == group and version in t.versions),
            key=lambda t: t.plural,
        )
