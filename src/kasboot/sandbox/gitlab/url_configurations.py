"""Receptive agents' URL configurations, as GitLab serves them.

After gitlabhq lib/api/clusters/agent_url_configurations.rb,
app/services/clusters/agents/create_url_configuration_service.rb and
lib/api/entities/clusters/agent_url_configuration.rb (GitLab 17.4+):

- The routes exist from 17.4; before, Grape answers ``404 Not Found``.
- Every route first answers ``404 Not found`` unless the project's licence has
  ``cluster_receptive_agents`` (Ultimate) and the instance setting
  ``receptive_cluster_agents_enabled`` is on (self-managed only: GitLab.com has it off).
  The emulator's switches: ``backend.receptive_licensed`` and
  ``backend.receptive_agents_enabled`` (both on by default, so the sandbox offers it);
  ``kasboot sandbox up --receptive-agents offered|unlicensed|disabled`` sets them
  (``set_receptive_agents``).
- List / get / delete need ``admin_cluster`` (Maintainer), create ``create_cluster``
  plus ``admin_pipeline`` (Maintainer); an unknown agent is ``404 Not found``.
- Create: ``url`` required; ``ca_cert``, ``client_cert``, ``client_key`` arrive
  base64-encoded and are stored decoded; without a client key GitLab generates an
  Ed25519 key pair (JWT authentication) and the answer shows the public key
  (``Base64.strict_encode64`` of the 32 raw bytes). An agent has at most one: a second
  is ``400 Bad request - ["URL configuration already exists for this agent"]``-style
  (``bad_request!`` of the service's message). The agent becomes ``is_receptive``;
  deleting the configuration makes it an ordinary agent again.
- The entity always has the keys id, agent_id, url, public_key, client_cert, ca_cert,
  tls_host (null when unset).
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from kasboot.sandbox.gitlab import ed25519
from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.context import json_response, no_content
from kasboot.sandbox.gitlab.store import Row, now_iso

if TYPE_CHECKING:
    from kasboot.sandbox.gitlab.backend import GitLabBackend, Principal
    from kasboot.sandbox.gitlab.context import RequestContext

MAINTAINER = 40
# `sandbox up --receptive-agents`: offered (Ultimate, setting on), unlicensed (a tier
# without cluster_receptive_agents), disabled (the instance setting off, as on GitLab.com)
RECEPTIVE_MODES = ("offered", "unlicensed", "disabled")


def set_receptive_agents(core: GitLabBackend, mode: str) -> None:
    if mode not in RECEPTIVE_MODES:
        raise ValueError(f"receptive agents must be one of {', '.join(RECEPTIVE_MODES)}")
    core.receptive_licensed = mode != "unlicensed"
    core.receptive_agents_enabled = mode != "disabled"


def _decoded(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return base64.b64decode(str(value), validate=False).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise err.invalid_param(name) from None


class UrlConfigurations:
    def __init__(self, core: GitLabBackend) -> None:
        self.core = core
        self.store = core.store

    def _offered(self) -> None:
        if not self.core.release.at_least(17, 4):
            raise err.GitLabApiError(404, {"error": "404 Not Found"})  # no such route
        if not self.core.receptive_licensed or not self.core.receptive_agents_enabled:
            raise err.not_found()

    def _agent(self, project: Row, principal: Principal, agent_id: str, level: int) -> Row:
        self._offered()
        self.core.require_access(project, principal, level)
        agent = self.core.agents.agent_by_id(int(agent_id)) if agent_id.isdigit() else None
        if agent is None or agent["project_id"] != project["id"]:
            raise err.not_found()
        return agent

    def list(self, project: Row, principal: Principal, agent_id: str) -> list[Row]:
        agent = self._agent(project, principal, agent_id, MAINTAINER)
        return self.store.all(
            "SELECT * FROM agent_url_configurations WHERE agent_id = ?", (agent["id"],)
        )

    def get(self, project: Row, principal: Principal, agent_id: str, config_id: str) -> Row:
        return self._find(self._agent(project, principal, agent_id, MAINTAINER), config_id)

    def _find(self, agent: Row, config_id: str) -> Row:
        row = (
            self.store.one(
                "SELECT * FROM agent_url_configurations WHERE id = ? AND agent_id = ?",
                (int(config_id), agent["id"]),
            )
            if config_id.isdigit()
            else None
        )
        if row is None:
            raise err.not_found()
        return row

    def create(
        self, project: Row, principal: Principal, agent_id: str, params: dict[str, Any]
    ) -> Row:
        agent = self._agent(project, principal, agent_id, MAINTAINER)
        url = params.get("url")
        if not url:
            raise err.missing_param("url")
        client_cert = _decoded(params.get("client_cert"), "client_cert")
        client_key = _decoded(params.get("client_key"), "client_key")
        ca_cert = _decoded(params.get("ca_cert"), "ca_cert")
        public_key = private_key = None
        if not client_key:
            seed, public = ed25519.generate()
            public_key = base64.b64encode(public).decode()
            private_key = base64.b64encode(seed).decode()
        with self.store.transaction():
            if self.store.one(
                "SELECT id FROM agent_url_configurations WHERE agent_id = ?", (agent["id"],)
            ):
                raise err.bad_request("URL configuration already exists for this agent")
            config_id = self.store.execute(
                "INSERT INTO agent_url_configurations (agent_id, url, ca_cert, tls_host, "
                "client_cert, client_key, public_key, private_key, created_at, "
                "created_by_user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    agent["id"],
                    url,
                    ca_cert,
                    params.get("tls_host") or None,
                    client_cert,
                    client_key,
                    public_key,
                    private_key,
                    now_iso(),
                    principal.user_id,
                ),
            )
            self.store.execute("UPDATE agents SET is_receptive = 1 WHERE id = ?", (agent["id"],))
        return self._find(agent, str(config_id))

    def delete(self, project: Row, principal: Principal, agent_id: str, config_id: str) -> None:
        agent = self._agent(project, principal, agent_id, MAINTAINER)
        row = self._find(agent, config_id)
        with self.store.transaction():
            self.store.execute("DELETE FROM agent_url_configurations WHERE id = ?", (row["id"],))
            self.store.execute("UPDATE agents SET is_receptive = 0 WHERE id = ?", (agent["id"],))


def entity(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "agent_id": row["agent_id"],
        "url": row["url"],
        "public_key": row["public_key"],
        "client_cert": row["client_cert"],
        "ca_cert": row["ca_cert"],
        "tls_host": row["tls_host"],
    }


# -- the routes (urls.py) -------------------------------------------------------------


def _backend(ctx: RequestContext) -> UrlConfigurations:
    return UrlConfigurations(ctx.backend)


def list_url_configurations(ctx: RequestContext) -> Response:
    from kasboot.sandbox.gitlab.responses import paginated

    project, principal = ctx.project()
    rows = _backend(ctx).list(project, principal, ctx.path["agent_id"])
    return paginated(ctx, [entity(row) for row in rows])


def get_url_configuration(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    row = _backend(ctx).get(project, principal, ctx.path["agent_id"], ctx.path["config_id"])
    return json_response(entity(row))


def create_url_configuration(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    row = _backend(ctx).create(project, principal, ctx.path["agent_id"], ctx.params)
    return json_response(entity(row), 201)


def delete_url_configuration(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    _backend(ctx).delete(project, principal, ctx.path["agent_id"], ctx.path["config_id"])
    return no_content()
