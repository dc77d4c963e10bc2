"""The simulated source-controller: GitRepository (git smart HTTP), OCIRepository
(resolved to a GitLab project's default branch: the sandbox has no registry),
HelmRepository (no network: an http(s) URL is taken as a valid index) and HelmChart."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kasboot.sandbox.flux.charts import ChartCatalog, ChartNotFound
from kasboot.sandbox.flux.conditions import parse_duration, remove_condition, set_condition
from kasboot.sandbox.flux.gitfetch import (
    GitFetchError,
    SparseCheckoutFailed,
    checkout,
    fetch_target,
    remote_head,
)
from kasboot.sandbox.flux.gitrefs import GitTarget
from kasboot.sandbox.flux.ignore import SourceIgnore
from kasboot.sandbox.flux.kubeapi import KubeApi, now_rfc3339
from kasboot.sandbox.flux.runtime import Key
from kasboot.sandbox.flux.status import finish_status
from kasboot.sandbox.flux.storage import STORAGE_HOST, ArtifactStorage


@dataclass
class Outcome:
    """What a successful fetch publishes: the artifact (None for static sources), the
    Ready message, and any extra status fields."""

    artifact: dict[str, Any] | None
    message: str
    extra: dict[str, Any] = field(default_factory=dict)


class SourceFailure(Exception):
    def __init__(self, reason: str, message: str, condition: str = "FetchFailed") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.condition = condition


class SourceWaiting(SourceFailure):
    """Not a failure: the HelmChart's source has no artifact yet. source-controller marks
    FetchFailed=True NoSourceArtifact and returns ResultRequeue with no error, so the
    object stays Reconciling=True with Ready=Unknown (Progressing) and its generation
    unobserved; the source's new artifact re-queues it (helmchart_controller.go)."""


WAITING_REQUEUE_SECONDS = 1.0


@dataclass
class Credentials:
    username: str | None = None
    password: str | None = None

    @property
    def pair(self) -> tuple[str | None, str | None]:
        return self.username, self.password


