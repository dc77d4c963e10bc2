"""`kasboot sandbox up --receptive-agents offered|unlicensed|disabled`: the GitLab
emulator's switches for an instance without receptive agents (a tier without them, or
the instance setting off), applied on every start like KAS."""

from __future__ import annotations

from pathlib import Path

import gitlab
import pytest

from kasboot.sandbox.gitlab import GitLabEmulator
from kasboot.sandbox.gitlab.url_configurations import set_receptive_agents
from kasboot.sandbox.world import options_from, parse_args
from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot
from tests.integration.conftest import sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox
URL = "grpcs://agent.example.com:8082"


def test_the_modes_set_the_emulators_switches(tmp_path: Path) -> None:
    assert options_from(parse_args(["serve"])).receptive_agents == "offered"
    emulator = GitLabEmulator(tmp_path).start()
    try:
        backend = emulator.backend
        backend.ensure_user("root", "Administrator", "admin@example.com")
        token = backend.create_personal_access_token("root", "t", ["api"])
        row = backend.ensure_project("group/fleet", owner="root")
        gl = gitlab.Gitlab(emulator.url, private_token=token)
        agent = gl.projects.get(row["id"]).cluster_agents.create({"name": "a"})
        path = f"/projects/{row['id']}/cluster_agents/{agent.id}/url_configurations"
        for mode in ("unlicensed", "disabled"):
            set_receptive_agents(backend, mode)
            with pytest.raises(gitlab.GitlabHttpError) as caught:
                gl.http_get(path)
            assert caught.value.response_code == 404
        set_receptive_agents(backend, "offered")
        assert gl.http_get(path) == []
        with pytest.raises(ValueError):
            set_receptive_agents(backend, "maybe")
    finally:
        emulator.stop()


@pytest.mark.slow  # its own sandbox, started twice
def test_a_sandbox_without_receptive_agents(tmp_path: Path) -> None:
    directory = tmp_path / "world"
    world = sandbox_up(directory, "--receptive-agents", "unlicensed")
    try:
        args = agent_args("nope", "--receptive", "--receptive-url", URL)
        first = run_kasboot(world, *args)
        assert first.code == 4, first.stderr  # the agent is new: GitLab refuses at creation
        assert "this GitLab instance does not offer receptive agents" in first.stderr
        # ... and the agent registered a moment before is gone again
        assert "registered a moment ago was deleted again, nothing is left" in first.stderr
        gl = gitlab.Gitlab(world.gitlab_url, private_token=world.token)
        agents = gl.projects.get(world.project).cluster_agents.list(get_all=True)
        assert "nope" not in [agent.name for agent in agents]
        gl.projects.get(world.project).cluster_agents.create({"name": "nope"})
        world.clear_logs()
        again = run_kasboot(world, *args)  # an existing agent: pre-flight asks GitLab
        assert again.code == 3, again.stderr
        assert "does not offer receptive agents" in again.stderr
        assert kasboot_writes(world.gitlab_requests()) == []
        running = run_kasboot(world, "sandbox", "up", "--dir", str(directory))
        assert running.code == 0  # same options: fine
        switched = run_kasboot(
            world, "sandbox", "up", "--dir", str(directory), "--receptive-agents", "offered"
        )
        assert switched.code == 2 and "cannot apply to the sandbox running" in switched.stderr
    finally:
        sandbox_down(directory)
    world = sandbox_up(directory, "--receptive-agents", "offered")
    try:
        done = run_kasboot(world, *agent_args("nope", "--receptive", "--receptive-url", URL))
        assert done.code == 0, done.stderr
    finally:
        sandbox_down(directory)
