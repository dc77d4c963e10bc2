"""Cluster agents, their tokens, and KAS's token check (receptive agents' URL
configurations: url_configurations.py)."""

from __future__ import annotations

import json
import re
import secrets
import string
from typing import TYPE_CHECKING, Any

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.store import Row, now_iso

if TYPE_CHECKING:
    from kasboot.sandbox.gitlab.backend import GitLabBackend, Principal

AGENT_NAME_RE = re.compile(r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
AGENT_NAME_FORMAT_MESSAGE = (
    "can contain only lowercase letters, digits, and '-', but cannot start or end with '-'"
)
MAX_ACTIVE_TOKENS = 2
_TOKEN_ALPHABET = string.ascii_letters + string.digits + "_-"
DEVELOPER, MAINTAINER = 30, 40


class AgentsBackend:
    def __init__(self, core: GitLabBackend) -> None:
        self.core = core
        self.store = core.store

    # -- agents --------------------------------------------------------------
    def list_agents(self, project: Row, principal: Principal) -> list[Row]:
        self.core.require_access(project, principal, DEVELOPER)
        # Clusters::AgentsFinder orders by name.
        return self.store.all(
            "SELECT * FROM agents WHERE project_id = ? ORDER BY name, id", (project["id"],)
        )

    def get(self, project: Row, principal: Principal, agent_id: str) -> Row:
        self.core.require_access(project, principal, DEVELOPER)
        return self._find(project, agent_id)

    def _find(self, project: Row, agent_id: str) -> Row:
        agent = (
            self.store.one(
                "SELECT * FROM agents WHERE id = ? AND project_id = ?",
                (int(agent_id), project["id"]),
            )
            if agent_id.isdigit()
            else None
        )
        if agent is None:
            raise err.not_found()
        return agent

    def register(self, project: Row, principal: Principal, name: Any) -> Row:
        self.core.require_access(project, principal, MAINTAINER)
        if name is None:
            raise err.missing_param("name")
        name = str(name)
        errors: list[str] = []
        if not name:
            errors.append("can't be blank")
        if len(name) > 63:
            errors.append("is too long (maximum is 63 characters)")
        with self.store.transaction():
            taken = self.store.one(
                "SELECT id FROM agents WHERE project_id = ? AND name = ?", (project["id"], name)
            )
            if taken:
                errors.append("has already been taken")
            if name and not AGENT_NAME_RE.match(name):
                errors.append(AGENT_NAME_FORMAT_MESSAGE)
            if errors:
                # Clusters::Agents::CreateService answers error(agent.errors.full_messages)
                # and the API passes that array to bad_request!: one string, not a map.
                full = [f"Name {message}" for message in errors]
                raise err.bad_request(json.dumps(full, ensure_ascii=False))
            agent_id = self.store.execute(
                "INSERT INTO agents (project_id, name, created_at, created_by_user_id) "
                "VALUES (?, ?, ?, ?)",
                (project["id"], name, now_iso(), principal.user_id),
            )
        return self._find(project, str(agent_id))

    def delete(self, project: Row, principal: Principal, agent_id: str) -> None:
        self.core.require_access(project, principal, MAINTAINER)
        agent = self._find(project, agent_id)
        with self.store.transaction():
            self.store.execute(
                "UPDATE agent_tokens SET status = 'revoked' WHERE agent_id = ?", (agent["id"],)
            )
            self.store.execute(
                "DELETE FROM agent_url_configurations WHERE agent_id = ?", (agent["id"],)
            )
            self.store.execute(
                "UPDATE environments SET cluster_agent_id = NULL WHERE cluster_agent_id = ?",
                (agent["id"],),
            )
            self.store.execute("DELETE FROM agents WHERE id = ?", (agent["id"],))

    def agent_by_id(self, agent_id: int) -> Row | None:
        return self.store.one("SELECT * FROM agents WHERE id = ?", (agent_id,))

    # -- tokens --------------------------------------------------------------
    def list_tokens(self, project: Row, principal: Principal, agent_id: str) -> list[Row]:
        self.core.require_access(project, principal, DEVELOPER)
        agent = self._find(project, agent_id)
        if not self.core.release.token_list_active_only:  # before 16.0: revoked ones too
            return self.store.all(
                "SELECT * FROM agent_tokens WHERE agent_id = ? ORDER BY id", (agent["id"],)
            )
        return self.store.all(
            "SELECT * FROM agent_tokens WHERE agent_id = ? AND status = 'active' ORDER BY id",
            (agent["id"],),
        )

    def get_token(self, project: Row, principal: Principal, agent_id: str, token_id: str) -> Row:
        self.core.require_access(project, principal, DEVELOPER)
        agent = self._find(project, agent_id)
        return self._active_token(agent, token_id)

    def _active_token(self, agent: Row, token_id: str) -> Row:
        token = (
            self.store.one(
                "SELECT * FROM agent_tokens WHERE id = ? AND agent_id = ? AND status = 'active'",
                (int(token_id), agent["id"]),
            )
            if token_id.isdigit()
            else None
        )
        if token is None:
            raise err.not_found()
        return token

    def create_token(
        self,
        project: Row,
        principal: Principal,
        agent_id: str,
        name: Any,
        description: Any = None,
    ) -> Row:
        self.core.require_access(project, principal, MAINTAINER)
        agent = self._find(project, agent_id)
        if name is None:
            raise err.missing_param("name")
        if not str(name):
            raise err.validation_error({"name": ["can't be blank"]})
        if len(str(name)) > 255:
            raise err.validation_error({"name": ["is too long (maximum is 255 characters)"]})
        with self.store.transaction():
            active = self.store.one(
                "SELECT count(*) AS n FROM agent_tokens WHERE agent_id = ? AND status = 'active'",
                (agent["id"],),
            )
            limited = self.core.release.enforces_token_limit  # since 16.2
            if limited and active and int(active["n"]) >= MAX_ACTIVE_TOKENS:
                raise err.bad_request("An agent can have only two active tokens at a time")
            secret = "glagent-" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(50))
            token_id = self.store.execute(
                "INSERT INTO agent_tokens (agent_id, name, description, token, status, "
                "created_at, created_by_user_id) VALUES (?, ?, ?, ?, 'active', ?, ?)",
                (agent["id"], str(name), description, secret, now_iso(), principal.user_id),
            )
        token = self.store.one("SELECT * FROM agent_tokens WHERE id = ?", (token_id,))
        assert token is not None
        return token

    def revoke_token(
        self, project: Row, principal: Principal, agent_id: str, token_id: str
    ) -> None:
        self.core.require_access(project, principal, MAINTAINER)
        agent = self._find(project, agent_id)
        # agent.agent_tokens.find: a revoked token is found too, and revoking it again
        # answers 204 like the first time; only an unknown id is 404.
        token = (
            self.store.one(
                "SELECT * FROM agent_tokens WHERE id = ? AND agent_id = ?",
                (int(token_id), agent["id"]),
            )
            if token_id.isdigit()
            else None
        )
        if token is None:
            raise err.not_found()
        self.store.execute(
            "UPDATE agent_tokens SET status = 'revoked' WHERE id = ?", (token["id"],)
        )

    def authenticate_agent(self, secret: str | None) -> tuple[Row, Row]:
        """What KAS does for agentk: the active token's agent (and marks the token used)."""
        token = (
            self.store.one(
                "SELECT * FROM agent_tokens WHERE token = ? AND status = 'active'", (secret,)
            )
            if secret
            else None
        )
        agent = self.agent_by_id(int(token["agent_id"])) if token else None
        if token is None or agent is None:
            raise err.unauthorized()
        self.store.execute(
            "UPDATE agent_tokens SET last_used_at = ? WHERE id = ?", (now_iso(), token["id"])
        )
        return agent, token
