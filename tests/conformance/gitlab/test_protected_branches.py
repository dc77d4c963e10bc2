"""Protected branches as GitLab has them: the default branch protected for Maintainers,
push/merge access levels, can_push per caller, and the commit API's 403."""

from __future__ import annotations

import gitlab
import pytest
from gitlab.v4.objects import Project

from tests.conformance.gitlab.conftest import World

ACTION = {"action": "create", "file_path": "x.txt", "content": "x"}


def commit(client: gitlab.Gitlab, project: Project, branch: str) -> None:
    client.projects.get(project.id, lazy=True).commits.create(
        {"branch": branch, "commit_message": "x", "actions": [ACTION]}
    )


def test_default_branch_is_protected_for_maintainers(world: World, project: Project) -> None:
    listed = project.protectedbranches.list(get_all=True)
    assert [p.name for p in listed] == ["main"]
    assert listed[0].push_access_levels[0]["access_level"] == 40
    assert listed[0].merge_access_levels[0]["access_level"] == 40
    developer = world.client(world.developer_token)
    branch = developer.projects.get(project.id).branches.get("main")
    assert (branch.protected, branch.can_push, branch.developers_can_push) == (True, False, False)
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as refused:
        commit(developer, project, "main")
    assert refused.value.response_code == 403
    assert (
        refused.value.error_message
        == "403 Forbidden - You are not allowed to push into this branch"
    )
    assert project.branches.get("main").can_push is True  # the owner


def test_no_one_may_push_and_wildcards_match(world: World, project: Project) -> None:
    project.branches.create({"branch": "release/1", "ref": "main"})
    created = project.protectedbranches.create({"name": "release/*", "push_access_level": 0})
    assert created.push_access_levels[0]["access_level_description"] == "No one"
    assert project.branches.get("release/1").can_push is False
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as refused:
        commit(world.client(), project, "release/1")
    assert refused.value.response_code == 403
    with pytest.raises(gitlab.exceptions.GitlabCreateError) as duplicate:
        project.protectedbranches.create({"name": "release/*"})
    assert duplicate.value.response_code == 409
    project.protectedbranches.delete("release/*")
    assert project.branches.get("release/1").can_push is True
    commit(world.client(), project, "release/1")


def test_developers_may_push_when_allowed(world: World, project: Project) -> None:
    project.protectedbranches.delete("main")
    project.protectedbranches.create({"name": "main", "push_access_level": 30})
    developer = world.client(world.developer_token)
    branch = developer.projects.get(project.id).branches.get("main")
    assert (branch.can_push, branch.developers_can_push) == (True, True)
    commit(developer, project, "main")
    with pytest.raises(gitlab.exceptions.GitlabListError) as forbidden:
        developer.projects.get(project.id).protectedbranches.list()
    assert forbidden.value.response_code == 403
