"""A new user's first runs, through the real entry point (issue 19, items 1, 4-7, 14):
the sandbox without its extra, a token without the api scope, doctor on a freshly
bootstrapped sandbox, where the project and host come from, raw errors in words, and
sandbox options that cannot apply to an existing --dir."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .bootstrap_helpers import CliResult, kasboot_writes
from .conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox
README_BOOTSTRAP = ["bootstrap", "my-agent", "--manifest-path", "clusters/sandbox/gitlab-agent"]
BLOCK_STARLETTE = '''\
import sys


class _Blocked:
    """As if `pip install kasboot` had left the sandbox extra out."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("starlette", "uvicorn"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Blocked())
'''


def kasboot(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    drop: tuple[str, ...] = (),
    timeout: float = 120,
) -> CliResult:
    """The CLI as a subprocess with exactly `env` over os.environ (minus `drop`)."""
    environ = {**os.environ, **env}
    for name in (*drop, "CI_JOB_TOKEN"):
        environ.pop(name, None)
    completed = subprocess.run(
        [sys.executable, "-m", "kasboot", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def slow_only(request: pytest.FixtureRequest) -> None:
    """Long variants run when asked for (`-m slow`, KASBOOT_SLOW_TESTS=1), as in
    tests/reliability."""
    if "slow" not in (request.config.option.markexpr or "") and not os.environ.get(
        "KASBOOT_SLOW_TESTS"
    ):
        pytest.skip("slow: run with -m slow or KASBOOT_SLOW_TESTS=1")


def error_lines(result: CliResult) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox bootstrapped once with the README's command, as a new user would."""
    directory = tmp_path_factory.mktemp("fresh")
    world = sandbox_up(directory)
    try:
        result = kasboot(*README_BOOTSTRAP, env=world.env, cwd=directory)
        assert result.code == 0, result.stderr
        yield world
    finally:
        sandbox_down(directory)


# item 1 -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["sandbox", "up", "--detach"], ["demo"]])
def test_sandbox_without_its_extra_is_one_line_exit_2(tmp_path: Path, command: list[str]) -> None:
    blocker = tmp_path / "site"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_STARLETTE)
    args = [*command, "--dir", str(tmp_path / "world")]
    result = kasboot(*args, env={"PYTHONPATH": str(blocker)}, cwd=tmp_path)
    assert result.code == 2, result.stderr
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert "pip install 'kasboot[sandbox]'" in lines[0]
    assert "starlette" in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "world" / "world.json").exists()  # nothing was started


# item 4 -------------------------------------------------------------------------------


def test_read_api_token_is_refused_in_preflight_exit_3(fresh: Sandbox) -> None:
    minted = kasboot(
        "sandbox", "token", "--dir", str(fresh.dir), "--scopes", "read_api",
        env=fresh.env, cwd=fresh.dir,
    )  # fmt: skip
    assert minted.code == 0, minted.stderr
    assert minted.stdout.startswith("export GITLAB_TOKEN=")
    token = minted.stdout.strip().split("=", 1)[1]
    fresh.clear_logs()
    args = ["--helm-release-name", "ro", "--helm-release-target-namespace", "ro"]
    result = kasboot(
        "bootstrap", "ro", "--manifest-path", "clusters/sandbox/ro", "--helm-repository-name",
        "gitlab-ro", *args, env={**fresh.env, "GITLAB_TOKEN": token}, cwd=fresh.dir,
    )  # fmt: skip
    assert result.code == 3, result.stderr
    assert "scopes are read_api" in result.stderr and "'api' scope" in result.stderr
    assert "Registering" not in result.stderr and "Traceback" not in result.stderr
    assert kasboot_writes(fresh.gitlab_requests()) == []
    assert kasboot_writes(fresh.kube_requests()) == []


@pytest.fixture
def developer_gitlab(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A GitLab (in-process emulator) where `dev` is a Developer of demo/fleet, with an
    unprotected branch a Developer may push to: (url, dev's api token)."""
    from kasboot.sandbox.gitlab import GitLabEmulator

    emulator = GitLabEmulator(tmp_path / "gitlab").start()
    try:
        backend = emulator.backend
        backend.ensure_user("root", "Administrator", "admin@example.com")
        project = backend.ensure_project("demo/fleet", owner="root")
        backend.ensure_user("dev", "Dee Veloper", "dev@example.com")
        backend.add_member(project, "dev", 30)
        repo = backend.repo(project)
        repo.create_branch("work", str(repo.resolve("main")))
        yield emulator.url, backend.create_personal_access_token("dev", "dev", ["api"])
    finally:
        emulator.stop()


def test_a_developer_is_refused_in_preflight_exit_3(
    fresh: Sandbox, developer_gitlab: tuple[str, str], tmp_path: Path
) -> None:
    url, token = developer_gitlab
    env = {**fresh.env, "GITLAB_HOST": url, "GITLAB_TOKEN": token}
    args = [*plan_args("dev")[1:], "--manifest-branch", "work", "-R", "demo/fleet"]
    result = kasboot("bootstrap", *args, env=env, cwd=tmp_path)
    assert result.code == 3, result.stderr
    line = error_lines(result)[-1]
    assert "dev is Developer on demo/fleet" in line and "Maintainer" in line
    assert "Registering" not in result.stderr


def test_sandbox_token_refuses_an_unknown_scope(fresh: Sandbox) -> None:
    result = kasboot(
        "sandbox", "token", "--dir", str(fresh.dir), "--scopes", "root_powers",
        env=fresh.env, cwd=fresh.dir,
    )  # fmt: skip
    assert result.code == 2 and "read_api" in result.stderr


# item 5 -------------------------------------------------------------------------------


def test_doctor_without_agent_on_a_fresh_bootstrap_exits_0(fresh: Sandbox) -> None:
    result = kasboot("doctor", env=fresh.env, cwd=fresh.dir)
    assert result.code == 0, result.stdout + result.stderr
    topology = next(line for line in result.stdout.splitlines() if "Flux topology" in line)
    assert "clusters/sandbox/gitlab-agent/" in topology and "flux-system/flux-system" in topology


def test_doctor_fix_for_an_unapplied_path_names_a_concrete_one(fresh: Sandbox) -> None:
    result = kasboot("doctor", "--manifest-path", "elsewhere", env=fresh.env, cwd=fresh.dir)
    assert result.code == 3, result.stdout + result.stderr
    assert "e.g. --manifest-path clusters/sandbox/gitlab-agent" in result.stdout


# item 6 -------------------------------------------------------------------------------


def test_status_takes_the_agent_from_kasboot_agent(fresh: Sandbox) -> None:
    status = kasboot("status", env={**fresh.env, "KASBOOT_AGENT": "my-agent"}, cwd=fresh.dir)
    assert status.code == 0, status.stdout + status.stderr
    assert "my-agent" in status.stdout


@pytest.mark.slow
def test_doctor_takes_the_agent_from_kasboot_agent(fresh: Sandbox, slow_only: None) -> None:
    env = {**fresh.env, "KASBOOT_AGENT": "my-agent"}
    doctor = kasboot("doctor", "-o", "json", env=env, cwd=fresh.dir)
    assert doctor.code == 0, doctor.stdout + doctor.stderr
    assert doctor.json()["agent"]["name"] == "my-agent"  # the envelope's agent object


def plan_args(name: str) -> list[str]:
    return [
        "plan", name, "--manifest-path", f"clusters/sandbox/{name}", "--helm-release-name",
        name, "--helm-release-target-namespace", name, "--helm-repository-name", f"gitlab-{name}",
    ]  # fmt: skip


def test_repo_url_names_its_host_over_gitlab_host(fresh: Sandbox, tmp_path: Path) -> None:
    env = {**fresh.env, "GITLAB_HOST": "http://127.0.0.1:1"}  # refused: never asked
    url = f"{fresh.gitlab_url}/{fresh.project}"
    result = kasboot(*plan_args("url"), "-R", url, env=env, cwd=tmp_path)
    assert result.code == 0, result.stderr


def test_project_sources_follow_one_precedence(fresh: Sandbox, tmp_path: Path) -> None:
    # KASBOOT_REPO (-R's variable) > GITLAB_REPO (glab's) > KASBOOT_PROJECT (sandbox.env)
    env = {**fresh.env, "KASBOOT_PROJECT": "nobody/two"}
    first = kasboot(
        *plan_args("prec"), env={**env, "KASBOOT_REPO": fresh.project, "GITLAB_REPO": "no/one"},
        cwd=tmp_path,
    )  # fmt: skip
    assert first.code == 0, first.stderr


@pytest.mark.slow
def test_gitlab_repo_beats_kasboot_project(fresh: Sandbox, tmp_path: Path, slow_only: None) -> None:
    env = {**fresh.env, "KASBOOT_PROJECT": "nobody/two", "GITLAB_REPO": fresh.project}
    second = kasboot(*plan_args("prec"), env=env, cwd=tmp_path)
    assert second.code == 0, second.stderr


# item 7 -------------------------------------------------------------------------------


def test_a_404_project_names_the_project_and_the_token_user(fresh: Sandbox) -> None:
    result = kasboot(*plan_args("gone"), "-R", "nobody/nothing", env=fresh.env, cwd=fresh.dir)
    assert result.code == 4, result.stderr
    line = error_lines(result)[-1]
    assert "nobody/nothing" in line and "'root'" in line and fresh.gitlab_url in line


def test_no_git_binary_is_not_needed_with_repo_and_one_line_without(
    fresh: Sandbox, tmp_path: Path
) -> None:
    bare = tmp_path / "bin"  # a PATH without git (the interpreter is called by path)
    bare.mkdir()
    env = {**fresh.env, "PATH": str(bare)}
    with_repo = kasboot(*plan_args("nogit"), "-R", fresh.project, env=env, cwd=tmp_path)
    assert with_repo.code == 0, with_repo.stderr
    without = kasboot(*plan_args("nogit"), env=env, cwd=tmp_path, drop=("KASBOOT_PROJECT",))
    assert without.code == 2, without.stderr
    assert len(error_lines(without)) == 1 and "git is not on PATH" in without.stderr
    local = kasboot(*plan_args("nogit"), "--commit-via", "local", env=env, cwd=tmp_path)
    assert local.code == 2, local.stderr
    assert "git is not installed or not on PATH" in error_lines(local)[-1]
    assert "Traceback" not in local.stderr + without.stderr


@pytest.mark.slow
def test_kube_context_and_kubeconfig_in_words(
    fresh: Sandbox, tmp_path: Path, slow_only: None
) -> None:
    missing = kasboot(*plan_args("ctx"), "--context", "prod", env=fresh.env, cwd=tmp_path)
    assert missing.code == 2, missing.stderr
    assert 'context "prod" does not exist' in missing.stderr and "sandbox" in missing.stderr
    no_file = kasboot(
        *plan_args("ctx"), env={**fresh.env, "KUBECONFIG": str(tmp_path / "none")}, cwd=tmp_path
    )
    assert no_file.code == 2 and "does not exist" in no_file.stderr
    unreachable = tmp_path / "kubeconfig"
    text = fresh.kubeconfig.read_text()
    unreachable.write_text(text.replace(fresh.kube_url, "http://127.0.0.1:1"))
    down = kasboot(
        *plan_args("ctx"), env={**fresh.env, "KUBECONFIG": str(unreachable)}, cwd=tmp_path
    )
    assert down.code == 5, down.stderr
    assert "connection refused" in down.stderr and "MaxRetryError" not in down.stderr


# item 14 ------------------------------------------------------------------------------


def test_sandbox_options_that_cannot_apply_to_an_existing_dir_are_refused(fresh: Sandbox) -> None:
    up = ["sandbox", "up", "--dir", str(fresh.dir), "--detach"]
    for flags, words in (
        (["--flux-path", "./"], "seeded with --flux-path ./clusters/sandbox"),
        (["--project", "other/fleet"], "seeded with --project demo/fleet"),
        (["--no-flux"], "seeded with Flux installed"),
        (["--no-kas"], "running"),
    ):
        result = kasboot(*up, *flags, env=fresh.env, cwd=fresh.dir)
        assert result.code == 2, (flags, result.stderr)
        assert words in result.stderr and len(error_lines(result)) == 1
    same = kasboot(
        *up,
        "--project",
        "demo/fleet",
        "--flux-path",
        "clusters/sandbox/",
        env=fresh.env,
        cwd=fresh.dir,
    )
    assert same.code == 0, same.stderr


@pytest.mark.slow
def test_a_stopped_world_refuses_seed_options_and_applies_kas(
    tmp_path: Path, slow_only: None
) -> None:
    directory = tmp_path / "world"
    world = sandbox_up(directory)
    sandbox_down(directory)
    refused = kasboot(
        "sandbox", "up", "--dir", str(directory), "--detach", "--flux-path", "./",
        env=world.env, cwd=tmp_path,
    )  # fmt: skip
    assert refused.code == 2 and "seeded with" in refused.stderr
    again = kasboot(
        "sandbox", "up", "--dir", str(directory), "--detach", "--no-kas",
        env=world.env, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert again.code == 0, again.stderr
        result = kasboot(*plan_args("nokas"), env=world.env, cwd=tmp_path)
        assert result.code == 3 and "KAS" in result.stderr, result.stderr
    finally:
        sandbox_down(directory)


@pytest.mark.slow
def test_demo_shows_the_down_step_and_removes_its_temporary_dir(
    tmp_path: Path, slow_only: None
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    result = kasboot("demo", env={"TMPDIR": str(temporary)}, cwd=tmp_path, timeout=600)
    assert result.code == 0, result.stderr
    assert "$ kasboot sandbox down --dir" in result.stderr
    assert list(temporary.iterdir()) == []
