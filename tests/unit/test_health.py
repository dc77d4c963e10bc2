"""Readiness of Flux objects (flux2 objectReconciled + flux reconcile rules)."""

from __future__ import annotations

from typing import Any

import pytest

from kasboot.flux.health import Phase, assess, revision_matches

REQUESTED = "2026-08-07T16:50:15.123456789+03:00"
REVISION = "main@sha1:" + "4dc8bec9" * 5


def kustomization(
    *,
    ready: tuple[str, str, str] | None = ("True", "ReconciliationSucceeded", "Applied revision"),
    generation: int = 2,
    observed: int | None = 2,
    handled: str | None = REQUESTED,
    suspend: bool = False,
    revision: str | None = REVISION,
    reconciling: tuple[str, str] | None = None,
    stalled: bool = False,
) -> dict[str, Any]:
    conditions = []
    if ready:
        conditions.append(
            {"type": "Ready", "status": ready[0], "reason": ready[1], "message": ready[2]}
        )
    if reconciling:
        conditions.append(
            {"type": "Reconciling", "status": reconciling[0], "reason": reconciling[1]}
        )
    if stalled:
        conditions.append(
            {"type": "Stalled", "status": "True", "reason": "InvalidPath", "message": "bad"}
        )
    status: dict[str, Any] = {"conditions": conditions, "lastHandledReconcileAt": handled}
    if observed is not None:
        status["observedGeneration"] = observed
    if revision:
        status["lastAttemptedRevision"] = revision
        status["lastAppliedRevision"] = revision
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "flux-system", "generation": generation},
        "spec": {"suspend": suspend},
        "status": status,
    }


BUILD_FAILED = (
    "False",
    "BuildFailed",
    "failed to decode Kubernetes YAML from /tmp/kustomization-1/.gitlab/agents/a/config.yaml: "
    "missing Resource metadata <nil>",
)


@pytest.mark.parametrize(
    ("obj", "phase", "reason"),
    [
        (kustomization(), Phase.READY, "ReconciliationSucceeded"),
        (kustomization(suspend=True), Phase.SUSPENDED, "Suspended"),
        (kustomization(handled="2026-01-01T00:00:00Z"), Phase.PROGRESSING, "ReconcileRequested"),
        (kustomization(handled=None), Phase.PROGRESSING, "ReconcileRequested"),
        # BuildFailed never bumps observedGeneration: fail at once, do not wait for it
        (
            kustomization(
                ready=BUILD_FAILED, observed=1, reconciling=("True", "ProgressingWithRetry")
            ),
            Phase.FAILED,
            "BuildFailed",
        ),
        (
            kustomization(ready=("False", "ArtifactFailed", "Source artifact not found")),
            Phase.FAILED,
            "ArtifactFailed",
        ),
        (
            kustomization(ready=("False", "DependencyNotReady", "dependency 'x' is not ready")),
            Phase.PROGRESSING,
            "DependencyNotReady",
        ),
        (
            kustomization(ready=("Unknown", "Progressing", "Reconciliation in progress")),
            Phase.PROGRESSING,
            "Progressing",
        ),
        (kustomization(observed=1), Phase.PROGRESSING, "ObservedGeneration"),
        (kustomization(revision="main@sha1:" + "0" * 40), Phase.PROGRESSING, "RevisionNotReached"),
        (kustomization(ready=None), Phase.PROGRESSING, "NoReadyCondition"),
        (
            kustomization(stalled=True, ready=("Unknown", "Progressing", "")),
            Phase.FAILED,
            "InvalidPath",
        ),
    ],
)
def test_phases(obj: dict[str, Any], phase: Phase, reason: str) -> None:
    health = assess(obj, requested_at=REQUESTED, expected_revision=REVISION)
    assert (health.phase, health.reason) == (phase, reason)


def test_failure_message_is_the_ready_message() -> None:
    health = assess(kustomization(ready=BUILD_FAILED), requested_at=REQUESTED)
    assert health.message == BUILD_FAILED[2]


def test_without_request_or_revision_only_conditions_count() -> None:
    assert assess(kustomization(handled=None, revision=None)).phase is Phase.READY


def test_source_revision_comes_from_the_artifact() -> None:
    source = {
        "kind": "GitRepository",
        "metadata": {"generation": 1},
        "status": {
            "observedGeneration": 1,
            "artifact": {"revision": REVISION},
            "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded"}],
        },
    }
    assert assess(source, expected_revision=REVISION).phase is Phase.READY
    assert assess(source, expected_revision="main@sha1:" + "1" * 40).phase is Phase.PROGRESSING


@pytest.mark.parametrize(
    ("observed", "expected", "match"),
    [
        (REVISION, REVISION, True),
        (REVISION, REVISION.split("@")[1], True),
        (REVISION, REVISION.split(":")[1], True),
        (REVISION, "dev@" + REVISION.split("@")[1], False),
        (None, REVISION, False),
    ],
)
def test_revision_matches(observed: str | None, expected: str, match: bool) -> None:
    assert revision_matches(observed, expected) is match
