"""The one commit against a branch that moved on meanwhile (GitLab's commits API, the
emulator's checks): files identical to what this run would write count as its commit;
different ones are a refusal naming the race, with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gitlab
import pytest

from kasboot.errors import GitLabError
from kasboot.gitlab_api import GitLabAPI
from kasboot.gitlab_api.model import CommitAction
from kasboot.sandbox.gitlab import GitLabEmulator
from tests.integration.bootstrap_helpers import seeded

PROJECT = "group/fleet"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[GitLabAPI, gitlab.Gitlab]]:
    emulator = GitLabEmulator(tmp_path).start()
    try:
        token = seeded(emulator, PROJECT)
        yield GitLabAPI(emulator.url, token), gitlab.Gitlab(emulator.url, private_token=token)
    finally:
        emulator.stop()


def push(gl: gitlab.Gitlab, content: str) -> str:
    made = gl.projects.get(PROJECT).commits.create(
        {
            "branch": "main",
            "commit_message": "meanwhile",
            "actions": [{"action": "create", "file_path": "a.yaml", "content": content}],
        }
    )
    return str(made.id)


def commit(api: GitLabAPI, head: str | None) -> str:
    return api.commit(
        PROJECT,
        branch="main",
        message="kasboot",
        actions=[CommitAction("create", "a.yaml", "x: 2\n")],
        author_name=None,
        author_email=None,
        expected_head=head,
    )


def test_the_same_files_committed_meanwhile_are_this_runs_commit(world: tuple) -> None:
    api, gl = world
    head = api.branch_head(PROJECT, "main")
    theirs = push(gl, "x: 2\n")
    assert commit(api, head) == theirs


def test_other_files_committed_meanwhile_are_a_refusal_naming_the_race(world: tuple) -> None:
    api, gl = world
    head = api.branch_head(PROJECT, "main")
    theirs = push(gl, "x: 1\n")
    with pytest.raises(GitLabError) as caught:
        commit(api, head)
    assert f"the branch main moved on while this run prepared its commit (now at {theirs[:12]}" in (
        caught.value.message
    )
    assert "another run" in caught.value.message and "A file with this name already exists" in (
        caught.value.message
    )
    assert api.branch_head(PROJECT, "main") == theirs  # nothing of it was written
