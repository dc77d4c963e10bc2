"""helm-controller's release actions for the simulated HelmRelease reconciler: the
atomic release (install or upgrade, with remediation counters, Stalled, reset and
force — see remediation.py), the cancelled health checks, and what the GitLab agent
chart installs (the agentk Deployment, the release record) once its token Secret
exists; then the simulated agentk connects to the KAS stand-in."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from kasboot.sandbox.flux import remediation
from kasboot.sandbox.flux.agentk import agentk_deployment, release_secret
from kasboot.sandbox.flux.conditions import (
    parse_duration,
    remove_condition,
    requested_at,
    set_condition,
)
from kasboot.sandbox.flux.kubeapi import KubeApi, KubeRequestError, now_rfc3339

LOG = logging.getLogger("kasboot.sandbox.flux.helm")

# (kas address, token, namespace) -> True when KAS accepted the token
AgentConnector = Callable[[str, str, str], bool]


class ReleaseFailure(Exception):
    """A prerequisite is missing (chart, values): Ready=False with ``reason`` while
    Reconciling stays True (the controller retries), observedGeneration untouched."""

    def __init__(self, reason: str, message: str, retry: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry = retry


class ActionFailed(Exception):
    """The Helm install/upgrade itself failed (counted against the remediation retries)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def release_identity(hr: dict[str, Any]) -> tuple[str, str, str]:
    """(target namespace, release name, storage namespace) with helm-controller's defaults."""
    spec = hr.get("spec") or {}
    metadata = hr["metadata"]
    target = spec.get("targetNamespace") or metadata["namespace"]
    default_name = (
        f"{spec['targetNamespace']}-{metadata['name']}"
        if spec.get("targetNamespace")
        else metadata["name"]
    )
    return (
        target,
        spec.get("releaseName") or default_name,
        spec.get("storageNamespace") or metadata["namespace"],
    )


