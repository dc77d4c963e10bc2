"""--kas-ca-cert against the sandbox's KAS behind a private CA (KASBOOT_SANDBOX_KAS_TLS):
the CA lands in config.kasCaCert, the HelmRelease is Ready, and the simulated agentk
reaches KAS (GitLab records the token's use) only with it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gitlab
import pytest
from ruamel.yaml import YAML

from kasboot.sandbox.kas_tls import CA_FILE, KAS_TLS_VARIABLE
from tests.integration.bootstrap_helpers import agent_args, run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up
from tests.integration.test_bootstrap import kubectl_json
from tests.integration.test_chart_runtime import eventually

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def tls_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = Path(tmp_path_factory.mktemp("kas-tls"))
    os.environ[KAS_TLS_VARIABLE] = "1"  # read by the detached world it starts
    try:
        world = sandbox_up(directory)
    finally:
        del os.environ[KAS_TLS_VARIABLE]
    try:
        yield world
    finally:
        sandbox_down(directory)


def token_used(world: Sandbox, agent: str) -> bool:
    gl = gitlab.Gitlab(world.gitlab_url, private_token=world.token)
    project = gl.projects.get(world.project)
    found = next(a for a in project.cluster_agents.list(get_all=True) if a.name == agent)
    path = f"/projects/{project.id}/cluster_agents/{found.id}/tokens"
    tokens: Any = gl.http_list(path, get_all=True)
    # the list leaves last_used_at out; one token's answer has it
    return any(gl.http_get(f"{path}/{t['id']}").get("last_used_at") for t in tokens)  # type: ignore[union-attr]


@pytest.mark.slow  # its own sandbox
def test_kas_behind_a_private_ca(tls_world: Sandbox) -> None:
    # Without the CA first: helm-controller (one worker) connects an agent right after its
    # release is Ready, so once the second agent has connected, the first has tried.
    untrusting = run_kasboot(tls_world, *agent_args("untrusting"))
    assert untrusting.code == 0, untrusting.stderr  # Helm does not know; agentk does
    ca = tls_world.dir / CA_FILE
    planned = run_kasboot(tls_world, "plan", *agent_args("trusting", "--kas-ca-cert", str(ca))[1:])
    assert planned.code == 0, planned.stderr
    assert "kasCaCert: |" in planned.stdout + planned.stderr  # the HelmRelease diff
    trusted = run_kasboot(tls_world, *agent_args("trusting", "--kas-ca-cert", str(ca)))
    assert trusted.code == 0, trusted.stderr
    project = gitlab.Gitlab(tls_world.gitlab_url, private_token=tls_world.token).projects.get(
        tls_world.project
    )
    release = YAML(typ="safe").load(
        project.files.get(
            "clusters/sandbox/trusting/gitlab-agent-helm-release.yaml", ref="main"
        ).decode()
    )
    config = release["spec"]["values"]["config"]
    assert config["kasAddress"].startswith("wss://127.0.0.1:")
    assert config["kasCaCert"] == ca.read_text()
    hr = kubectl_json(tls_world, "get", "helmrelease", "-n", "flux-system", "trusting")
    assert next(c for c in hr["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"
    eventually(lambda: token_used(tls_world, "trusting"), "agentk reaching KAS with the CA")
    assert not token_used(tls_world, "untrusting")
    # doctor reads why from agentk's log, and names the option that fixes it
    doctor = run_kasboot(tls_world, "doctor", *agent_args("untrusting", "--output", "json")[1:])
    assert doctor.code == 6, doctor.stdout + doctor.stderr
    check = next(c for c in doctor.json()["checks"] if c["id"] == "agent-connected")
    assert "[kas-x509-unknown-authority]" in check["summary"], check
    assert "--kas-ca-cert" in check["fix"]
