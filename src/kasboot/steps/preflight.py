"""Step 0: every read and check before the first write — GitLab and the token, the
project and branch, KAS, the cluster, Flux, and the Flux topology guard. A refusal
here leaves the world untouched."""

from __future__ import annotations

from kasboot.cluster import SOURCE_KINDS
from kasboot.errors import PreflightError
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext
from kasboot.steps.manifests import kas_address


class Preflight:
    name = "preflight"
    title = "Pre-flight checks"
    is_check = True

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        settings = ctx.settings
        ctx.user = ctx.gitlab.current_user()
        ctx.project = ctx.gitlab.project(ctx.project_path)
        ctx.project_path = ctx.project.path  # canonical spelling, as GitLab has it
        ctx.branch = settings.manifest_branch or ctx.project.default_branch
        ctx.branch_head = ctx.gitlab.branch_head(ctx.project_path, ctx.branch)
        if ctx.branch_head is None:
            raise PreflightError(
                f"branch {ctx.branch!r} does not exist in {ctx.project_path}",
                hint="create it first, or pass --manifest-branch with an existing branch",
            )
        ctx.metadata = ctx.gitlab.metadata()
        kas_address(ctx)  # refuses when KAS is disabled
        ctx.cluster.server_version()
        ctx.flux_version = ctx.cluster.flux_version()
        if not settings.no_reconcile:
            self._check_flux(ctx)
        return []

    def _check_flux(self, ctx: BootstrapContext) -> None:
        settings = ctx.settings
        if ctx.flux_version is None:
            raise PreflightError(
                "Flux is not installed in the cluster (no Flux CRDs found)",
                hint="install Flux with `flux bootstrap gitlab`, or pass --no-reconcile",
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
        return f"GitLab {version}, {ctx.project_path}@{ctx.branch}, {ctx.cluster.context}, {flux}"
