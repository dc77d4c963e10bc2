"""helm-controller's failure bookkeeping for a release, as `internal/reconcile`
(atomic_release.go) and `internal/action/reset.go` keep it:

- each failed install/upgrade counts in ``status.installFailures`` /
  ``status.upgradeFailures``; with the default remediation (``retries: 0``) ONE failure
  exhausts the retries: ``Stalled=True``, reason ``RetriesExceeded``, message
  ``Failed to install after 1 attempt(s)``, and no further attempt;
- the counters are reset only when the generation, the chart version or the values
  differ from the last attempt, or on ``reconcile.fluxcd.io/resetAt`` equal to
  ``requestedAt`` (``flux reconcile hr --reset``); ``lastHandledResetAt`` records the
  reset annotation whenever it is new, handled or not;
- ``reconcile.fluxcd.io/forceAt`` equal to ``requestedAt`` forces one install/upgrade
  although nothing changed (``lastHandledForceAt``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kasboot.sandbox.flux.conditions import FORCE_AT, requested_at

RESET_AT = "reconcile.fluxcd.io/resetAt"


@dataclass(frozen=True)
class Attempt:
    """What an attempt is judged by: generation, chart version, values digest."""

    generation: int
    chart_version: str
    config_digest: str


def _annotation(hr: dict[str, Any], name: str) -> str | None:
    value = ((hr.get("metadata") or {}).get("annotations") or {}).get(name)
    return str(value) if value is not None else None


def handle_request(hr: dict[str, Any], status: dict[str, Any], annotation: str, field: str) -> bool:
    """fluxcd/pkg ``HandleAnnotationRequest``: a new value is recorded in ``field`` and
    honoured only when it equals requestedAt."""
    value = _annotation(hr, annotation)
    if value is None or value == status.get(field):
        return False
    status[field] = value
    return value == requested_at(hr)


def must_reset(hr: dict[str, Any], status: dict[str, Any], attempt: Attempt) -> bool:
    """MustResetFailures: the reset request is looked at first, so it is recorded even
    when another reason resets."""
    reset_requested = handle_request(hr, status, RESET_AT, "lastHandledResetAt")
    return (
        status.get("lastAttemptedGeneration") != attempt.generation
        or status.get("lastAttemptedRevision") != attempt.chart_version
        or status.get("lastAttemptedConfigDigest") != attempt.config_digest
        or reset_requested
    )


def force_requested(hr: dict[str, Any], status: dict[str, Any]) -> bool:
    return handle_request(hr, status, FORCE_AT, "lastHandledForceAt")


def clear_failures(status: dict[str, Any]) -> None:
    """Zero the counters (None: the status merge patch removes them, as omitempty does)."""
    for counter in ("installFailures", "upgradeFailures"):
        if status.get(counter) is not None:
            status[counter] = None


def retries(hr: dict[str, Any], action: str) -> int:
    """``spec.<install|upgrade>.remediation.retries`` (default 0; -1 = forever)."""
    remediation = (((hr.get("spec") or {}).get(action) or {}).get("remediation")) or {}
    return int(remediation.get("retries") or 0)


def failures(status: dict[str, Any], action: str) -> int:
    return int(status.get(f"{action}Failures") or 0)


def exhausted(hr: dict[str, Any], status: dict[str, Any], action: str) -> bool:
    allowed = retries(hr, action)
    return allowed >= 0 and failures(status, action) > allowed


def stalled_message(status: dict[str, Any], action: str) -> str:
    return f"Failed to {action} after {failures(status, action)} attempt(s)"
