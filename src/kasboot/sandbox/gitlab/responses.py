"""HTTP → backend for users, metadata, projects, cluster agents and environments.

Each handler is thin: read parameters, call the backend, shape the answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.backend import USER_READ_SCOPES
from kasboot.sandbox.gitlab.context import RequestContext, json_response, no_content
from kasboot.sandbox.gitlab.pagination import offset_page

METADATA_SCOPES = [*USER_READ_SCOPES, "ai_features"]
ALL_SCOPES = [
    *USER_READ_SCOPES,
    "ai_features",
    "create_runner",
    "k8s_proxy",
    "read_registry",
    "read_repository",
    "write_registry",
    "write_repository",
    "sudo",
    "admin_mode",
    "read_service_ping",
    "manage_runner",
    "self_rotate",
]


def paginated(ctx: RequestContext, items: Sequence[Any]) -> Response:
    page, headers = offset_page(items, ctx.params, ctx.url)
    return json_response(list(page), headers=headers)


# -- instance ------------------------------------------------------------------
def current_user(ctx: RequestContext) -> Response:
    principal = ctx.principal(USER_READ_SCOPES)
    return json_response(ctx.entities.user(principal.user, private=True))


def personal_access_token_self(ctx: RequestContext) -> Response:
    # GitLab lets a token of ANY scope read itself (so a tool can tell what it lacks).
    if not ctx.backend.release.has_token_self_api:
        return json_response({"error": "404 Not Found"}, 404)
    principal = ctx.principal(ALL_SCOPES)
    row = ctx.backend.personal_access_token(principal)
    if row.get("kind") == "oauth":
        raise err.bad_request("This endpoint requires token type to be a personal access token")
    return json_response(ctx.entities.personal_access_token(row))


def version(ctx: RequestContext) -> Response:
    ctx.principal(METADATA_SCOPES)
    if ctx.backend.release.version_api_mirrors_metadata:
        return json_response(ctx.backend.metadata())
    return json_response({"version": ctx.backend.gitlab_version, "revision": "kasboot0"})


def metadata(ctx: RequestContext) -> Response:
    if not ctx.backend.release.has_metadata_api:
        return json_response({"error": "404 Not Found"}, 404)
    ctx.principal(METADATA_SCOPES)
    return json_response(ctx.backend.metadata())


# -- projects ------------------------------------------------------------------
def get_project(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    return json_response(ctx.entities.project(project, principal.user_id))


def create_project(ctx: RequestContext) -> Response:
    principal = ctx.principal()
    namespace_id = ctx.param("namespace_id")
    project = ctx.backend.create_project(
        principal,
        name=ctx.param("name"),
        path=ctx.param("path"),
        namespace_id=int(namespace_id) if namespace_id not in (None, "") else None,
        default_branch=ctx.param("default_branch") or "main",
        initialize_with_readme=ctx.flag("initialize_with_readme"),
        description=ctx.param("description"),
        visibility=ctx.param("visibility") or "private",
    )
    return json_response(ctx.entities.project(project, principal.user_id), 201)


# -- cluster agents --------------------------------------------------------------
def list_agents(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    agents = ctx.backend.agents.list_agents(project, principal)
    return paginated(ctx, [ctx.entities.agent(agent) for agent in agents])


def get_agent(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    agent = ctx.backend.agents.get(project, principal, ctx.path["agent_id"])
    return json_response(ctx.entities.agent(agent))


def register_agent(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    agent = ctx.backend.agents.register(project, principal, ctx.param("name"))
    return json_response(ctx.entities.agent(agent), 201)


def delete_agent(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    ctx.backend.agents.delete(project, principal, ctx.path["agent_id"])
    return no_content()


def list_agent_tokens(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    tokens = ctx.backend.agents.list_tokens(project, principal, ctx.path["agent_id"])
    return paginated(ctx, [ctx.entities.agent_token(t, with_last_used=False) for t in tokens])


def get_agent_token(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    token = ctx.backend.agents.get_token(
        project, principal, ctx.path["agent_id"], ctx.path["token_id"]
    )
    return json_response(ctx.entities.agent_token(token))


def create_agent_token(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    token = ctx.backend.agents.create_token(
        project, principal, ctx.path["agent_id"], ctx.param("name"), ctx.param("description")
    )
    return json_response(ctx.entities.agent_token(token, secret=True), 201)


def revoke_agent_token(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    ctx.backend.agents.revoke_token(project, principal, ctx.path["agent_id"], ctx.path["token_id"])
    return no_content()


# -- environments ----------------------------------------------------------------
def list_environments(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    rows = ctx.backend.environments.list_environments(
        project,
        principal,
        name=ctx.param("name"),
        search=ctx.param("search"),
        states=ctx.param("states"),
    )
    return paginated(ctx, [ctx.entities.environment(row) for row in rows])


def get_environment(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    row = ctx.backend.environments.get(project, principal, ctx.path["environment_id"])
    return json_response(ctx.entities.environment(row))


def create_environment(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    row = ctx.backend.environments.create(project, principal, ctx.params)
    return json_response(ctx.entities.environment(row), 201)


def update_environment(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    row = ctx.backend.environments.update(
        project, principal, ctx.path["environment_id"], ctx.params
    )
    return json_response(ctx.entities.environment(row))


def stop_environment(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    row = ctx.backend.environments.stop(project, principal, ctx.path["environment_id"])
    return json_response(ctx.entities.environment(row), 200)


def delete_environment(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    ctx.backend.environments.delete(project, principal, ctx.path["environment_id"])
    return no_content()


# -- KAS stand-in ----------------------------------------------------------------
def agent_info(ctx: RequestContext) -> Response:
    """What KAS learns about the agent behind a token (the simulated agentk calls this)."""
    authorization = ctx.headers.get("authorization", "")
    secret = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    agent, _ = ctx.backend.agents.authenticate_agent(secret)
    project = ctx.backend.project_by_id(int(agent["project_id"]))
    if project is None:
        raise err.unauthorized()
    return json_response(
        {
            "agent_id": agent["id"],
            "agent_name": agent["name"],
            "project_id": project["id"],
            "project_path": ctx.backend.full_path(project),
        }
    )
