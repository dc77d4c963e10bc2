"""Issue 21 item 5: with --commit-via local, every check of the clone runs before the
first write, so "exit 2 = nothing written" holds (it used to register the agent,
create the environments, mint a token and store the Secret, then exit 2)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.bootstrap_helpers import agent_args
from tests.reliability.helpers import run_watched

pytestmark = pytest.mark.sandbox


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_outside_a_clone_exit_2_and_nothing_written(sandbox: Any, tmp_path: Path) -> None:
    watched = run_watched(sandbox, *agent_args("outsider", "--commit-via", "local"), cwd=tmp_path)
    assert watched.result.code == 2, watched.result.stderr
    assert "is not inside a git clone" in watched.result.stderr
    assert "Traceback" not in watched.result.stderr
    assert watched.writes == []


def test_a_clone_without_the_remote_exit_2_and_nothing_written(
    sandbox: Any, tmp_path: Path
) -> None:
    _git("init", "-q", cwd=tmp_path)
    watched = run_watched(sandbox, *agent_args("no-remote", "--commit-via", "local"), cwd=tmp_path)
    assert watched.result.code == 2, watched.result.stderr
    assert "has no remote named 'origin'" in watched.result.stderr
    assert watched.writes == []


def test_a_clone_of_another_project_exit_2_and_nothing_written(
    sandbox: Any, tmp_path: Path
) -> None:
    _git("init", "-q", cwd=tmp_path)
    _git("remote", "add", "origin", "https://gitlab.example.com/other/project.git", cwd=tmp_path)
    watched = run_watched(
        sandbox,
        *agent_args("elsewhere", "--commit-via", "local", "-R", sandbox.project),
        cwd=tmp_path,
    )
    assert watched.result.code == 2, watched.result.stderr
    assert f"tracks other/project, not {sandbox.project}" in watched.result.stderr
    assert watched.writes == []


def test_a_remote_that_cannot_be_fetched_exit_3_and_nothing_written(
    sandbox: Any, tmp_path: Path
) -> None:
    _git("init", "-q", cwd=tmp_path)
    # Same project path, but a remote that answers nothing (no credentials either).
    _git("remote", "add", "origin", f"http://127.0.0.1:9/{sandbox.project}.git", cwd=tmp_path)
    watched = run_watched(
        sandbox,
        *agent_args("unfetchable", "--commit-via", "local"),
        env={"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "HOME": str(tmp_path)},
        cwd=tmp_path,
    )
    assert watched.result.code == 3, watched.result.stderr
    assert "cannot fetch branch 'main'" in watched.result.stderr
    assert watched.writes == []


def test_a_remote_on_another_commit_exit_3_and_nothing_written(
    sandbox: Any, tmp_path: Path
) -> None:
    """A mirror of the same path whose branch is not GitLab's: the push would fail."""
    mirror = tmp_path / "mirror" / sandbox.project
    mirror.mkdir(parents=True)
    _git("init", "-q", "--bare", "-b", "main", cwd=mirror)
    work = tmp_path / "work"
    work.mkdir()
    _git("init", "-q", "-b", "main", cwd=work)
    environ = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "x"], cwd=work, env=environ,
                   check=True)  # fmt: skip
    _git("remote", "add", "origin", str(mirror), cwd=work)
    _git("push", "-q", "origin", "main", cwd=work)
    watched = run_watched(
        sandbox,
        *agent_args("mirrored", "--commit-via", "local", "-R", sandbox.project),
        cwd=work,
    )
    assert watched.result.code == 3, watched.result.stderr
    assert "GitLab has it at" in watched.result.stderr
    assert watched.writes == []
