"""Readiness of a Flux object, the way `flux bootstrap` and `flux reconcile` decide it.

The rules (flux2 pkg/bootstrap `objectReconciled`, `flux reconcile`, kstatus):
a suspended object never reconciles (an error, not a wait); until the controller
copies our `reconcile.fluxcd.io/requestedAt` into `status.lastHandledReconcileAt`
it has not looked; `Ready=False` with a failure reason is final at once (a
BuildFailed Kustomization never bumps observedGeneration, so waiting for it would
only reach the timeout); otherwise the current generation must be observed, the
expected revision reached, and `Ready=True`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Phase(Enum):
    READY = "ready"
    PROGRESSING = "progressing"
    FAILED = "failed"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class Health:
    phase: Phase
    reason: str
    message: str


# Ready=False reasons that mean "still working on it", not "failed".
_WAITING_REASONS = frozenset(
    {"Progressing", "ProgressingWithRetry", "DependencyNotReady", "Reconciling"}
)


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for entry in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(entry, dict) and entry.get("type") == kind:
            return entry
    return None


def observed_revision(obj: dict[str, Any]) -> str | None:
    """Sources: the artifact's revision; Kustomization/HelmRelease: the last attempted one."""
    status = obj.get("status") or {}
    artifact = status.get("artifact") or {}
    return (
        artifact.get("revision")
        or status.get("lastAttemptedRevision")
        or status.get("lastAppliedRevision")
    )


def revision_matches(observed: str | None, expected: str) -> bool:
    """`main@sha1:<sha>` matches itself, `sha1:<sha>` and the bare sha."""
    if not observed:
        return False
    if observed == expected:
        return True
    return observed.rsplit(":", 1)[-1] == expected.rsplit(":", 1)[-1] and (
        "@" not in expected or observed.split("@", 1)[0] == expected.split("@", 1)[0]
    )


def assess(
    obj: dict[str, Any],
    *,
    requested_at: str | None = None,
    expected_revision: str | None = None,
) -> Health:
    """The phase of a Flux object dict as returned by the API."""
    kind = obj.get("kind", "object")
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    if (obj.get("spec") or {}).get("suspend") is True:
        return Health(Phase.SUSPENDED, "Suspended", f"{kind} is suspended (spec.suspend: true)")
    if metadata.get("deletionTimestamp"):
        return Health(Phase.PROGRESSING, "Terminating", f"{kind} is being deleted")
    if requested_at is not None and status.get("lastHandledReconcileAt") != requested_at:
        return Health(
            Phase.PROGRESSING,
            "ReconcileRequested",
            f"waiting for the controller to handle the reconcile request {requested_at}",
        )
    ready = condition(obj, "Ready")
    stalled = condition(obj, "Stalled")
    if ready is not None and ready.get("status") == "False":
        reason = str(ready.get("reason") or "")
        if reason not in _WAITING_REASONS:
            return Health(Phase.FAILED, reason, str(ready.get("message") or ""))
    if stalled is not None and stalled.get("status") == "True":
        return Health(
            Phase.FAILED, str(stalled.get("reason") or "Stalled"), str(stalled.get("message") or "")
        )
    generation = metadata.get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and observed != generation:
        return Health(
            Phase.PROGRESSING,
            "ObservedGeneration",
            f"{kind} generation is {generation}, but latest observed generation is {observed}",
        )
    if expected_revision is not None:
        revision = observed_revision(obj)
        if not revision_matches(revision, expected_revision):
            return Health(
                Phase.PROGRESSING,
                "RevisionNotReached",
                f"waiting for revision {expected_revision} (at {revision or 'none'})",
            )
    if ready is None:
        return Health(Phase.PROGRESSING, "NoReadyCondition", f"{kind} reports no Ready condition")
    if ready.get("status") == "True":
        return Health(Phase.READY, str(ready.get("reason") or ""), str(ready.get("message") or ""))
    return Health(
        Phase.PROGRESSING,
        str(ready.get("reason") or "Progressing"),
        str(ready.get("message") or ""),
    )
