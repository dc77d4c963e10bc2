"""--commit-via local: the commit is made in the user's clone and pushed with git, and
the project is detected from the clone's origin remote (no -R, no KASBOOT_PROJECT)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import gitlab
import pytest

from tests.integration.bootstrap_helpers import agent_args, run_kasboot

pytestmark = pytest.mark.sandbox


def test_commit_via_local_clone(sandbox: Any, tmp_path: Path) -> None:
    askpass = tmp_path / "askpass.sh"
    askpass.write_text(f"#!/bin/sh\necho '{sandbox.token}'\n")
    askpass.chmod(askpass.stat().st_mode | stat.S_IEXEC)
    git_env = {"GIT_ASKPASS": str(askpass), "GIT_TERMINAL_PROMPT": "0"}
    clone = tmp_path / "fleet"
    subprocess.run(
        ["git", "clone", "--quiet", f"{sandbox.gitlab_url}/{sandbox.project}.git", str(clone)],
        check=True,
        env={**os.environ, **git_env},
    )
    result = run_kasboot(
        sandbox,
        *agent_args("localer", "--commit-via", "local", "--no-reconcile"),
        env={**git_env, "KASBOOT_PROJECT": ""},
        cwd=clone,
    )
    assert result.code == 0, result.stderr
    project = gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token).projects.get(
        sandbox.project
    )
    head = project.commits.list(ref_name="main", per_page=1, get_all=False)[0]
    assert head.title == "Bootstrap GitLab agent localer"
    local_head = subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert local_head == head.id  # the clean checkout was fast-forwarded
    files = subprocess.run(
        ["git", "-C", str(clone), "show", "--name-only", "--format=", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert set(files) == {
        ".gitlab/agents/localer/config.yaml",
        "clusters/sandbox/localer/gitlab-helm-repository.yaml",
        "clusters/sandbox/localer/gitlab-agent-helm-release.yaml",
    }
