"""The sandbox world for integration tests: ``kasboot sandbox up --detach`` through the
real CLI in a temporary directory, shared by the whole session, and ``down`` at the end.

    def test_x(sandbox):
        sandbox.env            # GITLAB_HOST, GITLAB_TOKEN, KUBECONFIG, KASBOOT_PROJECT
        sandbox.clear_logs(); ...; sandbox.kube_requests()
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kasboot.sandbox.world import parse_env


def run_kasboot(*args: str, cwd: Path | None = None, timeout: float = 60) -> str:
    """``kasboot ARGS`` as a subprocess; its stdout (raises with stderr on failure)."""
    completed = subprocess.run(
        [sys.executable, "-m", "kasboot", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(
            f"kasboot {' '.join(args)} exited {completed.returncode}:\n{completed.stderr}"
        )
    return completed.stdout


def _json(method: str, url: str) -> Any:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@dataclass
class Sandbox:
    dir: Path
    env: dict[str, str]

    @property
    def gitlab_url(self) -> str:
        return self.env["GITLAB_HOST"]

    @property
    def token(self) -> str:
        return self.env["GITLAB_TOKEN"]

    @property
    def project(self) -> str:
        return self.env["KASBOOT_PROJECT"]

    @property
    def kubeconfig(self) -> Path:
        return Path(self.env["KUBECONFIG"])

    @property
    def kube_url(self) -> str:
        state = json.loads((self.dir / "world.json").read_text())
        return f"http://127.0.0.1:{state['kube_port']}"

    @property
    def pid(self) -> int | None:
        return json.loads((self.dir / "world.json").read_text()).get("pid")

    def gitlab_requests(self) -> list[dict[str, Any]]:
        return list(_json("GET", f"{self.gitlab_url}/-/sandbox/requests"))

    def kube_requests(self) -> list[dict[str, Any]]:
        return list(_json("GET", f"{self.kube_url}/-/sandbox/requests"))

    def clear_logs(self) -> None:
        _json("DELETE", f"{self.gitlab_url}/-/sandbox/requests")
        _json("DELETE", f"{self.kube_url}/-/sandbox/requests")

    def subprocess_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}


def sandbox_up(directory: Path, *flags: str) -> Sandbox:
    output = run_kasboot("sandbox", "up", "--dir", str(directory), "--detach", *flags)
    return Sandbox(directory, parse_env(output))


def sandbox_down(directory: Path) -> None:
    run_kasboot("sandbox", "down", "--dir", str(directory))


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One world for the session: default project demo/fleet, Flux at ./clusters/sandbox."""
    directory = tmp_path_factory.mktemp("sandbox")
    world = sandbox_up(directory)
    try:
        yield world
    finally:
        sandbox_down(directory)
