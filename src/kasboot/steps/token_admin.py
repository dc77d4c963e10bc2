"""`kasboot token list` and `kasboot token revoke`: the agent's active tokens, which one
the cluster holds (the Secret found from the agent's record), and revoking one — never
the held one without --force (the running agent would lose its credential)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kasboot.bootstrap import BootstrapRun, open_context
from kasboot.errors import KasbootError, PreflightError
from kasboot.gitlab_api import RequestLogger
from kasboot.ownership import minted_by_kasboot, secret_owner, secret_ref
from kasboot.pipeline import Change, Listener, Runner, Step
from kasboot.settings import Settings
from kasboot.steps.context import BootstrapContext
from kasboot.steps.recorded import apply_record
from kasboot.steps.rotate import widen
from kasboot.steps.token import held_token_id

_STORED_IN = re.compile(r"cluster context (?P<context>\S+); stored in Secret (?P<secret>\S+)")


@dataclass
class TokenContext(BootstrapContext):
    explicit: frozenset[str] = frozenset()
    revoke_id: int | None = None
    tokens: list[dict[str, Any]] = field(default_factory=list)
    settings_source: str = ""


def _token_ctx(ctx: BootstrapContext) -> TokenContext:
    assert isinstance(ctx, TokenContext)
    return ctx


def held_by(ctx: TokenContext, token: dict[str, Any]) -> str | None:
    """Where the token is held, when known: this cluster's Secret, else what kasboot
    wrote in the token's description when it minted it for another cluster."""
    if token["id"] == ctx.held_token_id and ctx.token_secret is not None:
        return f"Secret {secret_ref(ctx.token_secret)} in {ctx.cluster.context} (this cluster)"
    found = _STORED_IN.search(str(token.get("description") or ""))
    if found:
        return f"Secret {found['secret']} in {found['context']} (per its description)"
    return None


class TokenPreflight:
    name = "preflight"
    title = "Reading the agent's tokens"
    is_check = True

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        state = _token_ctx(ctx)
        ctx.project = ctx.gitlab.project(ctx.project_path)
        ctx.project_path = ctx.project.path
        ctx.cluster.server_version()
        state.settings_source = apply_record(ctx, state.explicit)
        ctx.agent = ctx.gitlab.find_agent(ctx.project_path, ctx.settings.agent)
        if ctx.agent is None:
            raise PreflightError(
                f"agent {ctx.settings.agent} is not registered in {ctx.project_path}",
                hint="check the name with `kasboot status`",
            )
        if secret_owner(ctx.token_secret) in (None, ctx.agent_identity):
            ctx.held_token_id = held_token_id(ctx.token_secret)
        state.tokens = []
        for token in ctx.gitlab.active_tokens(ctx.project_path, ctx.agent_id):
            detail = ctx.gitlab.get_token(ctx.project_path, ctx.agent_id, int(token["id"]))
            item = {**token, **(detail or {})}
            item["id"] = int(item["id"])
            state.tokens.append(item)
        return []

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        """A check writes nothing."""

    def summary(self, ctx: BootstrapContext) -> str:
        state = _token_ctx(ctx)
        held = f"; the cluster holds {ctx.held_token_id}" if ctx.held_token_id else ""
        return f"{len(state.tokens)} active token(s){held}; {state.settings_source}"


class RevokeOne:
    name = "revoke"
    title = "Revoking the agent token"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        state = _token_ctx(ctx)
        token_id = state.revoke_id
        found = next((t for t in state.tokens if t["id"] == token_id), None)
        if found is None:
            return []  # revoked already (or never this agent's): nothing to do
        if token_id == ctx.held_token_id and not ctx.settings.force:
            assert ctx.token_secret is not None
            raise PreflightError(
                f"token {token_id} is the one this cluster holds (Secret "
                f"{secret_ref(ctx.token_secret)}): revoking it disconnects the agent",
                hint="rotate first (`kasboot token rotate AGENT`), or pass --force",
            )
        return [Change("revoke", f"agent token {token_id} ({found.get('name')})")]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        state = _token_ctx(ctx)
        assert state.revoke_id is not None
        ctx.gitlab.revoke_token(ctx.project_path, ctx.agent_id, state.revoke_id)
        ctx.revoked_token_ids.append(state.revoke_id)

    def summary(self, ctx: BootstrapContext) -> str:
        if ctx.revoked_token_ids:
            return f"revoked token {ctx.revoked_token_ids[0]}"
        return f"token {_token_ctx(ctx).revoke_id} is not active"


def token_outcome(run: BootstrapRun) -> dict[str, Any]:
    ctx = run.context
    if not isinstance(ctx, TokenContext):
        return {}
    return {
        "project": ctx.project_path,
        "agent": {"id": ctx.agent.get("id"), "name": ctx.agent.get("name")} if ctx.agent else None,
        "held_token_id": ctx.held_token_id,
        "tokens": [
            {
                "id": token["id"],
                "name": token.get("name"),
                "created_at": token.get("created_at"),
                "last_used_at": token.get("last_used_at"),
                "minted_by_kasboot": minted_by_kasboot(token, ctx.settings.agent),
                "held_by": held_by(ctx, token),
            }
            for token in ctx.tokens
        ],
        "revoked_token_ids": ctx.revoked_token_ids,
        "settings_from": ctx.settings_source or None,
    }


def run_token_command(
    settings: Settings,
    listener: Listener,
    *,
    explicit: frozenset[str] = frozenset(),
    revoke_id: int | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    request_logger: RequestLogger | None = None,
) -> BootstrapRun:
    """List the tokens, and with ``revoke_id`` revoke that one."""
    steps: list[Step[BootstrapContext]] = [TokenPreflight()]
    if revoke_id is not None:
        steps.append(RevokeOne())
    run = BootstrapRun()
    runner: Runner[BootstrapContext] = Runner(steps, listener, dry_run=settings.dry_run)
    try:
        base = open_context(settings, cwd=cwd, env=env, request_logger=request_logger)
        run.context = widen(base, TokenContext, explicit=explicit, revoke_id=revoke_id)
        runner.run(run.context)
    except KasbootError as error:
        run.error = error
    run.reports = runner.reports
    return run
