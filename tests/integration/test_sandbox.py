"""The sandbox contract, through the real CLI: Flux's root-path trap reproduced with
``--flux-path ./`` and avoided with ``./clusters/sandbox``; kubectl works with the
written kubeconfig; down leaves no process; state survives down/up."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gitlab
import pytest
from kubernetes import client, config

from .conftest import Sandbox, run_kasboot, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox
KUBECTL = str(Path(sys.executable).parent / "kubectl")
AGENT_CONFIG = "user_access:\n  access_as:\n    agent: {}\n  projects:\n  - id: demo/fleet\n"
TRAP_MESSAGE = re.compile(
    r"^failed to decode Kubernetes YAML from /tmp/kustomization-\d+"
    r"/\.gitlab/agents/x/config\.yaml: missing Resource metadata <nil>$"
)


@pytest.fixture(scope="module")
def root_path_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("root-path")
    world = sandbox_up(directory, "--flux-path", "./")
    try:
        yield world
    finally:
        sandbox_down(directory)


@pytest.fixture(scope="module")
def sub_path_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("sub-path")
    world = sandbox_up(directory, "--flux-path", "./clusters/sandbox")
    try:
        yield world
    finally:
        sandbox_down(directory)


def _commit_agent_config(world: Sandbox) -> str:
    gl = gitlab.Gitlab(world.gitlab_url, private_token=world.token)
    project = gl.projects.get(world.project)
    commit = project.commits.create(
        {
            "branch": "main",
            "commit_message": "Add agent x",
            "actions": [
                {
                    "action": "create",
                    "file_path": ".gitlab/agents/x/config.yaml",
                    "content": AGENT_CONFIG,
                }
            ],
        }
    )
    return str(commit.id)


def _custom(world: Sandbox) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(config.new_client_from_config(str(world.kubeconfig)))


def _reconcile(world: Sandbox, plural: str, group: str, token: str) -> None:
    """``kubectl annotate --overwrite``, as one would by hand (flux reconcile does the same)."""
    subprocess.run(
        [
            *(KUBECTL, "--kubeconfig", str(world.kubeconfig), "-n", "flux-system", "annotate"),
            *("--overwrite", f"{plural}.{group}/flux-system"),
            f"reconcile.fluxcd.io/requestedAt={token}",
        ],
        check=True,
        capture_output=True,
    )


def _wait_handled(world: Sandbox, group: str, version: str, plural: str, token: str) -> Any:
    custom = _custom(world)
    deadline = time.monotonic() + 120  # only bounds a hang
    while True:
        obj = custom.get_namespaced_custom_object(
            group, version, "flux-system", plural, "flux-system"
        )
        status = obj.get("status") or {}
        if status.get("lastHandledReconcileAt") == token:
            return obj
        assert time.monotonic() < deadline, f"{plural} never handled {token}: {status}"
        time.sleep(0.05)


def _reconcile_with_source(world: Sandbox, token: str) -> dict[str, Any]:
    _reconcile(world, "gitrepositories", "source.toolkit.fluxcd.io", token)
    _wait_handled(world, "source.toolkit.fluxcd.io", "v1", "gitrepositories", token)
    _reconcile(world, "kustomizations", "kustomize.toolkit.fluxcd.io", token)
    return dict(_wait_handled(world, "kustomize.toolkit.fluxcd.io", "v1", "kustomizations", token))


def _ready(obj: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")


def test_root_path_setup_fails_on_the_agent_config(root_path_world: Sandbox) -> None:
    sha = _commit_agent_config(root_path_world)
    kustomization = _reconcile_with_source(root_path_world, "2026-01-01T00:00:00.1Z")
    ready = _ready(kustomization)
    assert ready["status"] == "False"
    assert ready["reason"] == "BuildFailed"
    assert TRAP_MESSAGE.match(ready["message"]), ready["message"]
    assert kustomization["status"]["lastAttemptedRevision"] == f"main@sha1:{sha}"
    assert kustomization["status"]["lastAppliedRevision"] != f"main@sha1:{sha}"
    agents = [r["user_agent"] for r in root_path_world.kube_requests()]
    assert any(a.startswith("kustomize-controller/") for a in agents)
    assert any(a.startswith("source-controller/") for a in agents)


def test_sub_path_setup_stays_ready(sub_path_world: Sandbox) -> None:
    sha = _commit_agent_config(sub_path_world)
    kustomization = _reconcile_with_source(sub_path_world, "2026-01-01T00:00:00.2Z")
    ready = _ready(kustomization)
    assert (ready["status"], ready["reason"]) == ("True", "ReconciliationSucceeded")
    assert ready["message"] == f"Applied revision: main@sha1:{sha}"
    assert kustomization["status"]["lastAppliedRevision"] == f"main@sha1:{sha}"


def test_kubectl_works_with_the_written_kubeconfig(sub_path_world: Sandbox) -> None:
    listed = subprocess.run(
        [
            *(KUBECTL, "--kubeconfig", str(sub_path_world.kubeconfig), "get", "deployments"),
            *("-n", "flux-system", "-l", "app.kubernetes.io/part-of=flux", "-o", "name"),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert sorted(listed) == [
        "deployment.apps/helm-controller",
        "deployment.apps/kustomize-controller",
        "deployment.apps/notification-controller",
        "deployment.apps/source-controller",
    ]


def test_sandbox_env_and_status(sub_path_world: Sandbox) -> None:
    text = (sub_path_world.dir / "sandbox.env").read_text()
    for key in ("GITLAB_HOST", "GITLAB_TOKEN", "KUBECONFIG", "KASBOOT_PROJECT"):
        assert f"export {key}=" in text
    status = run_kasboot("sandbox", "status", "--dir", str(sub_path_world.dir))
    assert "(up)" in status


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def test_down_leaves_no_process_and_state_survives(tmp_path: Path) -> None:
    world = sandbox_up(tmp_path, "--project", "team/apps", "--no-flux")
    pid = world.pid
    assert pid is not None and _alive(pid)
    gl = gitlab.Gitlab(world.gitlab_url, private_token=world.token)
    gl.projects.get("team/apps").files.create(
        {"file_path": "kept.txt", "branch": "main", "content": "x", "commit_message": "keep"}
    )
    core = client.CoreV1Api(config.new_client_from_config(str(world.kubeconfig)))
    core.create_namespace({"metadata": {"name": "kept"}})
    sandbox_down(tmp_path)
    assert not _alive(pid)
    leftovers = subprocess.run(
        ["pgrep", "-f", f"kasboot.sandbox.world serve --dir {tmp_path}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert leftovers == []
    down = subprocess.run(
        [sys.executable, "-m", "kasboot", "sandbox", "status", "--dir", str(tmp_path)],
        capture_output=True,
        check=False,
    )
    assert down.returncode != 0

    again = sandbox_up(tmp_path)
    try:
        assert again.env == world.env  # same ports, same token, same project
        gl = gitlab.Gitlab(again.gitlab_url, private_token=again.token)
        assert gl.projects.get("team/apps").files.get("kept.txt", ref="main").decode() == b"x"
        core = client.CoreV1Api(config.new_client_from_config(str(again.kubeconfig)))
        assert core.read_namespace("kept").metadata.name == "kept"
        assert core.list_namespace().items  # the cluster answers
    finally:
        sandbox_down(tmp_path)


def test_foreground_up_runs_until_interrupted(tmp_path: Path) -> None:
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "kasboot", "sandbox", "up", "--dir", str(tmp_path), "--no-flux"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        assert lines[-1].startswith("export KASBOOT_PROJECT=")
        pid = json.loads((tmp_path / "world.json").read_text())["pid"]
        assert _alive(pid)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert not _alive(pid)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
