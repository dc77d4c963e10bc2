"""A sandbox world for one bench scenario, driven from outside like a user would:
``kasboot sandbox up --detach`` in a temporary directory, seeded through the emulators'
own APIs (the GitLab REST API, the Kubernetes API) under bench's own user agent so the
seeding never counts as kasboot's, then ``kasboot bootstrap`` as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from kasboot.sandbox.world import parse_env

SEED_AGENT = "kasboot-bench-seed/1"
PROJECT = "demo/fleet"
FLUX_PATH = "clusters/sandbox"
AGENT = "bench"
MANIFEST_PATH = f"{FLUX_PATH}/bench"
BOOTSTRAP_ARGS = ("bootstrap", AGENT, "--manifest-path", MANIFEST_PATH, "-R", PROJECT)
KUBE_TOKEN = "kasboot-sandbox-token"  # what the sandbox's kubeconfig carries


def kasboot_command() -> list[str]:
    """The installed entry point next to this interpreter (what a user runs), else -m."""
    script = Path(sys.executable).with_name("kasboot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kasboot"]


@dataclass
class Run:
    returncode: int
    started: float  # Unix time before the process was started
    exited: float  # Unix time once it had exited
    stdout: str
    stderr: str
    gitlab: list[dict[str, Any]]
    kube: list[dict[str, Any]]

    @property
    def wall(self) -> float:
        return self.exited - self.started

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.gitlab + self.kube


class World:
    def __init__(self, label: str) -> None:
        self.label = label
        self._scratch = Path(tempfile.mkdtemp(prefix=f"kasboot-bench-{label}-"))
        self.dir = self._scratch / "world"
        self.env: dict[str, str] = {}

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> World:
        completed = subprocess.run(
            [*kasboot_command(), "sandbox", "up", "--dir", str(self.dir), "--detach"],
            capture_output=True,
            text=True,
            timeout=180,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"sandbox up failed: {completed.stderr.strip()}")
        self.env = parse_env(completed.stdout)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        subprocess.run(
            [*kasboot_command(), "sandbox", "down", "--dir", str(self.dir)],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(self._scratch, ignore_errors=True)

    @property
    def gitlab_url(self) -> str:
        return self.env["GITLAB_HOST"]

    @property
    def kube_url(self) -> str:
        state = json.loads((self.dir / "world.json").read_text())
        return f"http://127.0.0.1:{state['kube_port']}"

    # -- raw HTTP under bench's own user agent ----------------------------------------
    def _http(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("User-Agent", SEED_AGENT)
        if data is not None:
            request.add_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        with urllib.request.urlopen(request, timeout=120) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def gitlab(self, method: str, path: str, body: Any = None) -> Any:
        return self._http(
            method,
            f"{self.gitlab_url}/api/v4{path}",
            body,
            {"PRIVATE-TOKEN": self.env["GITLAB_TOKEN"]},
        )

    def kube(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> Any:
        return self._http(
            method,
            f"{self.kube_url}{path}",
            body,
            {"Authorization": f"Bearer {KUBE_TOKEN}"},
            content_type,
        )

    # -- the control routes (docs/sandbox.md) -----------------------------------------
    def clear_logs(self) -> None:
        self._http("DELETE", f"{self.gitlab_url}/-/sandbox/requests")
        self._http("DELETE", f"{self.kube_url}/-/sandbox/requests")

    def logs(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return (
            list(self._http("GET", f"{self.gitlab_url}/-/sandbox/requests")),
            list(self._http("GET", f"{self.kube_url}/-/sandbox/requests")),
        )

    def set_latency(self, milliseconds: int) -> None:
        """``milliseconds`` added to every request on every route of both emulators (the
        Flux simulator's and git's included: it is the network), or none for 0."""
        rules = [{"path": ".*", "latency_ms": milliseconds}] if milliseconds else []
        for base in (self.gitlab_url, self.kube_url):
            self._http("PUT", f"{base}/-/sandbox/faults", {"rules": rules})

    # -- kasboot -----------------------------------------------------------------------
    def bootstrap(self, *extra: str) -> Run:
        """``kasboot bootstrap`` with the logs cleared first, and what it sent."""
        self.clear_logs()
        environ = {**os.environ, **self.env}
        environ.pop("CI_JOB_TOKEN", None)
        started = time.time()
        completed = subprocess.run(
            [*kasboot_command(), *BOOTSTRAP_ARGS, *extra],
            capture_output=True,
            text=True,
            env=environ,
            cwd=self._scratch,  # not inside a clone: -R names the project
            stdin=subprocess.DEVNULL,
            timeout=600,
        )
        exited = time.time()
        # The emulators record a request once its handler has finished, which can follow
        # the client's read by a moment.
        time.sleep(0.2)
        gitlab, kube = self.logs()
        return Run(
            completed.returncode, started, exited, completed.stdout, completed.stderr, gitlab, kube
        )

    # -- seeding, through the emulators' own APIs ---------------------------------------
    def _project(self) -> str:
        return urllib.parse.quote(PROJECT, safe="")

    def seed_agents(self, count: int) -> None:
        self._parallel(
            lambda i: self.gitlab(
                "POST", f"/projects/{self._project()}/cluster_agents", {"name": f"seed-{i}"}
            ),
            count,
        )

    def seed_environments(self, count: int) -> None:
        self._parallel(
            lambda i: self.gitlab(
                "POST", f"/projects/{self._project()}/environments", {"name": f"seed/env-{i}"}
            ),
            count,
        )

    def commit_files(self, files: dict[str, str], message: str) -> str:
        actions = [
            {"action": "create", "file_path": path, "content": content}
            for path, content in files.items()
        ]
        commit = self.gitlab(
            "POST",
            f"/projects/{self._project()}/repository/commits",
            {"branch": "main", "commit_message": message, "actions": actions},
        )
        return str(commit["id"])

    def seed_repository_files(self, count: int) -> None:
        """Files outside the Flux path (docs, code: what a real repository holds)."""
        files = {f"seed/files/{i // 100}/file-{i}.txt": f"file {i}\n" for i in range(count)}
        self.commit_files(files, f"Add {count} files")

    def seed_flux_manifests(self, count: int) -> None:
        """ConfigMaps under the Flux path, committed and applied by Flux before kasboot
        runs (the state a cluster that has used the path for a while is in)."""
        files = {
            f"{FLUX_PATH}/seed/cm-{i}.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                f"  name: seed-{i}\n  namespace: default\ndata:\n  index: '{i}'\n"
            )
            for i in range(count)
        }
        sha = self.commit_files(files, f"Add {count} manifests")
        self.reconcile_flux(sha)

    def reconcile_flux(self, sha: str, timeout: float = 300) -> None:
        """Ask Flux to reconcile (as `flux reconcile ks flux-system --with-source` does)
        and wait until the flux-system Kustomization applied ``sha``."""
        stamp = {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": str(time.time())}}}
        merge = "application/merge-patch+json"
        source = "/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories"
        kustomization = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations"
        self.kube("PATCH", f"{source}/flux-system", stamp, merge)
        self.kube("PATCH", f"{kustomization}/flux-system", stamp, merge)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.kube("GET", f"{kustomization}/flux-system").get("status", {})
            if str(status.get("lastAppliedRevision", "")).endswith(sha):
                return
            time.sleep(0.5)
        raise TimeoutError(f"Flux did not apply {sha} within {timeout:.0f} s")

    @staticmethod
    def _parallel(action: Any, count: int) -> None:
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in pool.map(action, range(count)):
                pass
