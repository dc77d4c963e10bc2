"""Receptive agents end to end: the URL configuration exists in GitLab, the committed
values are the guide's (receptive.enabled, api.jwtPublicKey from GitLab's answer, no
kasAddress), the chart's own Secret is not the token Secret, which survives a reconcile;
a GitLab without receptive agents is refused in one line before anything is written."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gitlab
import pytest
from ruamel.yaml import YAML

from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot, seeded
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up
from tests.integration.test_bootstrap import kubectl_json
from tests.integration.test_bootstrap_flags import ensure_namespace

pytestmark = pytest.mark.sandbox
URL = "grpcs://agent.example.com:8082"


def test_receptive_agent(sandbox: Any) -> None:
    name = "receptive"
    ensure_namespace(sandbox, name)  # the HelmRelease lives there (next to the token Secret)
    args = agent_args(
        name, "--receptive", "--receptive-url", URL, "--receptive-tls-host", "agent.example.com"
    )
    result = run_kasboot(sandbox, *args)
    assert result.code == 0, result.stderr
    # pre-flight's summary (plan prints the same) and the URL configuration step
    assert f"receptive: GitLab connects to {URL}" in result.stderr
    assert "Configuring the receptive agent's URL … CHANGED" in result.stderr

    gl = gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token)
    project = gl.projects.get(sandbox.project)
    agent = next(a for a in project.cluster_agents.list(get_all=True) if a.name == name)
    assert agent.is_receptive is True
    path = f"/projects/{project.id}/cluster_agents/{agent.id}/url_configurations"
    configurations: Any = gl.http_get(path)
    assert [(c["url"], c["tls_host"]) for c in configurations] == [(URL, "agent.example.com")]

    release_file = f"clusters/sandbox/{name}/gitlab-agent-helm-release.yaml"
    spec = YAML(typ="safe").load(project.files.get(release_file, ref="main").decode())["spec"]
    config = spec["values"]["config"]
    assert "kasAddress" not in config
    assert config["receptive"] == {"enabled": True}
    assert config["api"] == {"jwtPublicKey": configurations[0]["public_key"]}
    assert config["secretName"] == "gitlab-agent-token-receptive"
    assert {"kind": "Secret", "name": "gitlab-agent-token", "valuesKey": "token",
            "targetPath": "config.token"} in spec["valuesFrom"]  # fmt: skip

    # The chart's own Secret holds the token (through valuesFrom) and the public key;
    # kasboot's token Secret is not Helm's, and a reconcile leaves it as it was.
    token_secret = kubectl_json(sandbox, "get", "secret", "-n", name, "gitlab-agent-token")
    chart_secret = kubectl_json(
        sandbox, "get", "secret", "-n", name, "gitlab-agent-token-receptive"
    )
    assert chart_secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert chart_secret["data"]["token"] == token_secret["data"]["token"]
    assert (
        base64.b64decode(chart_secret["data"]["api.jwt.public.key"]).decode()
        == (configurations[0]["public_key"])
    )
    rendered = run_kasboot(
        sandbox,
        "render",
        name,
        "-R",
        sandbox.project,
        *args[2:-2],  # without --timeout
    )
    assert rendered.code == 0, rendered.stderr
    assert f"jwtPublicKey: {configurations[0]['public_key']}" in rendered.stdout
    sandbox.clear_logs()
    again = run_kasboot(sandbox, *args)
    assert again.code == 0, again.stderr
    assert "Configuring the receptive agent's URL … UNCHANGED" in again.stderr
    assert not [w for w in kasboot_writes(sandbox.gitlab_requests()) if "url_config" in w[1]]
    after = kubectl_json(sandbox, "get", "secret", "-n", name, "gitlab-agent-token")
    assert after["data"]["token"] == token_secret["data"]["token"]
    assert after["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kasboot"
    hr = kubectl_json(sandbox, "get", "helmrelease", "-n", name, name)  # next to the token
    assert next(c for c in hr["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"


@pytest.fixture(scope="module")
def gitlab_17_3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("gitlab-17-3")
    world = sandbox_up(Path(directory), "--gitlab-version", "17.3.0")
    try:
        yield world
    finally:
        sandbox_down(Path(directory))


@pytest.mark.slow
def test_a_gitlab_before_17_4_is_refused(gitlab_17_3: Sandbox) -> None:
    ensure_namespace(gitlab_17_3, "old")
    gitlab_17_3.clear_logs()
    result = run_kasboot(gitlab_17_3, *agent_args("old", "--receptive", "--receptive-url", URL))
    assert result.code == 3, result.stderr
    assert "GitLab 17.3.0 has no receptive agents (they came in GitLab 17.4)" in result.stderr
    assert kasboot_writes(gitlab_17_3.gitlab_requests()) == []


def test_an_instance_without_receptive_agents_is_one_clear_line(tmp_path: Path) -> None:
    """GitLab 17.4+ answers 404 on every url_configurations route without the Ultimate
    licence or with the instance setting off: kasboot says what is missing."""
    from kasboot.errors import GitLabError
    from kasboot.gitlab_api import GitLabAPI
    from kasboot.gitlab_api.receptive import create_url_configuration, url_configurations
    from kasboot.sandbox.gitlab import GitLabEmulator

    emulator = GitLabEmulator(tmp_path).start()
    try:
        backend = emulator.backend
        token = seeded(emulator, "group/fleet")
        api = GitLabAPI(emulator.url, token)
        agent = api.register_agent("group/fleet", "a")
        backend.receptive_agents_enabled = False
        for call in (
            lambda: url_configurations(api, "group/fleet", int(agent["id"]), "18.2.0"),
            lambda: create_url_configuration(
                api, "group/fleet", int(agent["id"]), url=URL, ca_cert=None, tls_host=None,
                gitlab_version="18.2.0",
            ),
        ):  # fmt: skip
            with pytest.raises(GitLabError) as caught:
                call()
            assert caught.value.message == (
                "this GitLab instance does not offer receptive agents (url_configurations: 404)"
            )
            assert "Ultimate" in str(caught.value.hint)
        backend.receptive_agents_enabled = True
        created = create_url_configuration(
            api, "group/fleet", int(agent["id"]), url=URL, ca_cert=None, tls_host=None,
            gitlab_version="18.2.0",
        )  # fmt: skip
        assert url_configurations(api, "group/fleet", int(agent["id"]), "18.2.0") == [created]
    finally:
        emulator.stop()
