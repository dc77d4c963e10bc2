"""Predict kustomize-controller's build of one Flux Kustomization, in pure Python.

The rules (fluxcd/pkg `kustomize_generator.go`, kustomize `accumulateResources`,
kustomize-controller `build`):

- `spec.path` is joined to the artifact root without ever leaving it; a path that
  does not exist fails with `kustomization path not found` (reason ArtifactFailed).
- A kustomization file at `spec.path` (`kustomization.yaml`, `kustomization.yml`,
  `Kustomization`) is used as is: only its `resources` (and `components`) are built,
  files and directories alike; a listed directory must hold a kustomization file.
- Otherwise Flux generates one from a recursive walk in name order: a sub-directory
  with its own kustomization file is taken whole, every other `.yaml`/`.yml` file
  must decode as Kubernetes objects, and the first that does not fails the build.
- After kustomize, every object needs apiVersion, kind and metadata.name.

Messages carry `/tmp/kustomization-<n>/` where Flux puts its random temp dir.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kasboot.flux.builder import Builder, FileFailure
from kasboot.flux.paths import secure_join
from kasboot.flux.placement import Layer, Placement, encode_patches
from kasboot.flux.tree import absolute, kustomization_file_in

__all__ = [
    "BuildPrediction",
    "FileFailure",
    "FluxKustomization",
    "kustomization_file_in",
    "predict_build",
    "run_build",
]

REASON_BUILD_FAILED = "BuildFailed"
REASON_ARTIFACT_FAILED = "ArtifactFailed"


@dataclass(frozen=True)
class FluxKustomization:
    namespace: str
    name: str
    path: str  # spec.path, as written
    source_kind: str = "GitRepository"
    source_name: str = "flux-system"
    source_namespace: str = "flux-system"
    # the spec fields kustomize-controller writes into the kustomization at spec.path
    target_namespace: str | None = None
    name_prefix: str | None = None
    name_suffix: str | None = None
    components: tuple[str, ...] = ()
    ignore_missing_components: bool = False
    patches: tuple[str, ...] = ()  # spec.patches entries, JSON-encoded

    @classmethod
    def from_object(
        cls, obj: Mapping[str, Any], source: tuple[str, str, str] | None = None
    ) -> FluxKustomization:
        """From a Kustomization as the API returns it; `source` = (kind, namespace, name)."""
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        ref = spec.get("sourceRef") or {}
        kind, namespace, name = source or (
            str(ref.get("kind") or "GitRepository"),
            str(ref.get("namespace") or meta.get("namespace") or ""),
            str(ref.get("name") or ""),
        )
        components = spec.get("components")
        return cls(
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name") or ""),
            path=str(spec.get("path") or ""),
            source_kind=kind,
            source_name=name,
            source_namespace=namespace,
            target_namespace=_optional(spec.get("targetNamespace")),
            name_prefix=_optional(spec.get("namePrefix")),
            name_suffix=_optional(spec.get("nameSuffix")),
            components=tuple(str(c) for c in components) if isinstance(components, list) else (),
            ignore_missing_components=bool(spec.get("ignoreMissingComponents")),
            patches=encode_patches(spec.get("patches")),
        )

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def overlay(self) -> Layer:
        """What kustomize-controller writes over the kustomization at spec.path."""
        return Layer(
            f"Kustomization {self.ref}",
            self.target_namespace,
            self.name_prefix,
            self.name_suffix,
            self.patches,
        )

    @property
    def repo_path(self) -> str:
        """spec.path inside the artifact ("" is the root)."""
        return secure_join(self.path)


@dataclass(frozen=True)
class BuildPrediction:
    kustomization: FluxKustomization
    ok: bool
    failures: tuple[FileFailure, ...]
    applied_files: frozenset[str]  # files whose objects get applied (empty when failing)
    reason: str  # "" when ok, else the Ready=False reason
    message: str  # the Ready=False message Flux would set ("" when ok)
    reached_files: frozenset[str] = frozenset()  # what the build includes once it passes
    # every object the build reaches: where it is written, and where Flux applies it
    placements: tuple[Placement, ...] = ()


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def predict_build(files: Mapping[str, bytes], kustomization: FluxKustomization) -> BuildPrediction:
    """What kustomize-controller would do with `kustomization` on this artifact.

    `files` is the artifact (already filtered by SourceIgnore): repository-relative
    POSIX path -> content. Content is read only for files the build reaches.
    """
    return run_build(files, kustomization)[0]


def run_build(
    files: Mapping[str, bytes], kustomization: FluxKustomization
) -> tuple[BuildPrediction, Builder]:
    """predict_build, plus the walked graph (for the fixes)."""
    base = kustomization.repo_path
    builder = Builder(files, kustomization.overlay, kustomization.components)
    builder.ignore_missing_components = kustomization.ignore_missing_components
    if base not in builder.tree.dirs:
        reason = REASON_ARTIFACT_FAILED
        if base in files:
            reason, message = (
                REASON_BUILD_FAILED,
                f"kustomize build failed: '{absolute(base)}' is not a directory",
            )
        else:
            message = (
                f"kustomization path not found: stat {absolute(base)}: no such file or directory"
            )
        failure = FileFailure(base, message)
        prediction = BuildPrediction(kustomization, False, (failure,), frozenset(), reason, message)
        return prediction, builder
    if kustomization_file_in(files, base):
        top_error = builder.build_dir(
            base, lambda message: f"kustomize build failed: {message}", top=True
        )
        if top_error:
            builder.stage.kustomize.append(f"kustomize build failed: {top_error}")
    else:
        builder.generate(base)
    builder.check_duplicate_keys()
    builder.check_objects()
    message = builder.stage.first()
    reached = frozenset(builder.reached)
    ok = not message and not builder.failures
    prediction = BuildPrediction(
        kustomization=kustomization,
        ok=ok,
        failures=tuple(builder.failures.values()),
        applied_files=reached if ok else frozenset(),
        reason="" if ok else REASON_BUILD_FAILED,
        message=message,
        reached_files=reached,
        placements=builder.log.placements(),
    )
    return prediction, builder
