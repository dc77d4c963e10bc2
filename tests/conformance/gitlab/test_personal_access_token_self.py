"""GET /personal_access_tokens/self: the token a request uses, readable with any scope
(GitLab allows every scope here so a token can tell what it lacks); expiry as a date."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import gitlab
import pytest

from kasboot.sandbox.gitlab.store import Store

from .conftest import World


def test_self_shows_scopes_and_no_expiry(world: World, gl: gitlab.Gitlab) -> None:
    info = gl.personal_access_tokens.get("self")
    assert info.name == "owner"
    assert info.scopes == ["api"]
    assert info.active is True and info.revoked is False
    assert info.expires_at is None
    assert info.user_id == world.emulator.backend.find_user("root")["id"]  # type: ignore[index]
    assert "token" not in info.attributes


def test_self_is_readable_without_the_api_scope(world: World) -> None:
    reader = world.client(world.read_token).personal_access_tokens.get("self")
    assert reader.scopes == ["read_api"]
    user_only = world.emulator.backend.create_personal_access_token("root", "u", ["read_user"])
    assert world.client(user_only).personal_access_tokens.get("self").scopes == ["read_user"]


def test_expiry_date_is_shown_and_enforced(world: World) -> None:
    backend = world.emulator.backend
    tomorrow = (datetime.now(timezone.utc).date() + timedelta(days=1)).isoformat()
    soon = backend.create_personal_access_token("root", "soon", ["api"], expires_at=tomorrow)
    assert world.client(soon).personal_access_tokens.get("self").expires_at == tomorrow
    today = datetime.now(timezone.utc).date().isoformat()
    expired = backend.create_personal_access_token("root", "old", ["api"], expires_at=today)
    with pytest.raises(gitlab.exceptions.GitlabAuthenticationError):
        world.client(expired).personal_access_tokens.get("self")


def test_self_needs_a_valid_token(world: World) -> None:
    with pytest.raises(gitlab.exceptions.GitlabAuthenticationError):
        world.client("glpat-unknown").personal_access_tokens.get("self")


def test_state_from_before_expiry_dates_keeps_working(tmp_path: Path) -> None:
    """A state directory written before the expires_at column existed gets the column."""
    database = tmp_path / "gitlab.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "CREATE TABLE personal_access_tokens (id INTEGER PRIMARY KEY, user_id INTEGER NOT "
            "NULL, name TEXT NOT NULL, scopes TEXT NOT NULL, token TEXT UNIQUE NOT NULL, revoked "
            "INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, last_used_at TEXT)"
        )
        connection.execute(
            "INSERT INTO personal_access_tokens (user_id, name, scopes, token, created_at) "
            "VALUES (1, 'old', '[\"api\"]', 'glpat-old', '2024-01-01T00:00:00.000Z')"
        )
    store = Store(database)
    try:
        row = store.one("SELECT * FROM personal_access_tokens WHERE token = 'glpat-old'")
        assert row is not None and row["expires_at"] is None
    finally:
        store.close()
