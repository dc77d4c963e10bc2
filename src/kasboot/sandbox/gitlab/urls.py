"""The URL table: (method, pattern, handler), matched segment by segment on the RAW path.

GitLab identifies projects and files by URL-encoded paths (``demo%2Ffleet``,
``clusters%2Fsandbox%2Fconfig.yaml``); a decoded path would merge those segments with
the route's own slashes, so each raw segment is matched and only then decoded."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from starlette.responses import Response

from kasboot.sandbox.gitlab import deployments, graphql_api, members, url_configurations
from kasboot.sandbox.gitlab import responses as core
from kasboot.sandbox.gitlab import responses_archive as archive
from kasboot.sandbox.gitlab import responses_merge_base as merge_base
from kasboot.sandbox.gitlab import responses_protected as protected
from kasboot.sandbox.gitlab import responses_repository as repo
from kasboot.sandbox.gitlab.context import RequestContext

Handler = Callable[[RequestContext], Response]

API = "/api/v4"
PROJECT = f"{API}/projects/{{id}}"
AGENT = f"{PROJECT}/cluster_agents/{{agent_id}}"
FILE = f"{PROJECT}/repository/files/{{file_path}}"


def _with_format(suffix: str) -> Handler:
    def handler(ctx: RequestContext) -> Response:
        ctx.path["format"] = suffix
        return archive.archive(ctx)

    return handler


URLS: list[tuple[str, str, Handler]] = [
    ("GET", f"{API}/user", core.current_user),
    ("GET", f"{API}/version", core.version),
    ("GET", f"{API}/personal_access_tokens/self", core.personal_access_token_self),
    ("GET", f"{API}/metadata", core.metadata),
    ("POST", f"{API}/projects", core.create_project),
    ("GET", PROJECT, core.get_project),
    ("GET", f"{PROJECT}/members/all/{{user_id}}", members.get_member_all),
    ("GET", f"{PROJECT}/cluster_agents", core.list_agents),
    ("POST", f"{PROJECT}/cluster_agents", core.register_agent),
    ("GET", AGENT, core.get_agent),
    ("DELETE", AGENT, core.delete_agent),
    ("GET", f"{AGENT}/tokens", core.list_agent_tokens),
    ("POST", f"{AGENT}/tokens", core.create_agent_token),
    ("GET", f"{AGENT}/tokens/{{token_id}}", core.get_agent_token),
    ("DELETE", f"{AGENT}/tokens/{{token_id}}", core.revoke_agent_token),
    ("GET", f"{AGENT}/url_configurations", url_configurations.list_url_configurations),
    ("POST", f"{AGENT}/url_configurations", url_configurations.create_url_configuration),
    ("GET", f"{AGENT}/url_configurations/{{config_id}}", url_configurations.get_url_configuration),
    (
        "DELETE",
        f"{AGENT}/url_configurations/{{config_id}}",
        url_configurations.delete_url_configuration,
    ),
    ("GET", f"{PROJECT}/environments", core.list_environments),
    ("POST", f"{PROJECT}/environments", core.create_environment),
    ("GET", f"{PROJECT}/environments/{{environment_id}}", core.get_environment),
    ("PUT", f"{PROJECT}/environments/{{environment_id}}", core.update_environment),
    ("DELETE", f"{PROJECT}/environments/{{environment_id}}", core.delete_environment),
    ("POST", f"{PROJECT}/environments/{{environment_id}}/stop", core.stop_environment),
    ("GET", f"{PROJECT}/deployments", deployments.list_deployments),
    ("POST", f"{PROJECT}/deployments", deployments.create_deployment),
    ("GET", f"{FILE}/raw", repo.raw_file),
    ("GET", FILE, repo.get_file),
    ("HEAD", FILE, repo.head_file),
    ("POST", FILE, repo.create_file),
    ("PUT", FILE, repo.update_file),
    ("DELETE", FILE, repo.delete_file),
    ("GET", f"{PROJECT}/repository/tree", repo.tree),
    ("GET", f"{PROJECT}/repository/archive", archive.archive),
    *(
        ("GET", f"{PROJECT}/repository/archive.{suffix}", _with_format(suffix))
        for suffix in archive.ARCHIVE_SUFFIXES
    ),
    ("GET", f"{PROJECT}/repository/merge_base", merge_base.merge_base),
    ("GET", f"{PROJECT}/repository/commits", repo.list_commits),
    ("POST", f"{PROJECT}/repository/commits", repo.create_commit),
    ("GET", f"{PROJECT}/repository/commits/{{sha}}", repo.get_commit),
    ("GET", f"{PROJECT}/repository/branches", repo.list_branches),
    ("POST", f"{PROJECT}/repository/branches", repo.create_branch),
    ("GET", f"{PROJECT}/repository/branches/{{branch}}", repo.get_branch),
    ("DELETE", f"{PROJECT}/repository/branches/{{branch}}", repo.delete_branch),
    ("GET", f"{PROJECT}/protected_branches", protected.list_protected),
    ("POST", f"{PROJECT}/protected_branches", protected.create_protected),
    ("GET", f"{PROJECT}/protected_branches/{{name}}", protected.get_protected),
    ("DELETE", f"{PROJECT}/protected_branches/{{name}}", protected.delete_protected),
    ("GET", "/-/kubernetes-agent/agent_info", core.agent_info),
    ("GET", "/api/graphql", graphql_api.execute),
    ("POST", "/api/graphql", graphql_api.execute),
]


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/")


_COMPILED = [(method, _segments(pattern), handler) for method, pattern, handler in URLS]


def resolve(method: str, raw_path: str) -> tuple[Handler, dict[str, str]] | str | None:
    """(handler, path values) for a route; ``"method"`` when only the method is wrong."""
    raw = _segments(raw_path)
    path_matched = False
    for route_method, pattern, handler in _COMPILED:
        if len(pattern) != len(raw):
            continue
        values: dict[str, str] = {}
        for expected, actual in zip(pattern, raw, strict=True):
            if expected.startswith("{") and expected.endswith("}"):
                if not actual:
                    break
                values[expected[1:-1]] = unquote(actual)
            elif expected != actual:
                break
        else:
            path_matched = True
            if route_method == method:
                return handler, values
    return "method" if path_matched else None
