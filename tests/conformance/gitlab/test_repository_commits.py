"""Multi-action commits (all or nothing), commit reads, the tree and branches."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gitlab
import httpx
import pytest
from gitlab.v4.objects import Project

from .conftest import World


def commit(project: Project, actions: list[dict[str, Any]], **extra: Any) -> Any:
    return project.commits.create(
        {"branch": "main", "commit_message": "change", "actions": actions, **extra}
    )


def test_many_actions_make_one_commit(project: Project) -> None:
    head = project.branches.get("main").commit["id"]
    made = commit(
        project,
        [
            {"action": "create", "file_path": "a.yaml", "content": "a\n"},
            {
                "action": "create",
                "file_path": "dir/b.yaml",
                "content": "Yg==",
                "encoding": "base64",
            },
            {"action": "create", "file_path": "run.sh", "content": "#!/bin/sh\n"},
        ],
        author_name="Bot",
        author_email="bot@example.com",
    )
    assert made.parent_ids == [head]
    assert made.author_name == "Bot" and made.committer_name == "Administrator"
    assert made.stats["additions"] == 3
    assert made.short_id == made.id[:8]
    second = commit(
        project,
        [
            {"action": "update", "file_path": "a.yaml", "content": "a2\n"},
            {"action": "move", "file_path": "dir/c.yaml", "previous_path": "dir/b.yaml"},
            {"action": "delete", "file_path": "README.md"},
            {"action": "chmod", "file_path": "run.sh", "execute_filemode": True},
        ],
    )
    assert second.parent_ids == [made.id]
    assert project.files.raw("a.yaml", ref="main") == b"a2\n"
    assert project.files.raw("dir/c.yaml", ref="main") == b"b"
    assert project.files.get("run.sh", ref="main").execute_filemode is True
    paths = {e["path"] for e in project.repository_tree(recursive=True, get_all=True)}
    assert paths == {"a.yaml", "dir", "dir/c.yaml", "run.sh"}
    fetched = project.commits.get(second.id)
    assert fetched.title == "change" and fetched.parent_ids == [made.id]


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (
            [
                {"action": "create", "file_path": "new.txt", "content": "x"},
                {"action": "create", "file_path": "README.md", "content": "x"},
            ],
            "A file with this name already exists",
        ),
        (
            [
                {"action": "create", "file_path": "new.txt", "content": "x"},
                {"action": "update", "file_path": "missing.txt", "content": "x"},
            ],
            "A file with this name doesn't exist",
        ),
        (
            [{"action": "delete", "file_path": "missing.txt"}],
            "A file with this name doesn't exist",
        ),
        (
            [
                {
                    "action": "update",
                    "file_path": "README.md",
                    "content": "x",
                    "last_commit_id": "0" * 40,
                }
            ],
            "The file has changed since you started editing it: README.md",
        ),
    ],
)
def test_errors_leave_the_branch_untouched(
    project: Project, actions: list[dict[str, Any]], message: str
) -> None:
    head = project.branches.get("main").commit["id"]
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        commit(project, actions)
    assert caught.value.response_code == 400
    assert caught.value.error_message == message
    assert project.branches.get("main").commit["id"] == head


def test_invalid_action_is_a_parameter_error(project: Project) -> None:
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        commit(project, [{"action": "explode", "file_path": "x"}])
    assert caught.value.response_code == 400
    assert caught.value.error_message == "actions[0][action] does not have a valid value"


def test_start_branch_and_force(project: Project) -> None:
    made = commit(
        project,
        [{"action": "create", "file_path": "f.txt", "content": "f"}],
        branch="feature",
        start_branch="main",
    )
    assert project.branches.get("feature").commit["id"] == made.id
    with pytest.raises(gitlab.GitlabCreateError) as exists:
        commit(
            project,
            [{"action": "create", "file_path": "g.txt", "content": "g"}],
            branch="feature",
            start_branch="main",
        )
    assert exists.value.response_code == 400
    forced = commit(
        project,
        [{"action": "create", "file_path": "g.txt", "content": "g"}],
        branch="feature",
        start_branch="main",
        force=True,
    )
    assert forced.parent_ids == [project.branches.get("main").commit["id"]]
    with pytest.raises(gitlab.GitlabCreateError) as off_branch:
        commit(project, [{"action": "create", "file_path": "h", "content": "h"}], branch="nowhere")
    assert off_branch.value.error_message == (
        "You can only create or edit files when you are on a branch"
    )


def test_list_commits_by_ref_and_path_and_missing_commit(project: Project) -> None:
    commit(project, [{"action": "create", "file_path": "only.txt", "content": "1"}])
    commit(project, [{"action": "create", "file_path": "other.txt", "content": "2"}])
    assert len(project.commits.list(ref_name="main", get_all=True)) == 3
    # python-gitlab's own ``path`` keyword names the URL, so the filter goes this way
    touching = project.commits.list(
        ref_name="main", query_parameters={"path": "only.txt"}, get_all=True
    )
    assert len(touching) == 1
    with pytest.raises(gitlab.GitlabGetError) as caught:
        project.commits.get("f" * 40)
    assert caught.value.response_code == 404
    assert caught.value.error_message == "404 Commit Not Found"


def test_tree_listing_pagination_and_missing_path(world: World, project: Project) -> None:
    commit(
        project,
        [
            {"action": "create", "file_path": f"clusters/sandbox/f{i}.yaml", "content": f"{i}\n"}
            for i in range(5)
        ],
    )
    flat = project.repository_tree(get_all=True)
    assert [(e["name"], e["type"]) for e in flat] == [("clusters", "tree"), ("README.md", "blob")]
    sub = project.repository_tree(path="clusters/sandbox", ref="main", get_all=True)
    assert [e["path"] for e in sub] == [f"clusters/sandbox/f{i}.yaml" for i in range(5)]
    assert {e["mode"] for e in sub} == {"100644"}
    with pytest.raises(gitlab.GitlabGetError) as caught:
        project.repository_tree(path="nowhere", get_all=True)
    assert caught.value.response_code == 404
    assert caught.value.error_message == "404 Tree Not Found"

    url = f"{world.url}/api/v4/projects/{project.id}/repository/tree"
    headers = {"PRIVATE-TOKEN": world.owner_token}
    page = httpx.get(url, params={"recursive": "true", "per_page": 3, "page": 2}, headers=headers)
    assert page.headers["x-total"] == "8"
    assert page.headers["x-total-pages"] == "3"
    seen: list[str] = []
    params: dict[str, Any] | None = {"recursive": "true", "per_page": 3, "pagination": "keyset"}
    next_url: str | None = url
    while next_url:
        answer = httpx.get(next_url, params=params, headers=headers)
        params = None  # the next link carries every parameter
        seen += [e["path"] for e in answer.json()]
        link = answer.headers.get("link", "")
        next_url = link[1 : link.index(">")] if 'rel="next"' in link else None
    assert len(seen) == 8 and len(set(seen)) == 8
    assert seen == [e["path"] for e in project.repository_tree(recursive=True, get_all=True)]


def test_branches(project: Project) -> None:
    main = project.branches.get("main")
    assert main.default is True and main.protected is True
    assert len(main.commit["id"]) == 40
    created = project.branches.create({"branch": "topic/x", "ref": "main"})
    assert created.commit["id"] == main.commit["id"]
    assert project.branches.get("topic/x").name == "topic/x"
    assert sorted(b.name for b in project.branches.list(get_all=True)) == ["main", "topic/x"]
    with pytest.raises(gitlab.GitlabCreateError) as exists:
        project.branches.create({"branch": "topic/x", "ref": "main"})
    assert exists.value.error_message == "Branch already exists"
    with pytest.raises(gitlab.GitlabCreateError) as bad_ref:
        project.branches.create({"branch": "other", "ref": "nope"})
    assert bad_ref.value.error_message == "Invalid reference name: nope"
    with pytest.raises(gitlab.GitlabGetError) as missing:
        project.branches.get("absent")
    assert missing.value.error_message == "404 Branch Not Found"


def test_concurrent_api_commits_serialise(project: Project) -> None:
    def add(index: int) -> str:
        return str(
            commit(project, [{"action": "create", "file_path": f"c{index}.txt", "content": "c"}]).id
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        made = list(pool.map(add, range(6)))
    history = [c.id for c in project.commits.list(ref_name="main", get_all=True)]
    assert set(made) <= set(history) and len(history) == 7  # linear: none overwritten
