"""`kasboot fleet apply` on a sandbox whose GitLab serves several clusters (`sandbox up
--clusters N`: one Kubernetes emulator and Flux per context), one cluster made to fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kasboot.sandbox.world import cluster_names, extra_flux_path
from kasboot.ui.jsonout import SCHEMA_PATH
from tests.integration.bootstrap_helpers import kasboot_writes
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(900)]  # minutes on a busy machine


def fleet_file(directory: Path, count: int) -> Path:
    clusters = []
    for name in cluster_names(count):
        flux_path = "./clusters/sandbox" if name == "sandbox" else extra_flux_path(name)
        clusters.append(
            {"name": name, "context": name, "manifest-path": f"{flux_path[2:]}/gitlab-agent"}
        )
    path = directory / "fleet.yaml"
    path.write_text(
        yaml.safe_dump(
            {"defaults": {"timeout": "90s", "agent": "x"}, "clusters": clusters}
        ).replace("agent: x\n", ""),
        encoding="utf-8",
    )
    return path


def kube_url(sandbox: Sandbox, context: str) -> str:
    config = yaml.safe_load(Path(sandbox.env["KUBECONFIG"]).read_text(encoding="utf-8"))
    return next(c["cluster"]["server"] for c in config["clusters"] if c["name"] == context)


def put(url: str, body: Any) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT")
    urllib.request.urlopen(request, timeout=10).close()


def fleet(sandbox: Sandbox, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kasboot", "fleet", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **sandbox.env},
        cwd=sandbox.dir,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(
    scope="module",
    params=[
        # each cluster's wait accepts a Flux revision holding its commit (another
        # cluster's commit may land on the branch first): 3 clusters in the default suite
        pytest.param(3, id="3-clusters"),
        pytest.param(10, id="10-clusters", marks=pytest.mark.slow),
    ],
)
def clusters(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Sandbox, int]]:
    directory = tmp_path_factory.mktemp("fleet")
    world = sandbox_up(directory, "--clusters", str(request.param))
    try:
        yield world, request.param
    finally:
        sandbox_down(directory)


def running_bootstraps(agent_prefix: str) -> list[str]:
    """Command lines of live `kasboot bootstrap <agent_prefix>…` processes (from /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        words = [arg.decode(errors="replace") for arg in argv]
        if "bootstrap" in words and any(w.startswith(agent_prefix) for w in words):
            found.append(" ".join(words))
    return found


def outcomes(document: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(c["name"], c["exit_code"], c["error"]) for c in document["clusters"]]


def commits_by_kasboot(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [
        r
        for r in sandbox.gitlab_requests()
        if r["method"] == "POST"
        and r["path"].endswith("/repository/commits")
        and r.get("user_agent", "").startswith("kasboot/")
    ]


def test_a_fleet_applies_in_parallel_and_one_failure_stays_its_own(
    clusters: tuple[Sandbox, int],
) -> None:
    sandbox, count = clusters
    path = fleet_file(sandbox.dir, count)
    names = cluster_names(count)
    broken = names[-1]
    # The last cluster refuses to store Secrets (RBAC would answer so).
    put(
        f"{kube_url(sandbox, broken)}/-/sandbox/faults",
        {"rules": [{"method": "POST", "path": "/secrets$", "mode": "reject", "status": 403}]},
    )
    sandbox.clear_logs()
    result = fleet(sandbox, "apply", str(path), "--parallel", "4", "-o", "json")
    document = json.loads(result.stdout)
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))  # kasboot's envelope
    assert document["command"] == "fleet apply" and document["exit_code"] == 5
    assert result.returncode == 5, outcomes(document)
    by_name = {c["name"]: c for c in document["clusters"]}
    assert [c["name"] for c in document["clusters"]] == names
    for name in names[:-1]:
        assert by_name[name]["ok"] and by_name[name]["verdict"] == "changed", by_name[name]
        assert by_name[name]["report"]["flux"] is not None
    failed = by_name[broken]
    assert failed["exit_code"] == 5 and failed["verdict"] == "failed"
    assert "403" in failed["error"] or "forbidden" in failed["error"].lower()
    assert document["summary"] == {"clusters": count, "changed": count - 1, "failed": 1}
    # one commit per cluster that got that far (the Secret comes first: the broken one did
    # not), none refused (the commit lock serialises them)
    commits = commits_by_kasboot(sandbox)
    assert len(commits) == count - 1 and all(c["status"] == 201 for c in commits)

    # The cause fixed, a re-run finishes the broken cluster and changes nothing elsewhere.
    put(f"{kube_url(sandbox, broken)}/-/sandbox/faults", {"rules": []})
    sandbox.clear_logs()
    again = fleet(sandbox, "apply", str(path), "--parallel", "4", "-o", "json")
    assert again.returncode == 0, outcomes(json.loads(again.stdout))
    verdicts = {c["name"]: c["verdict"] for c in json.loads(again.stdout)["clusters"]}
    assert verdicts == {**{n: "unchanged" for n in names[:-1]}, broken: "changed"}
    assert len(commits_by_kasboot(sandbox)) == 1  # the broken cluster's, now

    sandbox.clear_logs()
    third = fleet(sandbox, "apply", str(path), "-o", "json")
    assert third.returncode == 0, outcomes(json.loads(third.stdout))
    assert {c["verdict"] for c in json.loads(third.stdout)["clusters"]} == {"unchanged"}
    assert kasboot_writes(sandbox.gitlab_requests()) == []


