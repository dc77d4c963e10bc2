"""Cluster agents, agent tokens, receptive URL configurations and KAS's agent_info."""

from __future__ import annotations

import base64
from typing import Any

import gitlab
import httpx
import pytest
from gitlab.v4.objects import Project

from .conftest import World

NAME_FORMAT = (
    "can contain only lowercase letters, digits, and '-', but cannot start or end with '-'"
)
TWO_TOKENS = "400 Bad request - An agent can have only two active tokens at a time"


def tokens_path(project: Project, agent_id: int) -> str:
    return f"/projects/{project.id}/cluster_agents/{agent_id}/tokens"


def agent_info(world: World, secret: str) -> httpx.Response:
    return httpx.get(
        f"{world.url}/-/kubernetes-agent/agent_info",
        headers={"Authorization": f"Bearer {secret}"},
    )


def test_register_get_list_delete(project: Project) -> None:
    agent = project.cluster_agents.create({"name": "my-agent"})
    assert agent.name == "my-agent"
    assert agent.config_project["path_with_namespace"] == project.path_with_namespace
    assert set(agent.config_project) == {
        "id",
        "description",
        "name",
        "name_with_namespace",
        "path",
        "path_with_namespace",
        "created_at",
    }
    assert agent.created_by_user_id > 0
    fetched = project.cluster_agents.get(agent.id)
    assert fetched.name == "my-agent"
    assert [a.name for a in project.cluster_agents.list(get_all=True)] == ["my-agent"]
    agent.delete()
    assert project.cluster_agents.list(get_all=True) == []
    with pytest.raises(gitlab.GitlabGetError) as caught:
        project.cluster_agents.get(agent.id)
    assert caught.value.response_code == 404
    assert caught.value.error_message == "404 Not found"


@pytest.mark.parametrize(
    ("name", "messages"),
    [
        ("-bad", [NAME_FORMAT]),
        ("Upper", [NAME_FORMAT]),
        ("a" * 64, ["is too long (maximum is 63 characters)"]),
        ("", ["can't be blank"]),
    ],
)
def test_name_rules(project: Project, name: str, messages: list[str]) -> None:
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        project.cluster_agents.create({"name": name})
    assert caught.value.response_code == 400
    full = ", ".join(f'"Name {message}"' for message in messages)
    assert caught.value.error_message == f"400 Bad request - [{full}]"


def test_duplicate_name_is_taken(project: Project) -> None:
    project.cluster_agents.create({"name": "dup"})
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        project.cluster_agents.create({"name": "dup"})
    assert caught.value.response_code == 400
    assert caught.value.error_message == '400 Bad request - ["Name has already been taken"]'


def test_developer_reads_but_needs_maintainer_to_register(world: World, project: Project) -> None:
    project.cluster_agents.create({"name": "visible"})
    developer = world.client(world.developer_token).projects.get(project.id, lazy=True)
    assert [a.name for a in developer.cluster_agents.list(get_all=True)] == ["visible"]
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        developer.cluster_agents.create({"name": "mine"})
    assert caught.value.response_code == 403
    assert caught.value.error_message == "403 Forbidden"
    reporter = world.client(world.reporter_token).projects.get(project.id, lazy=True)
    with pytest.raises(gitlab.GitlabListError) as listing:
        reporter.cluster_agents.list()
    assert listing.value.response_code == 403


