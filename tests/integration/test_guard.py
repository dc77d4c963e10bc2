"""The root-path trap end to end: Flux at the repository root with no kustomization
file. kasboot refuses before writing (exit 3); with --fix it writes what makes Flux
pass; with --skip-preflight Flux really fails and kasboot names config.yaml (exit 6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gitlab
import pytest
from ruamel.yaml import YAML

from tests.integration.bootstrap_helpers import kasboot_writes, run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def root_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("root-sandbox")
    world = sandbox_up(directory, "--flux-path", "./")
    try:
        yield world
    finally:
        sandbox_down(directory)


def bootstrap(sandbox: Any, name: str, *extra: str) -> Any:
    return run_kasboot(
        sandbox,
        "bootstrap",
        name,
        "--manifest-path",
        f"agents/{name}",
        "--helm-release-name",
        name,
        "--helm-release-target-namespace",
        name,
        "--helm-repository-name",
        f"gitlab-{name}",
        "--timeout",
        "120s",
        *extra,
    )


def test_root_path_trap_is_refused_before_any_write(root_sandbox: Sandbox) -> None:
    root_sandbox.clear_logs()
    result = bootstrap(root_sandbox, "trapped")
    assert result.code == 3, result.stderr
    assert ".gitlab/agents/trapped/config.yaml" in result.stderr
    assert "missing Resource metadata" in result.stderr
    assert "--fix add-kustomization" in result.stderr
    assert "--fix sourceignore" in result.stderr
    assert kasboot_writes(root_sandbox.gitlab_requests()) == []
    assert kasboot_writes(root_sandbox.kube_requests()) == []


def test_skip_preflight_lets_flux_fail_and_names_config_yaml(root_sandbox: Sandbox) -> None:
    result = bootstrap(root_sandbox, "skipper", "--skip-preflight")
    assert result.code == 6, result.stderr
    assert "SKIPPED" in result.stderr
    assert ".gitlab/agents/skipper/config.yaml" in result.stderr


def test_fix_sourceignore_then_flux_is_ready(root_sandbox: Sandbox) -> None:
    # The tree still holds the previous test's config.yaml: the fix covers it too.
    result = bootstrap(root_sandbox, "ignorer", "--fix", "sourceignore")
    assert result.code == 0, result.stderr
    project = gitlab.Gitlab(root_sandbox.gitlab_url, private_token=root_sandbox.token).projects.get(
        root_sandbox.project
    )
    ignore = project.files.get(".sourceignore", ref="main").decode().decode()
    assert "/.gitlab/" in ignore


def test_fix_add_kustomization_then_flux_is_ready(tmp_path: Path) -> None:
    world = sandbox_up(tmp_path / "world", "--flux-path", "./")
    try:
        result = bootstrap(world, "listed", "--fix", "add-kustomization")
        assert result.code == 0, result.stderr
        project = gitlab.Gitlab(world.gitlab_url, private_token=world.token).projects.get(
            world.project
        )
        listing = project.files.get("kustomization.yaml", ref="main").decode().decode()
        resources = YAML(typ="safe").load(listing)["resources"]
        assert any("flux-system" in entry for entry in resources)
        assert any("agents" in entry for entry in resources)
        assert not any(".gitlab" in entry for entry in resources)
    finally:
        sandbox_down(tmp_path / "world")
