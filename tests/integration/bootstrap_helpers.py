"""Running the real CLI as a subprocess against the sandbox, and reading what it did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kasboot.sandbox.gitlab import GitLabEmulator

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
KASBOOT_AGENT = "kasboot/"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout))


def run_kasboot(
    sandbox: Any,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> CliResult:
    environ = {**os.environ, **sandbox.env, **(env or {})}
    environ.pop("CI_JOB_TOKEN", None)
    completed = subprocess.run(
        [sys.executable, "-m", "kasboot", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd or sandbox.dir,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def agent_args(name: str, *extra: str, timeout: str = "60s") -> list[str]:
    """Flags that keep one test's agent apart from another's in a shared sandbox: its own
    manifest directory, release, namespaces and HelmRepository name (two HelmRepository
    objects with one name under one Flux path would make kustomize refuse the build)."""
    return [
        "bootstrap",
        name,
        "--manifest-path",
        f"clusters/sandbox/{name}",
        "--helm-release-name",
        name,
        "--helm-release-target-namespace",
        name,
        "--helm-repository-name",
        f"gitlab-{name}",
        "--timeout",
        timeout,
        *extra,
    ]


def kasboot_writes(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Writes kasboot itself sent (Flux's own status updates are not kasboot's)."""
    return [
        (r["method"], r["path"])
        for r in records
        if r["method"] in WRITE_METHODS and r.get("user_agent", "").startswith(KASBOOT_AGENT)
    ]


def seeded(emulator: GitLabEmulator, project: str = "demo/fleet") -> str:
    """An in-process GitLab emulator with root, one project it owns, and root's api
    token (returned)."""
    backend = emulator.backend
    backend.ensure_user("root", "Administrator", "admin@example.com")
    backend.ensure_project(project, owner="root")
    return str(backend.create_personal_access_token("root", "owner", ["api"]))
