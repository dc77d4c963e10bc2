"""`kasboot bootstrap` end to end: the real CLI as a subprocess against the sandbox
(GitLab, Kubernetes and Flux emulators on loopback), checked through python-gitlab,
kubectl, git and the emulators' request logs."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import gitlab
import pytest

from kasboot.cluster import TOKEN_ID_ANNOTATION
from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot

pytestmark = pytest.mark.sandbox
KUBECTL = str(Path(sys.executable).parent / "kubectl")


def kubectl_json(sandbox: Any, *args: str) -> dict[str, Any]:
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


def agent_named(project: Any, name: str) -> Any:
    return next(a for a in project.cluster_agents.list(get_all=True) if a.name == name)


def active_token_ids(gl: gitlab.Gitlab, project: Any, agent_id: int) -> set[int]:
    path = f"/projects/{project.id}/cluster_agents/{agent_id}/tokens"
    return {int(t["id"]) for t in gl.http_list(path, get_all=True)}


def git_files_of(sandbox: Any, workdir: Path, sha: str) -> set[str]:
    """The files one commit touched, as `git show` of a real clone over smart HTTP sees them."""
    host = sandbox.gitlab_url.split("://", 1)[1]
    url = f"http://oauth2:{sandbox.token}@{host}/{sandbox.project}.git"
    clone = workdir / "clone"
    subprocess.run(["git", "clone", "--quiet", url, str(clone)], check=True, capture_output=True)
    shown = subprocess.run(
        ["git", "-C", str(clone), "show", "--name-only", "--format=", sha],
        check=True,
        capture_output=True,
        text=True,
    )
    return set(shown.stdout.split())


def test_fresh_bootstrap_then_rerun_changes_nothing(
    sandbox: Any, gl: gitlab.Gitlab, tmp_path: Path
) -> None:
    project = gl.projects.get(sandbox.project)
    commits_before = {c.id for c in project.commits.list(get_all=True)}

    first = run_kasboot(sandbox, *agent_args("fresh"))
    assert first.code == 0, first.stderr

    agent = agent_named(project, "fresh")
    config = project.files.get(".gitlab/agents/fresh/config.yaml", ref="main").decode().decode()
    assert (
        config
        == f"user_access:\n  access_as:\n    agent: {{}}\n  projects:\n  - id: {sandbox.project}\n"
    )
    environments = {e.name: e for e in project.environments.list(get_all=True)}
    agent_env = environments["flux-system/fresh"]
    assert agent_env.cluster_agent["id"] == agent.id
    assert agent_env.kubernetes_namespace == "fresh"
    assert agent_env.flux_resource_path == (
        "helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases/fresh"
    )
    flux_env = environments["flux-system/flux-system"]
    assert flux_env.kubernetes_namespace == "flux-system"
    assert flux_env.flux_resource_path == (
        "kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system"
    )
    tokens = active_token_ids(gl, project, agent.id)
    assert len(tokens) == 1

    secret = kubectl_json(sandbox, "get", "secret", "gitlab-agent-token", "-n", "fresh")
    assert secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"]["token"]).startswith(b"glagent-")
    assert int(secret["metadata"]["annotations"][TOKEN_ID_ANNOTATION]) in tokens
    release = kubectl_json(
        sandbox, "get", "helmreleases.helm.toolkit.fluxcd.io", "fresh", "-n", "flux-system"
    )
    ready = next(c for c in release["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"

    new_commits = [c for c in project.commits.list(get_all=True) if c.id not in commits_before]
    assert len(new_commits) == 1
    assert git_files_of(sandbox, tmp_path, new_commits[0].id) == {
        ".gitlab/agents/fresh/config.yaml",
        "clusters/sandbox/fresh/gitlab-helm-repository.yaml",
        "clusters/sandbox/fresh/gitlab-agent-helm-release.yaml",
    }
    # The token itself is nowhere in what kasboot printed.
    token_value = base64.b64decode(secret["data"]["token"]).decode()
    assert token_value not in first.stdout + first.stderr

    sandbox.clear_logs()
    again = run_kasboot(sandbox, *agent_args("fresh"), "--output", "json")
    assert again.code == 0, again.stderr
    results = {step["name"]: step["result"] for step in again.json()["steps"]}
    assert results.pop("preflight") == "OK"
    assert set(results.values()) == {"UNCHANGED"}, results
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert kasboot_writes(sandbox.kube_requests()) == []
    assert token_value not in again.stdout + again.stderr


def test_existing_config_keeps_comments_and_other_keys(sandbox: Any, gl: gitlab.Gitlab) -> None:
    project = gl.projects.get(sandbox.project)
    original = (
        "# Agent for the staging cluster\n"
        "ci_access:\n"
        "  projects:\n"
        "    - id: other/project   # deploys from CI\n"
        "\n"
        "user_access:\n"
        "  access_as:\n"
        "    agent: {}\n"
        "  projects:\n"
        "    - id: some/else\n"
    )
    project.files.create(
        {
            "file_path": ".gitlab/agents/keeper/config.yaml",
            "branch": "main",
            "content": original,
            "commit_message": "Add keeper agent config",
        }
    )
    result = run_kasboot(sandbox, *agent_args("keeper", "--no-reconcile"))
    assert result.code == 0, result.stderr
    merged = project.files.get(".gitlab/agents/keeper/config.yaml", ref="main").decode().decode()
    assert merged.startswith(original)
    added = merged[len(original) :]
    assert added == f"    - id: {sandbox.project}\n"


def test_rotation_at_two_tokens_keeps_the_held_one(sandbox: Any, gl: gitlab.Gitlab) -> None:
    project = gl.projects.get(sandbox.project)
    assert run_kasboot(sandbox, *agent_args("rotor", "--no-reconcile")).code == 0
    agent = agent_named(project, "rotor")
    path = f"/projects/{project.id}/cluster_agents/{agent.id}/tokens"
    extra = gl.http_post(path, post_data={"name": "someone-else"})
    held = int(
        kubectl_json(sandbox, "get", "secret", "gitlab-agent-token", "-n", "rotor")["metadata"][
            "annotations"
        ][TOKEN_ID_ANNOTATION]
    )
    assert active_token_ids(gl, project, agent.id) == {held, int(extra["id"])}

    sandbox.clear_logs()
    plain = run_kasboot(sandbox, *agent_args("rotor", "--no-reconcile"))
    assert plain.code == 0, plain.stderr
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert active_token_ids(gl, project, agent.id) == {held, int(extra["id"])}

    rotated = run_kasboot(sandbox, *agent_args("rotor", "--no-reconcile", "--rotate-token"))
    assert rotated.code == 0, rotated.stderr
    secret = kubectl_json(sandbox, "get", "secret", "gitlab-agent-token", "-n", "rotor")
    new_id = int(secret["metadata"]["annotations"][TOKEN_ID_ANNOTATION])
    assert new_id not in {held, int(extra["id"])}
    # the token the agent was running with stays active: no moment without a credential
    assert active_token_ids(gl, project, agent.id) == {held, new_id}


def test_invalid_agent_name_exits_2_before_any_request(sandbox: Any) -> None:
    sandbox.clear_logs()
    result = run_kasboot(sandbox, "bootstrap", "Bad_Name", "--no-reconcile")
    assert result.code == 2
    assert "lowercase" in result.stderr
    assert "Traceback" not in result.stderr
    # kasboot's own requests: the shared sandbox's simulated agentk and Flux controllers
    # keep calling GitLab's agent_info and the API server on their own schedule
    assert [r for r in sandbox.gitlab_requests() if _ours(r)] == []
    assert [r for r in sandbox.kube_requests() if _ours(r)] == []


def _ours(record: dict[str, Any]) -> bool:
    return str(record.get("user_agent", "")).startswith("kasboot/")


def test_bad_token_exits_4_with_gitlabs_message(sandbox: Any) -> None:
    result = run_kasboot(
        sandbox, *agent_args("denied", "--no-reconcile"), env={"GITLAB_TOKEN": "glpat-wrong"}
    )
    assert result.code == 4, result.stderr
    assert "401" in result.stderr
    assert "Traceback" not in result.stderr


def test_rotate_token_restarts_agentk_to_pick_up_the_new_token(sandbox: Any) -> None:
    assert run_kasboot(sandbox, *agent_args("restarter")).code == 0
    deployment = kubectl_json(
        sandbox, "get", "deployment", "restarter-gitlab-agent-v2", "-n", "restarter"
    )
    before = deployment["spec"]["template"]["metadata"].get("annotations") or {}
    assert "kubectl.kubernetes.io/restartedAt" not in before
    rotated = run_kasboot(sandbox, *agent_args("restarter", "--rotate-token"))
    assert rotated.code == 0, rotated.stderr
    deployment = kubectl_json(
        sandbox, "get", "deployment", "restarter-gitlab-agent-v2", "-n", "restarter"
    )
    after = deployment["spec"]["template"]["metadata"].get("annotations") or {}
    assert "kubectl.kubernetes.io/restartedAt" in after
