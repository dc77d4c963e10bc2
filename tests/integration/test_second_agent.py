"""A second agent in one cluster: the shared Flux environment is never re-pointed to it
silently — it stays on the agent it names unless --flux-environment-agent move — and the
run says what is shared."""

from __future__ import annotations

from typing import Any

import gitlab
import pytest

from tests.integration.bootstrap_helpers import agent_args, run_kasboot

pytestmark = pytest.mark.sandbox


SHARED = "seed-flux/flux-system"  # this test's own Flux environment in the shared sandbox


def args(name: str, *extra: str) -> list[str]:
    return agent_args(name, "--no-reconcile", "--flux-environment-name", SHARED, *extra)


def flux_environment_agent(sandbox: Any) -> str | None:
    project = gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token).projects.get(
        sandbox.project
    )
    environment: Any = next(e for e in project.environments.list(get_all=True) if e.name == SHARED)
    return (getattr(environment, "cluster_agent", None) or {}).get("name")


def test_the_shared_flux_environment_stays_unless_moved(sandbox: Any) -> None:
    first = run_kasboot(sandbox, *args("first"))
    assert first.code == 0, first.stderr
    assert flux_environment_agent(sandbox) == "first"

    planned = run_kasboot(sandbox, "plan", *args("second")[1:])
    assert planned.code == 0, planned.stderr
    assert "shared Flux: stays on agent first" in planned.stderr
    second = run_kasboot(sandbox, *args("second"))
    assert second.code == 0, second.stderr
    assert "shared Flux: stays on agent first" in second.stderr
    assert flux_environment_agent(sandbox) == "first"

    moved = run_kasboot(sandbox, *args("second", "--flux-environment-agent", "move"))
    assert moved.code == 0, moved.stderr
    assert "shared Flux: moved from agent first to second" in moved.stderr
    assert flux_environment_agent(sandbox) == "second"
    # The first agent's re-run keeps it where it now is, too.
    again = run_kasboot(sandbox, *args("first"))
    assert again.code == 0, again.stderr
    assert flux_environment_agent(sandbox) == "second"