def test_list_pagination_headers(world: World, project: Project) -> None:
    for index in range(5):
        project.cluster_agents.create({"name": f"agent-{index}"})
    url = f"{world.url}/api/v4/projects/{project.id}/cluster_agents"
    headers = {"PRIVATE-TOKEN": world.owner_token}
    first = httpx.get(url, params={"per_page": 2}, headers=headers)
    assert [a["name"] for a in first.json()] == ["agent-0", "agent-1"]
    assert first.headers["x-page"] == "1"
    assert first.headers["x-per-page"] == "2"
    assert first.headers["x-next-page"] == "2"
    assert first.headers["x-prev-page"] == ""
    assert first.headers["x-total"] == "5"
    assert first.headers["x-total-pages"] == "3"
    assert 'rel="next"' in first.headers["link"] and 'rel="last"' in first.headers["link"]
    last = httpx.get(url, params={"per_page": 2, "page": 3}, headers=headers)
    assert [a["name"] for a in last.json()] == ["agent-4"]
    assert last.headers["x-next-page"] == ""
    assert last.headers["x-prev-page"] == "2"
    default = httpx.get(url, headers=headers)
    assert default.headers["x-per-page"] == "20"
    capped = httpx.get(url, params={"per_page": 500}, headers=headers)
    assert capped.headers["x-per-page"] == "100"
    # python-gitlab follows the link header through every page
    names = [a.name for a in project.cluster_agents.list(per_page=2, get_all=True)]
    assert names == [f"agent-{i}" for i in range(5)]


def test_tokens_lifecycle_and_two_token_limit(
    world: World, gl: gitlab.Gitlab, project: Project
) -> None:
    agent = project.cluster_agents.create({"name": "tokens"})
    path = tokens_path(project, agent.id)
    first: Any = gl.http_post(path, post_data={"name": "first", "description": "one"})
    assert first["token"].startswith("glagent-")
    assert first["status"] == "active" and first["last_used_at"] is None
    second: Any = gl.http_post(path, post_data={"name": "second"})
    with pytest.raises(gitlab.GitlabHttpError) as caught:
        gl.http_post(path, post_data={"name": "third"})
    assert caught.value.response_code == 400
    assert caught.value.error_message == TWO_TOKENS

    listed: Any = gl.http_get(path)
    assert [t["name"] for t in listed] == ["first", "second"]
    assert all("last_used_at" not in t and "token" not in t for t in listed)
    one: Any = gl.http_get(f"{path}/{first['id']}")
    assert one["last_used_at"] is None and "token" not in one

    gl.http_delete(f"{path}/{first['id']}")
    with pytest.raises(gitlab.GitlabHttpError) as revoked:
        gl.http_get(f"{path}/{first['id']}")
    assert revoked.value.response_code == 404
    assert [t["name"] for t in gl.http_get(path)] == ["second"]  # type: ignore[union-attr]
    third: Any = gl.http_post(path, post_data={"name": "third"})
    assert third["id"] not in (first["id"], second["id"])


def test_agent_info_marks_token_used_and_refuses_revoked(
    world: World, gl: gitlab.Gitlab, project: Project
) -> None:
    agent = project.cluster_agents.create({"name": "connected"})
    path = tokens_path(project, agent.id)
    token: Any = gl.http_post(path, post_data={"name": "cluster"})
    answer = agent_info(world, token["token"])
    assert answer.status_code == 200
    assert answer.json() == {
        "agent_id": agent.id,
        "agent_name": "connected",
        "project_id": project.id,
        "project_path": project.path_with_namespace,
    }
    used: Any = gl.http_get(f"{path}/{token['id']}")
    assert used["last_used_at"] is not None
    gl.http_delete(f"{path}/{token['id']}")
    refused = agent_info(world, token["token"])
    assert refused.status_code == 401
    assert refused.json() == {"message": "401 Unauthorized"}
    assert agent_info(world, "glagent-nonsense").status_code == 401


def test_deleting_agent_revokes_its_tokens(
    world: World, gl: gitlab.Gitlab, project: Project
) -> None:
    agent = project.cluster_agents.create({"name": "doomed"})
    token: Any = gl.http_post(tokens_path(project, agent.id), post_data={"name": "t"})
    assert agent_info(world, token["token"]).status_code == 200
    project.cluster_agents.delete(agent.id)
    assert agent_info(world, token["token"]).status_code == 401


