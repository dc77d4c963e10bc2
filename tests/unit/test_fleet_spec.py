"""The fleet file: validated whole before any cluster runs, options as bootstrap flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kasboot.errors import UsageError
from kasboot.fleet.run import ClusterRun, fleet_exit_code
from kasboot.fleet.spec import parse_fleet
from kasboot.fleet.table import BUILTIN_STEPS

PATH = Path("fleet.yaml")


def fleet(*clusters: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    base = {"repo": "g/p", "manifest-path": "clusters/{name}"}
    return {"defaults": {**base, **defaults}, "clusters": list(clusters)}


def test_defaults_overrides_and_placeholders() -> None:
    spec = parse_fleet(
        fleet(
            {"name": "prod-eu", "context": "eu"},
            {"name": "prod-us", "agent": "us-agent", "context": "us", "timeout": "90s"},
            **{"manifest-path": "clusters/{name}/{agent}", "timeout": "5m"},
        ),
        PATH,
    )
    eu, us = spec.clusters
    assert (eu.agent, eu.options["manifest_path"]) == ("prod-eu", "clusters/prod-eu/prod-eu")
    assert us.options["manifest_path"] == "clusters/prod-us/us-agent"
    assert us.options["timeout"] == "90s" and eu.options["timeout"] == "5m"
    # each cluster's environments in a folder of its own
    assert eu.options["environment_name"] == "prod-eu/flux-system/gitlab-agent"
    assert us.options["flux_environment_name"] == "prod-us/flux-system/flux-system"
    flags = us.flags()
    assert flags[flags.index("--manifest-path") + 1] == "clusters/prod-us/us-agent"
    assert flags[flags.index("--context") + 1] == "us"


def test_booleans_and_lists_become_glab_style_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # values files are found from the working directory
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("replicas: 1\n")
    (cluster,) = parse_fleet(
        fleet(
            {
                "name": "a",
                "create-environment": False,
                "helm-release-values": ["a.yaml", "b.yaml"],
                "fix": "sourceignore",
            }
        ),
        PATH,
    ).clusters
    flags = cluster.flags()
    assert "--create-environment=false" in flags
    assert flags.count("--helm-release-values") == 2 and flags.count("--fix") == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"clusters": []}, "lists no clusters"),
        ({"cluster": []}, "no `clusters:` list"),
        ({"clusters": [{"name": "a"}], "extra": 1}, "unknown top-level key(s) extra"),
        (fleet({"name": "Prod"}), "name 'Prod' is not a valid cluster name"),
        (fleet({"name": "a"}, {"name": "a"}), "listed twice"),
        (fleet({"name": "a", "colour": "red"}), "unknown option 'colour'"),
        (fleet({"name": "a", "output": "json"}), "'output' is decided by the fleet command"),
        (fleet({"name": "a", "dry-run": True}), "decided by the fleet command"),
        (fleet({"name": "a", "timeout": ["1m", "2m"]}), "'timeout' takes a single value"),
        (fleet({"name": "a", "agent": "Bad_Agent"}), "cluster 'a': invalid agent name"),
        (fleet({"name": "a", "manifest-path": "../x"}), "cluster 'a'"),
        (
            fleet({"name": "a", "agent": "x"}, {"name": "b", "agent": "x"}),
            "both bootstrap the agent 'x'",
        ),
        (
            fleet({"name": "a", "context": "c"}, {"name": "b", "context": "c"}),
            "point at the same kube context",
        ),
        (
            fleet({"name": "a"}, {"name": "b"}, **{"manifest-path": "clusters/all"}),
            "both commit their manifests to 'clusters/all'",
        ),
    ],
)
def test_mistakes_are_one_line_before_anything_runs(data: Any, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_fleet(data, PATH)
    assert message in raised.value.one_line()


def test_select_names_unknown_clusters() -> None:
    spec = parse_fleet(fleet({"name": "a", "context": "a"}, {"name": "b", "context": "b"}), PATH)
    assert [c.name for c in spec.select(("b",)).clusters] == ["b"]
    with pytest.raises(UsageError, match="no cluster named 'z'"):
        spec.select(("z",))


def test_lock_key_is_the_project_and_branch() -> None:
    spec = parse_fleet(
        fleet(
            {"name": "a", "context": "a"},
            {"name": "b", "context": "b", "manifest-branch": "prod"},
        ),
        PATH,
    )
    assert [c.lock_key for c in spec.clusters] == ["g/p@(default branch)", "g/p@prod"]


def run_with(code: int | None) -> ClusterRun:
    spec = parse_fleet(fleet({"name": "a"}), PATH).clusters[0]
    return ClusterRun(spec, state="done" if code == 0 else "failed", exit_code=code)


def test_exit_code_is_the_first_failure_or_the_interruption() -> None:
    assert fleet_exit_code([run_with(0), run_with(0)]) == 0
    assert fleet_exit_code([run_with(0), run_with(5), run_with(3)]) == 5
    assert fleet_exit_code([run_with(5), run_with(130)]) == 130
    assert fleet_exit_code([run_with(0), run_with(None)]) == 130


def test_the_table_knows_bootstraps_steps_in_order() -> None:
    from kasboot.steps import bootstrap_steps

    assert [step.name for step in bootstrap_steps()] == BUILTIN_STEPS
