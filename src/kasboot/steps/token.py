"""Step 4: the agent token. The cluster's token is kept while GitLab still has it
active (no change). Otherwise — or with --rotate-token — a new one is minted within
GitLab's limit of two active tokens per agent, revoking only a token the cluster does
not hold (the longest unused of those), so the running agent never loses its
credential. The new token's secret stays in memory until the Secret step stores it."""

from __future__ import annotations

from typing import Any

from kasboot.cluster import TOKEN_ID_ANNOTATION
from kasboot.errors import GitLabError
from kasboot.ownership import new_token_name
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext

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


def revocation_order(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Longest unused first: never-used tokens, then the oldest last use; ties by age."""
    return sorted(tokens, key=lambda t: (t.get("last_used_at") or "", t.get("created_at") or ""))


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
        self._to_revoke = None
        if len(active) >= ACTIVE_TOKEN_LIMIT:
            candidates = [t for t in active if int(t["id"]) != ctx.held_token_id]
            detailed = [
                ctx.gitlab.get_token(ctx.project_path, ctx.agent_id, int(t["id"])) or t
                for t in candidates
            ]
            self._to_revoke = revocation_order(detailed)[0]
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

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
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
        if ctx.token is not None:
            raise GitLabError("a token was already minted in this run", hint="report this bug")
        ctx.token = ctx.gitlab.create_token(ctx.project_path, ctx.agent_id, name, description)
        ctx.token_id = ctx.token.id

    def summary(self, ctx: BootstrapContext) -> str:
        if ctx.token is not None:
            revoked = f", revoked {ctx.revoked_token_ids}" if ctx.revoked_token_ids else ""
            return f"minted token {ctx.token.id}{revoked}"
        if ctx.token_id is not None:
            return f"kept token {ctx.token_id} (active, held by the cluster)"
        return "a token would be minted"
