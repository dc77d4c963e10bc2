"""Readiness of a Flux object, the way `flux bootstrap` and `flux reconcile` decide it.

The rules (flux2 `cmd/flux/reconcile.go`, pkg/bootstrap `objectReconciled`, kstatus):
a suspended object never reconciles (an error, not a wait). A reconcile request is
handled once `status.lastHandledReconcileAt` DIFFERS from the value read before
annotating — whoever wrote the newest request (a webhook Receiver fired by the same
push writes its own value; waiting for "equals my token" would hang). `Stalled=True`
is final. `Ready=False` is final at once when it names a failure the controller will
not get past by itself (a BuildFailed Kustomization never bumps observedGeneration,
so waiting for it would only reach the timeout) — but not while it is transient
(helm-controller's SourceNotReady / ArtifactFailed "Retrying in …" /
HealthCheckCanceled with `Reconciling=True`: kstatus InProgress) and not while it is
stale (the failure is about an older revision or generation than the one awaited).
Otherwise the current generation must be observed, the expected revision reached,
and `Ready=True`.
"""

from __future__ import annotations

import re
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


class _NotAsked:
    """No reconcile request to wait for."""


NOT_ASKED: Any = _NotAsked()

# Ready=False reasons that mean "still working on it", not "failed", whatever the kind.
_WAITING_REASONS = frozenset(
    {
        "Progressing",
        "ProgressingWithRetry",
        "DependencyNotReady",
        "Reconciling",
        "SourceNotReady",  # helm-controller: the HelmChart is not (yet) Ready
        "HealthCheckCanceled",  # a newer request interrupted the health checks
    }
)
# HelmRelease Ready=False reasons that no retry fixes: fail at once even while
# helm-controller keeps Reconciling=True and retries with backoff.
_RELEASE_FINAL_REASONS = frozenset({"ValuesError", "InitFailed", "ChartMutateError"})


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


def revision_reached(observed: str | None, expected: str) -> bool:
    """``revision_matches``, or — for an ExpectedRevision (flux/revision.py) — a later
    revision of the branch whose history holds the expected commit."""
    if revision_matches(observed, expected):
        return True
    contained_in = getattr(expected, "contained_in", None)
    return contained_in is not None and bool(contained_in(observed))


def _stale_failure(obj: dict[str, Any], expected_revision: str | None) -> bool:
    """A Ready=False about an older attempt than the one awaited: a Kustomization whose
    last attempt was another revision, a HelmRelease whose last attempt was an older
    generation."""
    status = obj.get("status") or {}
    if obj.get("kind") == "Kustomization" and expected_revision is not None:
        attempted = status.get("lastAttemptedRevision")
        return attempted is not None and not revision_reached(attempted, expected_revision)
    if obj.get("kind") == "HelmRelease":
        attempted_generation = status.get("lastAttemptedGeneration")
        generation = (obj.get("metadata") or {}).get("generation")
        return (
            attempted_generation is not None
            and generation is not None
            and int(attempted_generation) < int(generation)
        )
    return False


def _transient(obj: dict[str, Any], reason: str) -> bool:
    if reason in _WAITING_REASONS:
        return True
    reconciling = condition(obj, "Reconciling")
    # helm-controller keeps Reconciling=True through everything it will retry by
    # itself (ArtifactFailed "… Retrying in 5s", an install with retries left).
    return (
        obj.get("kind") == "HelmRelease"
        and reconciling is not None
        and reconciling.get("status") == "True"
        and reason not in _RELEASE_FINAL_REASONS
    )


# A failure that is the API server's passing trouble (the controller's own writes got a
# 5xx/429), not the manifests': asking again can succeed.
_TRANSIENT_API = re.compile(
    r"\((?:InternalError|InternalServerError|ServiceUnavailable|TooManyRequests|Timeout"
    r"|BadGateway|GatewayTimeout)\)"
    r"|the server is currently unable to handle the request|etcdserver: request timed out"
    r"|Internal Server Error|Service Unavailable|Too Many Requests|Bad Gateway|Gateway Timeout"
)


def transient_api_failure(health: Health) -> bool:
    """A FAILED verdict caused by the API server's transient trouble."""
    return health.phase is Phase.FAILED and bool(_TRANSIENT_API.search(health.message))


STATIC_MESSAGE = "an OCI HelmRepository is static: source-controller never reconciles it"


def is_static(obj: dict[str, Any]) -> bool:
    """flux2's `isStatic`: a HelmRepository of `spec.type: oci` has no status to wait for
    (source-controller empties it and never reconciles the object)."""
    return obj.get("kind") == "HelmRepository" and (obj.get("spec") or {}).get("type") == "oci"


def handled(obj: dict[str, Any], handled_before: Any, requested_at: str | None = None) -> bool:
    """Whether the controller handled a reconcile request made after reading
    ``handled_before`` (its lastHandledReconcileAt then): the value changed, or it is
    our own ``requested_at``."""
    current = (obj.get("status") or {}).get("lastHandledReconcileAt")
    if requested_at is not None and current == requested_at:
        return True
    if handled_before is NOT_ASKED:
        return requested_at is None
    return current is not None and current != handled_before


def assess(
    obj: dict[str, Any],
    *,
    requested_at: str | None = None,
    handled_before: Any = NOT_ASKED,
    expected_revision: str | None = None,
) -> Health:
    """The phase of a Flux object dict as returned by the API. ``handled_before``: the
    object's lastHandledReconcileAt read before annotating it (None when it had none);
    ``requested_at``: the value written (also accepted as handled)."""
    kind = obj.get("kind", "object")
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    if is_static(obj):
        return Health(Phase.READY, "Static", STATIC_MESSAGE)
    if (obj.get("spec") or {}).get("suspend") is True:
        return Health(Phase.SUSPENDED, "Suspended", f"{kind} is suspended (spec.suspend: true)")
    if metadata.get("deletionTimestamp"):
        return Health(Phase.PROGRESSING, "Terminating", f"{kind} is being deleted")
    asked = requested_at is not None or handled_before is not NOT_ASKED
    if asked and not handled(obj, handled_before, requested_at):
        return Health(
            Phase.PROGRESSING,
            "ReconcileRequested",
            f"waiting for the controller to handle the reconcile request {requested_at or ''}",
        )
    ready = condition(obj, "Ready")
    stalled = condition(obj, "Stalled")
    if ready is not None and ready.get("status") == "False":
        reason = str(ready.get("reason") or "")
        if not _transient(obj, reason) and not _stale_failure(obj, expected_revision):
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
        if not revision_reached(revision, expected_revision):
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