@pytest.mark.slow  # the default suite's budget: apply covers the fleet's path
def test_fleet_plan_writes_nothing_and_the_table_names_every_cluster(
    clusters: tuple[Sandbox, int],
) -> None:
    sandbox, count = clusters
    path = fleet_file(sandbox.dir, count)
    # Applied first, so the test stands alone (the slow pass runs it without the apply
    # test): after that test it is an unchanged re-run.
    applied = fleet(sandbox, "apply", str(path), "--parallel", "4")
    assert applied.returncode == 0, applied.stderr
    sandbox.clear_logs()
    result = fleet(sandbox, "plan", str(path))
    assert result.returncode == 0, result.stderr
    for name in cluster_names(count):
        assert f"✔ {name} (agent {name}): unchanged" in result.stderr
    assert f"Fleet planned: {count} cluster(s) — {count} unchanged" in result.stderr
    assert kasboot_writes(sandbox.gitlab_requests()) == []


def test_a_bad_fleet_file_is_refused_before_any_cluster_runs(clusters: tuple[Sandbox, int]) -> None:
    sandbox, _ = clusters
    bad = sandbox.dir / "bad.yaml"
    bad.write_text("clusters:\n  - name: a\n  - name: b\n    agent: A\n", encoding="utf-8")
    sandbox.clear_logs()
    result = fleet(sandbox, "apply", str(bad))
    assert result.returncode == 2
    assert "cluster 'b': invalid agent name" in result.stderr and "Traceback" not in result.stderr
    # kasboot's own (the simulated agentk calls agent_info on its own schedule)
    ours = [r for r in sandbox.gitlab_requests() if r.get("user_agent", "").startswith("kasboot/")]
    assert ours == []


@pytest.mark.slow  # a second fleet of bootstraps: ~12 s more for 3 clusters
def test_ctrl_c_stops_every_bootstrap_and_a_re_run_finishes(
    clusters: tuple[Sandbox, int], tmp_path: Path
) -> None:
    """SIGINT to `fleet apply` reaches each running bootstrap (exit 130, one line, no
    traceback, no bootstrap left running); the same command then finishes the fleet."""
    import signal
    import time

    sandbox, count = clusters
    names = cluster_names(count)
    clusters_file = tmp_path / "interrupted.yaml"
    clusters_file.write_text(
        yaml.safe_dump(
            {
                "defaults": {
                    "helm-release-name": "ctrl-c",
                    "helm-repository-name": "gitlab-ctrl-c",
                    "helm-release-target-namespace": "ctrl-c",
                },
                "clusters": [
                    {
                        "name": n,
                        "agent": f"ctrl-c-{n}",
                        "context": n,
                        "manifest-path": f"clusters/{n}/ctrl-c",
                    }
                    for n in names
                ],
            }
        ),
        encoding="utf-8",
    )
    slow = kube_url(sandbox, names[-1])
    put(f"{slow}/-/sandbox/faults", {"rules": [{"user_agent": "^kasboot/", "latency_ms": 3000}]})
    # Earlier tests' requests must not look like this run's: start from an empty log.
    urllib.request.urlopen(
        urllib.request.Request(f"{slow}/-/sandbox/requests", method="DELETE"), timeout=10
    ).close()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "kasboot", "fleet", "apply", str(clusters_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **sandbox.env},
            cwd=sandbox.dir,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 300
        while not any(  # the slow cluster's bootstrap is under way
            r.get("user_agent", "").startswith("kasboot/")
            for r in json.loads(urllib.request.urlopen(f"{slow}/-/sandbox/requests").read())
        ):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=300)
    finally:
        put(f"{slow}/-/sandbox/faults", {"rules": []})
    assert process.returncode == 130, stderr
    assert "Interrupted. (SIGINT)" in stderr and "Traceback" not in stderr
    assert running_bootstraps("ctrl-c-") == []  # none outlives the fleet command

    again = fleet(sandbox, "apply", str(clusters_file), "-o", "json")
    assert again.returncode == 0, outcomes(json.loads(again.stdout))
