"""Which Flux objects the reconcile step need not annotate, and the watch that waits for
them: their controllers reconcile them by themselves. A new object is a new generation
(controller-runtime queues it as it appears); a Kustomization queues itself when its
source has a new revision (kustomize-controller watches its sources' artifacts). For
those, ``reconcile.fluxcd.io/requestedAt`` would ask for nothing the controller is not
already doing, and the watch alone (one request) replaces an annotation and a watch."""

from __future__ import annotations

import time
from typing import Any

from kasboot.errors import FluxError
from kasboot.flux.health import Health, Phase, assess
from kasboot.steps.context import BootstrapContext


def added_by_commit(ctx: BootstrapContext, path: str) -> bool:
    """The commit of this run created the file at ``path`` (not an update of it)."""
    staged = ctx.staged.get(path)
    return bool(ctx.commit_sha) and staged is not None and staged.previous is None


def triggered_by_revision(ctx: BootstrapContext, ref: str, revision: str | None) -> bool:
    """A Kustomization ("namespace/name") pre-flight listed as fed by the Flux source,
    when the source moves to the new ``revision`` of this run's commit."""
    listed = ctx.listed_kustomizations
    return revision is not None and listed is not None and ref in listed


def wait_unasked(
    ctx: BootstrapContext,
    kind: str,
    namespace: str,
    name: str,
    revision: str | None,
    deadline: float,
) -> tuple[dict[str, Any], Health]:
    """Watch (one request: a watch with no resourceVersion starts with the object as it
    is now) until the controller has observed the current generation — and reached
    ``revision`` — and the object is settled; waits for it to be created."""

    def health(obj: dict[str, Any] | None) -> Health:
        return assess(obj or {}, expected_revision=revision)

    last = ctx.cluster.watch_object(
        kind,
        namespace,
        name,
        lambda obj: obj is not None and health(obj).phase is not Phase.PROGRESSING,
        max(0.0, deadline - time.monotonic()),
        initial=True,
    )
    if last is None:
        raise FluxError(
            f"{kind} {namespace}/{name} was not created by Flux in time",
            hint="check that a Kustomization applies --manifest-path (kasboot doctor)",
        )
    return last, health(last)
