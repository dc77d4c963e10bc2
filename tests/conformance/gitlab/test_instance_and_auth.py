"""Authentication, scopes, roles, /user, /version, /metadata and the control routes."""

from __future__ import annotations

import gitlab
import httpx
import pytest
from gitlab.v4.objects import Project

from .conftest import World

INSUFFICIENT = "The request requires higher privileges than provided by the access token."


def test_current_user_version_and_metadata(world: World, gl: gitlab.Gitlab) -> None:
    gl.auth()
    assert gl.user is not None
    assert gl.user.username == "root"
    assert gl.user.email == "admin@example.com"
    assert gl.version() == ("18.2.0", "kasboot0")
    metadata = gl.http_get("/metadata")
    assert metadata["kas"] == {
        "enabled": True,
        "externalUrl": f"ws://127.0.0.1:{world.emulator.port}/-/kubernetes-agent/",
        "externalK8sProxyUrl": f"{world.url}/-/kubernetes-agent/k8s-proxy/",
        "version": "18.2.0",
    }
    assert metadata["enterprise"] is True


def test_kas_can_be_disabled_and_reconfigured_through_control_route(
    world: World, gl: gitlab.Gitlab
) -> None:
    try:
        answer = httpx.put(f"{world.url}/-/sandbox/kas", json={"enabled": False})
        assert answer.status_code == 200
        kas = gl.http_get("/metadata")["kas"]
        assert kas["enabled"] is False
        assert kas["externalUrl"] is None
        httpx.put(
            f"{world.url}/-/sandbox/kas",
            json={"enabled": True, "version": "17.10.2", "externalUrl": "wss://kas.example.com"},
        )
        kas = gl.http_get("/metadata")["kas"]
        assert (kas["enabled"], kas["version"], kas["externalUrl"]) == (
            True,
            "17.10.2",
            "wss://kas.example.com",
        )
    finally:
        world.emulator.backend.set_kas(True, "18.2.0", "")


def test_health_route_and_requests_are_logged(world: World, gl: gitlab.Gitlab) -> None:
    assert httpx.get(f"{world.url}/-/sandbox/health").status_code == 200
    gl.http_get("/version")
    log = httpx.get(f"{world.url}/-/sandbox/requests").json()
    assert any(r["path"] == "/api/v4/version" and r["status"] == 200 for r in log)


@pytest.mark.parametrize("token", [None, "glpat-unknown"])
def test_missing_or_unknown_token_is_401(world: World, token: str | None) -> None:
    client = gitlab.Gitlab(world.url, private_token=token)
    with pytest.raises(gitlab.GitlabAuthenticationError) as caught:
        client.http_get("/user")
    assert caught.value.response_code == 401
    assert caught.value.error_message == "401 Unauthorized"


def test_revoked_token_is_401_and_bearer_header_works(world: World) -> None:
    backend = world.emulator.backend
    token = backend.create_personal_access_token("root", "short-lived", ["api"])
    bearer = httpx.get(f"{world.url}/api/v4/user", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 200
    backend.revoke_personal_access_token(token)
    again = httpx.get(f"{world.url}/api/v4/user", headers={"PRIVATE-TOKEN": token})
    assert again.status_code == 401
    assert again.json() == {"message": "401 Unauthorized"}


def test_read_api_token_reads_but_cannot_write(world: World, project: Project) -> None:
    reader = world.client(world.read_token)
    assert reader.projects.get(project.id).path == "fleet"
    answer = httpx.post(
        f"{world.url}/api/v4/projects/{project.id}/cluster_agents",
        headers={"PRIVATE-TOKEN": world.read_token},
        json={"name": "nope"},
    )
    assert answer.status_code == 403
    assert answer.json() == {
        "error": "insufficient_scope",
        "error_description": INSUFFICIENT,
        "scope": "api",
    }


def test_token_minted_through_control_route_has_its_scopes(world: World) -> None:
    answer = httpx.post(
        f"{world.url}/-/sandbox/personal_access_tokens",
        json={"username": "root", "name": "user-only", "scopes": ["read_user"]},
    )
    assert answer.status_code == 201
    client = world.client(answer.json()["token"])
    assert client.http_get("/user")["username"] == "root"
    with pytest.raises(gitlab.GitlabHttpError) as caught:
        client.http_get("/projects/1")
    assert caught.value.response_code == 403
    assert caught.value.error_message == "insufficient_scope"


def test_invisible_and_unknown_projects_are_404(world: World, project: Project) -> None:
    outsider = world.client(world.outsider_token)
    for ident in (project.id, project.path_with_namespace, "no/such-project"):
        with pytest.raises(gitlab.GitlabGetError) as caught:
            outsider.projects.get(ident)
        assert caught.value.response_code == 404
        assert caught.value.error_message == "404 Project Not Found"


def test_unknown_route_is_404(world: World) -> None:
    answer = httpx.get(f"{world.url}/api/v4/nothing", headers={"PRIVATE-TOKEN": world.owner_token})
    assert answer.status_code == 404
