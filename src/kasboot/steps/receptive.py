"""Receptive agents (--receptive): the agent's URL configuration in GitLab, whose public
key the HelmRelease's config.api.jwtPublicKey carries. Idempotent: a configuration with
the same URL, CA and TLS host is kept (its key with it); a different one is replaced
(delete, then create: GitLab allows one per agent), which changes the key.

The configuration has no field to mark it, so the token Secret's record names the one
kasboot created (ctx.receptive_record, written by the Secret step): a kept configuration
stays recorded only when the previous record named it — one found by chance with the
same URL is never claimed (uninstall deletes only a recorded one)."""

from __future__ import annotations

from typing import Any

from kasboot.errors import GitLabError
from kasboot.gitlab_api.receptive import (
    create_url_configuration,
    delete_url_configuration,
    url_configurations,
)
from kasboot.ownership import recorded_url_configuration
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext


def _wanted(ctx: BootstrapContext) -> dict[str, Any]:
    settings = ctx.settings
    ca_cert = settings.receptive_ca_cert.read_text() if settings.receptive_ca_cert else None
    return {
        "url": settings.receptive_url,
        "ca_cert": ca_cert,
        "tls_host": settings.receptive_tls_host,
    }


def _matches(found: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return (
        found.get("url") == wanted["url"]
        and (found.get("ca_cert") or None) == wanted["ca_cert"]
        and (found.get("tls_host") or None) == wanted["tls_host"]
        and bool(found.get("public_key"))
    )


def _identity(found: dict[str, Any]) -> dict[str, Any]:
    """What the record keeps of a URL configuration: its id and URL."""
    return {"id": int(found["id"]), "url": str(found.get("url") or "")}


class ReceptiveUrl:
    name = "receptive"
    title = "Configuring the receptive agent's URL"

    def __init__(self) -> None:
        self._existing: dict[str, Any] | None = None

    def skipped(self, ctx: BootstrapContext) -> str | None:
        # Not SKIPPED when off: a re-run of a plain bootstrap stays all UNCHANGED.
        return None

    def _version(self, ctx: BootstrapContext) -> str | None:
        version = ctx.metadata.get("version")
        return str(version) if version else None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        if not ctx.settings.receptive:
            return []
        wanted = _wanted(ctx)
        self._existing = None
        # An agent registered by this run a moment ago has no URL configuration yet.
        if ctx.agent is not None and ctx.agent_id not in ctx.gitlab.registered_agent_ids:
            found = url_configurations(
                ctx.gitlab, ctx.project_path, ctx.agent_id, self._version(ctx)
            )
            self._existing = found[0] if found else None
        if self._existing is not None and _matches(self._existing, wanted):
            ctx.receptive_public_key = str(self._existing["public_key"])
            recorded = recorded_url_configuration(ctx.token_secret)
            if recorded is not None and recorded == _identity(self._existing):
                ctx.receptive_record = recorded
            return []
        target = f"URL configuration of agent {ctx.settings.agent}"
        if self._existing is not None:
            return [Change("replace", target, f"{self._existing.get('url')} -> {wanted['url']}")]
        return [Change("create", target, f"{wanted['url']} (JWT; GitLab makes the key pair)")]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        version = self._version(ctx)
        if self._existing is not None:
            delete_url_configuration(
                ctx.gitlab, ctx.project_path, ctx.agent_id, int(self._existing["id"])
            )
        wanted = _wanted(ctx)
        try:
            created = create_url_configuration(
                ctx.gitlab,
                ctx.project_path,
                ctx.agent_id,
                url=str(wanted["url"]),
                ca_cert=wanted["ca_cert"],
                tls_host=wanted["tls_host"],
                gitlab_version=version,
            )
        except GitLabError as error:
            raise self._undo_registration(ctx, error) from None
        ctx.receptive_public_key = str(created.get("public_key") or "") or None
        ctx.receptive_record = _identity(created)

    @staticmethod
    def _undo_registration(ctx: BootstrapContext, error: GitLabError) -> GitLabError:
        """An instance that does not offer receptive agents shows it only now for a new
        agent (pre-flight could ask only about an existing one): the agent this run
        registered a moment ago — provably its own, with no token yet — goes again, so
        the refusal leaves nothing behind."""
        if error.status not in (403, 404) or ctx.agent_id not in ctx.gitlab.registered_agent_ids:
            return error
        ctx.gitlab.delete_agent(ctx.project_path, ctx.agent_id)
        ctx.gitlab.registered_agent_ids.discard(ctx.agent_id)
        ctx.agent = None
        return GitLabError(
            f"{error.message}; the agent {ctx.settings.agent} registered a moment ago was "
            "deleted again, nothing is left",
            hint=error.hint,
            status=error.status,
        )

    def summary(self, ctx: BootstrapContext) -> str:
        if not ctx.settings.receptive:
            return "not a receptive agent (agentk connects to KAS)"
        if ctx.receptive_public_key is None:
            return f"GitLab would connect to {ctx.settings.receptive_url}"
        return f"GitLab connects to {ctx.settings.receptive_url} (JWT public key in the values)"