def test_receptive_url_configuration(gl: gitlab.Gitlab, project: Project) -> None:
    agent = project.cluster_agents.create({"name": "receptive"})
    path = f"/projects/{project.id}/cluster_agents/{agent.id}/url_configurations"
    created: Any = gl.http_post(path, post_data={"url": "grpc://agent.example.com:8082"})
    assert created["agent_id"] == agent.id
    assert created["url"] == "grpc://agent.example.com:8082"
    assert len(base64.b64decode(created["public_key"])) == 32
    assert project.cluster_agents.get(agent.id).is_receptive is True
    with pytest.raises(gitlab.GitlabHttpError) as caught:
        gl.http_post(path, post_data={"url": "grpc://other:8082"})
    assert caught.value.response_code == 400
    assert [c["id"] for c in gl.http_get(path)] == [created["id"]]  # type: ignore[union-attr]
    assert gl.http_get(f"{path}/{created['id']}")["url"] == created["url"]  # type: ignore[index]
    gl.http_delete(f"{path}/{created['id']}")
    assert gl.http_get(path) == []
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in (("c", "CERT"), ("k", "KEY"))}
    with_cert: Any = gl.http_post(
        path,
        post_data={"url": "grpc://a:1", "client_cert": encoded["c"], "client_key": encoded["k"]},
    )
    # GitLab decodes the base64 parameters; the entity shows every key, null when unset.
    assert with_cert["public_key"] is None and with_cert["client_cert"] == "CERT"
    # ids come from a database sequence: one deleted is never handed out again
    assert with_cert["id"] > created["id"]
    assert set(with_cert) == {
        "id", "agent_id", "url", "public_key", "client_cert", "ca_cert", "tls_host"
    }  # fmt: skip


def test_url_configurations_only_where_receptive_agents_are_offered(
    world: World, gl: gitlab.Gitlab, project: Project
) -> None:
    """Not licensed (below Ultimate) or switched off by the instance: every route is
    ``404 Not found`` (agent_url_configurations.rb's before block); Developers get 403."""
    agent = project.cluster_agents.create({"name": "offered"})
    path = f"/projects/{project.id}/cluster_agents/{agent.id}/url_configurations"
    backend = world.emulator.backend
    for switch in ("receptive_licensed", "receptive_agents_enabled"):
        setattr(backend, switch, False)
        try:
            with pytest.raises(gitlab.GitlabHttpError) as caught:
                gl.http_post(path, post_data={"url": "grpcs://agent.example.com:8082"})
            assert caught.value.response_code == 404
        finally:
            setattr(backend, switch, True)
    developer = world.client(world.developer_token)
    with pytest.raises(gitlab.GitlabHttpError) as denied:
        developer.http_get(path)
    assert denied.value.response_code == 403
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nX\n").decode()
    created: Any = gl.http_post(
        path, post_data={"url": "grpcs://a:8082", "ca_cert": ca, "tls_host": "agent.internal"}
    )
    assert created["ca_cert"].startswith("-----BEGIN CERTIFICATE-----")
    assert created["tls_host"] == "agent.internal"


def test_ids_are_never_handed_out_again(project: Project) -> None:
    """GitLab's ids come from PostgreSQL sequences: the id of a deleted agent, token or
    environment is gone for good, so a record naming one cannot match a newer object."""
    first = project.cluster_agents.create({"name": "short-lived"})
    token = project.manager.gitlab.http_post(
        tokens_path(project, first.id), post_data={"name": "t"}
    )
    first.delete()
    second = project.cluster_agents.create({"name": "short-lived"})
    assert second.id > first.id
    again = project.manager.gitlab.http_post(
        tokens_path(project, second.id), post_data={"name": "t"}
    )
    assert again["id"] > token["id"]  # type: ignore[index]
    environment = project.environments.create({"name": "short-lived"})
    environment.stop()
    environment.delete()
    assert project.environments.create({"name": "short-lived"}).id > environment.id
