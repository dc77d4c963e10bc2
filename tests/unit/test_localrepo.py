"""The local clone: which project, and commit + push with real git repositories."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from kasboot.errors import GitLabError, UsageError
from kasboot.localrepo import (
    LocalClone,
    RemoteProject,
    detect_project,
    parse_remote_url,
    resolve_project,
)

IDENTITY = {"user.name": "Test", "user.email": "test@example.invalid"}


def _remote(host: str, path: str, scheme: str) -> RemoteProject:
    return RemoteProject(host, path, scheme)


PARSED = [
    ("https://gitlab.com/group/project.git", _remote("gitlab.com", "group/project", "https")),
    ("https://gitlab.com/group/sub/project", _remote("gitlab.com", "group/sub/project", "https")),
    ("https://gitlab.com/group/project/", _remote("gitlab.com", "group/project", "https")),
    ("https://user:glpat-x@GitLab.example.com:8443/g/p.git",
     _remote("gitlab.example.com:8443", "g/p", "https")),
    ("https://gitlab.example.com:443/g/p.git", _remote("gitlab.example.com", "g/p", "https")),
    ("http://127.0.0.1:8080/demo/fleet.git", _remote("127.0.0.1:8080", "demo/fleet", "http")),
    ("ssh://git@gitlab.example.com:2222/g/sub/p.git",
     _remote("gitlab.example.com", "g/sub/p", "ssh")),
    ("git@gitlab.com:group/sub/project.git", _remote("gitlab.com", "group/sub/project", "ssh")),
    ("gitlab.com:group/project", _remote("gitlab.com", "group/project", "ssh")),
    ("git+ssh://git@gitlab.com/g/p.git", _remote("gitlab.com", "g/p", "ssh")),
    ("/srv/git/g/p.git", _remote("", "srv/git/g/p", "file")),
    ("file:///srv/git/g/p.git", _remote("", "srv/git/g/p", "file")),
]  # fmt: skip


@pytest.mark.parametrize(("url", "remote"), PARSED)
def test_parse_remote_url(url: str, remote: RemoteProject) -> None:
    assert parse_remote_url(url) == remote


@pytest.mark.parametrize(
    "url", ["ftp://h/g/p", "https://gitlab.com/onlyone", "relative/path", "https://h/g/../p"]
)
def test_parse_remote_url_refuses(url: str) -> None:
    with pytest.raises(UsageError):
        parse_remote_url(url)


def test_base_url() -> None:
    assert parse_remote_url("git@h.example:g/p.git").base_url == "https://h.example"
    assert parse_remote_url("http://h:81/g/p").base_url == "http://h:81"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A bare 'remote' with one commit on main; returns (bare path, seed clone path)."""
    root = tmp_path_factory.mktemp("repos")
    bare = root / "group" / "project.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    seed = git.Repo.clone_from(str(bare), root / "seed")
    _identity(seed)
    (root / "seed" / "README.md").write_text("hello\n")
    seed.index.add(["README.md"])
    seed.index.commit("initial")
    seed.git.push("origin", "HEAD:refs/heads/main")
    return bare, root / "seed"


def _identity(repo: git.Repo) -> None:
    with repo.config_writer() as writer:
        for key, value in IDENTITY.items():
            section, option = key.split(".")
            writer.set_value(section, option, value)


def _clone(bare: Path, where: Path) -> git.Repo:
    repo = git.Repo.clone_from(str(bare), where, branch="main")
    _identity(repo)
    return repo


def test_detect_project(world: tuple[Path, Path], tmp_path: Path) -> None:
    bare, _ = world
    repo = _clone(bare, tmp_path / "c")
    repo.remote("origin").set_url("git@gitlab.example.com:group/sub/project.git")
    (tmp_path / "c" / "nested").mkdir()
    found = detect_project(tmp_path / "c" / "nested", {})
    assert found == RemoteProject("gitlab.example.com", "group/sub/project", "ssh")
    assert detect_project(tmp_path, {}) is None


