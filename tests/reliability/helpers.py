"""Running kasboot against the sandbox and proving it wrote nothing: the emulators'
request logs (GET /-/sandbox/requests) before and after, with every write that is
not the Flux simulator's own (its controllers update status all the time)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.bootstrap_helpers import CliResult

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# The simulated cluster's own clients: Flux's controllers, the flux CLI that seeded
# the world, and the simulated agentk.
SIMULATOR_AGENTS = (
    "source-controller/",
    "kustomize-controller/",
    "helm-controller/",
    "flux/",
    "gitlab-agent/",
)
# git smart HTTP fetches are POSTs that read.
_READ_POSTS = ("/git-upload-pack",)


def outside_writes(records: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(method, path, user agent) of each write not made by the simulated cluster."""
    return [
        (r["method"], r["path"], r.get("user_agent", ""))
        for r in records
        if r["method"] in WRITE_METHODS
        and not r.get("user_agent", "").startswith(SIMULATOR_AGENTS)
        and not r["path"].endswith(_READ_POSTS)
    ]


@dataclass
class Watched:
    result: CliResult
    writes: list[tuple[str, str, str]]
    requests: int  # requests kasboot (or git on its behalf) sent at all


def run_cli(
    sandbox: Any,
    *args: str,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
    cwd: Path | None = None,
    timeout: float = 120,
) -> CliResult:
    """``kasboot ARGS`` as a subprocess in the sandbox's environment, `env` added and
    the variables in `unset` removed (CI_JOB_TOKEN always, unless `env` sets it)."""
    environ = {**os.environ, **sandbox.env}
    environ.pop("CI_JOB_TOKEN", None)
    environ.update(env or {})
    for name in unset:
        environ.pop(name, None)
    completed = subprocess.run(
        [sys.executable, "-m", "kasboot", *args],
        capture_output=True,
        text=True,
        errors="replace",
        env=environ,
        cwd=cwd or sandbox.dir,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def run_watched(
    sandbox: Any,
    *args: str,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
    cwd: Path | None = None,
    timeout: float = 120,
) -> Watched:
    """``kasboot ARGS`` with the emulators' logs cleared first, and what it sent."""
    sandbox.clear_logs()
    result = run_cli(sandbox, *args, env=env, unset=unset, cwd=cwd, timeout=timeout)
    records = sandbox.gitlab_requests() + sandbox.kube_requests()
    writes = outside_writes(records)
    sent = [r for r in records if not r.get("user_agent", "").startswith(SIMULATOR_AGENTS)]
    return Watched(result, writes, len(sent))


def set_faults(
    base_url: str, rules: list[dict[str, Any]], seed: int | None = None, release: bool = False
) -> None:
    """Replace the fault rules of one emulator (PUT /-/sandbox/faults), and its draws'
    seed when given (the same rules and seed fault the same requests again); `release`
    ends every hold (latency, applied_timeout) in progress once the new rules are in."""
    import json
    import urllib.request

    body: dict[str, Any] = {"rules": rules}
    if seed is not None:
        body["seed"] = seed
    if release:
        body["release"] = True
    request = urllib.request.Request(
        f"{base_url}/-/sandbox/faults",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def clear_faults(sandbox: Any) -> None:
    """No rules on either emulator, and nothing held any more."""
    set_faults(sandbox.gitlab_url, [], release=True)
    set_faults(sandbox.kube_url, [], release=True)
