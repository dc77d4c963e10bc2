"""`GET /projects/:id/repository/merge_base` as GitLab's API::Repositories answers it,
through python-gitlab's ``repository_merge_base`` (which sends ``refs[]=…`` pairs)."""

from __future__ import annotations

from typing import Any

import gitlab
import pytest
from gitlab.v4.objects import Project

from .conftest import World


def commit(project: Project, branch: str, name: str, **extra: Any) -> str:
    made = project.commits.create(
        {
            "branch": branch,
            "commit_message": name,
            "actions": [{"action": "create", "file_path": f"{name}.txt", "content": name}],
            **extra,
        }
    )
    return str(made.id)


def test_the_merge_base_of_a_commit_and_its_descendant_is_the_commit(project: Project) -> None:
    first = commit(project, "main", "first")
    second = commit(project, "main", "second")
    answer = project.repository_merge_base([first, second])
    assert isinstance(answer, dict)
    assert answer["id"] == first and answer["short_id"] == first[:8]
    assert answer["title"] == "first" and "parent_ids" in answer
    # order does not matter; a branch name is a ref too
    assert project.repository_merge_base([second, first])["id"] == first  # type: ignore[index]
    assert project.repository_merge_base(["main", first])["id"] == first  # type: ignore[index]


def test_diverged_refs_answer_their_fork_point(project: Project) -> None:
    base = commit(project, "main", "base")
    project.branches.create({"branch": "side", "ref": base})
    commit(project, "main", "on-main")
    commit(project, "side", "on-side")
    assert project.repository_merge_base(["main", "side"])["id"] == base  # type: ignore[index]


def test_the_refusals(world: World, project: Project) -> None:
    head = project.branches.get("main").commit["id"]
    with pytest.raises(gitlab.GitlabGetError, match="Provide at least 2 refs") as one:
        project.repository_merge_base([head])
    assert one.value.response_code == 400
    with pytest.raises(gitlab.GitlabGetError) as unknown:
        project.repository_merge_base([head, "nope", "f" * 40])
    assert unknown.value.response_code == 400
    assert unknown.value.error_message == f"Could not find refs: nope, {'f' * 40}"
    # a Reporter may ask; a non-member does not see the project
    project.commits.create(
        {
            "branch": "other",
            "start_branch": "main",
            "commit_message": "x",
            "actions": [{"action": "create", "file_path": "x", "content": "x"}],
        }
    )
    reporter = world.client(world.reporter_token).projects.get(project.id, lazy=True)
    assert reporter.repository_merge_base([head, "other"])["id"] == head  # type: ignore[index]
    outsider = world.client(world.outsider_token).projects.get(project.id, lazy=True)
    with pytest.raises(gitlab.GitlabGetError) as hidden:
        outsider.repository_merge_base([head, "other"])
    assert hidden.value.response_code == 404


def test_no_shared_history_is_404_merge_base_not_found(world: World, project: Project) -> None:
    head = project.branches.get("main").commit["id"]
    backend = world.emulator.backend
    repo = backend.repo(backend.project_by_id(project.id))  # an unrelated root commit
    tree = repo.git("mktree", input_bytes=b"").decode().strip()
    orphan = repo.git("commit-tree", tree, "-m", "orphan", env=IDENTITY).decode().strip()
    repo.git("update-ref", "refs/heads/lonely", orphan)
    with pytest.raises(gitlab.GitlabGetError) as none:
        project.repository_merge_base([head, "lonely"])
    assert none.value.response_code == 404
    assert none.value.error_message == "404 Merge Base Not Found"


IDENTITY = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}
