"""The bootstrap journey against a real GitLab, cluster and Flux.

Skipped unless these are set (nothing here talks to the sandbox):
    KASBOOT_E2E_GITLAB_HOST      e.g. https://gitlab.example.com
    KASBOOT_E2E_GITLAB_TOKEN     a PAT with scope api, Maintainer on the project
    KASBOOT_E2E_PROJECT          group/project that Flux syncs
    KASBOOT_E2E_KUBECONFIG       kubeconfig of a cluster with Flux bootstrapped from that project
Optional: KASBOOT_E2E_AGENT (default kasboot-e2e), KASBOOT_E2E_MANIFEST_PATH (default
clusters/<agent> — must lie under the path Flux reconciles).

Run: .venv/bin/python -m pytest -q e2e
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

REQUIRED = (
    "KASBOOT_E2E_GITLAB_HOST",
    "KASBOOT_E2E_GITLAB_TOKEN",
    "KASBOOT_E2E_PROJECT",
    "KASBOOT_E2E_KUBECONFIG",
)
pytestmark = pytest.mark.skipif(
    not all(os.environ.get(name) for name in REQUIRED),
    reason="real GitLab/cluster not configured (KASBOOT_E2E_* unset)",
)
AGENT = os.environ.get("KASBOOT_E2E_AGENT", "kasboot-e2e")
MANIFEST_PATH = os.environ.get("KASBOOT_E2E_MANIFEST_PATH", f"clusters/{AGENT}")


def kasboot(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GITLAB_HOST": os.environ.get("KASBOOT_E2E_GITLAB_HOST", ""),
        "GITLAB_TOKEN": os.environ.get("KASBOOT_E2E_GITLAB_TOKEN", ""),
        "KUBECONFIG": os.environ.get("KASBOOT_E2E_KUBECONFIG", ""),
        "KASBOOT_PROJECT": os.environ.get("KASBOOT_E2E_PROJECT", ""),
    }
    return subprocess.run(
        [sys.executable, "-m", "kasboot", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )


def steps(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return {step["name"]: step["result"] for step in json.loads(completed.stdout)["steps"]}


def test_doctor_then_bootstrap_twice_then_status() -> None:
    doctor = kasboot("doctor", "--manifest-path", MANIFEST_PATH)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    plan = kasboot("plan", AGENT, "--manifest-path", MANIFEST_PATH, "--output", "json")
    assert plan.returncode == 0, plan.stderr
    first = kasboot("bootstrap", AGENT, "--manifest-path", MANIFEST_PATH, "--output", "json")
    assert first.returncode == 0, first.stdout + first.stderr
    again = kasboot("bootstrap", AGENT, "--manifest-path", MANIFEST_PATH, "--output", "json")
    assert again.returncode == 0, again.stdout + again.stderr
    results = steps(again)
    assert results.pop("preflight") == "OK"
    assert set(results.values()) == {"UNCHANGED"}
    status = kasboot("status", AGENT, "--manifest-path", MANIFEST_PATH)
    assert status.returncode == 0, status.stdout + status.stderr
