"""Projects: lookup by id and encoded path, fields, creation and its validation."""

from __future__ import annotations

import gitlab
import pytest
from gitlab.v4.objects import Project

from .conftest import World


def test_get_by_id_and_path_has_gitlab_fields(
    world: World, gl: gitlab.Gitlab, project: Project
) -> None:
    by_path = gl.projects.get(project.path_with_namespace)
    assert by_path.id == project.id
    assert by_path.name == "fleet" and by_path.path == "fleet"
    assert by_path.name_with_namespace == f"{by_path.namespace['name']} / fleet"
    assert by_path.default_branch == "main"
    assert by_path.http_url_to_repo == f"{world.url}/{project.path_with_namespace}.git"
    assert by_path.ssh_url_to_repo.endswith(f":{project.path_with_namespace}.git")
    assert by_path.web_url == f"{world.url}/{project.path_with_namespace}"
    assert by_path.visibility == "private"
    assert by_path.namespace["kind"] == "group"
    assert by_path.namespace["full_path"] == project.path_with_namespace.split("/")[0]
    assert by_path.permissions["project_access"]["access_level"] == 50
    assert by_path.created_at.endswith("Z")


def test_create_in_personal_namespace_and_in_group(gl: gitlab.Gitlab, project: Project) -> None:
    mine = gl.projects.create({"name": "Personal Thing", "initialize_with_readme": True})
    assert mine.path_with_namespace == "root/personal-thing"
    assert mine.default_branch == "main"
    assert mine.files.raw("README.md", ref="main").startswith(b"# Personal Thing")
    empty = gl.projects.create(
        {"name": "grouped", "path": "grouped", "namespace_id": project.namespace["id"]}
    )
    assert empty.namespace["id"] == project.namespace["id"]
    assert empty.empty_repo is True and empty.default_branch is None
    first = empty.commits.create(
        {
            "branch": "main",
            "commit_message": "first",
            "actions": [{"action": "create", "file_path": "a.txt", "content": "a"}],
        }
    )
    assert first.parent_ids == []
    assert gl.projects.get(empty.id).default_branch == "main"


def test_create_taken_path_and_foreign_namespace(
    world: World, gl: gitlab.Gitlab, project: Project
) -> None:
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        gl.projects.create({"name": "fleet", "namespace_id": project.namespace["id"]})
    assert caught.value.response_code == 400
    assert caught.value.error_message == {
        "name": ["has already been taken"],
        "path": ["has already been taken"],
    }
    outsider = world.client(world.outsider_token)
    with pytest.raises(gitlab.GitlabCreateError) as refused:
        outsider.projects.create({"name": "intruder", "namespace_id": project.namespace["id"]})
    assert refused.value.response_code == 403
