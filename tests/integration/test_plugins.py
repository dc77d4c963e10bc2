"""Plugin steps found through real ``kasboot.steps`` entry points: the example plugin in
examples/plugin-step (a policy gate) on the path with its distribution metadata, as pip
would install it, and a broken one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot

pytestmark = pytest.mark.sandbox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plugin-step" / "src"


def installed(site: Path, name: str, entry_points: str) -> None:
    """A distribution's metadata as pip writes it (what importlib.metadata reads)."""
    info = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


def plugin_env(site: Path, **extra: str) -> dict[str, str]:
    path = os.pathsep.join(
        p for p in (str(site), str(EXAMPLE), os.environ.get("PYTHONPATH", "")) if p
    )
    return {"PYTHONPATH": path, **extra}


@pytest.fixture()
def gate(tmp_path: Path) -> dict[str, str]:
    installed(
        tmp_path,
        "kasboot-policy-gate",
        "[kasboot.steps]\npolicy-gate = kasboot_policy_gate:ManifestPathPolicy\n",
    )
    return plugin_env(tmp_path, KASBOOT_POLICY_MANIFEST_PREFIXES="clusters/")


def steps(document: dict[str, Any]) -> list[str]:
    return [step["name"] for step in document["steps"]]


def test_a_plugin_step_runs_where_it_says_and_plan_shows_it(
    sandbox: Any, gate: dict[str, str]
) -> None:
    result = run_kasboot(sandbox, *agent_args("plugged"), "--dry-run", "-o", "json", env=gate)
    assert result.code == 0, result.stderr
    document = result.json()
    assert steps(document)[:3] == ["plugins", "preflight", "policy-gate"]
    by_name = {step["name"]: step for step in document["steps"]}
    assert by_name["plugins"]["summary"] == (
        "policy-gate (after preflight) from kasboot-policy-gate 0.1.0"
    )
    assert by_name["policy-gate"]["result"] == "OK"
    assert "is under clusters/" in by_name["policy-gate"]["summary"]

    applied = run_kasboot(sandbox, *agent_args("plugged"), "-o", "json", env=gate)
    assert applied.code == 0, applied.stderr
    assert steps(applied.json())[:3] == ["plugins", "preflight", "policy-gate"]


def test_a_policy_plugin_refuses_before_the_first_write(sandbox: Any, gate: dict[str, str]) -> None:
    sandbox.clear_logs()
    policy = {**gate, "KASBOOT_POLICY_MANIFEST_PREFIXES": "clusters/production"}
    result = run_kasboot(sandbox, *agent_args("gated"), env=policy)
    assert result.code == 3, result.stderr
    assert (
        "manifest path 'clusters/sandbox/gated' is outside the policy (clusters/production/)"
    ) in result.stderr
    assert "Traceback" not in result.stderr
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert kasboot_writes(sandbox.kube_requests()) == []


def test_a_broken_plugin_is_reported_never_a_traceback(sandbox: Any, tmp_path: Path) -> None:
    installed(tmp_path, "kasboot-broken", "[kasboot.steps]\nbroken = no_such_module:Step\n")
    env = plugin_env(tmp_path)
    sandbox.clear_logs()
    result = run_kasboot(sandbox, *agent_args("broken-plugin"), env=env)
    assert result.code == 3, result.stderr
    assert "plugin step broken (no_such_module:Step) from kasboot-broken 0.1.0" in result.stderr
    assert (
        "ModuleNotFoundError" in result.stderr and "pip uninstall kasboot-broken" in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert kasboot_writes(sandbox.gitlab_requests()) == []

    doctor = run_kasboot(sandbox, "doctor", "-o", "json", env=env)
    lines = {check["id"]: check for check in doctor.json()["checks"]}
    assert lines["plugins"]["status"] == "fail" and lines["plugins"]["exit_code"] == 3

    disabled = run_kasboot(
        sandbox,
        *agent_args("broken-plugin"),
        "--dry-run",
        "-o",
        "json",
        env={**env, "KASBOOT_NO_PLUGINS": "1"},
    )
    assert disabled.code == 0, disabled.stderr
    assert "plugins" not in steps(disabled.json())


def test_doctor_lists_the_installed_plugin_steps(sandbox: Any, gate: dict[str, str]) -> None:
    doctor = run_kasboot(sandbox, "doctor", "-o", "json", env=gate)
    lines = {check["id"]: check for check in doctor.json()["checks"]}
    assert lines["plugins"]["status"] == "pass"
    assert (
        "policy-gate (after preflight) from kasboot-policy-gate 0.1.0"
        in lines["plugins"]["summary"]
    )
