"""The seed options' pre-flight (before the first write): NO_PROXY does not bypass the
proxy for KAS, the ServiceAccount agentk would run as exists (--no-create-service-account),
the ClusterRole --rbac-role binds exists, GitLab is recent enough for --receptive and
offers it for an agent that exists. Its summary carries the installation guides' warning
that the chart's default binds cluster-admin."""

from __future__ import annotations

from kasboot.errors import ClusterError, PreflightError, UsageError
from kasboot.gitlab_api.receptive import url_configurations, version_offers_receptive
from kasboot.pipeline import Change
from kasboot.seed_options import check_no_proxy_against_kas, rbac_warning, seed_summary
from kasboot.steps.context import BootstrapContext


class SeedChecks:
    name = "options"
    title = "Checking install options"

    def __init__(self) -> None:
        self._notes: list[str] = []

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        settings = ctx.settings
        self._notes = []
        if not settings.receptive:
            try:
                check_no_proxy_against_kas(settings, str(ctx.kas.get("externalUrl") or ""))
            except UsageError as error:
                raise PreflightError(error.message, hint=error.hint) from None
        self._check_service_account(ctx)
        self._check_role(ctx)
        if settings.receptive:
            self._check_receptive(ctx)
        return []

    def _check_service_account(self, ctx: BootstrapContext) -> None:
        settings = ctx.settings
        if settings.create_service_account or not settings.service_account_name:
            return
        namespace, name = settings.helm_release_target_namespace, settings.service_account_name
        if ctx.cluster.read_service_account(namespace, name) is None:
            raise PreflightError(
                f"ServiceAccount {namespace}/{name} does not exist, and with "
                "--no-create-service-account the chart creates none: agentk's pods could not start",
                hint=f"create it first (kubectl -n {namespace} create serviceaccount {name}) or "
                "drop --no-create-service-account",
            )

    def _check_role(self, ctx: BootstrapContext) -> None:
        role = ctx.settings.rbac_role
        if not role or not ctx.settings.rbac:
            return
        try:
            found = ctx.cluster.read_cluster_role(role)
        except ClusterError as error:
            if error.status == 403:
                self._notes.append(f"ClusterRole {role} not readable here (403): not checked")
                return
            raise
        if found is None:
            raise PreflightError(
                f"ClusterRole {role} does not exist: the chart binds it (rbac.useExistingRole) "
                "but never creates it, so agentk would have no rights",
                hint=f"create ClusterRole {role} with the rights agentk needs, then run again",
            )

    def _check_receptive(self, ctx: BootstrapContext) -> None:
        version = str(ctx.metadata.get("version") or "") or None
        if not version_offers_receptive(version):
            raise PreflightError(
                f"GitLab {version} has no receptive agents (they came in GitLab 17.4)",
                hint="upgrade GitLab, or bootstrap without --receptive",
            )
        agent = ctx.gitlab.find_agent(ctx.project_path, ctx.settings.agent)
        if agent is not None:  # a 404/403 here: not offered, before anything is written
            try:
                url_configurations(ctx.gitlab, ctx.project_path, int(agent["id"]), version)
            except Exception as error:
                from kasboot.errors import GitLabError

                if isinstance(error, GitLabError) and error.status in (403, 404):
                    raise PreflightError(error.message, hint=error.hint) from None
                raise

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        """Checks only: nothing to write."""

    def summary(self, ctx: BootstrapContext) -> str:
        parts = seed_summary(ctx.settings) + self._notes
        warning = rbac_warning(ctx.settings)
        if warning:
            parts.append(f"warning: {warning}")
        return "; ".join(parts) if parts else "defaults"
