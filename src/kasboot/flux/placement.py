"""Where Flux really applies an object: kustomize's namespace and name transformers, in
every kustomization the object passes through, and the Flux Kustomization's own
fields on top.

- Each kustomization file's `namespace`, `namePrefix` and `nameSuffix` apply to all it
  accumulated, inner ones first (so the outermost `namespace` wins, prefixes stack
  outer + inner + name + inner + outer). Its components' apply before its own.
- kustomize-controller writes `spec.targetNamespace` as `namespace`, and
  `spec.namePrefix`/`spec.nameSuffix`, into the kustomization at `spec.path`,
  replacing what that file said (fluxcd/pkg `GenerateManifest`); `spec.patches` and
  `spec.components` are appended to it.
- kustomize knows nothing of Flux's references: a HelmRelease's
  `spec.chart.spec.sourceRef` keeps the namespace and name it was written with.
- A patch may rename or move an object: a JSON 6902 add/replace of /metadata/name
  or /metadata/namespace, or a strategic merge patch with `allowNameChange`, is
  followed; other ops on those paths are not, and the guard says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

# Kinds kustomize's namespace transformer leaves alone (cluster-scoped).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "APIService",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    }
)
_MOVING_PATHS = ("/metadata/name", "/metadata/namespace")


@dataclass(frozen=True)
class Layer:
    """One kustomization's transformers (None = the field is not set)."""

    source: str  # where it comes from, for messages: a file, or "Kustomization ns/name"
    namespace: str | None = None
    name_prefix: str | None = None
    name_suffix: str | None = None
    patches: tuple[str, ...] = ()  # each patch entry, JSON-encoded

    @classmethod
    def from_spec(cls, source: str, spec: Mapping[str, Any]) -> Layer:
        return cls(
            source=source,
            namespace=_text(spec.get("namespace")),
            name_prefix=_text(spec.get("namePrefix")),
            name_suffix=_text(spec.get("nameSuffix")),
            patches=encode_patches(spec.get("patches")),
        )

    def under(self, overlay: Layer) -> Layer:
        """This layer with a Flux Kustomization's fields written over it."""
        return Layer(
            source=f"{self.source} + {overlay.source}",
            namespace=overlay.namespace if overlay.namespace is not None else self.namespace,
            name_prefix=overlay.name_prefix
            if overlay.name_prefix is not None
            else self.name_prefix,
            name_suffix=overlay.name_suffix
            if overlay.name_suffix is not None
            else self.name_suffix,
            patches=self.patches + overlay.patches,
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def encode_patches(patches: Any) -> tuple[str, ...]:
    if not isinstance(patches, list):
        return ()
    return tuple(json.dumps(p, sort_keys=True) for p in patches if isinstance(p, dict))


@dataclass(frozen=True)
class Placement:
    """One object of a manifest file: as written, and where Flux applies it."""

    path: str
    kind: str
    written_namespace: str
    written_name: str
    namespace: str
    name: str
    unfollowable: str = ""  # why kasboot cannot predict it ("" when it can)

    @property
    def moved(self) -> bool:
        return (self.namespace, self.name) != (self.written_namespace, self.written_name)


@dataclass
class PlacementLog:
    """What the build walked, for placements: each object's layers, innermost first."""

    layers: list[tuple[str, str, str, str, tuple[Layer, ...]]] = field(default_factory=list)

    def record(
        self, path: str, kind: str, namespace: str, name: str, chain: Sequence[Layer]
    ) -> None:
        self.layers.append((path, kind, namespace, name, tuple(chain)))

    def placements(self, paths: Sequence[str] | None = None) -> tuple[Placement, ...]:
        found = []
        for path, kind, namespace, name, chain in self.layers:
            if paths is not None and path not in paths:
                continue
            found.append(place(path, kind, namespace, name, chain))
        return tuple(found)


def place(path: str, kind: str, namespace: str, name: str, chain: Sequence[Layer]) -> Placement:
    """Apply `chain` (innermost first) to an object written as namespace/name. In each
    kustomization, patches run before the namespace and name transformers."""
    new_namespace, new_name, unfollowable = namespace, name, ""
    for layer in chain:
        for patch in layer.patches:
            moved = _patched(json.loads(patch), kind, new_namespace, new_name)
            if moved is None:
                unfollowable = unfollowable or f"a patch in {layer.source} moves {kind} {name}"
            else:
                new_namespace, new_name = moved
        if layer.namespace is not None and kind not in CLUSTER_SCOPED:
            new_namespace = layer.namespace
        new_name = f"{layer.name_prefix or ''}{new_name}{layer.name_suffix or ''}"
    return Placement(path, kind, namespace, name, new_namespace, new_name, unfollowable)


def _selects(target: Mapping[str, Any], kind: str, namespace: str, name: str) -> bool:
    """kustomize's Selector: kind/name/namespace are regular expressions; our objects
    carry no labels or annotations, so a label/annotation selector never picks them."""
    if target.get("labelSelector") or target.get("annotationSelector"):
        return False
    for key, value in (("kind", kind), ("name", name), ("namespace", namespace)):
        wanted = target.get(key)
        if wanted and not re.fullmatch(str(wanted), value):
            return False
    return True


def _patched(
    entry: Mapping[str, Any], kind: str, namespace: str, name: str
) -> tuple[str, str] | None:
    """(namespace, name) after one patch entry; None when it moves the object in a way
    that cannot be followed (remove/move/copy of metadata.name or namespace)."""
    target = entry.get("target") or {}
    try:
        loaded = YAML(typ="safe", pure=True).load(str(entry.get("patch") or ""))
    except YAMLError:
        return namespace, name  # kustomize fails the build; the build check says so
    if isinstance(loaded, list):  # JSON 6902
        if not target or not _selects(target, kind, namespace, name):
            return namespace, name
        for op in loaded:
            if not isinstance(op, dict) or op.get("path") not in _MOVING_PATHS:
                continue
            if op.get("op") not in ("add", "replace") or not isinstance(op.get("value"), str):
                return None
            if op["path"] == "/metadata/name":
                name = op["value"]
            else:
                namespace = op["value"]
        return namespace, name
    if isinstance(loaded, dict):  # strategic merge: renames only with allowNameChange
        meta = loaded.get("metadata") or {}
        options = entry.get("options") or {}
        if target:
            applies = _selects(target, kind, namespace, name)
        else:
            applies = loaded.get("kind") == kind and meta.get("name") == name
        if applies and options.get("allowNameChange") and meta.get("name"):
            return namespace, str(meta["name"])
    return namespace, name
