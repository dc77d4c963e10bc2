"""Bootstraps against sandboxes that behave as older GitLab releases: each ends cleanly
with an honest summary, and a re-run writes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gitlab
import pytest

from kasboot.sandbox.gitlab import GitLabEmulator
from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot
from tests.integration.conftest import sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize("version", ["16.11.0", "17.2.0"])
def test_bootstrap_on_an_older_gitlab_is_clean_and_idempotent(tmp_path: Path, version: str) -> None:
    external = "https://gitlab.internal.invalid"  # as seen through a port-forward
    world = sandbox_up(tmp_path / "world", "--gitlab-version", version, "--external-url", external)
    try:
        gl = gitlab.Gitlab(world.gitlab_url, private_token=world.token)
        assert gl.http_get("/metadata")["version"] == version
        listed = gl.http_request(
            "get", f"/projects/{world.project.replace('/', '%2F')}/cluster_agents"
        )
        assert listed.headers["link"].startswith(f"<{external}/api/v4/projects/")
        first = run_kasboot(world, *agent_args("old"), "--output", "json")
        assert first.code == 0, first.stderr
        steps = {step["name"]: step for step in first.json()["steps"]}
        for name in ("environment", "flux-environment"):
            assert "dashboard link SKIPPED" in steps[name]["summary"]
            assert version in steps[name]["summary"]
        project = gl.projects.get(world.project)
        environment = project.environments.list(name="flux-system/old", get_all=True)[0]
        assert "cluster_agent" not in environment.attributes

        world.clear_logs()
        again = run_kasboot(world, *agent_args("old"), "--output", "json")
        assert again.code == 0, again.stderr
        assert kasboot_writes(world.gitlab_requests()) == []
        results = {step["name"]: step["result"] for step in again.json()["steps"]}
        assert results["environment"] == results["flux-environment"] == "UNCHANGED"
        assert results["token"] == "UNCHANGED"
    finally:
        sandbox_down(tmp_path / "world")


def test_a_gitlab_without_metadata_is_refused_before_any_write(tmp_path: Path) -> None:
    emulator = GitLabEmulator(tmp_path / "gitlab", gitlab_version="15.1.0").start()
    try:
        backend = emulator.backend
        backend.ensure_user("root", "Administrator", "admin@example.com")
        token = backend.create_personal_access_token("root", "owner", ["api"])
        backend.ensure_project("demo/fleet", owner="root")
        kubeconfig = tmp_path / "kubeconfig"  # a cluster nobody serves: never reached
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
            "users: [{name: u, user: {token: t}}]\n"
            "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
        )
        completed = subprocess.run(
            [sys.executable, "-m", "kasboot", "bootstrap", "old", "-R", "demo/fleet"],
            capture_output=True,
            text=True,
            env={
                "PATH": "/usr/bin:/bin",
                "HOME": str(tmp_path),
                "GITLAB_HOST": emulator.url,
                "GITLAB_TOKEN": token,
                "KUBECONFIG": str(kubeconfig),
            },
            cwd=tmp_path,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert completed.returncode == 3, completed.stderr
        assert "older than 15.2" in completed.stderr
        assert "Traceback" not in completed.stderr
        writes = [r for r in emulator.request_log.records() if r.method != "GET"]
        assert writes == []
    finally:
        emulator.stop()
