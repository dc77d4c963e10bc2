"""The seed options' pre-flight (called by steps/preflight.py, before the first write):
NO_PROXY does not bypass the proxy for KAS, the ServiceAccount agentk would run as exists
(--no-create-service-account), the ClusterRole --rbac-role binds exists, GitLab is
recent enough for --receptive and offers it for an agent that exists. ``seed_notes`` is
what pre-flight's summary adds: the options in effect and the installation guides'
warning that the chart's default binds cluster-admin."""

from __future__ import annotations

from urllib.parse import urlsplit

from kasboot.errors import ClusterError, GitLabError, PreflightError, UsageError
from kasboot.gitlab_api.receptive import url_configurations, version_offers_receptive
from kasboot.seed_options import check_no_proxy_against_kas, rbac_warning, seed_summary
from kasboot.steps.context import BootstrapContext
from kasboot.steps.gitlab_survey import surveyed_agent

GITLAB_COM_HOSTS = frozenset({"gitlab.com", "www.gitlab.com"})


def check_seed_options(ctx: BootstrapContext) -> None:
    settings = ctx.settings
    ctx.seed_notes = []
    if not settings.receptive:
        try:
            check_no_proxy_against_kas(settings, str(ctx.kas.get("externalUrl") or ""))
        except UsageError as error:
            raise PreflightError(error.message, hint=error.hint) from None
    _check_service_account(ctx)
    _check_role(ctx)
    if settings.receptive:
        _check_receptive(ctx)


def _check_service_account(ctx: BootstrapContext) -> None:
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


def _check_role(ctx: BootstrapContext) -> None:
    role = ctx.settings.rbac_role
    if not role or not ctx.settings.rbac:
        return
    try:
        found = ctx.cluster.read_cluster_role(role)
    except ClusterError as error:
        if error.status == 403:
            ctx.seed_notes.append(f"ClusterRole {role} not readable here (403): not checked")
            return
        raise
    if found is None:
        raise PreflightError(
            f"ClusterRole {role} does not exist: the chart binds it (rbac.useExistingRole) "
            "but never creates it, so agentk would have no rights",
            hint=f"create ClusterRole {role} with the rights agentk needs, then run again",
        )


def _check_receptive(ctx: BootstrapContext) -> None:
    """What can be known before the first write: the release, the edition, GitLab.com
    (its setting is off), and for an existing agent GitLab's own answer. A new agent's
    instance may still refuse at creation: steps/receptive.py then removes the agent it
    registered a moment before."""
    version = str(ctx.metadata.get("version") or "") or None
    if not version_offers_receptive(version):
        raise PreflightError(
            f"GitLab {version} has no receptive agents (they came in GitLab 17.4)",
            hint="upgrade GitLab, or bootstrap without --receptive",
        )
    if ctx.metadata.get("enterprise") is False:
        raise PreflightError(
            f"GitLab {version} is the Community Edition: receptive agents are an Ultimate "
            "feature of the Enterprise Edition",
            hint="bootstrap without --receptive (agentk connects to KAS)",
        )
    if urlsplit(ctx.gitlab.url).hostname in GITLAB_COM_HOSTS:
        raise PreflightError(
            "GitLab.com does not offer receptive agents (self-managed instances only)",
            hint="bootstrap without --receptive (agentk connects to KAS)",
        )
    answered, agent = surveyed_agent(ctx)
    if not answered:
        agent = ctx.gitlab.find_agent(ctx.project_path, ctx.settings.agent)
    if agent is None:
        return
    try:  # a 404/403 here: not offered, said before anything is written
        url_configurations(ctx.gitlab, ctx.project_path, int(agent["id"]), version)
    except GitLabError as error:
        if error.status in (403, 404):
            raise PreflightError(error.message, hint=error.hint) from None
        raise


def seed_notes(ctx: BootstrapContext) -> str:
    """ "; "-joined options in effect, notes and the cluster-admin warning ("" for none)."""
    parts = seed_summary(ctx.settings) + ctx.seed_notes
    warning = rbac_warning(ctx.settings)
    if warning:
        parts.append(f"warning: {warning}")
    return "; ".join(parts)
