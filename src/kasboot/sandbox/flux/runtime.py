"""The controller loop shared by the simulated controllers: watch the kinds a
controller owns, reconcile each object once when it appears, when its generation
changes, when ``reconcile.fluxcd.io/requestedAt`` gets a new value, and again at the
interval the reconciler asks for — the way controller-runtime drives Flux.

Watches also cover "dependency" kinds (a Kustomization's source, a HelmRelease's
chart): a new artifact revision or readiness there re-queues the dependents, as the
real controllers' source watches do."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import urllib3

from kasboot.sandbox.flux.conditions import requested_at
from kasboot.sandbox.flux.kubeapi import FLUX_GROUPS, KubeApi, KubeRequestError

Key = tuple[str, str, str]  # kind, namespace, name
LOG = logging.getLogger("kasboot.sandbox.flux")
RETRY_WHEN_API_DOWN = 2.0


class Reconciler(Protocol):
    @property
    def component(self) -> str: ...

    @property
    def kinds(self) -> tuple[str, ...]: ...

    @property
    def dependency_kinds(self) -> tuple[str, ...]: ...

    def reconcile(self, kind: str, obj: dict[str, Any]) -> float | None:
        """Bring ``obj`` to its wanted state; seconds until the next run (None = never)."""

    def dependents(self, kind: str, obj: dict[str, Any]) -> list[Key]:
        """Objects of this controller to reconcile when ``obj`` (a dependency) changed."""

    def finalize(self, kind: str, obj: dict[str, Any]) -> None:
        """Clean up after a deleted object (what the real controllers' finalizers do)."""


def object_key(kind: str, obj: dict[str, Any]) -> Key:
    metadata = obj["metadata"]
    return (kind, metadata.get("namespace", ""), metadata["name"])


def _trigger_marker(obj: dict[str, Any]) -> tuple[Any, ...]:
    return (obj["metadata"].get("uid"), obj["metadata"].get("generation"), requested_at(obj))


def _dependency_marker(obj: dict[str, Any]) -> tuple[Any, ...]:
    status = obj.get("status") or {}
    ready: dict[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {}
    )
    return ((status.get("artifact") or {}).get("revision"), ready.get("status"))


class ControllerLoop:
    """One controller: watch threads feeding a single worker through a due-time queue."""

    def __init__(self, reconciler: Reconciler, api: KubeApi, latency: float = 0.0) -> None:
        self.reconciler = reconciler
        self.api = api
        self.latency = latency
        self._due: dict[Key, float] = {}
        self._handled: dict[Key, tuple[Any, ...]] = {}
        self._dependency_state: dict[Key, tuple[Any, ...]] = {}
        self._condition = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open_streams: set[Any] = set()

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        name = self.reconciler.component
        for kind in self.reconciler.kinds:
            self._spawn(f"{name}:watch:{kind}", self._watch, kind, self._on_own_event)
        for kind in self.reconciler.dependency_kinds:
            if kind not in self.reconciler.kinds:  # else the own watch reports it too
                self._spawn(f"{name}:watch:{kind}", self._watch, kind, self._on_dependency_event)
        self._spawn(f"{name}:worker", self._work)

    def stop(self) -> None:
        self._stopping.set()
        with self._condition:
            self._condition.notify_all()
        for stream in list(self._open_streams):  # unblock watch reads at once
            with contextlib.suppress(Exception):
                stream.shutdown()
        for thread in self._threads:
            thread.join(timeout=2)

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    # -- queue -----------------------------------------------------------------------
    def enqueue(self, key: Key, delay: float = 0.0) -> None:
        due = time.monotonic() + delay
        with self._condition:
            current = self._due.get(key)
            if current is None or due < current:
                self._due[key] = due
                self._condition.notify_all()

    def _next_due(self) -> Key | None:
        with self._condition:
            while not self._stopping.is_set():
                if self._due:
                    key, due = min(self._due.items(), key=lambda item: item[1])
                    wait = due - time.monotonic()
                    if wait <= 0:
                        del self._due[key]
                        return key
                    self._condition.wait(timeout=min(wait, 1.0))
                else:
                    self._condition.wait(timeout=1.0)
        return None

    def _work(self) -> None:
        while (key := self._next_due()) is not None:
            if self.latency:
                time.sleep(self.latency)
            try:
                again = self._reconcile_key(key)
            except KubeRequestError as error:
                LOG.warning("%s: %s/%s: %s", self.reconciler.component, key[1], key[2], error)
                again = RETRY_WHEN_API_DOWN
            except Exception:  # a simulator bug must not kill the controller
                LOG.exception("%s: reconcile of %s failed", self.reconciler.component, key)
                again = RETRY_WHEN_API_DOWN
            if again is not None and not self._stopping.is_set():
                self.enqueue(key, again)

    def _reconcile_key(self, key: Key) -> float | None:
        kind, namespace, name = key
        obj = self.api.get_flux(kind, namespace, name)
        if obj is not None and obj["metadata"].get("deletionTimestamp"):
            self._release_finalizer(kind, obj)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            self._handled.pop(key, None)
            return None
        self._handled[key] = _trigger_marker(obj)
        if (obj.get("spec") or {}).get("suspend"):
            return None  # "Reconciliation is suspended for this object"
        return self.reconciler.reconcile(kind, obj)

    def _release_finalizer(self, kind: str, obj: dict[str, Any]) -> None:
        """An object being deleted that carries this controller's finalizer: clean up
        (uninstall), then remove the finalizer so the API server can delete it."""
        finalizer = getattr(self.reconciler, "finalizer", None)
        metadata = obj["metadata"]
        finalizers = list(metadata.get("finalizers") or [])
        if finalizer is None or finalizer not in finalizers:
            return
        self.reconciler.finalize(kind, obj)
        self.api.request(
            "PATCH",
            self.api.flux_path(kind, metadata["namespace"], metadata["name"]),
            {"metadata": {"finalizers": [f for f in finalizers if f != finalizer]}},
            content_type="application/merge-patch+json",
        )

    # -- watches -----------------------------------------------------------------------
    def _on_own_event(self, kind: str, event_type: str, obj: dict[str, Any]) -> None:
        if kind in self.reconciler.dependency_kinds:
            self._on_dependency_event(kind, event_type, obj)
        key = object_key(kind, obj)
        if event_type == "DELETED":
            self._handled.pop(key, None)
            with self._condition:
                self._due.pop(key, None)
            try:
                self.reconciler.finalize(kind, obj)
            except Exception:  # best effort, like a finalizer that gives up
                LOG.exception("%s: finalizing %s failed", self.reconciler.component, key)
            return
        if obj["metadata"].get("deletionTimestamp") or self._handled.get(key) != _trigger_marker(
            obj
        ):
            self.enqueue(key)

    def _on_dependency_event(self, kind: str, event_type: str, obj: dict[str, Any]) -> None:
        key = object_key(kind, obj)
        marker = ("gone",) if event_type == "DELETED" else _dependency_marker(obj)
        if self._dependency_state.get(key) == marker:
            return
        self._dependency_state[key] = marker
        for dependent in self.reconciler.dependents(kind, obj):
            self.enqueue(dependent)

    def _watch(self, kind: str, handler: Callable[[str, str, dict[str, Any]], None]) -> None:
        group, version, plural = FLUX_GROUPS[kind]
        path = f"/apis/{group}/{version}/{plural}"
        while not self._stopping.is_set():
            try:
                listing = self.api.request("GET", path)
                for item in listing.get("items", []):
                    item.setdefault("kind", kind)
                    handler(kind, "ADDED", item)
                version_seen = (listing.get("metadata") or {}).get("resourceVersion", "")
                self._stream(kind, path, version_seen, handler)
            except KubeRequestError:
                pass  # CRD not installed yet, or the API is restarting: list again soon
            except Exception:
                LOG.exception("%s: watch of %s broke", self.reconciler.component, kind)
            self._stopping.wait(0.5)

    def _stream(
        self,
        kind: str,
        path: str,
        resource_version: str,
        handler: Callable[[str, str, dict[str, Any]], None],
    ) -> None:
        """Follow a watch until it ends; returns to re-list (on 410 Gone, close or error)."""
        query = [("watch", "true"), ("timeoutSeconds", "30")]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        response = self.api.send("GET", path, query=query, timeout=(5, 35))
        if not 200 <= response.status < 300:
            response.response.release_conn()
            return
        self._open_streams.add(response.response)
        try:
            buffer = b""
            for chunk in response.response.stream(4096):
                if self._stopping.is_set():
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if event.get("type") == "ERROR":
                        return  # e.g. 410 Gone: re-list
                    obj = event.get("object") or {}
                    if event.get("type") in ("ADDED", "MODIFIED", "DELETED") and obj.get(
                        "metadata"
                    ):
                        obj.setdefault("kind", kind)
                        handler(kind, event["type"], obj)
        except (urllib3.exceptions.HTTPError, OSError):
            return  # the server closed the watch (restart, timeout): re-list
        finally:
            self._open_streams.discard(response.response)
            response.response.release_conn()
