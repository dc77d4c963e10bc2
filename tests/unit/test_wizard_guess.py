"""The wizard's default GitLab host and project follow bootstrap's own order
(localrepo.resolve_project), so what the wizard proposes is what a flag-less run uses."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kasboot.wizard.discovery import guess_gitlab


def isolated(tmp_path: Path, **extra: str) -> dict[str, str]:
    # No glab or python-gitlab config of the machine's user may answer.
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), **extra}


def clone_of(tmp_path: Path, url: str) -> Path:
    work = tmp_path / "clone"
    work.mkdir()
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "remote", "add", "origin", url], check=True)
    return work


def test_gitlab_repo_url_names_host_and_project(tmp_path: Path) -> None:
    env = isolated(tmp_path, GITLAB_REPO="https://gitlab.example.com/team/infra", GITLAB_TOKEN="t")
    guess = guess_gitlab(tmp_path, env)
    assert guess.project == "team/infra"
    assert guess.url == "https://gitlab.example.com"


def test_kasboot_repo_wins_over_gitlab_repo_and_the_clone(tmp_path: Path) -> None:
    work = clone_of(tmp_path, "https://gitlab.example.com/from/clone.git")
    env = isolated(tmp_path, KASBOOT_REPO="mine/project", GITLAB_REPO="theirs/project")
    assert guess_gitlab(work, env).project == "mine/project"


def test_the_clone_names_project_and_host_when_nothing_else_does(tmp_path: Path) -> None:
    work = clone_of(tmp_path, "git@gitlab.example.com:from/clone.git")
    guess = guess_gitlab(work, isolated(tmp_path))
    assert guess.project == "from/clone"
    assert guess.url == "https://gitlab.example.com"


def test_gitlab_host_wins_over_the_clones_host(tmp_path: Path) -> None:
    work = clone_of(tmp_path, "https://gitlab.example.com/from/clone.git")
    guess = guess_gitlab(work, isolated(tmp_path, GITLAB_HOST="https://git.corp.example"))
    assert guess.project == "from/clone"
    assert guess.url == "https://git.corp.example"


def test_nothing_names_a_project(tmp_path: Path) -> None:
    guess = guess_gitlab(tmp_path, isolated(tmp_path))
    assert guess.project is None
    assert guess.url == "https://gitlab.com"
