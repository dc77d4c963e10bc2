"""The simulated kustomize-controller: fetch the source's artifact, build ``spec.path``
the way Flux does (generator + real kustomize), apply every object, prune what left the
inventory, and report exactly as kustomize-controller does."""

from __future__ import annotations

import logging
import random
import shutil
import time
from pathlib import Path
from typing import Any

from kasboot.sandbox.flux.conditions import (
    format_duration,
    parse_duration,
    remove_condition,
    set_condition,
)
from kasboot.sandbox.flux.generator import BuildError, GeneratorWording, PathNotFound, build
from kasboot.sandbox.flux.kubeapi import KubeApi, KubeRequestError
from kasboot.sandbox.flux.runtime import Key
from kasboot.sandbox.flux.status import finish_status
from kasboot.sandbox.flux.storage import ArtifactStorage

LOG = logging.getLogger("kasboot.sandbox.flux.kustomize")
GROUP = "kustomize.toolkit.fluxcd.io"
REQUEUE_DEPENDENCY = 30.0
# Flux applies cluster definitions first so the rest can land in one pass.
APPLY_FIRST = ("CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding")


class ReconcileFailure(Exception):
    def __init__(self, reason: str, message: str, retry: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry = retry


def make_work_dir(parent: Path) -> Path:
    """``/tmp/kustomization-<random uint32>``, as Go's os.MkdirTemp names it."""
    while True:
        candidate = parent / f"kustomization-{random.randint(0, 2**32 - 1)}"
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue


def inventory_id(obj: dict[str, Any]) -> str:
    group = obj["apiVersion"].rpartition("/")[0]
    namespace = obj["metadata"].get("namespace") or ""
    return f"{namespace}_{obj['metadata']['name']}_{group}_{obj['kind']}"


def describe(obj: dict[str, Any]) -> str:
    """``Kind/namespace/name`` (``Kind/name`` when cluster-scoped), as Flux's change sets."""
    metadata = obj.get("metadata") or {}
    namespace = metadata.get("namespace")
    return "/".join(p for p in (obj.get("kind"), namespace, metadata.get("name")) if p)


# kustomizev1.KustomizationFinalizer: a deleted Kustomization is pruned by the
# controller's own (serialized) reconcile, never while a build of it is still applying.
FINALIZER = "finalizers.fluxcd.io"


class KustomizeReconciler:
    component = "kustomize-controller"
    finalizer = FINALIZER
    kinds = ("Kustomization",)
    dependency_kinds = ("GitRepository", "OCIRepository")

    def __init__(
        self,
        api: KubeApi,
        storage: ArtifactStorage,
        wording: GeneratorWording,
        temp_root: Path = Path("/tmp"),
    ) -> None:
        self.api = api
        self.storage = storage
        self.wording = wording
        self.temp_root = temp_root

    def dependents(self, kind: str, obj: dict[str, Any]) -> list[Key]:
        namespace, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        keys = []
        for item in self.api.list_flux("Kustomization"):
            ref = (item.get("spec") or {}).get("sourceRef") or {}
            item_ns = item["metadata"].get("namespace", "")
            if (
                ref.get("kind") == kind
                and ref.get("name") == name
                and (ref.get("namespace") or item_ns) == namespace
            ):
                keys.append(("Kustomization", item_ns, item["metadata"]["name"]))
        return keys

    def finalize(self, kind: str, obj: dict[str, Any]) -> None:
        """A deleted Kustomization with ``prune`` garbage-collects what it applied."""
        if (obj.get("spec") or {}).get("prune"):
            self._prune(obj.get("status") or {}, keep=set())

    def reconcile(self, kind: str, obj: dict[str, Any]) -> float | None:
        metadata = obj["metadata"]
        if FINALIZER not in (metadata.get("finalizers") or []):
            # kustomize-controller adds its finalizer first ("to avoid the race condition
            # between init and delete") and requeues at once.
            self.api.request(
                "PATCH",
                self.api.flux_path(kind, metadata["namespace"], metadata["name"]),
                {"metadata": {"finalizers": [*(metadata.get("finalizers") or []), FINALIZER]}},
                content_type="application/merge-patch+json",
            )
            return 0.0
        started = time.monotonic()
        spec = obj.get("spec") or {}
        interval = parse_duration(spec.get("interval"), 600.0)
        retry = parse_duration(spec.get("retryInterval"), interval)
        status = dict(obj.get("status") or {})
        generation = int(obj["metadata"].get("generation") or 1)
        revision = None
        try:
            source, revision = self._source_artifact(obj)
            objects = self._build(obj, source)
            status["inventory"] = {"entries": self._apply(obj, objects, status)}
        except ReconcileFailure as failure:
            if revision is not None:
                status["lastAttemptedRevision"] = revision
            conditions = set_condition(
                list(status.get("conditions") or []),
                "Reconciling",
                "True",
                "ProgressingWithRetry",
                failure.message,
                generation,
            )
            status["conditions"] = set_condition(
                conditions, "Ready", "False", failure.reason, failure.message, generation
            )
            finish_status(self.api, kind, obj, status, succeeded=False)
            next_try = failure.retry if failure.retry is not None else retry
            elapsed = (time.monotonic() - started) * 1000
            LOG.info(
                "Reconciliation failed after %.6fms, next try in %s",
                elapsed,
                format_duration(next_try),
            )
            self._event(obj, "Warning", failure.reason, failure.message)
            return next_try
        message = f"Applied revision: {revision}"
        status["lastAppliedRevision"] = revision
        status["lastAttemptedRevision"] = revision
        conditions = remove_condition(list(status.get("conditions") or []), "Reconciling")
        conditions = remove_condition(conditions, "Stalled")
        status["conditions"] = set_condition(
            conditions, "Ready", "True", "ReconciliationSucceeded", message, generation
        )
        finish_status(self.api, kind, obj, status, succeeded=True)
        return interval

    def _event(self, obj: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        try:
            self.api.record_event(
                obj, event_type=event_type, reason=reason, message=message, component=self.component
            )
        except KubeRequestError as error:  # events are best effort, as in client-go
            LOG.debug("event not recorded: %s", error)

    def _source_artifact(self, obj: dict[str, Any]) -> tuple[Path, str]:
        ref = (obj.get("spec") or {}).get("sourceRef") or {}
        kind = ref.get("kind", "GitRepository")
        namespace = ref.get("namespace") or obj["metadata"]["namespace"]
        name = ref.get("name", "")
        source = self.api.get_flux(kind, namespace, name) if kind in self.dependency_kinds else None
        if source is None:
            raise ReconcileFailure(
                "ArtifactFailed",
                f"Source '{kind}/{namespace}/{name}' not found",
                REQUEUE_DEPENDENCY,
            )
        artifact = (source.get("status") or {}).get("artifact")
        stored = self.storage.locate(artifact) if artifact else None
        if not artifact or stored is None:
            raise ReconcileFailure(
                "ArtifactFailed",
                f"Source artifact not found, retrying in {format_duration(REQUEUE_DEPENDENCY)}",
                REQUEUE_DEPENDENCY,
            )
        return stored, str(artifact["revision"])

    def _build(self, obj: dict[str, Any], stored: Path) -> list[dict[str, Any]]:
        spec = obj.get("spec") or {}
        work_dir = make_work_dir(self.temp_root)
        try:
            shutil.copytree(stored, work_dir, dirs_exist_ok=True)
            return build(work_dir, str(spec.get("path") or ""), self.wording, spec)
        except PathNotFound as error:
            raise ReconcileFailure("ArtifactFailed", str(error)) from None
        except BuildError as error:
            raise ReconcileFailure("BuildFailed", str(error)) from None
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)

    def _apply(
        self, obj: dict[str, Any], objects: list[dict[str, Any]], status: dict[str, Any]
    ) -> list[dict[str, str]]:
        name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
        ordered = sorted(objects, key=lambda o: 0 if o.get("kind") in APPLY_FIRST else 1)
        entries = []
        changes = []
        for item in ordered:
            metadata = item.setdefault("metadata", {})
            labels = metadata.setdefault("labels", {})
            labels[f"{GROUP}/name"] = name
            labels[f"{GROUP}/namespace"] = namespace
            target = describe(item)
            try:
                action = self.api.apply(item, "kustomize-controller")
            except KubeRequestError as error:
                raise ReconcileFailure(
                    "ReconciliationFailed",
                    f"{target} dry-run failed ({error.reason or 'Error'}): {error.message}",
                ) from None
            if item.get("kind") == "CustomResourceDefinition" and action != "unchanged":
                self.api.forget_discovery()
            if action != "unchanged":
                changes.append(f"{target} {action}")
            entries.append({"id": inventory_id(item), "v": item["apiVersion"].rpartition("/")[2]})
        if (obj.get("spec") or {}).get("prune"):
            changes += self._prune(status, {entry["id"] for entry in entries})
        if changes:
            self._event(obj, "Normal", "ReconciliationSucceeded", "\n".join(changes))
        return entries

    def _prune(self, status: dict[str, Any], keep: set[str]) -> list[str]:
        deleted = []
        for entry in (status.get("inventory") or {}).get("entries") or []:
            if entry["id"] in keep:
                continue
            namespace, name, group, kind = entry["id"].split("_", 3)
            api_version = f"{group}/{entry['v']}" if group else entry["v"]
            try:
                self.api.delete(api_version, kind, namespace or None, name)
            except KubeRequestError as error:
                raise ReconcileFailure(
                    "PruneFailed", f"{kind}/{name} prune failed: {error.message}"
                ) from None
            deleted.append(f"{kind}/{namespace + '/' if namespace else ''}{name} deleted")
        return deleted
