"""Pure logic behind the fewer GitLab requests: blob ids, the archive, which directories
the guard reads, and when it must read the full way."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from kasboot.gitlab_api.base import loggable_url
from kasboot.gitlab_api.repository import files_of_archive
from kasboot.gitlab_api.survey import git_blob_id, local_id
from kasboot.steps.gitlab_survey import filter_files_along
from kasboot.steps.guard_files import filter_paths_above, needs_full_view, outermost


def test_blob_id_is_git_hash_object(tmp_path: Path) -> None:
    for text in (b"", b"apiVersion: v1\n", "ünïcode: ✓\n".encode()):
        path = tmp_path / "f"
        path.write_bytes(text)
        expected = subprocess.run(
            ["git", "hash-object", str(path)], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert git_blob_id(text) == expected


def test_global_ids() -> None:
    assert local_id("gid://gitlab/Clusters::Agent/17") == 17
    assert local_id("gid://gitlab/Environment/3") == 3


def test_archive_files_strip_the_prefix_and_keep_regular_files() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in (("fleet-main-c/c/a.yaml", b"a: 1\n"), ("fleet-main-c/c/d/b.yml", b"")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("fleet-main-c/c/link.yaml")
        link.type = tarfile.SYMTYPE
        link.linkname = "a.yaml"
        archive.addfile(link)
        folder = tarfile.TarInfo("fleet-main-c/c")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
    assert files_of_archive(buffer.getvalue()) == {"c/a.yaml": b"a: 1\n", "c/d/b.yml": b""}


def test_the_guard_reads_the_outermost_directories_and_the_filters_above() -> None:
    assert outermost(["clusters/a", "clusters/a/apps", "clusters/b"]) == [
        "clusters/a",
        "clusters/b",
    ]
    assert outermost(["", "clusters/a"]) == [""]
    assert filter_paths_above(["clusters/a"]) == [
        "clusters/.sourceignore",
        "clusters/.gitattributes",
        ".sourceignore",
        ".gitattributes",
    ]
    assert filter_paths_above([""]) == []
    along = filter_files_along([".gitlab/agents/x/config.yaml", "clusters/a/x/hr.yaml"])
    assert ".sourceignore" in along and "clusters/a/x/.sourceignore" in along
    assert ".gitlab/agents/x/.gitattributes" in along


def test_a_build_that_may_leave_its_directory_is_read_the_full_way() -> None:
    inside = {"c/kustomization.yaml": b"resources:\n- apps\n", "c/apps/x.yaml": b"a: 1\n"}
    assert not needs_full_view(inside, [])
    outside = {"c/kustomization.yaml": b"resources:\n- ../base\n"}
    assert needs_full_view(outside, [])
    assert needs_full_view({".gitattributes": b"*.yaml export-ignore\n"}, [])
    assert not needs_full_view({".gitattributes": b"*.png binary\n"}, [])


def test_graphql_requests_are_logged_by_operation() -> None:
    url = "http://h/api/graphql?query=query+kasbootSurvey%28%24p%3A+ID%21%29&variables=%7B%7D"
    assert loggable_url(url) == "http://h/api/graphql (kasbootSurvey)"
    assert loggable_url("http://h/api/v4/user") == "http://h/api/v4/user"
