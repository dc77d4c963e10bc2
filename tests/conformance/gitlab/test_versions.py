"""The emulator as a given GitLab release: what changed between 15.x and 18.x for the
calls kasboot makes (see sandbox/gitlab/versions.py for the sources)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import gitlab
import httpx
import pytest

from kasboot.sandbox.gitlab import GitLabEmulator

_names = itertools.count(1)


@pytest.fixture
def started(tmp_path: Path) -> Iterator[object]:
    running: list[GitLabEmulator] = []

    def start(version: str) -> tuple[GitLabEmulator, gitlab.Gitlab, object]:
        emulator = GitLabEmulator(tmp_path / version, gitlab_version=version).start()
        running.append(emulator)
        backend = emulator.backend
        backend.ensure_user("root", "Administrator", "admin@example.com")
        token = backend.create_personal_access_token("root", "owner", ["api"])
        client = gitlab.Gitlab(emulator.url, private_token=token)
        project = client.projects.get(
            backend.ensure_project(f"g{next(_names)}/fleet", owner="root")["id"]
        )
        return emulator, client, project

    yield start
    for emulator in running:
        emulator.stop()


def test_metadata_appeared_in_15_2(started: object) -> None:
    _, old_client, _ = started("15.1.0")  # type: ignore[operator]
    with pytest.raises(gitlab.GitlabHttpError) as missing:
        old_client.http_get("/metadata")
    assert missing.value.response_code == 404
    assert old_client.http_get("/version") == {"version": "15.1.0", "revision": "kasboot0"}
    _, client, _ = started("16.11.0")  # type: ignore[operator]
    metadata = client.http_get("/metadata")
    assert metadata["version"] == "16.11.0"
    assert metadata["kas"]["version"] == "16.11.0"
    assert "externalK8sProxyUrl" not in metadata["kas"]  # since 17.6
    assert client.http_get("/version")["kas"]["enabled"] is True  # a mirror since 15.5


def test_token_list_and_limit_by_version(started: object) -> None:
    for version, lists_revoked, limited in (
        ("15.11.0", True, False),
        ("16.1.0", False, False),
        ("16.11.0", False, True),
    ):
        _, client, project = started(version)  # type: ignore[operator]
        agent = project.cluster_agents.create({"name": "a"})
        path = f"/projects/{project.id}/cluster_agents/{agent.id}/tokens"
        first = client.http_post(path, post_data={"name": "t1"})
        client.http_post(path, post_data={"name": "t2"})
        if limited:
            with pytest.raises(gitlab.GitlabHttpError) as full:
                client.http_post(path, post_data={"name": "t3"})
            assert "only two active tokens" in str(full.value.error_message)
        else:
            client.http_post(path, post_data={"name": "t3"})
        client.http_delete(f"{path}/{first['id']}")
        client.http_delete(f"{path}/{first['id']}")  # again: 204 like the first time
        statuses = sorted(t["status"] for t in client.http_list(path, get_all=True))
        assert ("revoked" in statuses) is lists_revoked, version


def test_environment_dashboard_fields_before_17_5_are_dropped(started: object) -> None:
    for version, kept in (("17.2.0", False), ("17.5.0", True)):
        _, _, project = started(version)  # type: ignore[operator]
        agent = project.cluster_agents.create({"name": "a"})
        fields = {"cluster_agent_id": agent.id, "kubernetes_namespace": "ns"}
        created = project.environments.create({"name": "e", **fields})
        assert ("cluster_agent" in created.attributes) is kept, version
        updated = project.environments.update(created.id, fields)
        assert ("kubernetes_namespace" in updated) is kept, version


def test_agents_are_listed_by_name(started: object) -> None:
    _, _, project = started("18.2.0")  # type: ignore[operator]
    for name in ("zeta", "alpha", "mid"):
        project.cluster_agents.create({"name": name})
    assert [a.name for a in project.cluster_agents.list(get_all=True)] == ["alpha", "mid", "zeta"]


def test_oauth_tokens_only_as_bearer_and_expire(started: object) -> None:
    emulator, _, _ = started("18.2.0")  # type: ignore[operator]
    later = (datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    earlier = "2000-01-01T00:00:00.000Z"
    mint = f"{emulator.url}/-/sandbox/oauth_tokens"
    fresh = httpx.post(mint, json={"expires_at": later}).json()["access_token"]
    stale = httpx.post(mint, json={"expires_at": earlier}).json()["access_token"]
    assert gitlab.Gitlab(emulator.url, oauth_token=fresh).http_get("/user")["username"] == "root"
    with pytest.raises(gitlab.GitlabAuthenticationError):
        gitlab.Gitlab(emulator.url, private_token=fresh).http_get("/user")
    with pytest.raises(gitlab.GitlabAuthenticationError) as expired:
        gitlab.Gitlab(emulator.url, oauth_token=stale).http_get("/user")
    assert expired.value.error_message == "invalid_token"
    assert b"Token is expired" in (expired.value.response_body or b"")
    with pytest.raises(gitlab.GitlabHttpError) as not_a_pat:
        gitlab.Gitlab(emulator.url, oauth_token=fresh).http_get("/personal_access_tokens/self")
    assert not_a_pat.value.response_code == 400
