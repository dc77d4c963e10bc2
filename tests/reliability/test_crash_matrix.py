"""Issue 17 item 1: kill ``kasboot bootstrap`` anywhere, run the same command again, and
the world converges.

Each kill point names one request of a bootstrap: the first request of a step (the step
boundary before it) or a write. The emulator holds that request (a fault rule on its
route that matches kasboot's User-Agent only, so the Flux simulator's controllers, which
patch the HelmRelease and read the token Secret too, are never held), the test waits
until the rule's hit count shows the request arrived, and then kills kasboot — SIGKILL,
or SIGTERM / SIGINT for the clean-interrupt cases. A hold lasts until the test releases
it (PUT /-/sandbox/faults with ``"release": true``), so however busy the machine, kasboot
is still inside the request when the signal comes. Three ways to hold a write:

- ``held``: latency before the emulator handles it — kasboot dies with its request in
  flight, before the emulator has acted on it (released after the kill, the emulator
  handles it before the re-run starts);
- ``applied``: the emulator handles it at once and withholds the answer — kasboot dies
  not knowing its write landed;
- ``refused``: latency, then a 503 instead of handling it — for a step boundary that has
  no request of its own (the step's first request is a write): kasboot dies after the
  earlier steps' effects and before any of the next step's, and the write never lands.

A proof that the kill landed while the request was held: no request of kasboot's was
received after the held one. Then the same command runs again, and it must leave one agent,
its config.yaml, no duplicate environment, at most two active tokens with the Secret's
among them, the manifests committed once and the HelmRelease Ready.

The default run covers one kill point of each kind; the whole matrix is ``slow``."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gitlab
import pytest

from kasboot.cluster import TOKEN_ID_ANNOTATION
from tests.integration.bootstrap_helpers import agent_args, run_kasboot
from tests.reliability.helpers import SIMULATOR_AGENTS, set_faults

# pytest-timeout only catches a hang: a case runs kasboot several times, which on a busy
# 2-core machine took up to ~80 s (the default bound is 120 s).
pytestmark = [pytest.mark.sandbox, pytest.mark.timeout(600)]
KUBECTL = str(Path(sys.executable).parent / "kubectl")
# Holds end when the test releases them; this bound (under kasboot's 30 s read timeout,
# past any wait of the test's on a busy machine) only ends a hold a broken run left.
HOLD_MS = 25_000
WAIT_S = 120  # how long the test waits for a request to arrive before calling it lost
A = "{agent}"  # placeholder in a path, replaced by the case's agent name
KASBOOT = r"^kasboot/"  # the User-Agent of kasboot's requests, GitLab's and the cluster's


@dataclass(frozen=True)
class KillPoint:
    name: str
    server: str  # "gitlab" or "kube"
    method: str
    path: str  # regex; A stands for the agent name
    nth: int = 1  # which request of the run matching method and path
    # held: latency before it is handled (released after the kill, it is handled);
    # applied: handled at once, its answer withheld;
    # refused: latency, then refused (503) — never handled, so a kill there falls after
    # the earlier steps' effects and before any of the next step's.
    mode: str = "held"
    # Other requests (method, path) on the same emulator that mark the same point in
    # another version of the sequence: the first of them kasboot sends is the kill point
    # (each held once), e.g. the token step's first write, which is the lease's create
    # or, when the namespace is created before the lease, the namespace's.
    also: tuple[tuple[str, str], ...] = ()

    def requests(self, agent: str) -> list[tuple[str, str]]:
        return [(m, p.replace(A, agent)) for m, p in ((self.method, self.path), *self.also)]

    def rules(self, agent: str) -> list[dict[str, Any]]:
        rules = []
        for method, path in self.requests(agent):
            base = {"path": path, "method": method, "user_agent": KASBOOT, "times": 1}
            if self.mode == "applied":
                rules.append({**base, "mode": "applied_timeout", "hold_ms": HOLD_MS})
            elif self.mode == "refused":
                rules.append({**base, "latency_ms": HOLD_MS, "status": 503})
            else:
                rules.append({**base, "latency_ms": HOLD_MS})
        return rules


# Step boundaries: the first request of the step named after the bar (the sequence of
# a fresh bootstrap's requests is in docs/reliability.md). Pre-flight reads GitLab in
# one GraphQL survey, so the agent, environment and manifest steps read nothing of their
# own: their boundary is the next step's first write, held and then refused, so that the
# kill falls between the two steps' effects (the same write "held" lands after the kill,
# "applied" before it: the write points below). `also`: the request that marks the same
# boundary when the cluster seam sends fewer requests (the namespace created before the
# token lease; reconcile annotating only the Flux source; no Deployment list after a
# commit that added the release).
BOUNDARIES = [
    KillPoint("preflight|register", "gitlab", "POST", r"/cluster_agents$", mode="refused"),
    KillPoint("register|environment", "gitlab", "POST", r"/environments$", mode="refused"),
    KillPoint("environment|flux-environment", "gitlab", "POST", r"/environments$", 2, "refused"),
    # The token step's first request: the lease's create, or the namespace's before it.
    KillPoint(
        "flux-environment|token",
        "kube",
        "POST",
        rf"/namespaces/{A}/leases$",
        mode="refused",
        also=(("POST", r"/api/v1/namespaces$"),),
    ),
    # The Secret step reads nothing (pre-flight and the lease did) and its first request
    # is the Secret's create (a write point below): the boundary is the token step's last
    # request, the lease write naming the token about to be stored.
    KillPoint("token|secret", "kube", "PUT", rf"/namespaces/{A}/leases/[^/]+$"),
    # The manifests are compared with the survey's blob ids (no read): the next request
    # after the Secret's create is the commit.
    KillPoint("secret|manifests", "gitlab", "POST", r"/repository/commits$", mode="refused"),
    # Reconcile's first request: the HelmRelease read, or the Flux source's annotation.
    KillPoint(
        "commit|reconcile",
        "kube",
        "GET",
        rf"/helmreleases/{A}$",
        mode="refused",
        also=(("PATCH", r"/gitrepositories/flux-system$"),),
    ),
    # The restart check's first request, the agent's Deployments listed; without it the
    # next is the confirm step's lease release.
    KillPoint(
        "reconcile|restart-check",
        "kube",
        "GET",
        rf"/namespaces/{A}/deployments$",
        mode="refused",
        also=(("DELETE", rf"/namespaces/{A}/leases/kasboot-token-[^/]+$"),),
    ),
    # A run that held the token lease throughout reads no Secret: the confirm step's
    # first request is the lease's release (refused: the lease stays until it expires).
    KillPoint(
        "restart-check|confirm",
        "kube",
        "DELETE",
        rf"/namespaces/{A}/leases/kasboot-token-[^/]+$",
        mode="refused",
    ),
]
# Writes, in the order a fresh bootstrap makes them ("manifests|commit" is the commit
# write held before it is handled).
WRITES = [
    ("register agent", "gitlab", "POST", r"/cluster_agents$", 1),
    ("create agent environment", "gitlab", "POST", r"/environments$", 1),
    ("create Flux environment", "gitlab", "POST", r"/environments$", 2),
    ("mint token", "gitlab", "POST", r"/cluster_agents/\d+/tokens$", 1),
    ("create namespace", "kube", "POST", r"/api/v1/namespaces$", 1),
    ("create Secret", "kube", "POST", rf"/namespaces/{A}/secrets$", 1),
    ("commit", "gitlab", "POST", r"/repository/commits$", 1),
    # The only annotation of a fresh bootstrap: the Kustomization follows the source's
    # new revision by itself, and the HelmRepository, HelmChart and HelmRelease are new
    # (watched, not annotated); agentk's Deployment is installed after the Secret.
    ("annotate GitRepository", "kube", "PATCH", r"/gitrepositories/flux-system$", 1),
    ("release token lease", "kube", "DELETE", rf"/namespaces/{A}/leases/kasboot-token-[^/]+$", 1),
]
WRITE_POINTS = [
    KillPoint(f"{name} ({mode})", server, method, path, nth, mode)
    for name, server, method, path, nth in WRITES
    for mode in ("held", "applied")
]
ALL_POINTS = BOUNDARIES + WRITE_POINTS
# The default run: GitLab writes held both ways, a cluster write, the HelmRelease patch
# (and, below, the commit interrupted by SIGTERM and a step boundary by SIGINT).
FAST = {
    "register agent (applied)",
    "mint token (held)",
    "create Secret (applied)",
    "annotate GitRepository (applied)",  # the reconcile's first write in every version
}


def _marks(name: str) -> tuple[Any, ...]:
    return () if name in FAST else (pytest.mark.slow,)


def _cases(points: list[KillPoint]) -> list[Any]:
    return [pytest.param(p, id=p.name, marks=_marks(p.name)) for p in points]


# --- the emulators -----------------------------------------------------------------


def _url(sandbox: Any, server: str) -> str:
    return str(sandbox.gitlab_url if server == "gitlab" else sandbox.kube_url)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def _hits(sandbox: Any, server: str) -> int:
    rules = _get(f"{_url(sandbox, server)}/-/sandbox/faults")["rules"]
    return sum(int(rule["hits"]) for rule in rules)


def _kasboot_records(sandbox: Any) -> list[dict[str, Any]]:
    records = sandbox.gitlab_requests() + sandbox.kube_requests()
    return [r for r in records if not r.get("user_agent", "").startswith(SIMULATOR_AGENTS)]


def _wait(condition: Any, what: str, bound: float = WAIT_S) -> None:
    """Poll until `condition()`; the bound only keeps a broken run from hanging the suite."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"{what} never happened")


