"""GitLab's documented mutations the emulator serves: ``createClusterAgent``
(``mutations/clusters/agents/create.rb``), ``clusterAgentTokenCreate``
(``mutations/clusters/agent_tokens/create.rb``) and ``environmentCreate``
(``mutations/environments/create.rb``). A refusal the service gives is the payload's
``errors`` (strings, the model's full messages), not a GraphQL error; an object the
caller may not change is GitLab's "does not exist or you don't have permission" error."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.graphql_types import (
    agent_node,
    environment_node,
    token_node,
)

if TYPE_CHECKING:
    from kasboot.sandbox.gitlab.backend import Principal
    from kasboot.sandbox.gitlab.context import RequestContext

NO_ACCESS = (
    "The resource that you are attempting to access does not exist or you don't have "
    "permission to perform this action"
)


def _page(items: list[Any], args: dict[str, Any]) -> dict[str, Any]:
    from kasboot.sandbox.gitlab.graphql_api import connection

    return connection(items, args)


def _messages(error: err.GitLabApiError) -> list[str]:
    """A REST refusal's messages as the mutation's ``errors`` strings."""
    body = error.body
    message: Any = body.get("message", body.get("error", "")) if isinstance(body, dict) else body
    if isinstance(message, dict):
        return [f"{key.capitalize()} {text}" for key, texts in message.items() for text in texts]
    text = str(message).removeprefix("400 Bad request - ")
    try:
        decoded = json.loads(text)
    except ValueError:
        return [text]
    return [str(item) for item in decoded] if isinstance(decoded, list) else [text]


def _project(ctx: RequestContext, principal: Principal, path: str) -> Any:
    try:
        return ctx.backend.find_project(str(path), principal)
    except err.GitLabApiError:
        raise GraphQLError(NO_ACCESS) from None


def _local_id(global_id: Any, model: str) -> str:
    prefix = f"gid://gitlab/{model}/"
    text = str(global_id)
    if not text.startswith(prefix) or not text[len(prefix) :].isdigit():
        raise GraphQLError(f'"{text}" does not represent an instance of {model}')
    return text[len(prefix) :]


def create_cluster_agent(
    ctx: RequestContext, principal: Principal, dashboard: bool, data: dict[str, Any]
) -> dict[str, Any]:
    project = _project(ctx, principal, data["projectPath"])
    try:
        agent = ctx.backend.agents.register(project, principal, data["name"])
    except err.GitLabApiError as error:
        if error.status in (401, 403, 404):
            raise GraphQLError(NO_ACCESS) from None
        return {"clusterAgent": None, "errors": _messages(error)}
    return {
        "clientMutationId": data.get("clientMutationId"),
        "clusterAgent": agent_node(ctx, agent, _page),
        "errors": [],
    }


def cluster_agent_token_create(
    ctx: RequestContext, principal: Principal, dashboard: bool, data: dict[str, Any]
) -> dict[str, Any]:
    agent_id = _local_id(data["clusterAgentId"], "Clusters::Agent")
    agent = ctx.backend.agents.agent_by_id(int(agent_id))
    if agent is None:
        raise GraphQLError(NO_ACCESS)
    project = ctx.backend.project_by_id(int(agent["project_id"]))
    if project is None:
        raise GraphQLError(NO_ACCESS)
    try:
        token = ctx.backend.agents.create_token(
            project, principal, agent_id, data["name"], data.get("description")
        )
    except err.GitLabApiError as error:
        if error.status in (401, 403, 404):
            raise GraphQLError(NO_ACCESS) from None
        return {"secret": None, "token": None, "errors": _messages(error)}
    return {
        "clientMutationId": data.get("clientMutationId"),
        "secret": token["token"],
        "token": token_node(token),
        "errors": [],
    }


def environment_create(
    ctx: RequestContext, principal: Principal, dashboard: bool, data: dict[str, Any]
) -> dict[str, Any]:
    project = _project(ctx, principal, data["projectPath"])
    params: dict[str, Any] = {
        "name": data["name"],
        "external_url": data.get("externalUrl"),
        "tier": data.get("tier"),
    }
    if data.get("clusterAgentId"):
        params["cluster_agent_id"] = _local_id(data["clusterAgentId"], "Clusters::Agent")
    for key, field in (
        ("kubernetes_namespace", "kubernetesNamespace"),
        ("flux_resource_path", "fluxResourcePath"),
    ):
        if data.get(field):
            params[key] = data[field]
    try:
        row = ctx.backend.environments.create(project, principal, params)
    except err.GitLabApiError as error:
        if error.status in (401, 403, 404):
            raise GraphQLError(NO_ACCESS) from None
        return {"environment": None, "errors": _messages(error)}
    return {
        "clientMutationId": data.get("clientMutationId"),
        "environment": environment_node(ctx, row, _page, dashboard),
        "errors": [],
    }


MUTATIONS = {
    "createClusterAgent": create_cluster_agent,
    "clusterAgentTokenCreate": cluster_agent_token_create,
    "environmentCreate": environment_create,
}
