"""Step 4: the agent token. The cluster's token is kept while GitLab still has it
active (no change). Otherwise — or with --rotate-token — a new one is minted within
GitLab's limit of two active tokens per agent, revoking only a token the cluster does
not hold (the longest unused of those), so the running agent never loses its
credential. Which token may go is steps/token_choice.py's rule (never one in recent use
without --force); the mint itself runs under the token lease (steps/token_lease.py), so
two runs never revoke each other's new token. The new token's secret stays in memory
until the Secret step stores it."""

from __future__ import annotations

import time
from typing import Any

from kasboot.cluster import TOKEN_ID_ANNOTATION
from kasboot.errors import GitLabError
from kasboot.ownership import new_token_name
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext
from kasboot.steps.token_choice import choose_revocation

ACTIVE_TOKEN_LIMIT = 2


def held_token_id(secret: dict[str, Any] | None) -> int | None:
    """The token id the cluster's Secret says it holds (glab's annotation), if any."""
    if not secret:
        return None
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    try:
        return int(annotations[TOKEN_ID_ANNOTATION])
    except (KeyError, ValueError):
        return None


def check_token_room(ctx: BootstrapContext) -> None:
    """Pre-flight (reads only): when this run will mint and the agent already has two
    active tokens, refuse now — before the first write — if none may be revoked."""
    settings = ctx.settings
    held = held_token_id(ctx.token_secret)
    if held is not None and not settings.rotate_token:
        return  # the cluster's token is kept while GitLab has it active
    agent = ctx.gitlab.find_agent(ctx.project_path, settings.agent)
    if agent is None:
        return
    active = ctx.gitlab.active_tokens(ctx.project_path, int(agent["id"]))
    if len(active) < ACTIVE_TOKEN_LIMIT:
        return
    candidates = [t for t in active if int(t["id"]) != held]
    detailed = [
        ctx.gitlab.get_token(ctx.project_path, int(agent["id"]), int(t["id"])) or t
        for t in candidates
    ]
    held_active = len(candidates) < len(active)
    choose_revocation(detailed, held_known=held_active, force=settings.force, agent=settings.agent)


class MintToken:
    name = "token"
    title = "Creating agent token"

    def __init__(self) -> None:
        self._to_revoke: dict[str, Any] | None = None

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        settings = ctx.settings
        ctx.held_token_id = held_token_id(ctx.token_secret)
        active = ctx.gitlab.active_tokens(ctx.project_path, ctx.agent_id) if ctx.agent else []
        active_ids = {int(token["id"]) for token in active}
        if ctx.held_token_id in active_ids and not settings.rotate_token:
            ctx.token_id = ctx.held_token_id
            return []
        changes: list[Change] = []
        self._to_revoke = self._choose(ctx, active)
        if self._to_revoke is not None:
            used = self._to_revoke.get("last_used_at") or "never used"
            changes.append(
                Change(
                    "revoke",
                    f"agent token {self._to_revoke['id']} ({self._to_revoke.get('name')})",
                    f"not held by the cluster; last used: {used}",
                )
            )
        why = "rotation requested" if settings.rotate_token else "the cluster holds no active token"
        changes.append(Change("create", f"agent token for {settings.agent}", why))
        return changes

    def _choose(self, ctx: BootstrapContext, active: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The token that makes room under the 2-token limit (steps/token_choice.py)."""
        if len(active) < ACTIVE_TOKEN_LIMIT:
            return None
        held_active = any(int(t["id"]) == ctx.held_token_id for t in active)
        candidates = [t for t in active if int(t["id"]) != ctx.held_token_id]
        detailed = [
            ctx.gitlab.get_token(ctx.project_path, ctx.agent_id, int(t["id"])) or t
            for t in candidates
        ]
        chosen = choose_revocation(
            detailed, held_known=held_active, force=ctx.settings.force, agent=ctx.settings.agent
        )
        return dict(chosen)

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        if ctx.token is not None:
            raise GitLabError("a token was already minted in this run", hint="report this bug")
        try:
            # Always under the lease once the agent exists, also when no Secret does yet:
            # two first bootstraps at once would otherwise each mint and store a token.
            if ctx.agent is not None and self._under_lease(ctx):
                return
            self._revoke_and_mint(ctx)
        except BaseException:
            if ctx.token_lease is not None and ctx.token is None:
                ctx.token_lease.release()  # nothing is being stored: let others go on
                ctx.token_lease = None
            raise

    def _under_lease(self, ctx: BootstrapContext) -> bool:
        """Another run may be between minting and storing: take the lease, then decide
        again from what the Secret and GitLab say now. True: nothing left to do."""
        from kasboot.steps.token_lease import TokenLease

        settings = ctx.settings
        lease = TokenLease(ctx)
        lease.acquire(time.monotonic() + settings.timeout)
        ctx.token_lease = lease
        ctx.token_secret = ctx.cluster.get_secret(
            settings.helm_release_target_namespace, settings.gitlab_agent_token_secret_name
        )
        ctx.held_token_id = held_token_id(ctx.token_secret)
        active = ctx.gitlab.active_tokens(ctx.project_path, ctx.agent_id)
        if not settings.rotate_token and ctx.held_token_id in {int(t["id"]) for t in active}:
            ctx.token_id = ctx.held_token_id  # another run stored an active token
            lease.release()
            ctx.token_lease = None
            return True
        self._to_revoke = self._choose(ctx, active)
        return False

    def _revoke_and_mint(self, ctx: BootstrapContext) -> None:
        if self._to_revoke is not None:
            token_id = int(self._to_revoke["id"])
            ctx.gitlab.revoke_token(ctx.project_path, ctx.agent_id, token_id)
            ctx.revoked_token_ids.append(token_id)
        name = new_token_name(ctx.settings.agent)
        description = (
            f"Created by kasboot for cluster context {ctx.cluster.context}; stored in Secret "
            f"{ctx.settings.helm_release_target_namespace}/"
            f"{ctx.settings.gitlab_agent_token_secret_name}"
        )
        ctx.token = ctx.gitlab.create_token(ctx.project_path, ctx.agent_id, name, description)
        ctx.token_id = ctx.token.id
        ctx.revoked_token_ids.extend(ctx.gitlab.revoked_orphans)  # minted, answer lost
        if ctx.token_lease is not None:
            ctx.token_lease.storing(ctx.token.id)

    def summary(self, ctx: BootstrapContext) -> str:
        if ctx.token is not None:
            ids = ", ".join(map(str, ctx.revoked_token_ids))
            revoked = f", revoked token {ids}" if ids else ""
            return f"minted token {ctx.token.id}{revoked}"
        if ctx.token_id is not None:
            return f"kept token {ctx.token_id} (active, held by the cluster)"
        return "a token would be minted"
