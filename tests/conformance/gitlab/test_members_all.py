"""``GET /projects/:id/members/all/:user_id`` as GitLab documents it (doc/api/members.md,
"Get a member of a group or project, including inherited and invited members"): the
user's highest role over the project and its ancestor groups; 404 when it has none."""

from __future__ import annotations

import gitlab
import pytest
from gitlab.v4.objects import Project

from .conftest import World


def _member(world: World, token: str, project: Project, username: str) -> dict[str, object]:
    client = world.client(token)
    user_id = world.emulator.backend.find_user(username)["id"]
    return dict(client.http_get(f"/projects/{project.id}/members/all/{user_id}"))  # type: ignore[arg-type]


def test_a_direct_member_has_its_role(world: World, project: Project) -> None:
    developer = _member(world, world.developer_token, project, "dev")
    assert developer["access_level"] == 30 and developer["username"] == "dev"
    assert _member(world, world.owner_token, project, "rep")["access_level"] == 20


def test_the_group_owner_counts_through_the_group(world: World, project: Project) -> None:
    # root created group<N> (its owner) and the project in it: no direct project membership
    assert _member(world, world.owner_token, project, "root")["access_level"] == 50


def test_a_user_without_membership_is_404(world: World, project: Project) -> None:
    with pytest.raises(gitlab.exceptions.GitlabHttpError) as caught:
        _member(world, world.owner_token, project, "out")
    assert caught.value.response_code == 404
