"""The real mode's own code (writes read from GitLab's record, the finalizer, the
contract probe) run end to end without a real GitLab: the journeys with KASBOOT_E2E_*
pointing at a sandbox, in a pytest of their own. Slow (it repeats every journey): runs
with `-m slow` or KASBOOT_SLOW_TESTS=1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.kinds import SandboxWorld

pytestmark = [pytest.mark.slow, pytest.mark.sandbox, pytest.mark.timeout(1200)]
HERE = Path(__file__).parent
PYTEST = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")


def test_the_real_mode_passes_against_a_sandbox_and_leaves_it_clean(tmp_path: Path) -> None:
    world = SandboxWorld(tmp_path / "world")
    try:
        env = {
            **os.environ,
            "KASBOOT_E2E_GITLAB_HOST": world.env["GITLAB_HOST"],
            "KASBOOT_E2E_GITLAB_TOKEN": world.env["GITLAB_TOKEN"],
            "KASBOOT_E2E_PROJECT": world.env["KASBOOT_PROJECT"],
            "KASBOOT_E2E_KUBECONFIG": world.env["KUBECONFIG"],
            "KASBOOT_E2E_FLUX_PATH": world.flux_path,
        }
        done = subprocess.run(
            [*PYTEST, "-k", "real", str(HERE / "test_journeys.py")],
            env=env,
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            timeout=1100,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-4000:]
        assert "skipped" not in done.stdout.splitlines()[-1], done.stdout[-2000:]
        # The finalizers left the project and the cluster as the sandbox made them.
        project = world.project
        assert [a.name for a in project.cluster_agents.list(get_all=True)] == []
        assert [b.name for b in project.branches.list(get_all=True)] == ["main"]
        assert [e.name for e in project.environments.list(get_all=True)] == []
        flux_files = ("gotk-components.yaml", "gotk-sync.yaml", "kustomization.yaml")
        assert world.files_under("", ref="main") == [
            "README.md",
            *(f"clusters/sandbox/flux-system/{name}" for name in flux_files),
        ]
    finally:
        world.cleanup()
