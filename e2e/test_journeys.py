"""The journeys a user makes, written once: against the sandbox by default, against a real
GitLab + cluster + Flux when KASBOOT_E2E_* are set (e2e/README.md). The tests of one
world run in order and build on each other (bootstrap, re-run, rotate, uninstall, again,
delete); each registers the finalizer for what it may leave before it writes.

Real-world variables (the first four are required):
    KASBOOT_E2E_GITLAB_HOST      e.g. https://gitlab.com
    KASBOOT_E2E_GITLAB_TOKEN     a PAT with scope api, Maintainer on the project
    KASBOOT_E2E_PROJECT          group/project that Flux syncs
    KASBOOT_E2E_KUBECONFIG       kubeconfig of a cluster with Flux bootstrapped from it
    KASBOOT_E2E_FLUX_PATH        the path Flux syncs (default clusters/kasboot-e2e)
    KASBOOT_E2E_AGENT            a fixed agent name (default: e2e-<random>, new each run)
"""

from __future__ import annotations

import json
import time

import pytest
from tests.contract.fields import contract_report, differences, probe

from e2e.world import REPORTS, World
from kasboot.doctor.context import parse_gitlab_time

# A real bootstrap waits for Flux (--timeout 5m) and rotate for the agent to reconnect.
pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(900)]
CLOCK_SKEW = 120.0  # seconds a real GitLab's clock may be behind ours


def test_fresh_bootstrap(world: World) -> None:
    world.on_cleanup(lambda: world.purge(world.agent))
    manifest_path = world.agent_flags()[1]
    doctor = world.kasboot("doctor", "--manifest-path", manifest_path)
    assert doctor.code == 0, doctor.explain()
    plan = world.kasboot("plan", world.agent, *world.agent_flags(), "-o", "json")
    assert plan.code == 0, plan.explain()
    assert world.find_agent() is None  # a plan writes nothing

    run = world.kasboot("bootstrap", world.agent, *world.agent_flags(), "-o", "json")
    assert run.code == 0, run.explain()
    results = run.steps()
    assert results["agent"] == "CHANGED" and results["commit"] == "CHANGED"
    agent = world.find_agent()
    assert agent is not None
    held = world.held_token_id()
    assert held in world.active_token_ids(int(agent["id"]))
    assert f"{manifest_path}/gitlab-agent-helm-release.yaml" in world.files_under(manifest_path)
    status = world.kasboot("status", world.agent, "-o", "json")
    assert status.code == 0, status.explain()
    assert status.json()["healthy"] is True


def test_unchanged_rerun_writes_nothing(world: World) -> None:
    mark = world.mark()
    run = world.kasboot("bootstrap", world.agent, *world.agent_flags(), "-o", "json")
    assert run.code == 0, run.explain()
    results = run.steps()
    assert results.pop("preflight") == "OK"
    assert set(results.values()) <= {"UNCHANGED", "SKIPPED"}, results
    # No new commit, no new token, nothing in the cluster replaced.
    assert world.writes_since(mark) == []
    assert world.audit() == mark.audit


def test_token_rotate_keeps_the_agent_connected(world: World) -> None:
    agent = world.find_agent()
    assert agent is not None
    agent_id = int(agent["id"])
    before = world.held_token_id()
    started = time.time()
    run = world.kasboot("token", "rotate", world.agent, *world.agent_flags(), "-o", "json")
    assert run.code == 0, run.explain()
    new = world.held_token_id()
    assert new is not None and new != before
    assert before in world.active_token_ids(agent_id)  # kept until the new one is used
    # The agent reconnected with the new token: GitLab saw it used after the rotation
    # began (a real GitLab's clock may differ from ours by a little).
    used = parse_gitlab_time(world.token(agent_id, new)["last_used_at"])
    assert used is not None, "the agent never used the new token"
    assert used.timestamp() >= started - CLOCK_SKEW, (used, started)
    assert run.json()["token_id"] == new


def test_uninstall_then_bootstrap_again(world: World) -> None:
    manifest_path = world.agent_flags()[1]
    run = world.kasboot("uninstall", world.agent, "--yes", "-o", "json")
    assert run.code == 0, run.explain()
    assert world.find_agent() is not None  # kept: --delete-agent was not given
    assert world.secret() is None
    assert world.files_under(manifest_path) == []

    again = world.kasboot("bootstrap", world.agent, *world.agent_flags(), "-o", "json")
    assert again.code == 0, again.explain()
    assert again.steps()["commit"] == "CHANGED"
    agent = world.find_agent()
    assert agent is not None
    assert world.held_token_id() in world.active_token_ids(int(agent["id"]))


def test_uninstall_delete_agent_leaves_no_trace(world: World) -> None:
    manifest_path = world.agent_flags()[1]
    run = world.kasboot("uninstall", world.agent, "--delete-agent", "--yes", "-o", "json")
    assert run.code == 0, run.explain()
    assert world.find_agent() is None
    assert world.environments() == []
    assert world.secret() is None
    assert world.files_under(manifest_path) == []
    assert world.files_under(f".gitlab/agents/{world.agent}") == []


def test_root_path_trap_refused_then_fixed(world: World) -> None:
    with world.root_path_source() as root:
        mark = world.mark()
        refused = world.kasboot("bootstrap", root.agent, *root.flags(), "-o", "json")
        assert refused.code == 3, refused.explain()
        assert f".gitlab/agents/{root.agent}/config.yaml" in refused.stderr + refused.stdout
        assert "--fix sourceignore" in refused.stderr + refused.stdout
        assert world.writes_since(mark) == []  # refused before the first write
        assert world.find_agent(root.agent) is None

        fixed = world.kasboot(
            "bootstrap", root.agent, *root.flags(), "--fix", "sourceignore", "-o", "json"
        )
        assert fixed.code == 0, fixed.explain()
        assert ".sourceignore" in world.files_under("", ref=root.name)
        assert world.held_token_id(root.agent) is not None


def test_gitlab_answers_the_fields_kasboot_reads(world: World) -> None:
    """The contract list (tests/contract/gitlab_fields.json) against this world's GitLab;
    the report, with each endpoint's docs page, is kept for the CI job's artifacts."""
    answers = probe(world.gl, world.project_path, f"{world.agent}-contract")
    report = contract_report(answers)
    if REPORTS is not None:
        REPORTS.mkdir(parents=True, exist_ok=True)
        (REPORTS / f"contract-{world.kind}.json").write_text(json.dumps(report, indent=2))
    assert differences(report) == []


def test_the_finalizer_removes_what_a_stopped_run_left(world: World) -> None:
    """What the clean-up of a failed run relies on: a run stopped before Flux (here
    --no-reconcile) leaves files, a Secret, an agent and its environment; the finalizer
    (World.purge, through the APIs, not kasboot) removes all of them."""
    name = f"{world.agent}-stop"
    world.on_cleanup(lambda: world.purge(name))
    run = world.kasboot("bootstrap", name, *world.agent_flags(name), "--no-reconcile")
    assert run.code == 0, run.explain()
    assert world.find_agent(name) is not None and world.secret(name) is not None
    world.purge(name)
    assert world.find_agent(name) is None
    assert world.environments(name) == []
    assert world.files_under(f"{world.flux_path}/{name}") == []
    assert world.files_under(f".gitlab/agents/{name}") == []
    assert world.secret(name) is None
