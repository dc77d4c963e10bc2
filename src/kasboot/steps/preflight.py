"""Step 0: every read and check before the first write — GitLab and the token, the
project and branch, KAS, the cluster, Flux, and the Flux topology guard. A refusal
here leaves the world untouched."""

from __future__ import annotations

from kasboot.advice import FLUX_MISSING_HINT
from kasboot.agent_config import merge_agent_config
from kasboot.cluster import SOURCE_KINDS
from kasboot.errors import PreflightError
from kasboot.input_targets import check_input_targets
from kasboot.pipeline import Change
from kasboot.project_lookup import read_project
from kasboot.steps import flux_checks
from kasboot.steps.context import BootstrapContext
from kasboot.steps.gitlab_checks import check_branch, read_metadata
from kasboot.steps.guard import run_guard
from kasboot.steps.manifests import kas_address, rendered_manifests
from kasboot.steps.token import check_token_room


class Preflight:
    name = "preflight"
    title = "Pre-flight checks"
    is_check = True

    def __init__(self) -> None:
        self._guard_summary = "topology guard not run"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        settings = ctx.settings
        ctx.user = ctx.gitlab.current_user()
        ctx.project = read_project(ctx.gitlab, ctx.project_path, ctx.user)  # 404 names the user
        ctx.project_path = ctx.project.path  # canonical spelling, as GitLab has it
        ctx.branch = settings.manifest_branch or ctx.project.default_branch
        check_branch(ctx)  # exists, and the token may push to it
        read_metadata(ctx)  # refuses a GitLab older than 15.2
        kas_address(ctx)  # refuses when KAS is disabled
        ctx.cluster.server_version()
        self._check_secret_owner(ctx)
        check_input_targets(ctx)  # the clone (--commit-via local), --helm-release-values-from
        ctx.flux_version = ctx.cluster.flux_version()
        flux_checks.check_flux_api_versions(ctx)  # an older Flux cannot apply the manifests: exit 3
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
        config = ctx.gitlab.get_file(ctx.project_path, ctx.settings.agent_config_path, ctx.branch)
        planned = {
            ctx.settings.agent_config_path: merge_agent_config(
                config.text if config else None, ctx.project_path
            ),
            **rendered_manifests(ctx),
        }
        verdict = run_guard(ctx, planned)
        if verdict is not None:
            ctx.reconciled_by = [k.ref for k in verdict.manifest_reconciled_by]
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
        source = ctx.cluster.get_object(
            kind, settings.flux_source_namespace, settings.flux_source_name
        )
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
        return (
            f"GitLab {version}, {ctx.project_path}@{ctx.branch}, {ctx.cluster.context}, {flux}; "
            f"{self._guard_summary}"
        )
