"""The Kustomizations as the cluster lists them, for pre-flight's cluster reads and the
topology guard: light, so that the reads can start before the guard's Flux build
modules are imported (steps/preflight_reads.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kasboot.errors import ClusterError

if TYPE_CHECKING:
    from kasboot.steps.context import BootstrapContext


def kustomization_objects(ctx: BootstrapContext) -> list[dict[str, Any]]:
    """Every Kustomization; a user who may not list them cluster-wide (403, a
    namespace-scoped operator) gets those of the Flux source's namespace, and the guard
    says it is partial instead of failing."""
    try:
        return ctx.cluster.list_objects("Kustomization")
    except ClusterError as error:
        if error.status != 403:
            raise
    namespace = ctx.settings.flux_source_namespace
    ctx.kustomization_scope = namespace
    ctx.guard_partial = (
        f"partial: may not list Kustomizations cluster-wide (403), checked those in "
        f"namespace {namespace} only"
    )
    return ctx.cluster.list_objects("Kustomization", namespace)