def _start(sandbox: Any, args: list[str]) -> subprocess.Popen[str]:
    environ = {**os.environ, **sandbox.env}
    environ.pop("CI_JOB_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "kasboot", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=environ,
        cwd=sandbox.dir,
    )


def _args(agent: str) -> list[str]:
    # Its own Flux environment, so that every case creates one (the default one is shared).
    return agent_args(agent, "--flux-environment-name", f"flux-system/{agent}-flux")


@dataclass
class Killed:
    code: int
    stderr: str
    held: dict[str, Any]  # the held request's log record


def _hold(path: str, method: str) -> dict[str, Any]:
    """Kasboot's next request to `path` waits (until released) before it is handled."""
    return {"path": path, "method": method, "user_agent": KASBOOT, "latency_ms": HOLD_MS}


def _arm(sandbox: Any, server: str, rules: list[dict[str, Any]]) -> None:
    """Put `rules` on one emulator and release what the other rules hold: a request held
    while the next rule is armed goes on only once that rule is in place."""
    set_faults(_url(sandbox, server), [{**rule, "times": 1} for rule in rules], release=True)


def _began(record: dict[str, Any]) -> float:
    """When the emulator received the request (the log's `at` is when it was done)."""
    return float(record["at"]) - float(record["ms"]) / 1000


