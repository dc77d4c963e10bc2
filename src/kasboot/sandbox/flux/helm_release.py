"""helm-controller's release actions for the simulated HelmRelease reconciler: the
atomic release (install or upgrade, with remediation counters, Stalled, reset and
force — see remediation.py), the cancelled health checks, and what the GitLab agent
chart installs (the agentk Deployment, the release record) once its token Secret
exists; then the simulated agentk connects to the KAS stand-in.

After fluxcd/helm-controller: internal/controller/helmrelease_controller.go (the
reconcile passes and conditions) and internal/reconcile/atomic_release.go (the release
actions and remediation)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from kasboot.sandbox.flux import remediation
from kasboot.sandbox.flux.conditions import (
    parse_duration,
    remove_condition,
    requested_at,
    set_condition,
)
from kasboot.sandbox.flux.kubeapi import KubeApi, now_rfc3339

LOG = logging.getLogger("kasboot.sandbox.flux.helm")

# (kas address, token, namespace) -> True when KAS accepted the token
# (KAS, token, namespace, CA) -> None when KAS accepted the agent, else agentk's error
AgentConnector = Callable[[str, str, str, str | None], str | None]


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
    # what the GitLab agent chart installs (HelmReconciler, helm.py)
    _ensure_namespace: Callable[[str, bool], None]
    _check_token_secret: Callable[[str, str, dict[str, Any]], None]
    _install_objects: Callable[..., None]

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
        from kasboot.sandbox.flux.helm import release_identity  # helm.py imports this module

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
