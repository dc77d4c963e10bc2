"""Receptive agents: the agent's URL configuration (GitLab 17.4+, Ultimate,
self-managed with the instance setting on), in kasboot's words.

``POST /projects/:id/cluster_agents/:agent_id/url_configurations`` (JWT authentication:
no client certificate, so GitLab generates an Ed25519 key pair and answers the public
key, base64) and ``GET`` of the same path. ``ca_cert`` is sent base64-encoded, as
lib/api/clusters/agent_url_configurations.rb decodes it. Where the instance does not
offer receptive agents every route answers 404: that is said in one clear line."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from kasboot.errors import GitLabError
from kasboot.gitlab_api.writes import ONCE, is_unclear

if TYPE_CHECKING:
    from kasboot.gitlab_api import GitLabAPI

MINIMUM_VERSION = (17, 4)


def _path(gitlab: GitLabAPI, project: str, agent_id: int) -> str:
    return f"/projects/{gitlab._project(project).id}/cluster_agents/{agent_id}/url_configurations"


def not_offered(gitlab_version: str | None, status: int | None) -> GitLabError:
    """The error for an instance without receptive agents (404 or 403 from the API)."""
    version = _version(gitlab_version)
    if version is not None and version < MINIMUM_VERSION:
        return GitLabError(
            f"GitLab {gitlab_version} has no receptive agents (they came in GitLab 17.4)",
            hint="upgrade GitLab, or bootstrap without --receptive (the agent connects to KAS)",
            status=status,
        )
    if status == 403:
        return GitLabError(
            "GitLab refused to show or create the agent's URL configuration (403)",
            hint="receptive agents need the Maintainer role on the project",
            status=status,
        )
    return GitLabError(
        "this GitLab instance does not offer receptive agents (url_configurations: 404)",
        hint="they need GitLab 17.4+ self-managed on the Ultimate tier with the instance "
        "setting 'receptive cluster agents' enabled (not on GitLab.com); or bootstrap "
        "without --receptive",
        status=status,
    )


def _version(text: str | None) -> tuple[int, int] | None:
    parts = (text or "").split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1])


def version_offers_receptive(gitlab_version: str | None) -> bool:
    version = _version(gitlab_version)
    return version is None or version >= MINIMUM_VERSION


def url_configurations(
    gitlab: GitLabAPI, project: str, agent_id: int, gitlab_version: str | None
) -> list[dict[str, Any]]:
    import gitlab as gitlab_module

    with gitlab._errors("reading the agent's URL configuration"):
        try:
            listed = gitlab._gl.http_list(_path(gitlab, project, agent_id), get_all=True)
        except gitlab_module.exceptions.GitlabHttpError as error:
            if error.response_code in (403, 404):
                raise not_offered(gitlab_version, error.response_code) from None
            raise
    return [dict(item) for item in listed]


def create_url_configuration(
    gitlab: GitLabAPI,
    project: str,
    agent_id: int,
    *,
    url: str,
    ca_cert: str | None,
    tls_host: str | None,
    gitlab_version: str | None,
) -> dict[str, Any]:
    """Create it (sent once: an unclear answer is settled by reading the list again)."""
    import gitlab as gitlab_module

    data: dict[str, str] = {"url": url}
    if ca_cert:
        data["ca_cert"] = base64.b64encode(ca_cert.encode()).decode()
    if tls_host:
        data["tls_host"] = tls_host
    with gitlab._errors("creating the agent's URL configuration"):
        try:
            created: Any = gitlab._gl.http_post(
                _path(gitlab, project, agent_id), post_data=data, **ONCE
            )
            return dict(created)
        except gitlab_module.exceptions.GitlabHttpError as error:
            if error.response_code in (403, 404):
                raise not_offered(gitlab_version, error.response_code) from None
            if not is_unclear(error):
                raise
        except Exception as error:
            if not is_unclear(error):
                raise
    for found in url_configurations(gitlab, project, agent_id, gitlab_version):
        if found.get("url") == url:
            return found
    raise GitLabError(
        "GitLab did not answer the creation of the agent's URL configuration, and none exists",
        hint="run the same command again",
    )


def delete_url_configuration(
    gitlab: GitLabAPI, project: str, agent_id: int, config_id: int
) -> None:
    import gitlab as gitlab_module

    with gitlab._errors("deleting the agent's URL configuration"):
        try:
            gitlab._gl.http_delete(f"{_path(gitlab, project, agent_id)}/{config_id}")
        except gitlab_module.exceptions.GitlabHttpError as error:
            if error.response_code != 404:
                raise