def _lease_upkeep(record: dict[str, Any], sig: int) -> bool:
    """Kasboot renews its token lease from a thread of its own while it holds it (a PUT),
    and an interrupted run gives it back on its way out (GET, DELETE): neither is the run
    going on past the kill point."""
    if "/leases/kasboot-token-" not in record["path"]:
        return False
    return record["method"] == "PUT" or sig != signal.SIGKILL


def _kill_at(sandbox: Any, point: KillPoint, agent: str, sig: int) -> Killed:
    """Run the bootstrap, hold it at `point`, send `sig`, then release the held request
    and wait until the emulator is done with it (so that the re-run does not race it).
    A run that ends well without sending the point's request skips the case: this
    version of bootstrap has no such point (docs/reliability.md, the request sequence)."""
    sandbox.clear_logs()
    requests = point.requests(agent)
    method, path = requests[0]
    earlier = [_hold(path, method)] * (point.nth - 1)  # the route's requests let through first
    try:
        _arm(sandbox, point.server, earlier[:1] or point.rules(agent))
        process = _start(sandbox, _args(agent))
        for index in range(len(earlier)):
            _wait(lambda: _hits(sandbox, point.server) >= 1, f"request {index + 1} of {point}")
            last = index == len(earlier) - 1
            _arm(sandbox, point.server, point.rules(agent) if last else earlier[:1])
        _wait(
            lambda: _hits(sandbox, point.server) >= 1 or process.poll() is not None,
            f"the held request at {point}",
        )
        missed = process.poll() is not None and _hits(sandbox, point.server) == 0
        # The rules go, the hold stays: an alternative still armed must not catch what an
        # interrupted run sends on its way out (giving the lease back).
        set_faults(_url(sandbox, point.server), [])
        if not missed:
            process.send_signal(sig)
        _, stderr = process.communicate(timeout=WAIT_S)
    finally:
        for server in ("gitlab", "kube"):
            _arm(sandbox, server, [])
    if missed and process.returncode == 0:
        pytest.skip(f"a fresh bootstrap sends no {' or '.join(m + ' ' + p for m, p in requests)}")

    def held() -> list[dict[str, Any]]:
        return [
            r
            for r in _kasboot_records(sandbox)
            if any(r["method"] == m and re.search(p, r["path"]) for m, p in requests)
            and r.get("fault") in ("latency", "applied_timeout", "reject")
        ]

    # The route's earlier requests held come first; the kill point's request is the
    # last of them to end (it was released last).
    _wait(lambda: len(held()) >= point.nth, f"the end of the held request at {point}")
    record = max(held(), key=lambda r: float(r["at"]))
    # Sent after the held request arrived. Not "ended after": a watch kasboot opened
    # before it is logged when the emulator notices the dead connection, which on a busy
    # machine came seconds after the kill.
    later = [
        r
        for r in _kasboot_records(sandbox)
        if r != record and _began(r) > _began(record) and not _lease_upkeep(r, sig)
    ]
    assert later == [], f"kasboot went on past {point.name}: {later}"
    return Killed(process.returncode, stderr, record)


