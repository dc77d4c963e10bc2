"""`kasboot uninstall` end to end against the sandbox: one commit removes the manifests,
Flux prunes the HelmRelease (and agentk with it), the Secret, tokens, environments (and
with --delete-agent the registration) go; a second run writes nothing, as the
emulators' request logs show. stdin is not a terminal here: it never prompts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import gitlab
import pytest

from kasboot.cluster import AGENT_ANNOTATION
from kasboot.ownership import RECORD_ANNOTATION
from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot

pytestmark = pytest.mark.sandbox
KUBECTL = str(Path(sys.executable).parent / "kubectl")


def command(agent: str, name: str, *extra: str) -> list[str]:
    """The same flags for bootstrap and uninstall; the Flux environment gets its own name
    so other agents' environments in the shared sandbox are not touched."""
    return [name, *agent_args(agent)[1:], "--flux-environment-name", f"{agent}-flux", *extra]


def kubectl(sandbox: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(sandbox.kubeconfig), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def exists(sandbox: Any, kind: str, namespace: str, name: str) -> bool:
    found = kubectl(sandbox, "get", kind, name, "-n", namespace, "-o", "name")
    assert found.returncode == 0 or "NotFound" in found.stderr, found.stderr
    return found.returncode == 0


@pytest.fixture(scope="module")
def gl(sandbox: Any) -> gitlab.Gitlab:
    return gitlab.Gitlab(sandbox.gitlab_url, private_token=sandbox.token)


def bootstrap(sandbox: Any, gl: gitlab.Gitlab, agent: str) -> tuple[Any, Any]:
    result = run_kasboot(sandbox, *command(agent, "bootstrap"))
    assert result.code == 0, result.stderr
    project = gl.projects.get(sandbox.project)
    found = next(a for a in project.cluster_agents.list(get_all=True) if a.name == agent)
    return project, found


def file_exists(project: Any, path: str) -> bool:
    try:
        project.files.get(path, ref="main")
        return True
    except gitlab.exceptions.GitlabGetError:
        return False


def environment_names(project: Any) -> set[str]:
    return {e.name for e in project.environments.list(get_all=True)}


def test_uninstall_delete_agent_removes_everything_then_writes_nothing(
    sandbox: Any, gl: gitlab.Gitlab
) -> None:
    agent = "uninst-all"
    project, registered = bootstrap(sandbox, gl, agent)
    assert exists(sandbox, "helmreleases.helm.toolkit.fluxcd.io", "flux-system", agent)
    assert exists(sandbox, "deployment", agent, f"{agent}-gitlab-agent-v2")
    commits_before = {c.id for c in project.commits.list(get_all=True)}

    result = run_kasboot(sandbox, *command(agent, "uninstall", "--delete-agent", "-o", "json"))
    assert result.code == 0, result.stderr
    document = result.json()
    results = {step["name"]: step["result"] for step in document["steps"]}
    assert results == {
        "preflight": "OK",
        "files": "CHANGED",
        "commit": "CHANGED",
        "reconcile": "CHANGED",
        "secret": "CHANGED",
        "proxy-secret": "UNCHANGED",  # no proxy credentials: none to delete
        "tokens": "CHANGED",
        "environments": "CHANGED",
        "url-configuration": "UNCHANGED",  # not a receptive agent: none recorded
        "agent": "CHANGED",
        "namespace": "CHANGED",  # kasboot created it for this agent, and it is empty now
    }
    files = {
        f".gitlab/agents/{agent}/config.yaml",
        f"clusters/sandbox/{agent}/gitlab-helm-repository.yaml",
        f"clusters/sandbox/{agent}/gitlab-agent-helm-release.yaml",
    }
    assert set(document["files"]) == files
    new_commits = [c for c in project.commits.list(get_all=True) if c.id not in commits_before]
    assert [c.id for c in new_commits] == [document["commit"]]  # ONE commit
    assert not any(file_exists(project, path) for path in files)
    # Flux pruned the HelmRelease and helm-controller uninstalled agentk.
    assert not exists(sandbox, "helmreleases.helm.toolkit.fluxcd.io", "flux-system", agent)
    assert not exists(sandbox, "deployment", agent, f"{agent}-gitlab-agent-v2")
    assert not exists(sandbox, "secret", agent, "gitlab-agent-token")
    assert all(a.name != agent for a in project.cluster_agents.list(get_all=True))
    assert not environment_names(project) & {f"flux-system/{agent}", f"{agent}-flux"}
    assert document["agent"]["id"] == registered.id and document["agent_deleted"]

    sandbox.clear_logs()
    again = run_kasboot(sandbox, *command(agent, "uninstall", "--delete-agent", "-o", "json"))
    assert again.code == 0, again.stderr
    steps = {step["name"]: step["result"] for step in again.json()["steps"]}
    assert steps.pop("preflight") == "OK"
    assert set(steps.values()) <= {"UNCHANGED", "SKIPPED"}, steps
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert kasboot_writes(sandbox.kube_requests()) == []


def test_uninstall_keeps_the_agent_and_another_agents_secret(
    sandbox: Any, gl: gitlab.Gitlab
) -> None:
    agent = "uninst-keep"
    project, registered = bootstrap(sandbox, gl, agent)
    # The Secret now claims to hold another agent's token: it must not be deleted.
    # (Another agent's Secret carries that agent's record, not this one's.)
    claim = {AGENT_ANNOTATION: "other/agent", RECORD_ANNOTATION: None}
    other = json.dumps({"metadata": {"annotations": claim}})
    patched = kubectl(
        sandbox, "patch", "secret", "gitlab-agent-token", "-n", agent, "--type=merge", "-p", other
    )
    assert patched.returncode == 0, patched.stderr

    result = run_kasboot(sandbox, *command(agent, "uninstall"))
    assert result.code == 0, result.stderr
    assert "Uninstalled the GitLab agent" in result.stdout
    assert exists(sandbox, "secret", agent, "gitlab-agent-token")
    assert not exists(sandbox, "helmreleases.helm.toolkit.fluxcd.io", "flux-system", agent)
    assert file_exists(project, f".gitlab/agents/{agent}/config.yaml")
    kept = next(a for a in project.cluster_agents.list(get_all=True) if a.name == agent)
    assert kept.id == registered.id
    tokens = gl.http_list(
        f"/projects/{project.id}/cluster_agents/{registered.id}/tokens", get_all=True
    )
    assert list(tokens) == []
    assert not environment_names(project) & {f"flux-system/{agent}", f"{agent}-flux"}


def test_uninstall_dry_run_writes_nothing(sandbox: Any, gl: gitlab.Gitlab) -> None:
    agent = "uninst-plan"
    bootstrap(sandbox, gl, agent)
    sandbox.clear_logs()
    result = run_kasboot(sandbox, *command(agent, "uninstall", "--dry-run", "-o", "json"))
    assert result.code == 0, result.stderr
    steps = {step["name"]: step["result"] for step in result.json()["steps"]}
    assert steps["commit"] == "PLANNED" and steps["secret"] == "PLANNED"
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert kasboot_writes(sandbox.kube_requests()) == []
    assert exists(sandbox, "helmreleases.helm.toolkit.fluxcd.io", "flux-system", agent)


def test_on_a_terminal_the_plan_is_confirmed_first(sandbox: Any, gl: gitlab.Gitlab) -> None:
    import os

    import pexpect

    agent = "uninst-ask"
    bootstrap(sandbox, gl, agent)
    environ = {**os.environ, **sandbox.env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
    for name in ("CI", "CI_JOB_TOKEN", "NO_COLOR"):
        environ.pop(name, None)

    def answer(key: str) -> str:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "kasboot", *command(agent, "uninstall")],
            env=environ,
            cwd=str(sandbox.dir),
            dimensions=(60, 220),
            encoding="utf-8",
            timeout=90,
        )
        child.expect_exact("as planned above?")
        shown = str(child.before)
        child.send(key)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, str(child.before)
        return shown + str(child.before)

    sandbox.clear_logs()
    declined = answer("n")
    assert f"clusters/sandbox/{agent}/gitlab-agent-helm-release.yaml" in declined  # the plan
    assert "Cancelled; nothing was written." in declined
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert kasboot_writes(sandbox.kube_requests()) == []
    assert exists(sandbox, "helmreleases.helm.toolkit.fluxcd.io", "flux-system", agent)

    accepted = answer("y")
    assert "Uninstalled the GitLab agent" in accepted
    assert not exists(sandbox, "helmreleases.helm.toolkit.fluxcd.io", "flux-system", agent)


def test_uninstall_deletes_the_proxy_secret_bootstrap_made(sandbox: Any) -> None:
    """A proxy URL with credentials lives in `<token Secret>-proxy` (never in git):
    uninstall removes it with the agent's other objects."""
    agent = "un-proxy"
    proxy = {"KASBOOT_HTTPS_PROXY": "http://agent:pr0xy-s3cret@proxy.example.com:3128"}
    created = run_kasboot(sandbox, *command(agent, "bootstrap", "--no-reconcile"), env=proxy)
    assert created.code == 0, created.stderr
    assert exists(sandbox, "secret", agent, "gitlab-agent-token-proxy")
    removed = run_kasboot(sandbox, *command(agent, "uninstall", "--no-reconcile"))
    assert removed.code == 0, removed.stderr
    assert "Deleting the proxy Secret … CHANGED" in removed.stderr
    assert not exists(sandbox, "secret", agent, "gitlab-agent-token-proxy")
    assert "pr0xy-s3cret" not in created.stderr + removed.stderr
