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


def test_a_push_gitlab_refuses_says_why_not_that_the_branch_moved(
    sandbox: Any, tmp_path: Path
) -> None:
    """GitLab's pre-receive check refuses a push to a branch protected for No one: the
    line says GitLab's reason (not "the branch moved on", which a re-run cannot fix)."""
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
    project = gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token).projects.get(
        sandbox.project
    )
    project.branches.create({"branch": "frozen", "ref": "main"})
    project.protectedbranches.create({"name": "frozen", "push_access_level": 0})
    subprocess.run(
        ["git", "-C", str(clone), "fetch", "--quiet"], check=True, env={**os.environ, **git_env}
    )
    result = run_kasboot(
        sandbox,
        *agent_args(
            "frozen-local",
            "--commit-via",
            "local",
            "--no-reconcile",
            "--skip-preflight",
            "--manifest-branch",
            "frozen",
        ),
        env={**git_env, "KASBOOT_PROJECT": ""},
        cwd=clone,
    )
    assert result.code == 4, result.stderr
    assert (
        "GitLab refused the push to 'frozen': You are not allowed to push code to protected "
        "branches on this project"
    ) in result.stderr
    assert "moved on" not in result.stderr and "Traceback" not in result.stderr
