"""Part of the cluster seam (kasboot.cluster.Cluster mixes it in): Flux's objects —
its CRDs (installed? which versions served?), reads and lists of its kinds, reconcile
requests and the watch that waits for their outcome. Plain JSON throughout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kasboot.cluster_kinds import FLUX_KINDS, MERGE_PATCH, REQUESTED_AT, flux_path, resource_path
from kasboot.cluster_transport import DIAGNOSIS_GRACE, Deadline
from kasboot.cluster_watch import watch_until

CRDS = resource_path("apiextensions.k8s.io", "v1", "customresourcedefinitions")
# How `flux install` labels its CRDs (flux2 manifests/install): one list of them answers
# "is Flux there, which version, which API versions served" for every kind at once.
FLUX_CRD_SELECTOR = "app.kubernetes.io/part-of=flux"
_FORBIDDEN = "forbidden"


class FluxSeam:
    """``_call``, ``_get``, ``_errors`` and ``deadline`` are Cluster's."""

    _call: Callable[..., Any]
    _get: Callable[..., Any]
    _errors: Callable[[str], Any]
    _api: Any
    deadline: Deadline
    _labelled_crds: dict[str, dict[str, Any] | None] | str | None
    _discovered: dict[str, list[str] | None]

    # -- Flux's CRDs ---------------------------------------------------------

    def _flux_crd(self, kind: str) -> dict[str, Any] | str | None:
        """The CRD of a Flux kind (None: absent; "forbidden": these credentials may not
        read CRDs). Read from ONE labelled list per run, else by name (an install that
        does not label its CRDs), each answer kept for the run."""
        from kubernetes.client.exceptions import ApiException

        if self._labelled_crds is None:
            try:
                found = self._call("GET", CRDS, query=[("labelSelector", FLUX_CRD_SELECTOR)])
                self._labelled_crds = {
                    str(crd["metadata"]["name"]): dict(crd) for crd in found.get("items", [])
                }
            except ApiException as error:
                if error.status != 403:
                    raise
                self._labelled_crds = _FORBIDDEN
        if self._labelled_crds == _FORBIDDEN:
            return _FORBIDDEN
        assert isinstance(self._labelled_crds, dict)
        name = FLUX_KINDS[kind].crd_name
        if name not in self._labelled_crds:
            try:
                self._labelled_crds[name] = self._get(f"{CRDS}/{name}")
            except ApiException as error:
                if error.status != 403:
                    raise
                return _FORBIDDEN
        return self._labelled_crds[name]

    def flux_version(self) -> str | None:
        """Flux's version from its GitRepository CRD label, like `flux check`; None if absent."""
        with self._errors("looking for Flux"):
            crd = self._flux_crd("GitRepository")
        if crd is None:
            return None
        if isinstance(crd, str):  # a namespace-scoped user: Flux may well be there
            return "unknown (CRDs not readable)"
        labels = (crd.get("metadata") or {}).get("labels") or {}
        return str(labels.get("app.kubernetes.io/version", "unknown"))

    def served_versions(self, kind: str) -> list[str] | None:
        """The versions the API server serves of a Flux kind, from its CRD (None when the
        CRD is absent)."""
        spec = FLUX_KINDS[kind]
        with self._errors(f"reading the {kind} CustomResourceDefinition"):
            crd = self._flux_crd(kind)
            if isinstance(crd, str):
                # A namespace-scoped operator may not read CRDs; API discovery is open to
                # every authenticated user (system:discovery) and lists the same versions.
                return self._discovered_versions(spec.group)
        if crd is None:
            return None
        versions = (crd.get("spec") or {}).get("versions") or []
        return [str(v["name"]) for v in versions if v.get("served")]

    def _discovered_versions(self, group: str) -> list[str] | None:
        if group not in self._discovered:
            found = self._get(f"/apis/{group}")
            self._discovered[group] = (
                [str(v.get("version")) for v in found.get("versions") or [] if v.get("version")]
                if found
                else None
            )
        return self._discovered[group]

    def flux_crds(self) -> list[dict[str, Any]]:
        """The CustomResourceDefinitions of Flux's API groups (``*.toolkit.fluxcd.io``),
        however they are labelled."""
        with self._errors("listing CustomResourceDefinitions"):
            found = self._call("GET", CRDS)
            return [
                dict(crd)
                for crd in found.get("items", [])
                if str((crd.get("spec") or {}).get("group", "")).endswith(".toolkit.fluxcd.io")
            ]

    # -- Flux's objects ------------------------------------------------------

    def get_object(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self._errors(f"reading {kind} {namespace}/{name}"):
            found = self._get(flux_path(kind, namespace, name))
            return dict(found) if found is not None else None

    def list_objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every object of a Flux kind in every namespace (or in `namespace`); [] when the
        kind is not served. A user without cluster-wide list gets ClusterError 403."""
        with self._errors(f"listing {kind}s"):
            found = self._get(flux_path(kind, namespace))
            return [dict(item) for item in (found or {}).get("items", [])]

    def request_reconcile(self, kind: str, namespace: str, name: str, token: str) -> dict[str, Any]:
        """Annotate with reconcile.fluxcd.io/requestedAt, as `flux reconcile` does."""
        return self.request_reconcile_with(kind, namespace, name, token)

    def request_reconcile_with(
        self, kind: str, namespace: str, name: str, token: str, also: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """request_reconcile, with the annotations in ``also`` (HelmRelease resetAt /
        forceAt) carrying the same value, as `flux reconcile hr --reset --force` sets
        them; returns the object as the PATCH left it (its resourceVersion is where a
        watch of the outcome starts)."""
        patch = {"metadata": {"annotations": dict.fromkeys((REQUESTED_AT, *also), token)}}
        with self._errors(f"annotating {kind} {namespace}/{name}"):
            return dict(
                self._call(
                    "PATCH",
                    flux_path(kind, namespace, name),
                    body=patch,
                    content_type=MERGE_PATCH,
                )
            )

    def watch_object(
        self,
        kind: str,
        namespace: str,
        name: str,
        done: Callable[[dict[str, Any] | None], bool],
        timeout: float,
        since: dict[str, Any] | None = None,
        initial: bool = False,
    ) -> dict[str, Any] | None:
        """Watch one object until ``done(obj)`` is true (obj is None while it does not
        exist) or ``timeout`` seconds pass; returns the last state seen. ``since``: the
        object as an answer of this run left it (a PATCH): watched from its
        resourceVersion, with no list first. Streams that end or are cut are watched
        again from the last version seen (cluster_watch.py). ``initial``: no list first,
        the watch's own first events say how the object is now (it is not there while
        they say nothing)."""
        left = self.deadline.remaining()
        if left is not None:  # a wait ends within the run's --timeout, as a wait (exit 6)
            timeout = min(timeout, max(0.0, left - DIAGNOSIS_GRACE))
        with self._errors(f"watching {kind} {namespace}/{name}"):
            return watch_until(
                self, flux_path(kind, namespace), name, done, timeout, since, initial
            )
