"""Uninstall: the receptive agent's URL configuration goes when it is provably
kasboot's — the token Secret's record names it (bootstrap created it) and GitLab still
has it with that id and URL. One the record does not name (made by hand, or found by
bootstrap and kept) or that changed since (another id or URL: someone replaced it) is
left, and the summary says why. Without a record nothing is read. With --delete-agent
GitLab deletes any configuration with the agent anyway."""

from __future__ import annotations

from typing import Any

from kasboot.gitlab_api.receptive import delete_url_configuration, url_configurations
from kasboot.ownership import recorded_url_configuration
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext


class DeleteUrlConfiguration:
    name = "url-configuration"
    title = "Deleting the receptive agent's URL configuration"

    def __init__(self) -> None:
        self._found: dict[str, Any] | None = None
        self._kept = ""

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        recorded = recorded_url_configuration(ctx.token_secret)
        if recorded is None or ctx.agent is None:
            return []
        version = str(ctx.metadata.get("version") or "") or None
        listed = url_configurations(ctx.gitlab, ctx.project_path, ctx.agent_id, version)
        found = next((c for c in listed if int(c.get("id") or 0) == recorded["id"]), None)
        if found is None:
            if listed:
                self._kept = "kept: it is not the one bootstrap created (replaced since)"
            return []
        if found.get("url") != recorded["url"]:
            self._kept = f"kept: its URL changed since bootstrap ({recorded['url']} -> "
            self._kept += f"{found.get('url')})"
            return []
        self._found = found
        return [Change("delete", f"URL configuration {found['id']}", str(found.get("url")))]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        assert self._found is not None
        delete_url_configuration(ctx.gitlab, ctx.project_path, ctx.agent_id, int(self._found["id"]))

    def summary(self, ctx: BootstrapContext) -> str:
        if self._found is not None:
            what = f"URL configuration {self._found['id']} ({self._found.get('url')})"
            return f"{what} to delete" if ctx.dry_run else f"{what} deleted"
        if self._kept:
            return f"URL configuration {self._kept}"
        if recorded_url_configuration(ctx.token_secret) is None:
            return "none recorded as kasboot's (any other is left as it is)"
        return "already gone"
