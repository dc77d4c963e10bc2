"""Step 0: every read and check before the first write — GitLab and the token, the
project and branch, KAS, the cluster, Flux, and the Flux topology guard. A refusal
here leaves the world untouched."""

from __future__ import annotations

from kasboot.advice import FLUX_MISSING_HINT
from kasboot.cluster import SOURCE_KINDS
from kasboot.errors import PreflightError
from kasboot.input_targets import check_local_commit, check_role, check_values_from
from kasboot.pipeline import Change
from kasboot.steps.agent_config import planned_agent_config
from kasboot.steps.context import BootstrapContext
from kasboot.steps.guard import run_guard, source_kustomizations
from kasboot.steps.manifests import kas_address, rendered_manifests
from kasboot.steps.preflight_reads import ClusterReads, StartedReads
from kasboot.steps.seed_checks import check_seed_options, seed_notes
from kasboot.steps.token import check_token_room


class Preflight:
    name = "preflight"
    title = "Pre-flight checks"
    is_check = True

    def __init__(self) -> None:
        self._guard_summary = "topology guard not run"
        self._cluster = ClusterReads()  # what the cluster said, read once

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        settings = ctx.settings
        # GitLab's reads and the cluster's go at once, started when the seams opened
        # (steps/preflight_reads.py); a refusal of GitLab's part comes first, as when
        # they ran one after the other.
        reads, ctx.started_reads = ctx.started_reads or StartedReads(ctx), None
        self._cluster = reads.cluster
        scope = reads.gitlab()
        kas_address(ctx)  # refuses when KAS is disabled
        if scope is not None:
            raise scope  # the token lacks the api scope
        reads.cluster_outcome()
        check_role(ctx)  # below Maintainer, proven by GitLab: refused before any write
        self._check_secret_owner(ctx)
        check_local_commit(ctx)  # the clone (--commit-via local)
        check_values_from(ctx)  # --helm-release-values-from
        check_seed_options(ctx)  # proxy, ServiceAccount, ClusterRole, receptive (seed_checks.py)
        if not settings.no_reconcile:
            self._check_flux(ctx)
        check_token_room(ctx)  # a token in recent use is never revoked without --force
        self._guard(ctx)
        return []

    def _guard(self, ctx: BootstrapContext) -> None:
        if ctx.settings.skip_preflight:
            self._guard_summary = (
                "topology guard SKIPPED (--skip-preflight): nothing checks that Flux can "
                "build and apply what is committed"
            )
            return
        planned = {ctx.settings.agent_config_path: planned_agent_config(ctx)[2]}
        planned.update(rendered_manifests(ctx))
        listed = self._cluster.kustomization_objects
        kustomizations = None if listed is None else source_kustomizations(ctx, listed)
        verdict = run_guard(ctx, planned, self._cluster.source(ctx), kustomizations)
        if verdict is not None:
            ctx.reconciled_by = [k.ref for k in verdict.manifest_reconciled_by]
        if kustomizations is not None:
            ctx.listed_kustomizations = frozenset(k.ref for k in kustomizations)
        if verdict is None:
            self._guard_summary = "topology guard: no Flux source to check"
        elif ctx.extra_files:
            self._guard_summary = f"topology fixed by --fix: {', '.join(sorted(ctx.extra_files))}"
        else:
            names = ", ".join(k.ref for k in verdict.manifest_reconciled_by) or "-"
            self._guard_summary = f"topology OK (applied by {names})"
        if ctx.guard_partial:
            self._guard_summary += f"; topology guard {ctx.guard_partial}"

    def _check_secret_owner(self, ctx: BootstrapContext) -> None:
        """Refuse a token Secret that is not this agent's (steps/secret_checks.py)."""
        from kasboot.steps.secret_checks import check_secret_owner

        check_secret_owner(ctx)

    def _check_flux(self, ctx: BootstrapContext) -> None:
        settings = ctx.settings
        if ctx.flux_version is None:
            raise PreflightError(
                "Flux is not installed in the cluster (no Flux CRDs found)",
                hint=FLUX_MISSING_HINT,
            )
        kind = SOURCE_KINDS[settings.flux_source_type]
        source = self._cluster.source(ctx)
        ctx.flux_source = source  # read once: the guard takes it from here
        if source is None:
            raise PreflightError(
                f"Flux {kind} {settings.flux_source_namespace}/{settings.flux_source_name} "
                "not found",
                hint="pass --flux-source-type/--flux-source-namespace/--flux-source-name "
                "naming the source that syncs this project",
            )

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        """A check writes nothing."""

    def summary(self, ctx: BootstrapContext) -> str:
        version = ctx.metadata.get("version", "?")
        flux = f"Flux {ctx.flux_version}" if ctx.flux_version else "no Flux"
        notes = seed_notes(ctx)
        return (
            f"GitLab {version}, {ctx.project_path}@{ctx.branch}, {ctx.cluster.context}, {flux}; "
            f"{self._guard_summary}" + (f"; {notes}" if notes else "")
        )