# --- the converged world -----------------------------------------------------------


def _kubectl(sandbox: Any, *args: str) -> dict[str, Any]:
    completed = subprocess.run(
        [KUBECTL, "--kubeconfig", str(sandbox.kubeconfig), *args, "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(completed.stdout))


@pytest.fixture(scope="module")
def gl(sandbox: Any) -> gitlab.Gitlab:
    return gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token)


def assert_converged(sandbox: Any, gl: gitlab.Gitlab, agent: str) -> None:
    project = gl.projects.get(sandbox.project)
    agents = [a for a in project.cluster_agents.list(get_all=True) if a.name == agent]
    assert len(agents) == 1, f"{len(agents)} agents named {agent}"
    agent_id = agents[0].id

    config_path = f".gitlab/agents/{agent}/config.yaml"
    config = project.files.get(config_path, ref="main").decode().decode()
    assert config == (
        f"user_access:\n  access_as:\n    agent: {{}}\n  projects:\n  - id: {sandbox.project}\n"
    )

    names = [e.name for e in project.environments.list(get_all=True)]
    assert len(names) == len(set(names)), f"duplicate environments: {sorted(names)}"
    environments = {e.name: e for e in project.environments.list(get_all=True)}
    for name in (f"flux-system/{agent}", f"flux-system/{agent}-flux"):
        assert environments[name].cluster_agent["id"] == agent_id, name

    tokens_path = f"/projects/{project.id}/cluster_agents/{agent_id}/tokens"
    active = {int(t["id"]) for t in gl.http_list(tokens_path, get_all=True)}
    assert 1 <= len(active) <= 2, f"active tokens: {active}"
    secret = _kubectl(sandbox, "get", "secret", "gitlab-agent-token", "-n", agent)
    assert base64.b64decode(secret["data"]["token"]).startswith(b"glagent-")
    assert int(secret["metadata"]["annotations"][TOKEN_ID_ANNOTATION]) in active

    for path in (
        config_path,
        f"clusters/sandbox/{agent}/gitlab-helm-repository.yaml",
        f"clusters/sandbox/{agent}/gitlab-agent-helm-release.yaml",
    ):
        # python-gitlab reads a `path` keyword as the URL; the filter goes as a parameter.
        commits = project.commits.list(
            query_parameters={"ref_name": "main", "path": path}, get_all=True
        )
        assert len(commits) == 1, f"{path} committed {len(commits)} times"

    release = _kubectl(
        sandbox, "get", "helmreleases.helm.toolkit.fluxcd.io", agent, "-n", "flux-system"
    )
    ready = next(c for c in release["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True", ready


def _agent_name(point: KillPoint, prefix: str) -> str:
    index = ALL_POINTS.index(point)
    return f"{prefix}-{index:02d}"


# --- the matrix --------------------------------------------------------------------


@pytest.mark.parametrize("point", _cases(ALL_POINTS))
def test_sigkill_then_rerun_converges(sandbox: Any, gl: gitlab.Gitlab, point: KillPoint) -> None:
    agent = _agent_name(point, "crash")
    killed = _kill_at(sandbox, point, agent, signal.SIGKILL)
    assert killed.code == -signal.SIGKILL, killed.stderr
    assert killed.held["user_agent"].startswith("kasboot/"), killed.held
    rerun = run_kasboot(sandbox, *_args(agent))
    assert rerun.code == 0, rerun.stderr
    assert_converged(sandbox, gl, agent)


# SIGTERM / SIGINT inside later writes than test_exit_codes' (the first write):
# one line, 143 / 130, no traceback, and the re-run finishes.
SIGNAL_POINTS = [
    (signal.SIGTERM, 143, "SIGTERM", "commit (applied)"),
    (signal.SIGINT, 130, "SIGINT", "token|secret"),
    (signal.SIGINT, 130, "SIGINT", "mint token (applied)"),
    (signal.SIGTERM, 143, "SIGTERM", "create Secret (held)"),
    (signal.SIGINT, 130, "SIGINT", "annotate GitRepository (held)"),
    (signal.SIGTERM, 143, "SIGTERM", "release token lease (held)"),
]


@pytest.mark.parametrize(
    ("sig", "code", "sig_name", "point_name"),
    [
        pytest.param(*case, id=f"{case[2]}@{case[3]}", marks=_marks(case[3]) if i >= 2 else ())
        for i, case in enumerate(SIGNAL_POINTS)
    ],
)
def test_a_signal_inside_a_write_is_one_line_and_a_rerun_converges(
    sandbox: Any, gl: gitlab.Gitlab, sig: int, code: int, sig_name: str, point_name: str
) -> None:
    point = next(p for p in ALL_POINTS if p.name == point_name)
    agent = _agent_name(point, sig_name.lower())
    killed = _kill_at(sandbox, point, agent, sig)
    assert killed.code == code, killed.stderr
    assert "Traceback" not in killed.stderr
    lines = [line for line in killed.stderr.splitlines() if line.strip()]
    interrupted = [line for line in lines if "Interrupted" in line]
    assert interrupted == [lines[-1]], killed.stderr
    assert lines[-1].startswith(f"Interrupted. ({sig_name})"), killed.stderr
    rerun = run_kasboot(sandbox, *_args(agent))
    assert rerun.code == 0, rerun.stderr
    assert_converged(sandbox, gl, agent)
