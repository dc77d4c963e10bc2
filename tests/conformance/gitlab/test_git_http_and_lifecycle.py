"""Git smart HTTP (git and gitpython), restart survival and python-gitlab's 429 retry."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import git
import gitlab
import httpx
import pytest
from gitlab.v4.objects import Project

from kasboot.sandbox.gitlab import GitLabEmulator

from .conftest import World

GIT_ENV = {
    **os.environ,
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "Pusher",
    "GIT_AUTHOR_EMAIL": "pusher@example.com",
    "GIT_COMMITTER_NAME": "Pusher",
    "GIT_COMMITTER_EMAIL": "pusher@example.com",
}


def authed(url: str, token: str, user: str = "oauth2") -> str:
    return url.replace("http://", f"http://{user}:{token}@")


def run_git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False
    )


def test_clone_push_and_api_sees_it(world: World, project: Project, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    done = run_git("clone", authed(project.http_url_to_repo, world.owner_token), str(clone))
    assert done.returncode == 0, done.stderr
    assert (clone / "README.md").read_text() == "# fleet\n"
    (clone / "pushed.txt").write_text("over http\n")
    run_git("add", "pushed.txt", cwd=clone)
    run_git("commit", "-m", "Pushed over HTTP", cwd=clone)
    pushed = run_git("push", "origin", "main", cwd=clone)
    assert pushed.returncode == 0, pushed.stderr
    assert project.files.raw("pushed.txt", ref="main") == b"over http\n"
    assert project.commits.list(per_page=1, get_all=False)[0].title == "Pushed over HTTP"
    # an API commit is then fetched by git
    project.files.create(
        {"file_path": "api.txt", "branch": "main", "content": "api\n", "commit_message": "api"}
    )
    assert run_git("pull", "--ff-only", cwd=clone).returncode == 0
    assert (clone / "api.txt").read_text() == "api\n"


def test_gitpython_with_any_username(world: World, project: Project, tmp_path: Path) -> None:
    url = authed(project.http_url_to_repo, world.owner_token, user="whoever")
    repo = git.Repo.clone_from(url, tmp_path / "gp", env=GIT_ENV)
    (tmp_path / "gp" / "gp.txt").write_text("gitpython\n")
    repo.index.add(["gp.txt"])
    repo.index.commit("From gitpython")
    repo.remote("origin").push("main").raise_if_error()
    assert project.files.raw("gp.txt", ref="main") == b"gitpython\n"


def test_stale_push_is_rejected_after_api_commit(
    world: World, project: Project, tmp_path: Path
) -> None:
    clone = tmp_path / "stale"
    run_git("clone", authed(project.http_url_to_repo, world.owner_token), str(clone))
    project.files.create(
        {"file_path": "race.txt", "branch": "main", "content": "api\n", "commit_message": "api"}
    )
    (clone / "race.txt").write_text("push\n")
    run_git("add", ".", cwd=clone)
    run_git("commit", "-m", "late", cwd=clone)
    assert run_git("push", "origin", "main", cwd=clone).returncode != 0
    assert project.files.raw("race.txt", ref="main") == b"api\n"


def test_missing_or_wrong_credentials_get_basic_challenge(world: World, project: Project) -> None:
    info_refs = f"{project.http_url_to_repo}/info/refs"
    anonymous = httpx.get(info_refs, params={"service": "git-upload-pack"})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Basic realm="GitLab"'
    wrong = httpx.get(info_refs, params={"service": "git-upload-pack"}, auth=("x", "bad"))
    assert wrong.status_code == 401
    good = httpx.get(
        info_refs, params={"service": "git-upload-pack"}, auth=("x", world.owner_token)
    )
    assert good.status_code == 200
    assert good.headers["content-type"] == "application/x-git-upload-pack-advertisement"
    outsider = httpx.get(
        info_refs, params={"service": "git-upload-pack"}, auth=("x", world.outsider_token)
    )
    assert outsider.status_code == 404
    reporter_push = httpx.get(
        info_refs, params={"service": "git-receive-pack"}, auth=("x", world.reporter_token)
    )
    assert reporter_push.status_code == 403


def test_state_survives_restart(tmp_path: Path) -> None:
    first = GitLabEmulator(tmp_path).start()
    first.backend.ensure_user("root", "Administrator", "admin@example.com")
    token = first.backend.create_personal_access_token("root", "t", ["api"])
    first.backend.ensure_project("demo/fleet", owner="root")
    client = gitlab.Gitlab(first.url, private_token=token)
    project = client.projects.get("demo/fleet")
    agent = project.cluster_agents.create({"name": "persisted"})
    project.environments.create({"name": "production", "cluster_agent_id": agent.id})
    project.files.create(
        {"file_path": "kept.txt", "branch": "main", "content": "kept\n", "commit_message": "k"}
    )
    first.stop()

    second = GitLabEmulator(tmp_path).start()
    try:
        again = gitlab.Gitlab(second.url, private_token=token).projects.get("demo/fleet")
        assert [a.name for a in again.cluster_agents.list(get_all=True)] == ["persisted"]
        assert again.environments.list(name="production")[0].cluster_agent["id"] == agent.id
        assert again.files.raw("kept.txt", ref="main") == b"kept\n"
        assert again.http_url_to_repo == f"{second.url}/demo/fleet.git"
        # seeding again is a no-op
        assert second.backend.ensure_project("demo/fleet", owner="root")["id"] == project.id
        assert len(again.commits.list(get_all=True)) == 2
    finally:
        second.stop()


def test_python_gitlab_retries_injected_429(world: World, gl: gitlab.Gitlab) -> None:
    faults = f"{world.url}/-/sandbox/faults"
    rule = {"path": "^/api/v4/version$", "status": 429, "times": 2, "retry_after": 0}
    httpx.put(faults, json={"rules": [rule]})
    try:
        httpx.delete(f"{world.url}/-/sandbox/requests")
        client = world.client(retry_transient_errors=True)
        assert client.http_get("/version")["version"] == "18.2.0"
        statuses = [
            r["status"]
            for r in httpx.get(f"{world.url}/-/sandbox/requests").json()
            if r["path"] == "/api/v4/version"
        ]
        assert statuses == [429, 429, 200]
        httpx.put(faults, json={"rules": [{**rule, "times": 1, "status": 500}]})
        with pytest.raises(gitlab.GitlabHttpError) as caught:
            world.client(retry_transient_errors=False).http_get("/version")
        assert caught.value.response_code == 500
        assert caught.value.error_message == "500 Internal Server Error"
    finally:
        httpx.delete(faults)


def clone_as(project: Project, token: str, into: Path) -> Path:
    done = run_git("clone", authed(project.http_url_to_repo, token), str(into))
    assert done.returncode == 0, done.stderr
    return into


def commit_file(clone: Path, name: str) -> None:
    (clone / name).write_text(f"{name}\n")
    run_git("add", name, cwd=clone)
    run_git("commit", "-m", f"Add {name}", cwd=clone)


def test_a_push_to_a_protected_branch_needs_its_push_level(
    world: World, project: Project, tmp_path: Path
) -> None:
    """GitLab's pre-receive checks (change_access.rb): main is protected for Maintainers."""
    clone = clone_as(project, world.developer_token, tmp_path / "dev")
    commit_file(clone, "dev.txt")
    refused = run_git("push", "origin", "main", cwd=clone)
    assert refused.returncode != 0
    assert (
        "remote: GitLab: You are not allowed to push code to protected branches on this project."
        in refused.stderr
    )
    assert "(pre-receive hook declined)" in refused.stderr
    assert project.commits.list(per_page=1, get_all=False)[0].title != "Add dev.txt"
    # the same commit on an unprotected branch goes in
    pushed = run_git("push", "origin", "HEAD:topic", cwd=clone)
    assert pushed.returncode == 0, pushed.stderr
    # once Developers may push, it does
    project.protectedbranches.delete("main")
    project.protectedbranches.create({"name": "main", "push_access_level": 30})
    assert run_git("push", "origin", "main", cwd=clone).returncode == 0


def test_a_protected_branch_takes_no_force_push_and_no_deletion(
    world: World, project: Project, tmp_path: Path
) -> None:
    clone = clone_as(project, world.owner_token, tmp_path / "owner")
    commit_file(clone, "one.txt")
    assert run_git("push", "origin", "main", cwd=clone).returncode == 0
    run_git("reset", "--hard", "HEAD~1", cwd=clone)
    commit_file(clone, "other.txt")
    forced = run_git("push", "--force", "origin", "main", cwd=clone)
    assert (
        "GitLab: You are not allowed to force push code to a protected branch on this project."
        in forced.stderr
    )
    project.branches.create({"branch": "release/1", "ref": "main"})
    project.protectedbranches.create({"name": "release/*"})
    deleted = run_git("push", "origin", ":release/1", cwd=clone)
    assert "GitLab: You can only delete protected branches using the web interface." in (
        deleted.stderr
    )
    default = run_git("push", "origin", ":main", cwd=clone)
    assert "GitLab: The default branch of a project cannot be deleted." in default.stderr
    assert project.branches.get("release/1").name == "release/1"