class SourceReconciler:
    component = "source-controller"
    kinds = ("GitRepository", "OCIRepository", "HelmRepository", "HelmChart")
    dependency_kinds = ("HelmRepository",)

    def __init__(self, api: KubeApi, storage: ArtifactStorage, catalog: ChartCatalog) -> None:
        self.api = api
        self.storage = storage
        self.catalog = catalog
        self.user_agent = str(api.api_client.user_agent)

    def dependents(self, kind: str, obj: dict[str, Any]) -> list[Key]:
        """HelmCharts whose HelmRepository changed."""
        namespace, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        return [
            ("HelmChart", namespace, chart["metadata"]["name"])
            for chart in self.api.list_flux("HelmChart")
            if chart["metadata"].get("namespace") == namespace
            and (chart.get("spec") or {}).get("sourceRef", {}).get("name") == name
        ]

    def finalize(self, kind: str, obj: dict[str, Any]) -> None:
        """Stored artifacts are garbage-collected with the next revision; nothing to do."""

    def reconcile(self, kind: str, obj: dict[str, Any]) -> float | None:
        spec = obj.get("spec") or {}
        interval = parse_duration(spec.get("interval"), 60.0)
        if kind == "HelmRepository" and spec.get("type") == "oci":
            self._migrate_to_static(obj)
            return None  # never reconciled again
        status = dict(obj.get("status") or {})
        generation = int(obj["metadata"].get("generation") or 1)
        try:
            if kind == "HelmRepository":
                outcome = self._helm_repository(obj)
            elif kind == "HelmChart":
                outcome = self._helm_chart(obj)
            else:
                outcome = self._git_like(kind, obj)
        except SourceWaiting as waiting:
            conditions = set_condition(
                list(status.get("conditions") or []),
                waiting.condition,
                "True",
                waiting.reason,
                waiting.message,
                generation,
            )
            message = f"building artifact: {waiting.message}"
            conditions = set_condition(
                conditions, "Reconciling", "True", "Progressing", message, generation
            )
            status["conditions"] = set_condition(
                conditions, "Ready", "Unknown", "Progressing", message, generation
            )
            finish_status(self.api, kind, obj, status, succeeded=False)
            return WAITING_REQUEUE_SECONDS
        except SourceFailure as failure:
            conditions = set_condition(
                list(status.get("conditions") or []),
                failure.condition,
                "True",
                failure.reason,
                failure.message,
                generation,
            )
            conditions = set_condition(
                conditions, "Ready", "False", failure.reason, failure.message, generation
            )
            status["conditions"] = remove_condition(conditions, "Reconciling")
            finish_status(self.api, kind, obj, status, succeeded=False)
            return interval
        conditions = list(status.get("conditions") or [])
        for stale in ("FetchFailed", "BuildFailed", "Reconciling", "Stalled"):
            conditions = remove_condition(conditions, stale)
        if outcome.artifact is not None:
            conditions = set_condition(
                conditions, "ArtifactInStorage", "True", "Succeeded", outcome.message, generation
            )
            status["artifact"] = outcome.artifact
        status["conditions"] = set_condition(
            conditions, "Ready", "True", "Succeeded", outcome.message, generation
        )
        status.update(outcome.extra)
        finish_status(self.api, kind, obj, status, succeeded=True)
        return interval

    # -- git and OCI ----------------------------------------------------------------
    def _credentials(self, obj: dict[str, Any]) -> Credentials:
        secret_ref = (obj.get("spec") or {}).get("secretRef")
        if not secret_ref:
            return Credentials()
        namespace = obj["metadata"]["namespace"]
        name = secret_ref["name"]
        secret = self.api.get_or_none(f"/api/v1/namespaces/{namespace}/secrets/{name}")
        if secret is None:
            raise SourceFailure(
                "AuthenticationFailed",
                f"failed to get secret '{namespace}/{name}': secrets \"{name}\" not found",
            )
        data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
        data.update(secret.get("stringData") or {})
        if ".dockerconfigjson" in data:  # OCIRepository pull secrets
            auths = json.loads(data[".dockerconfigjson"]).get("auths", {})
            for entry in auths.values():
                if "auth" in entry:
                    user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                    return Credentials(user, password)
                return Credentials(entry.get("username"), entry.get("password"))
        return Credentials(data.get("username"), data.get("password"))

    def _git_like(self, kind: str, obj: dict[str, Any]) -> Outcome:
        spec = obj.get("spec") or {}
        url = str(spec.get("url") or "")
        credentials = self._credentials(obj)
        branch: str | None
        target: GitTarget | str
        if kind == "OCIRepository":
            parts = urlsplit(url)
            if parts.scheme != "oci" or not parts.netloc:
                raise SourceFailure(
                    "URLInvalid", "URL must be in format 'oci://<domain>/<org>/<repo>'", "Stalled"
                )
            git_url = f"http://{parts.netloc}{parts.path.rstrip('/')}.git"
            branch, tag = None, (spec.get("ref") or {}).get("tag") or "latest"
        else:
            git_url, branch, tag = url, None, ""
        try:
            if kind == "GitRepository":
                target = fetch_target(git_url, spec.get("ref"), *credentials.pair, self.user_agent)
                revision = target.revision
            else:
                target, sha = remote_head(git_url, branch, *credentials.pair, self.user_agent)
                revision = f"{tag}@sha256:{hashlib.sha256(sha.encode()).hexdigest()}"
            current = (obj.get("status") or {}).get("artifact") or {}
            if current.get("revision") == revision and self.storage.locate(current):
                artifact = current  # unchanged remote: Flux skips the clone
            else:
                artifact = self._fetch(kind, obj, git_url, target, revision, credentials)
        except SparseCheckoutFailed as error:
            raise SourceFailure("GitOperationFailed", str(error)) from None
        except GitFetchError as error:
            if kind == "OCIRepository":
                raise SourceFailure(
                    "OCIArtifactPullFailed",
                    f"failed to determine artifact digest: {url}: {error}",
                ) from None
            raise SourceFailure(
                "GitOperationFailed",
                f"failed to checkout and determine revision: unable to clone '{url}': {error}",
            ) from None
        extra = {"observedIgnore": spec["ignore"]} if spec.get("ignore") is not None else {}
        if kind == "OCIRepository":
            return Outcome(artifact, f"stored artifact for digest '{revision}'", extra)
        return Outcome(artifact, f"stored artifact for revision '{revision}'", extra)

    def _fetch(
        self,
        kind: str,
        obj: dict[str, Any],
        git_url: str,
        target: GitTarget | str,
        revision: str,
        credentials: Credentials,
    ) -> dict[str, Any]:
        metadata = obj["metadata"]
        with tempfile.TemporaryDirectory(prefix="source-") as scratch:
            work = Path(scratch) / "checkout"
            sparse = (
                (obj.get("spec") or {}).get("sparseCheckout") if kind == "GitRepository" else None
            )
            checkout(git_url, target, work, *credentials.pair, self.user_agent, sparse)
            shutil.rmtree(work / ".git", ignore_errors=True)
            files = SourceIgnore(work, (obj.get("spec") or {}).get("ignore")).included_files(work)
            return self.storage.store(
                kind, metadata["namespace"], metadata["name"], revision, work, files
            )

    # -- Helm ---------------------------------------------------------------------------
    def _migrate_to_static(self, obj: dict[str, Any]) -> None:
        """source-controller's migrationToStatic: an OCI HelmRepository has nothing to
        fetch; its status is emptied (no conditions, no lastHandledReconcileAt) and the
        object is left alone from then on."""
        status = obj.get("status") or {}
        if status:
            self.api.patch_status("HelmRepository", obj, dict.fromkeys(status))

    def _helm_repository(self, obj: dict[str, Any]) -> Outcome:
        spec = obj.get("spec") or {}
        url = str(spec.get("url") or "")
        parts = urlsplit(url)
        if parts.scheme == "oci":
            raise SourceFailure(
                "URLInvalid",
                "'oci' URL scheme cannot be used with 'default' HelmRepository type",
                "Stalled",
            )
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SourceFailure(
                "URLInvalid",
                f"invalid Helm repository URL: scheme '{parts.scheme}' not supported: {url}",
                "Stalled",
            )
        # No network in the sandbox: the index is taken as fetched, its digest the URL's.
        digest = "sha256:" + hashlib.sha256(url.encode()).hexdigest()
        namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        relative = f"helmrepository/{namespace}/{name}/index-{digest[7:]}.yaml"
        artifact = {
            "digest": digest,
            "lastUpdateTime": now_rfc3339(),
            "path": relative,
            "revision": digest,
            "size": 0,
            "url": f"http://{STORAGE_HOST}/{relative}",
        }
        return Outcome(artifact, f"stored artifact: revision '{digest}'")

    def _helm_chart(self, obj: dict[str, Any]) -> Outcome:
        spec = obj.get("spec") or {}
        namespace = obj["metadata"]["namespace"]
        source_ref = spec.get("sourceRef") or {}
        source_name = source_ref.get("name", "")
        source = None
        if source_ref.get("kind", "HelmRepository") == "HelmRepository":
            source = self.api.get_flux("HelmRepository", namespace, source_name)
        if source is None:
            raise SourceFailure(
                "SourceUnavailable",
                f"failed to get source: helmrepositories.source.toolkit.fluxcd.io "
                f'"{source_name}" not found',
            )
        oci = (source.get("spec") or {}).get("type") == "oci"  # charts pulled from the registry
        source_artifact = (source.get("status") or {}).get("artifact") or {}
        if not source_artifact and not oci:
            raise SourceWaiting(
                "NoSourceArtifact",
                f"no artifact available for HelmRepository source '{source_name}'",
            )
        chart_name = str(spec.get("chart") or "")
        try:
            chart = self.catalog.resolve(chart_name, spec.get("version"))
        except ChartNotFound as missing:
            raise SourceFailure(
                "ChartPullError", f"invalid chart reference: {missing}", "BuildFailed"
            ) from None
        name = obj["metadata"]["name"]
        packaged = f"{chart_name}-{chart.version}.tgz"
        relative = f"helmchart/{namespace}/{name}/{packaged}"
        artifact = {
            "digest": "sha256:" + hashlib.sha256(packaged.encode()).hexdigest(),
            "lastUpdateTime": now_rfc3339(),
            "metadata": {"appVersion": chart.app_version},
            "path": relative,
            "revision": chart.version,
            "size": 0,
            "url": f"http://{STORAGE_HOST}/{relative}",
        }
        return Outcome(
            artifact,
            f"pulled '{chart_name}' chart with version '{chart.version}'",
            {"observedChartName": chart_name}
            if oci
            else {
                "observedChartName": chart_name,
                "observedSourceArtifactRevision": source_artifact.get("revision"),
            },
        )
