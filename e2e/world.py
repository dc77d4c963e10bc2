"""The world the journeys run in: the sandbox (the default) or a real GitLab + cluster +
Flux (when ``KASBOOT_E2E_*`` are set). Both are reached the same way — the real CLI as a
subprocess, python-gitlab and the kubernetes client over real sockets — so the journeys
and their assertions are written once; only how a world starts, how it counts writes and
how it is cleaned differ.

    world.kasboot("bootstrap", world.agent, *world.agent_flags())
    mark = world.mark(); ...; world.writes_since(mark)   # [] for an unchanged re-run
    world.audit()                                         # what GitLab and the cluster hold
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
KASBOOT_USER_AGENT = "kasboot/"
REQUIRED = (
    "KASBOOT_E2E_GITLAB_HOST",
    "KASBOOT_E2E_GITLAB_TOKEN",
    "KASBOOT_E2E_PROJECT",
    "KASBOOT_E2E_KUBECONFIG",
)
# Where the JSON reports go (every kasboot -o json document, the contract report): the CI
# job sets it and keeps the directory as artifacts; unset, nothing is written.
REPORTS = Path(os.environ["KASBOOT_E2E_REPORTS"]) if os.environ.get("KASBOOT_E2E_REPORTS") else None


def real_world_missing() -> list[str]:
    """The KASBOOT_E2E_* variables a real run needs and that are unset."""
    return [name for name in REQUIRED if not os.environ.get(name)]


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout))

    def steps(self) -> dict[str, str]:
        return {step["name"]: step["result"] for step in self.json()["steps"]}

    def explain(self) -> str:
        return f"kasboot {' '.join(self.args)} exited {self.code}\n{self.stdout}\n{self.stderr}"


@dataclass(frozen=True)
class Audit:
    """What GitLab and the cluster hold for one agent, read through their APIs: equal
    audits before and after a run mean the run changed nothing anyone can see."""

    head: str
    agent_id: int | None
    token_ids: tuple[int, ...]
    environments: tuple[str, ...]
    secret_version: str | None


@dataclass(frozen=True)
class Mark:
    audit: Audit
    at: float


@dataclass
class World:
    """What both worlds share. Subclasses say how writes are counted and cleaned up."""

    kind: str
    env: dict[str, str]
    flux_path: str  # the path flux-system's Kustomization reconciles
    cwd: Path
    timeout: str = "120s"
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    fixed_agent: str | None = None  # KASBOOT_E2E_AGENT: a name chosen by the maintainer
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    # -- names of this run -------------------------------------------------------
    @property
    def agent(self) -> str:
        """A throw-away agent name: a real project never meets it twice."""
        return self.fixed_agent or f"e2e-{self.run_id}"

    @property
    def project_path(self) -> str:
        return self.env["KASBOOT_PROJECT"]

    def agent_flags(self, agent: str | None = None, manifest_root: str | None = None) -> list[str]:
        """The flags that keep one agent's files, release and namespace its own."""
        name = agent or self.agent
        return [
            "--manifest-path",
            f"{manifest_root or self.flux_path}/{name}",
            "--helm-release-name",
            name,
            "--helm-release-target-namespace",
            name,
            "--helm-repository-name",
            f"gitlab-{name}",
            "--no-create-flux-environment",
            "--timeout",
            self.timeout,
        ]

    # -- running kasboot ---------------------------------------------------------
    def kasboot(self, *args: str, timeout: float = 900) -> Run:
        environ = {**os.environ, **self.env}
        environ.pop("CI_JOB_TOKEN", None)
        completed = subprocess.run(
            [sys.executable, "-m", "kasboot", *args],
            capture_output=True,
            text=True,
            env=environ,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
        run = Run(tuple(args), completed.returncode, completed.stdout, completed.stderr)
        self._report(run)
        return run

    def _report(self, run: Run) -> None:
        """Every JSON document kasboot printed, kept for the CI job's artifacts."""
        if REPORTS is None or not run.stdout.lstrip().startswith("{"):
            return
        REPORTS.mkdir(parents=True, exist_ok=True)
        stamp = f"{time.time():.3f}".replace(".", "")
        name = f"{self.kind}-{stamp}-{'-'.join(run.args[:2])}.json".replace("/", "_")
        (REPORTS / name).write_text(run.stdout)

    # -- GitLab and the cluster through their own clients ------------------------
    @property
    def gl(self) -> Any:
        if not hasattr(self, "_gl"):
            import gitlab

            self._gl = gitlab.Gitlab(
                self.env["GITLAB_HOST"], private_token=self.env["GITLAB_TOKEN"], timeout=30
            )
        return self._gl

    @property
    def project(self) -> Any:
        if not hasattr(self, "_project"):
            self._project = self.gl.projects.get(self.project_path)
        return self._project

    @property
    def kube(self) -> Any:
        if not hasattr(self, "_kube"):
            from kubernetes import config

            self._kube = config.new_client_from_config(self.env["KUBECONFIG"])
        return self._kube

    def find_agent(self, name: str | None = None) -> dict[str, Any] | None:
        wanted = name or self.agent
        for agent in self.project.cluster_agents.list(iterator=True, per_page=100):
            if agent.name == wanted:
                return dict(agent.attributes)
        return None

    def tokens_path(self, agent_id: int) -> str:
        return f"/projects/{self.project.id}/cluster_agents/{agent_id}/tokens"

    def active_token_ids(self, agent_id: int) -> list[int]:
        listed = self.gl.http_list(self.tokens_path(agent_id), get_all=True)
        return sorted(int(t["id"]) for t in listed if (t.get("status") or "active") == "active")

    def token(self, agent_id: int, token_id: int) -> dict[str, Any]:
        return dict(self.gl.http_get(f"{self.tokens_path(agent_id)}/{token_id}"))

    def environments(self, agent: str | None = None) -> list[str]:
        name = agent or self.agent
        return sorted(
            str(e.name)
            for e in self.project.environments.list(iterator=True, per_page=100)
            if name in str(e.name)
        )

    def secret(self, agent: str | None = None) -> dict[str, Any] | None:
        from kubernetes import client
        from kubernetes.client.rest import ApiException

        name = agent or self.agent
        try:
            found = client.CoreV1Api(self.kube).read_namespaced_secret("gitlab-agent-token", name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return dict(self.kube.sanitize_for_serialization(found))

    def held_token_id(self, agent: str | None = None) -> int | None:
        from kasboot.cluster import TOKEN_ID_ANNOTATION

        secret = self.secret(agent)
        if secret is None:
            return None
        annotations = (secret.get("metadata") or {}).get("annotations") or {}
        value = annotations.get(TOKEN_ID_ANNOTATION)
        return int(value) if value else None

    def files_under(self, path: str, ref: str | None = None) -> list[str]:
        import gitlab

        try:
            entries = self.project.repository_tree(
                path=path, ref=ref or self.default_branch, recursive=True, get_all=True
            )
        except gitlab.exceptions.GitlabGetError as error:
            if error.response_code == 404:
                return []
            raise
        return sorted(str(e["path"]) for e in entries if e["type"] == "blob")

    @property
    def default_branch(self) -> str:
        return str(self.project.default_branch or "main")

    def head(self, branch: str | None = None) -> str:
        return str(self.project.branches.get(branch or self.default_branch).commit["id"])

    def audit(self, agent: str | None = None) -> Audit:
        found = self.find_agent(agent)
        agent_id = int(found["id"]) if found else None
        secret = self.secret(agent)
        return Audit(
            head=self.head(),
            agent_id=agent_id,
            token_ids=tuple(self.active_token_ids(agent_id)) if agent_id else (),
            environments=tuple(self.environments(agent)),
            secret_version=(secret or {}).get("metadata", {}).get("resourceVersion"),
        )

    def mark(self) -> Mark:
        return Mark(self.audit(), time.time())

    def writes_since(self, mark: Mark) -> list[str]:
        raise NotImplementedError

    def audit_changes(self, mark: Mark) -> list[str]:
        """What changed since ``mark``, in GitLab's own record: new commits on the
        default branch, tokens minted or revoked, the agent, environments, the Secret."""
        now = self.audit()
        changes: list[str] = []
        if now.head != mark.audit.head:
            compare = self.project.repository_compare(mark.audit.head, now.head)
            changes += [f"commit {c['id']} {c['title']}" for c in compare["commits"]]
        if now.agent_id != mark.audit.agent_id:
            changes.append(f"agent {mark.audit.agent_id} -> {now.agent_id}")
        changes += [f"new token {t}" for t in set(now.token_ids) - set(mark.audit.token_ids)]
        changes += [f"revoked token {t}" for t in set(mark.audit.token_ids) - set(now.token_ids)]
        if now.environments != mark.audit.environments:
            changes.append(f"environments {mark.audit.environments} -> {now.environments}")
        if now.secret_version != mark.audit.secret_version:
            changes.append(
                f"Secret resourceVersion {mark.audit.secret_version} -> {now.secret_version}"
            )
        return changes

    # -- clean-up ----------------------------------------------------------------
    def purge(self, agent: str, manifest_root: str | None = None) -> None:
        """The finalizer: remove whatever a journey may have left of ``agent``, through
        the APIs (not kasboot: it is what may have failed). Each part is idempotent."""
        from e2e.purge import purge_agent

        purge_agent(self, agent, f"{manifest_root or self.flux_path}/{agent}")

    def on_cleanup(self, action: Callable[[], None]) -> None:
        self._cleanups.append(action)

    def cleanup(self) -> list[str]:
        """Run every clean-up (newest first) even when one fails; what failed."""
        failures: list[str] = []
        while self._cleanups:
            action = self._cleanups.pop()
            try:
                action()
            except Exception as error:  # a finalizer goes on: the next one may still work
                failures.append(f"{getattr(action, '__name__', action)}: {error}")
        return failures

    # -- a Flux source at the repository root (the root-path trap) ---------------
    @contextmanager
    def root_path_source(self) -> Iterator[RootSource]:
        """A branch holding nothing but a README and a GitRepository + Kustomization in
        flux-system that apply it from ``./`` — the layout of `flux bootstrap --path ./`,
        built beside the world's own Flux so its sync is never touched. Same code for
        both worlds; removed on exit."""
        source = RootSource.create(self)
        try:
            yield source
        finally:
            source.delete()


class SandboxWorld(World):
    """``kasboot sandbox up`` in a temporary directory; writes read from the emulators'
    request logs (only kasboot's own requests: the Flux simulator talks to them too)."""

    def __init__(self, directory: Path) -> None:
        up = subprocess.run(
            [sys.executable, "-m", "kasboot", "sandbox", "up", "--dir", str(directory), "--detach"],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if up.returncode != 0:
            raise RuntimeError(f"sandbox up failed:\n{up.stderr}")
        from kasboot.sandbox.world import parse_env

        super().__init__("sandbox", parse_env(up.stdout), "clusters/sandbox", directory)
        self.directory = directory
        self.on_cleanup(self._down)

    def _down(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "kasboot", "sandbox", "down", "--dir", str(self.directory)],
            capture_output=True,
            check=False,
            timeout=60,
        )

    @property
    def kube_url(self) -> str:
        state = json.loads((self.directory / "world.json").read_text())
        return f"http://127.0.0.1:{state['kube_port']}"

    def _log(self, base: str) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{base}/-/sandbox/requests", timeout=10) as answer:
            return list(json.loads(answer.read()))

    def writes_since(self, mark: Mark) -> list[str]:
        found = []
        for system, base in (("GitLab", self.env["GITLAB_HOST"]), ("cluster", self.kube_url)):
            found += [
                f"{system} {r['method']} {r['path']}"
                for r in self._log(base)
                if r["method"] in WRITE_METHODS
                and r.get("user_agent", "").startswith(KASBOOT_USER_AGENT)
                and float(r["at"]) >= mark.at
            ]
        return found


class RealWorld(World):
    """A real GitLab project and a cluster with Flux bootstrapped from it (e2e/kind-flux.sh
    makes one). Writes are read from GitLab's record (commits, tokens, environments) and
    the Secret's resourceVersion: a real GitLab has no request log to read."""

    def __init__(self, directory: Path) -> None:
        env = {
            "GITLAB_HOST": os.environ["KASBOOT_E2E_GITLAB_HOST"],
            "GITLAB_TOKEN": os.environ["KASBOOT_E2E_GITLAB_TOKEN"],
            "KUBECONFIG": os.environ["KASBOOT_E2E_KUBECONFIG"],
            "KASBOOT_PROJECT": os.environ["KASBOOT_E2E_PROJECT"],
        }
        flux_path = os.environ.get("KASBOOT_E2E_FLUX_PATH", "clusters/kasboot-e2e").strip("/")
        super().__init__("real", env, flux_path.removeprefix("./"), directory, timeout="5m")
        self.fixed_agent = os.environ.get("KASBOOT_E2E_AGENT") or None

    def writes_since(self, mark: Mark) -> list[str]:
        return self.audit_changes(mark)


def make_world(kind: str, directory: Path) -> World:
    return SandboxWorld(directory) if kind == "sandbox" else RealWorld(directory)


from e2e.root_source import RootSource  # noqa: E402  (the type of root_path_source)