def test_resolve_project_precedence(world: tuple[Path, Path], tmp_path: Path) -> None:
    bare, _ = world
    repo = _clone(bare, tmp_path / "c")
    repo.remote("origin").set_url("https://gitlab.example.com/clone/project.git")
    env = {"CI_PROJECT_PATH": "ci/project", "CI_SERVER_URL": "https://ci.example",
           "KASBOOT_PROJECT": "env/project"}  # fmt: skip
    clone = tmp_path / "c"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert resolve_project("flag/project", clone, env) == ("flag/project", None)
    assert resolve_project("https://h.example/g/p.git", clone, env) == ("g/p", "https://h.example")
    assert resolve_project("git@h.example:g/p.git", clone, env) == ("g/p", "https://h.example")
    assert resolve_project(None, clone, env) == (
        "clone/project",
        "https://gitlab.example.com",
    )
    assert resolve_project(None, outside, env) == ("ci/project", "https://ci.example")
    assert resolve_project(None, outside, {"KASBOOT_PROJECT": "env/project"}) == (
        "env/project",
        None,
    )
    # glab's GITLAB_REPO: after -R (and KASBOOT_REPO, its variable), before the clone
    assert resolve_project(None, clone, {**env, "GITLAB_REPO": "glab/project"}) == (
        "glab/project",
        None,
    )
    assert resolve_project("flag/project", clone, {"GITLAB_REPO": "glab/project"})[0] == (
        "flag/project"
    )
    # GITLAB_HOST beats a clone's or CI's host, never a URL given to -R / GITLAB_REPO
    hosted = {**env, "GITLAB_HOST": "https://host.example"}
    assert resolve_project(None, clone, hosted) == ("clone/project", None)
    assert resolve_project(None, outside, hosted) == ("ci/project", None)
    assert resolve_project("https://h.example/g/p", clone, hosted) == ("g/p", "https://h.example")
    with pytest.raises(UsageError, match="no GitLab project") as caught:
        resolve_project(None, outside, {})
    assert (
        caught.value.hint and "-R" in caught.value.hint and "KASBOOT_PROJECT" in caught.value.hint
    )


def test_commit_and_push(world: tuple[Path, Path], tmp_path: Path) -> None:
    bare, _ = world
    repo = _clone(bare, tmp_path / "c")
    (tmp_path / "c" / "scratch.txt").write_text("uncommitted user work\n")
    clone = LocalClone(tmp_path / "c", "group/project")
    files = {
        "clusters/a/release.yaml": "---\nkind: HelmRelease\n",
        ".gitlab/agents/a/config.yaml": "x: 1\n",
    }
    sha = clone.commit_and_push(
        files, message="Bootstrap agent a", branch="main",
        author_name="kasboot", author_email="noreply@kasboot.invalid",
    )  # fmt: skip
    assert sha is not None
    remote = git.Repo(bare)
    commit = remote.commit("main")
    assert commit.hexsha == sha
    assert (commit.author.name, commit.author.email) == ("kasboot", "noreply@kasboot.invalid")
    assert commit.message.strip() == "Bootstrap agent a"
    assert (
        commit.tree / "clusters/a/release.yaml"
    ).data_stream.read() == b"---\nkind: HelmRelease\n"
    assert (commit.tree / "README.md").data_stream.read() == b"hello\n"
    # the user's checkout came along, their untracked work untouched
    assert repo.head.commit.hexsha == sha
    assert (tmp_path / "c" / "clusters/a/release.yaml").read_text() == "---\nkind: HelmRelease\n"
    assert (tmp_path / "c" / "scratch.txt").read_text() == "uncommitted user work\n"
    # same content again: nothing to commit
    assert clone.commit_and_push(files, message="again", branch="main") is None
    assert clone.read_file("main", "clusters/a/release.yaml") == "---\nkind: HelmRelease\n"
    assert clone.read_file("main", "missing.yaml") is None
    # deleting a file
    sha2 = clone.commit_and_push({"clusters/a/release.yaml": None}, message="rm", branch="main")
    assert sha2 is not None
    assert "clusters/a/release.yaml" not in [b.path for b in remote.commit("main").tree.traverse()]


def test_push_fails_clearly_when_the_branch_moved_on(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    bare, _ = world
    _clone(bare, tmp_path / "mine")
    clone = LocalClone(tmp_path / "mine", "group/project")
    read_at = clone.fetch("main")
    other = _clone(bare, tmp_path / "theirs")
    (tmp_path / "theirs" / "other.txt").write_text("theirs\n")
    other.index.add(["other.txt"])
    other.index.commit("someone else")
    other.git.push("origin", "main")
    with pytest.raises(GitLabError, match="moved on") as caught:
        clone.commit_and_push({"a.yaml": "a: 1\n"}, message="m", branch="main", parent=read_at)
    assert caught.value.exit_code == 4
    assert git.Repo(bare).commit("main").hexsha == other.head.commit.hexsha


def test_push_rejected_by_the_remote_is_reported(world: tuple[Path, Path], tmp_path: Path) -> None:
    bare, _ = world
    _clone(bare, tmp_path / "c")
    clone = LocalClone(tmp_path / "c", "group/project")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    try:
        with pytest.raises(GitLabError, match=r"protected branch|rejected"):
            clone.commit_and_push({"b.yaml": "b: 1\n"}, message="m", branch="main")
    finally:
        hook.unlink()


def test_clone_of_another_project_is_refused(world: tuple[Path, Path], tmp_path: Path) -> None:
    bare, _ = world
    _clone(bare, tmp_path / "c")
    with pytest.raises(UsageError, match="group/project, not other/project"):
        LocalClone(tmp_path / "c", "other/project")
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(UsageError, match="not inside a git clone"):
        LocalClone(outside)
