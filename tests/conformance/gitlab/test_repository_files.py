"""Repository files: read (JSON, HEAD headers, raw), create/update/delete and their errors."""

from __future__ import annotations

import base64
import hashlib

import gitlab
import httpx
import pytest
from gitlab.v4.objects import Project

from .conftest import World

PATH = "clusters/sandbox/gitlab-agent/config.yaml"


def create(project: Project, path: str = PATH, content: str = "a: 1\n") -> None:
    project.files.create(
        {"file_path": path, "branch": "main", "content": content, "commit_message": f"add {path}"}
    )


def test_get_file_fields_and_content(project: Project) -> None:
    readme = project.files.get("README.md", ref="main")
    assert readme.decode() == b"# fleet\n"
    assert readme.encoding == "base64"
    assert readme.file_name == "README.md"
    assert readme.size == len(b"# fleet\n")
    assert readme.content_sha256 == hashlib.sha256(b"# fleet\n").hexdigest()
    assert readme.ref == "main"
    head = project.branches.get("main").commit["id"]
    assert readme.commit_id == head and readme.last_commit_id == head
    assert len(readme.blob_id) == 40


def test_head_sends_metadata_headers(world: World, project: Project) -> None:
    create(project)
    encoded = PATH.replace("/", "%2F")
    answer = httpx.head(
        f"{world.url}/api/v4/projects/{project.id}/repository/files/{encoded}",
        params={"ref": "main"},
        headers={"PRIVATE-TOKEN": world.owner_token},
    )
    assert answer.status_code == 200
    assert answer.content == b""
    assert answer.headers["X-Gitlab-File-Path"] == PATH
    assert answer.headers["X-Gitlab-File-Name"] == "config.yaml"
    assert answer.headers["X-Gitlab-Size"] == "5"
    assert answer.headers["X-Gitlab-Encoding"] == "base64"
    assert answer.headers["X-Gitlab-Ref"] == "main"
    assert answer.headers["X-Gitlab-Content-Sha256"] == hashlib.sha256(b"a: 1\n").hexdigest()
    for header in ("X-Gitlab-Blob-Id", "X-Gitlab-Commit-Id", "X-Gitlab-Last-Commit-Id"):
        assert len(answer.headers[header]) == 40
    via_client = project.files.head(PATH, ref="main")
    assert via_client["X-Gitlab-File-Path"] == PATH
    missing = httpx.head(
        f"{world.url}/api/v4/projects/{project.id}/repository/files/nope.yaml",
        params={"ref": "main"},
        headers={"PRIVATE-TOKEN": world.owner_token},
    )
    assert missing.status_code == 404


def test_raw(project: Project) -> None:
    create(project, content="raw: true\n")
    assert project.files.raw(PATH, ref="main") == b"raw: true\n"
    assert project.files.raw("README.md") == b"# fleet\n"  # ref defaults to the default branch


def test_missing_file_and_ref(project: Project) -> None:
    with pytest.raises(gitlab.GitlabGetError) as caught:
        project.files.get("nope.yaml", ref="main")
    assert caught.value.response_code == 404
    assert caught.value.error_message == "404 File Not Found"
    with pytest.raises(gitlab.GitlabGetError) as no_ref:
        project.files.get("README.md", ref="no-such-branch")
    assert no_ref.value.response_code == 404
    assert no_ref.value.error_message == "404 Commit Not Found"


def test_each_write_is_one_commit(project: Project) -> None:
    before = len(project.commits.list(get_all=True))
    create(project)
    changed = project.files.get(PATH, ref="main")
    changed.content = "a: 2\n"
    changed.save(branch="main", commit_message="update")
    assert project.files.raw(PATH, ref="main") == b"a: 2\n"
    project.files.update(
        PATH,
        {
            "branch": "main",
            "content": base64.b64encode(b"\x00binary").decode(),
            "encoding": "base64",
            "commit_message": "binary",
            "author_name": "Someone Else",
            "author_email": "else@example.com",
        },
    )
    assert project.files.raw(PATH, ref="main") == b"\x00binary"
    latest = project.commits.list(ref_name="main", per_page=1, get_all=False)[0]
    assert (latest.title, latest.author_name, latest.committer_name) == (
        "binary",
        "Someone Else",
        "Administrator",
    )
    project.files.delete(PATH, branch="main", commit_message="remove")
    assert len(project.commits.list(get_all=True)) == before + 4
    with pytest.raises(gitlab.GitlabGetError):
        project.files.get(PATH, ref="main")


def test_create_existing_update_missing_delete_missing(project: Project) -> None:
    create(project)
    with pytest.raises(gitlab.GitlabCreateError) as exists:
        create(project)
    assert exists.value.response_code == 400
    assert exists.value.error_message == "A file with this name already exists"
    with pytest.raises(gitlab.GitlabUpdateError) as missing:
        project.files.update("nope.yaml", {"branch": "main", "content": "x", "commit_message": "m"})
    assert missing.value.response_code == 400
    assert missing.value.error_message == "A file with this name doesn't exist"
    with pytest.raises(gitlab.GitlabDeleteError) as delete_missing:
        project.files.delete("nope.yaml", branch="main", commit_message="m")
    assert delete_missing.value.response_code == 400


def test_stale_last_commit_id_is_refused(project: Project) -> None:
    create(project)
    seen = project.files.get(PATH, ref="main").last_commit_id
    project.files.update(PATH, {"branch": "main", "content": "b: 1\n", "commit_message": "x"})
    with pytest.raises(gitlab.GitlabUpdateError) as caught:
        project.files.update(
            PATH,
            {"branch": "main", "content": "c: 1\n", "commit_message": "y", "last_commit_id": seen},
        )
    assert caught.value.response_code == 400
    assert caught.value.error_message == (
        "You are attempting to update a file that has changed since you started editing it."
    )
    current = project.files.get(PATH, ref="main").last_commit_id
    project.files.update(
        PATH,
        {"branch": "main", "content": "c: 1\n", "commit_message": "y", "last_commit_id": current},
    )


def test_protected_default_branch_needs_maintainer(world: World, project: Project) -> None:
    developer = world.client(world.developer_token).projects.get(project.id, lazy=True)
    with pytest.raises(gitlab.GitlabCreateError) as caught:
        developer.files.create(
            {"file_path": "x.txt", "branch": "main", "content": "x", "commit_message": "m"}
        )
    assert caught.value.response_code == 403
    assert (
        caught.value.error_message == "403 Forbidden - You are not allowed to push into this branch"
    )
    developer.files.create(
        {
            "file_path": "x.txt",
            "branch": "feature",
            "start_branch": "main",
            "content": "x",
            "commit_message": "m",
        }
    )
    assert developer.files.raw("x.txt", ref="feature") == b"x"