def is_ready(status: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def _ready_from_history(
    conditions: list[dict[str, Any]], latest: dict[str, Any] | None, generation: int
) -> list[dict[str, Any]]:
    """In sync with a deployed release: Ready stays (or becomes) what the release says."""
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if (ready is not None and ready.get("status") == "True") or latest is None:
        return conditions
    released = next((c for c in conditions if c.get("type") == "Released"), None)
    if released is None or released.get("status") != "True":
        return conditions
    return set_condition(
        conditions,
        "Ready",
        "True",
        str(released.get("reason")),
        str(released.get("message")),
        generation,
    )


class ReleaseActions:
    """The install/upgrade half of HelmReconciler (a mixin: it brings the API client,
    the KAS connector and the dependency requeue)."""

    api: KubeApi
    connect: AgentConnector
    dependency_requeue: float

    def _release(
        self,
        hr: dict[str, Any],
        status: dict[str, Any],
        chart: dict[str, Any],
        values: dict[str, Any],
        generation: int,
    ) -> tuple[float | None, bool]:
        """The atomic release: reset the failure counters when the attempt differs (or a
        reset was asked for), stop Stalled when the retries are exhausted, else install
        or upgrade. Returns the requeue (None: only a change or a request wakes it) and
        whether the outcome is final for this generation (observedGeneration recorded)."""
        interval = parse_duration((hr.get("spec") or {}).get("interval"), 60.0)
        target, release, storage = release_identity(hr)
        artifact = (chart.get("status") or {}).get("artifact") or {}
        chart_name = (chart.get("spec") or {}).get("chart", "")
        version = str(artifact.get("revision", ""))
        config_digest = (
            "sha256:" + hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
        )
        attempt = remediation.Attempt(generation, version, config_digest)
        if remediation.must_reset(hr, status, attempt):
            remediation.clear_failures(status)
        force = remediation.force_requested(hr, status)
        status.update(
            {
                "lastAttemptedRevision": version,
                "lastAttemptedConfigDigest": config_digest,
                "lastAttemptedGeneration": generation,
                "storageNamespace": storage,
            }
        )
        history = list(status.get("history") or [])
        latest = history[0] if history else None
        deployed = latest is not None and latest.get("status") == "deployed"
        action = "upgrade" if deployed else "install"
        in_sync = (
            deployed
            and latest is not None
            and latest.get("chartVersion") == version
            and latest.get("configDigest") == config_digest
        )
        conditions = list(status.get("conditions") or [])
        if in_sync and not force:  # nothing to do: Ready is what the release says
            settled = _ready_from_history(conditions, latest, generation)
            status["conditions"] = remove_condition(
                remove_condition(settled, "Stalled"), "Reconciling"
            )
            return interval, True
        if remediation.exhausted(hr, status, action) and not force:
            status["conditions"] = remove_condition(
                set_condition(
                    conditions,
                    "Stalled",
                    "True",
                    "RetriesExceeded",
                    remediation.stalled_message(status, action),
                    generation,
                ),
                "Reconciling",
            )
            return None, True
        status["lastAttemptedReleaseAction"] = action
        number = int(latest["version"]) + 1 if latest else 1
        subject = f"release {target}/{release}.v{number} with chart {chart_name}@{version}"
        try:
            self._run_action(hr, target, release, storage, number, values, artifact, chart_name)
        except ActionFailed as failure:
            again = self._action_failed(hr, status, action, subject, failure.message, generation)
            return again, again is None
        if self._health_checks_canceled(hr):
            status["conditions"] = set_condition(
                status["conditions"],
                "Ready",
                "False",
                "HealthCheckCanceled",
                "New reconciliation triggered by HelmRelease/"
                f"{hr['metadata']['namespace']}/{hr['metadata']['name']}",
                generation,
            )
            return 0.0, False
        stamp = now_rfc3339()
        snapshot = {
            "apiVersion": "v2",
            "appVersion": str((artifact.get("metadata") or {}).get("appVersion", "")),
            "chartName": chart_name,
            "chartVersion": version,
            "configDigest": config_digest,
            "digest": "sha256:"
            + hashlib.sha256(f"{config_digest}{version}{number}".encode()).hexdigest(),
            "firstDeployed": (latest or {}).get("firstDeployed", stamp),
            "lastDeployed": stamp,
            "name": release,
            "namespace": target,
            "status": "deployed",
            "version": number,
        }
        if latest is not None:
            history[0] = {**latest, "status": "superseded"}
        status["history"] = [snapshot, *history][:5]
        remediation.clear_failures(status)
        reason = "UpgradeSucceeded" if action == "upgrade" else "InstallSucceeded"
        message = f"Helm {action} succeeded for {subject}"
        conditions = set_condition(
            list(status.get("conditions") or []), "Released", "True", reason, message, generation
        )
        conditions = set_condition(conditions, "Ready", "True", reason, message, generation)
        status["conditions"] = [
            {**c, "observedGeneration": generation}
            for c in remove_condition(remove_condition(conditions, "Reconciling"), "Stalled")
        ]
        return interval, True

    def _run_action(
        self,
        hr: dict[str, Any],
        target: str,
        release: str,
        storage: str,
        number: int,
        values: dict[str, Any],
        artifact: dict[str, Any],
        chart_name: str,
    ) -> None:
        spec = hr.get("spec") or {}
        try:
            self._ensure_namespace(target, bool((spec.get("install") or {}).get("createNamespace")))
            self._check_token_secret(target, release, values)
            self._install_objects(
                hr,
                target,
                release,
                storage,
                number,
                values,
                str((artifact.get("metadata") or {}).get("appVersion", "")),
                chart_name,
                str(artifact.get("revision", "")),
            )
        except ReleaseFailure as failure:
            raise ActionFailed(failure.message) from None

    def _action_failed(
        self,
        hr: dict[str, Any],
        status: dict[str, Any],
        action: str,
        subject: str,
        cause: str,
        generation: int,
    ) -> float | None:
        """Count the failure; Stalled (RetriesExceeded) when the retries are exhausted,
        else Reconciling=True ProgressingWithRetry and another attempt at once."""
        status[f"{action}Failures"] = remediation.failures(status, action) + 1
        reason = "UpgradeFailed" if action == "upgrade" else "InstallFailed"
        message = f"Helm {action} failed for {subject}: {cause}"
        conditions = set_condition(
            list(status.get("conditions") or []), "Released", "False", reason, message, generation
        )
        conditions = set_condition(conditions, "Ready", "False", reason, message, generation)
        if remediation.exhausted(hr, status, action):
            status["conditions"] = remove_condition(
                set_condition(
                    conditions,
                    "Stalled",
                    "True",
                    "RetriesExceeded",
                    remediation.stalled_message(status, action),
                    generation,
                ),
                "Reconciling",
            )
            return None
        status["conditions"] = set_condition(
            conditions, "Reconciling", "True", "ProgressingWithRetry", message, generation
        )
        return self.dependency_requeue

    def _health_checks_canceled(self, hr: dict[str, Any]) -> bool:
        """A newer reconcile request (or spec) arrived while helm waited for the release's
        resources: helm-controller cancels the health checks and starts over."""
        metadata = hr["metadata"]
        current = self.api.get_flux("HelmRelease", metadata["namespace"], metadata["name"])
        if current is None:
            return False
        return requested_at(current) != requested_at(hr) or (
            current["metadata"].get("generation") != metadata.get("generation")
        )

    def _ensure_namespace(self, namespace: str, create: bool) -> None:
        if self.api.get_or_none(f"/api/v1/namespaces/{namespace}") is not None:
            return
        if not create:
            raise ReleaseFailure(
                "", f'create: failed to create: namespaces "{namespace}" not found'
            )
        self.api.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            "helm-controller",
        )

    def _check_token_secret(self, namespace: str, release: str, values: dict[str, Any]) -> None:
        """The chart mounts ``config.secretName`` (key ``token``) into agentk; without it
        the pods never start and helm's wait gives up."""
        config = values.get("config") or {}
        if config.get("token"):
            return
        secret_name = config.get("secretName") or f"{release}-token"
        secret = self.api.get_or_none(f"/api/v1/namespaces/{namespace}/secrets/{secret_name}")
        wait_failure = (
            f"resource Deployment/{namespace}/{release} not ready. "
            "status: InProgress, message: Available: 0/1; "
            'MountVolume.SetUp failed for volume "token-volume" : '
        )
        if secret is None:
            raise ReleaseFailure(
                "",
                wait_failure + f'secret "{secret_name}" not found: context deadline exceeded',
            )
        if "token" not in (secret.get("data") or {}):
            raise ReleaseFailure(
                "",
                wait_failure
                + "references non-existent secret key: token: context deadline exceeded",
            )

    def _install_objects(
        self,
        hr: dict[str, Any],
        namespace: str,
        release: str,
        storage: str,
        number: int,
        values: dict[str, Any],
        app_version: str,
        chart_name: str,
        chart_version: str,
    ) -> None:
        deployment = agentk_deployment(
            hr, namespace, release, values, app_version, chart_name, chart_version
        )
        try:
            self.api.apply(deployment, "helm-controller")
            if self.api.get_or_none(f"/api/v1/namespaces/{storage}") is not None:
                self.api.apply(
                    release_secret(release, storage, number, chart_name, chart_version),
                    "helm-controller",
                )
        except KubeRequestError as error:
            raise ReleaseFailure("", error.message) from None

    # -- agentk ----------------------------------------------------------------------------
    def _agent_connects(self, hr: dict[str, Any], values: dict[str, Any]) -> None:
        target, _, _ = release_identity(hr)
        config = values.get("config") or {}
        token = config.get("token")
        if not token:
            name = config.get("secretName") or f"{release_identity(hr)[1]}-token"
            secret = self.api.get_or_none(f"/api/v1/namespaces/{target}/secrets/{name}")
            encoded = ((secret or {}).get("data") or {}).get("token")
            token = base64.b64decode(encoded).decode().strip() if encoded else None
        if token:
            accepted = self.connect(str(config.get("kasAddress") or ""), token, target)
            LOG.info(
                "agentk in %s: KAS %s the token", target, "accepted" if accepted else "rejected"
            )
