"""Users and their tokens (personal access tokens and OAuth tokens), and who a request
acts as (gitlabhq/gitlabhq ``lib/gitlab/auth/auth_finders.rb``)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.store import Row, Store, now_iso

__all__ = ["Identities", "Principal"]


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the user and the scopes of the token used."""

    user: Row
    scopes: frozenset[str]
    token_id: int

    @property
    def user_id(self) -> int:
        return int(self.user["id"])


class Identities:
    """The users-and-tokens half of the backend (mixed into GitLabBackend)."""

    store: Store

    # -- users and tokens ----------------------------------------------------
    def ensure_user(self, username: str, name: str, email: str) -> dict[str, Any]:
        with self.store.transaction():
            user = self.find_user(username)
            if user is None:
                user_id = self.store.execute(
                    "INSERT INTO users (username, name, email, created_at) VALUES (?, ?, ?, ?)",
                    (username, name, email, now_iso()),
                )
                self.store.execute(
                    "INSERT INTO namespaces (name, path, kind, full_path, parent_id, owner_id) "
                    "VALUES (?, ?, 'user', ?, NULL, ?)",
                    (name, username, username, user_id),
                )
                user = self.find_user(username)
        assert user is not None
        return user

    def find_user(self, username: str) -> Row | None:
        return self.store.one("SELECT * FROM users WHERE username = ?", (username,))

    def user_by_id(self, user_id: int) -> Row | None:
        return self.store.one("SELECT * FROM users WHERE id = ?", (user_id,))

    def create_personal_access_token(
        self,
        username: str,
        name: str,
        scopes: list[str],
        token: str | None = None,
        expires_at: str | None = None,
    ) -> str:
        """A new PAT for ``username``; ``expires_at`` is a date (``YYYY-MM-DD``) as in
        GitLab, the token working until that day begins (UTC)."""
        user = self.find_user(username)
        if user is None:
            raise err.not_found("User")
        secret = token or "glpat-" + secrets.token_urlsafe(15)
        self.store.execute(
            "INSERT INTO personal_access_tokens "
            "(user_id, name, scopes, token, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (user["id"], name, json.dumps(sorted(set(scopes))), secret, now_iso(), expires_at),
        )
        return secret

    def revoke_personal_access_token(self, token: str) -> None:
        self.store.execute(
            "UPDATE personal_access_tokens SET revoked = 1 WHERE token = ?", (token,)
        )

    def create_oauth_token(self, username: str, scopes: list[str], expires_at: str) -> str:
        """An OAuth access token (what `glab auth login`'s web flow stores); ``expires_at``
        is an ISO timestamp (OAuth tokens live two hours on GitLab)."""
        user = self.find_user(username)
        if user is None:
            raise err.not_found("User")
        secret = secrets.token_hex(32)
        self.store.execute(
            "INSERT INTO personal_access_tokens "
            "(user_id, name, scopes, token, created_at, expires_at, kind) "
            "VALUES (?, 'oauth', ?, ?, ?, ?, 'oauth')",
            (user["id"], json.dumps(sorted(set(scopes))), secret, now_iso(), expires_at),
        )
        return secret

    def authenticate(self, token: str | None, *, bearer: bool = True) -> Principal:
        """The principal a token stands for; 401 when missing, unknown, revoked or expired.
        An OAuth token counts only as ``Authorization: Bearer``."""
        if not token:
            raise err.unauthorized()
        row = self.store.one(
            "SELECT * FROM personal_access_tokens WHERE token = ? AND revoked = 0", (token,)
        )
        oauth = row is not None and row.get("kind") == "oauth"
        if row is not None and oauth and not bearer:
            raise err.unauthorized()
        if row is not None and oauth and str(row.get("expires_at") or "") <= now_iso():
            raise err.GitLabApiError(
                401,
                {
                    "error": "invalid_token",
                    "error_description": "Token is expired. You can either do "
                    "re-authorization or token refresh.",
                },
            )
        if row is None or (not oauth and _expired(row.get("expires_at"))):
            raise err.unauthorized()
        user = self.user_by_id(int(row["user_id"]))
        if user is None:
            raise err.unauthorized()
        self.store.execute(
            "UPDATE personal_access_tokens SET last_used_at = ? WHERE id = ?",
            (now_iso(), row["id"]),
        )
        return Principal(user=user, scopes=frozenset(json.loads(row["scopes"])), token_id=row["id"])

    def personal_access_token(self, principal: Principal) -> Row:
        """The token a request authenticated with (``GET /personal_access_tokens/self``)."""
        row = self.store.one(
            "SELECT * FROM personal_access_tokens WHERE id = ?", (principal.token_id,)
        )
        if row is None:
            raise err.unauthorized()
        return row

    @staticmethod
    def require_scope(principal: Principal, allowed: list[str]) -> None:
        if not principal.scopes.intersection(allowed):
            raise err.insufficient_scope(allowed)


def _expired(expires_at: str | None) -> bool:
    """GitLab's rule: a token with expiry date D stops working when D begins (UTC)."""
    return bool(expires_at) and str(expires_at)[:10] <= now_iso()[:10]
