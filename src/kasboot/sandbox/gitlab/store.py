"""SQLite persistence for the GitLab emulator (``<state_dir>/gitlab.sqlite3``).

One connection shared by every thread, guarded by a re-entrant lock: the emulator's
load is tiny, and one writer at a time keeps each API call atomic without retry logic.

Every id comes from a sequence (AUTOINCREMENT), as GitLab's PostgreSQL tables do
(gitlabhq db/structure.sql: ``cluster_agents_id_seq``, ``environments_id_seq``, …): the id
of a deleted agent, token or environment is never handed out again, so a record that
names an id (the token Secret's annotation) can never point at a newer object."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
    email TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS personal_access_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL, name TEXT NOT NULL,
    scopes TEXT NOT NULL, token TEXT UNIQUE NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL, last_used_at TEXT, expires_at TEXT);
CREATE TABLE IF NOT EXISTS namespaces (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, path TEXT NOT NULL,
    kind TEXT NOT NULL, full_path TEXT UNIQUE NOT NULL, parent_id INTEGER, owner_id INTEGER);
CREATE TABLE IF NOT EXISTS namespace_members (
    namespace_id INTEGER NOT NULL, user_id INTEGER NOT NULL, access_level INTEGER NOT NULL,
    PRIMARY KEY (namespace_id, user_id));
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, path TEXT NOT NULL,
    namespace_id INTEGER NOT NULL, description TEXT, visibility TEXT NOT NULL,
    default_branch TEXT NOT NULL, creator_id INTEGER, created_at TEXT NOT NULL,
    UNIQUE (namespace_id, path));
CREATE TABLE IF NOT EXISTS project_members (
    project_id INTEGER NOT NULL, user_id INTEGER NOT NULL, access_level INTEGER NOT NULL,
    PRIMARY KEY (project_id, user_id));
CREATE TABLE IF NOT EXISTS agents (
    id INTEGER PRIMARY KEY AUTOINCREMENT, project_id INTEGER NOT NULL, name TEXT NOT NULL,
    created_at TEXT NOT NULL, created_by_user_id INTEGER, is_receptive INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project_id, name));
CREATE TABLE IF NOT EXISTS agent_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT, agent_id INTEGER NOT NULL, name TEXT NOT NULL,
    description TEXT, token TEXT UNIQUE NOT NULL, status TEXT NOT NULL,
    created_at TEXT NOT NULL, created_by_user_id INTEGER, last_used_at TEXT);
CREATE TABLE IF NOT EXISTS agent_url_configurations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, agent_id INTEGER UNIQUE NOT NULL, url TEXT NOT NULL,
    ca_cert TEXT, tls_host TEXT, client_cert TEXT, client_key TEXT, public_key TEXT,
    private_key TEXT, created_at TEXT NOT NULL, created_by_user_id INTEGER);
CREATE TABLE IF NOT EXISTS protected_branches (
    id INTEGER PRIMARY KEY AUTOINCREMENT, project_id INTEGER NOT NULL, name TEXT NOT NULL,
    push_access_level INTEGER NOT NULL, merge_access_level INTEGER NOT NULL,
    allow_force_push INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
    UNIQUE (project_id, name));
CREATE TABLE IF NOT EXISTS environments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, project_id INTEGER NOT NULL, name TEXT NOT NULL,
    slug TEXT NOT NULL, external_url TEXT, state TEXT NOT NULL, tier TEXT NOT NULL,
    description TEXT, cluster_agent_id INTEGER, kubernetes_namespace TEXT,
    flux_resource_path TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    UNIQUE (project_id, name));
"""

Row = dict[str, Any]


def now_iso() -> str:
    """GitLab's timestamp shape: UTC with milliseconds, ``2024-05-01T10:00:00.000Z``."""
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL sync (as the Kubernetes emulator's store): a commit survives
        # the process dying, and no write request waits for an fsync of its own.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        self._add_missing_columns()
        self._depth = 0

    def _add_missing_columns(self) -> None:
        """State written before a column existed keeps working: add it, empty."""
        for table, column in (
            ("personal_access_tokens", "expires_at"),
            ("users", "commit_email"),
            ("personal_access_tokens", "kind"),
        ):
            present = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All statements inside run as one transaction (nesting joins the outer one)."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                self._conn.execute("COMMIT")

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Runs a write; returns the last inserted row id."""
        with self._lock:
            cursor = self._conn.execute(sql, params)
            return int(cursor.lastrowid or 0)

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Row | None:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        with self._lock:
            return [dict(row) for row in self._conn.execute(sql, params).fetchall()]

    def get_setting(self, key: str, default: Any = None) -> Any:
        row = self.one("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(row["value"]) if row else default

    def put_setting(self, key: str, value: Any) -> None:
        self.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
