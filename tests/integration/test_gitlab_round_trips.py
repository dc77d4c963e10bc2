"""How many requests kasboot sends GitLab (counted from the emulator's request log, by
kasboot's user agent — never timed): a fresh bootstrap, an unchanged re-run (no write,
no commit), and the same with the project grown to many agents, environments,
repository files and manifests under the Flux path (the counts must stay flat)."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.bootstrap_helpers import KASBOOT_AGENT, agent_args, run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox

FRESH_BUDGET = 10
RERUN_BUDGET = 8
GROWTH_BUDGET = 2  # more requests allowed once the project has grown
READS = {"GET", "HEAD"}
SLOW = bool(os.environ.get("KASBOOT_SLOW_TESTS"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A world of its own: the growth test fills its project."""
    directory = tmp_path_factory.mktemp("round-trips")
    sandbox = sandbox_up(directory)
    try:
        yield sandbox
    finally:
        sandbox_down(directory)


def _api(world: Sandbox, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{world.gitlab_url}/api/v4{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"PRIVATE-TOKEN": world.token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def _project(world: Sandbox) -> str:
    return f"/projects/{quote(world.project, safe='')}"


def commits_on_main(world: Sandbox) -> int:
    return len(
        _api(world, "GET", f"{_project(world)}/repository/commits?ref_name=main&per_page=100")
    )


def counted(
    world: Sandbox, agent: str, *extra: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(kasboot's GitLab requests, those that wrote) of one bootstrap that must pass."""
    world.clear_logs()
    result = run_kasboot(world, *agent_args(agent, *extra))
    assert result.code == 0, result.stderr
    mine = [r for r in world.gitlab_requests() if r.get("user_agent", "").startswith(KASBOOT_AGENT)]
    return mine, [r for r in mine if r["method"] not in READS]


def described(records: list[dict[str, Any]]) -> str:
    return "\n".join(f"{r['method']} {r['path']}?{r.get('query', '')[:80]}" for r in records)


def test_fresh_and_unchanged_rerun_budgets(sandbox: Sandbox) -> None:
    world = sandbox
    # Its own Flux environment: the shared one may already exist in this sandbox.
    own_flux_environment = ("--flux-environment-name", "trips/flux-system")
    fresh, fresh_writes = counted(world, "trips", *own_flux_environment)
    assert len(fresh) <= FRESH_BUDGET, described(fresh)
    # what a fresh bootstrap writes: agent, two environments, token, one commit
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in fresh_writes] == [
        ("POST", "cluster_agents"),
        ("POST", "environments"),
        ("POST", "environments"),
        ("POST", "tokens"),
        ("POST", "commits"),
    ]
    # no tree of the whole repository, no file GET the survey or the archive answered
    paths = [r["path"] for r in fresh]
    assert not any(p.endswith("/repository/tree") or "/repository/files/" in p for p in paths)
    assert not any(p.endswith("/user") for p in paths)  # the survey said who we are
    agent_lists = [
        r for r in fresh if r["method"] == "GET" and r["path"].endswith("/cluster_agents")
    ]
    assert agent_lists == []  # the agent is found by name, not paged for
    before = commits_on_main(world)
    again, writes = counted(world, "trips", *own_flux_environment)
    BASELINE.update(fresh=len(fresh), rerun=len(again), writes=len(fresh_writes))
    assert len(again) <= RERUN_BUDGET, described(again)
    assert writes == [], described(writes)
    assert commits_on_main(world) == before


def _seed(world: Sandbox, agents: int, environments: int, files: int, manifests: int) -> None:
    project = _project(world)
    for n in range(agents):
        _api(world, "POST", f"{project}/cluster_agents", {"name": f"seed-{n:04d}"})
    for n in range(environments):
        _api(world, "POST", f"{project}/environments", {"name": f"seed/env-{n:04d}"})
    actions = [
        {"action": "create", "file_path": f"data/d{n % 20}/f{n:04d}.txt", "content": f"{n}\n"}
        for n in range(files)
    ] + [
        {
            "action": "create",
            "file_path": f"clusters/sandbox/seeded/cm-{n:04d}.yaml",
            "content": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
            f'  name: seeded-{n:04d}\n  namespace: default\ndata:\n  n: "{n}"\n',
        }
        for n in range(manifests)
    ]
    if not actions:
        return
    _api(
        world,
        "POST",
        f"{project}/repository/commits",
        {"branch": "main", "commit_message": "seed", "actions": actions},
    )


BASELINE: dict[str, int] = {}  # the small project's counts, from the first test


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not SLOW, reason="slow: run with KASBOOT_SLOW_TESTS=1")
def test_requests_stay_flat_as_the_project_grows(world: Sandbox) -> None:
    """The budget's sizes: 1,000 agents and environments, 2,000 files, 500 manifests
    under the Flux path — what paged (agents, one page per 100) or read per file (one
    GET per manifest a build reaches) before must not grow. The default run has the
    seam-level variant below."""
    if not BASELINE:
        own = ("--flux-environment-name", "grow-a/flux-system")
        small, small_writes = counted(world, "grow-a", *own)
        BASELINE.update(fresh=len(small), writes=len(small_writes))
        BASELINE["rerun"] = len(counted(world, "grow-a", *own)[0])
    _seed(world, 999, 999, 1999, 499)
    own_flux_environment = ("--flux-environment-name", "grow-b/flux-system")  # as the baseline's
    large, large_writes = counted(world, "grow-b", *own_flux_environment)
    large_again, writes = counted(world, "grow-b", *own_flux_environment)
    assert len(large) <= BASELINE["fresh"] + GROWTH_BUDGET, described(large)
    assert len(large_again) <= BASELINE["rerun"] + GROWTH_BUDGET, described(large_again)
    assert len(large_writes) == BASELINE["writes"]
    assert writes == []


def test_survey_and_archive_do_not_grow_with_the_project(tmp_path: Path) -> None:
    """The seam against the emulator, seeded past GitLab's page size (100) directly in
    its backend: the survey stays one request, a Flux path's files one archive."""
    from kasboot.gitlab_api import GitLabAPI
    from kasboot.sandbox.gitlab import GitLabEmulator

    emulator = GitLabEmulator(tmp_path / "gitlab").start()
    try:
        backend = emulator.backend
        backend.ensure_user("root", "Administrator", "admin@example.com")
        project = backend.ensure_project("demo/fleet", owner="root")
        token = backend.create_personal_access_token("root", "owner", ["api"])
        principal = backend.authenticate(token)
        sent: list[tuple[str, str]] = []

        def survey_and_archive() -> tuple[int, int]:
            api = GitLabAPI(
                emulator.url, token, request_logger=lambda m, u, *_: sent.append((m, u))
            )
            sent.clear()
            survey = api.survey(
                "demo/fleet",
                agent="wanted",
                environments=["flux-system/wanted"],
                branch=None,
                paths=["clusters/sandbox/wanted/gitlab-agent-helm-release.yaml"],
                text_paths=[".sourceignore"],
            )
            assert survey is not None and survey.agent is not None
            assert survey.environments["flux-system/wanted"] is not None
            surveyed = len(sent)
            files = api.archive_files("demo/fleet", "main", "clusters/sandbox")
            return surveyed, len(files)

        backend.agents.register(project, principal, "wanted")
        backend.environments.create(project, principal, {"name": "flux-system/wanted"})
        small = survey_and_archive()
        assert small == (1, 0)
        for n in range(110):  # past GitLab's page size
            backend.agents.register(project, principal, f"seed-{n:04d}")
            backend.environments.create(project, principal, {"name": f"seed/env-{n:04d}"})
        _commit_files(world_url=emulator.url, token=token, count=300, manifests=120)
        grown = survey_and_archive()
        assert grown[0] == small[0]  # one request, whatever the number of agents
        assert grown[1] == 120  # every manifest under the path, in one archive
        assert [m for m, _ in sent] == ["GET", "GET"]  # the survey and the archive
    finally:
        emulator.stop()


def _commit_files(*, world_url: str, token: str, count: int, manifests: int) -> None:
    actions = [
        {"action": "create", "file_path": f"data/f{n:04d}.txt", "content": f"{n}\n"}
        for n in range(count)
    ] + [
        {
            "action": "create",
            "file_path": f"clusters/sandbox/m/cm-{n:04d}.yaml",
            "content": "a: 1\n",
        }
        for n in range(manifests)
    ]
    request = urllib.request.Request(
        f"{world_url}/api/v4/projects/{quote('demo/fleet', safe='')}/repository/commits",
        data=json.dumps({"branch": "main", "commit_message": "seed", "actions": actions}).encode(),
        method="POST",
        headers={"PRIVATE-TOKEN": token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
