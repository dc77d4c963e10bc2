"""Two agents side by side in one project and cluster (alpha at clusters/sandbox with the
default names, beta at clusters/sandbox/beta with its own release, namespace and
repository names): any uninstall of one — right flags, wrong flags, no flags — leaves
the other Ready and untouched, or refuses with exit 3 and writes nothing. Then
`uninstall --delete-agent` with no flags leaves nothing of alpha, while the environment
kasboot only linked survives with its deployments. A world of its own: the default
names would collide with other tests' agents in the shared sandbox."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gitlab
import pytest

from tests.integration.bootstrap_helpers import kasboot_writes, run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox
KUBECTL = str(Path(sys.executable).parent / "kubectl")
ALPHA = ["alpha", "--manifest-path", "clusters/sandbox", "--environment-name", "production"]
BETA = [
    "beta",
    "--manifest-path",
    "clusters/sandbox/beta",
    "--helm-release-name",
    "beta",
    "--helm-release-target-namespace",
    "beta",
    "--helm-repository-name",
    "gitlab-beta",
]
TIMEOUT = ["--timeout", "60s"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("two-agents")
    sandbox = sandbox_up(directory)
    try:
        yield sandbox
    finally:
        sandbox_down(directory)


@pytest.fixture(scope="module")
def project(world: Sandbox) -> Any:
    gl = gitlab.Gitlab(world.gitlab_url, private_token=world.token)
    return gl.projects.get(world.project)


@pytest.fixture(scope="module")
def both(world: Sandbox, project: Any) -> dict[str, int]:
    """A pre-existing `production` environment with a deployment (kasboot links it, it
    did not create it), then both agents bootstrapped."""
    head = project.branches.get("main").commit["id"]
    project.deployments.create(
        {"environment": "production", "sha": head, "ref": "main", "tag": False, "status": "success"}
    )
    for args in (ALPHA, BETA):
        result = run_kasboot(world, "bootstrap", *args, *TIMEOUT)
        assert result.code == 0, result.stderr
    return {a.name: int(a.id) for a in project.cluster_agents.list(get_all=True)}


def kubectl(world: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(world.kubeconfig), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def get(world: Sandbox, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    found = kubectl(world, "get", kind, name, "-n", namespace, "-o", "json")
    if found.returncode != 0:
        assert "NotFound" in found.stderr, found.stderr
        return None
    return dict(json.loads(found.stdout))


def ready(obj: dict[str, Any] | None) -> bool:
    conditions = ((obj or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def file_digest(project: Any, path: str) -> str | None:
    try:
        content = project.files.get(path, ref="main").decode()
    except gitlab.exceptions.GitlabGetError:
        return None
    return hashlib.sha256(content).hexdigest()


def alpha_state(world: Sandbox, project: Any, agent_id: int) -> dict[str, Any]:
    """Everything of alpha that another agent's uninstall must not touch."""
    secret = get(world, "secret", "gitlab-agent", "gitlab-agent-token") or {}
    tokens = project.manager.gitlab.http_list(
        f"/projects/{project.id}/cluster_agents/{agent_id}/tokens", get_all=True
    )
    environments = {
        e.name: (e.id, (getattr(e, "cluster_agent", None) or {}).get("id"))
        for e in project.environments.list(get_all=True)
    }
    return {
        "files": {
            path: file_digest(project, path)
            for path in (
                "clusters/sandbox/gitlab-helm-repository.yaml",
                "clusters/sandbox/gitlab-agent-helm-release.yaml",
                ".gitlab/agents/alpha/config.yaml",
            )
        },
        "secret": (
            secret.get("metadata", {}).get("resourceVersion"),
            base64.b64decode(secret.get("data", {}).get("token", "")),
        ),
        "tokens": sorted(int(t["id"]) for t in tokens),
        "production": environments.get("production"),
        "release_ready": ready(get(world, "helmrelease", "flux-system", "gitlab-agent")),
        "agentk": get(world, "deployment", "gitlab-agent", "gitlab-agent-v2") is not None,
    }


def refused_without_writes(world: Sandbox, *args: str) -> str:
    world.clear_logs()
    result = run_kasboot(world, "uninstall", *args, "--yes", *TIMEOUT)
    assert result.code == 3, (result.code, result.stdout, result.stderr)
    assert kasboot_writes(world.gitlab_requests()) == []
    assert kasboot_writes(world.kube_requests()) == []
    return result.stderr


def test_wrong_flags_refuse_and_write_nothing(
    world: Sandbox, project: Any, both: dict[str, int]
) -> None:
    before = alpha_state(world, project, both["alpha"])
    assert before["release_ready"] and before["agentk"]

    # The report's own case: beta pointed at alpha's directory.
    stderr = refused_without_writes(world, "beta", "--manifest-path", "clusters/sandbox")
    assert "contradicts how agent beta was bootstrapped" in stderr
    assert "clusters/sandbox/beta" in stderr
    stderr = refused_without_writes(world, "alpha", "--helm-release-name", "beta")
    assert "contradicts" in stderr
    # An agent with no record of its own, pointed at alpha's files: the files say whose.
    stderr = refused_without_writes(world, "gamma", "--manifest-path", "clusters/sandbox")
    assert "clusters/sandbox/gitlab-helm-repository.yaml belongs to agent alpha" in stderr

    assert alpha_state(world, project, both["alpha"]) == before


def test_beta_with_no_flags_goes_and_alpha_stays(
    world: Sandbox, project: Any, both: dict[str, int]
) -> None:
    # The right flags agree with the record: planned, nothing written.
    world.clear_logs()
    planned = run_kasboot(world, "uninstall", *BETA, "--dry-run", "-o", "json", *TIMEOUT)
    assert planned.code == 0, planned.stderr
    assert all(path.startswith("clusters/sandbox/beta/") for path in planned.json()["files"])
    assert kasboot_writes(world.gitlab_requests()) == []
    # A token minted elsewhere (not by kasboot, not the cluster's) is listed and left.
    tokens_path = f"/projects/{project.id}/cluster_agents/{both['beta']}/tokens"
    foreign = project.manager.gitlab.http_post(tokens_path, post_data={"name": "ci-runner"})

    before = alpha_state(world, project, both["alpha"])
    flux_env = next(
        e for e in project.environments.list(get_all=True) if e.name.endswith("flux-system")
    )

    result = run_kasboot(world, "uninstall", "beta", "-o", "json", *TIMEOUT)
    assert result.code == 0, result.stderr
    outcome = result.json()
    assert set(outcome["files"]) == {
        "clusters/sandbox/beta/gitlab-helm-repository.yaml",
        "clusters/sandbox/beta/gitlab-agent-helm-release.yaml",
    }
    assert "record" in outcome["settings_from"]
    assert outcome["kept_tokens"] == [f"{foreign['id']} (ci-runner)"]
    left = project.manager.gitlab.http_list(tokens_path, get_all=True)
    assert [int(t["id"]) for t in left] == [int(foreign["id"])]
    assert get(world, "helmrelease", "flux-system", "beta") is None
    assert get(world, "secret", "beta", "gitlab-agent-token") is None
    assert alpha_state(world, project, both["alpha"]) == before
    # The shared Flux environment alpha created survives, linked to alpha again.
    kept = project.environments.get(flux_env.id)
    assert kept.cluster_agent["id"] == both["alpha"]
    names = {e.name for e in project.environments.list(get_all=True)}
    assert "flux-system/beta" not in names

    world.clear_logs()
    again = run_kasboot(world, "uninstall", "beta", "-o", "json", *TIMEOUT)
    assert again.code == 0, again.stderr
    assert kasboot_writes(world.gitlab_requests()) == []
    assert kasboot_writes(world.kube_requests()) == []


def test_delete_agent_with_no_flags_leaves_nothing_but_the_linked_environment(
    world: Sandbox, project: Any, both: dict[str, int]
) -> None:
    world.clear_logs()
    result = run_kasboot(world, "uninstall", "alpha", "--delete-agent", "-o", "json", *TIMEOUT)
    assert result.code == 0, result.stderr
    outcome = result.json()
    assert outcome["agent_deleted"]
    assert all(a.name != "alpha" for a in project.cluster_agents.list(get_all=True))
    for path in (
        "clusters/sandbox/gitlab-helm-repository.yaml",
        "clusters/sandbox/gitlab-agent-helm-release.yaml",
        ".gitlab/agents/alpha/config.yaml",
    ):
        assert file_digest(project, path) is None, path
    assert get(world, "helmrelease", "flux-system", "gitlab-agent") is None
    assert get(world, "helmrepository", "flux-system", "gitlab") is None
    assert get(world, "secret", "gitlab-agent", "gitlab-agent-token") is None
    # The simulator uninstalls the release on the HelmRelease's DELETED event (real
    # helm-controller does it under a finalizer, before the object goes): wait for it.
    waited = kubectl(
        world, "wait", "--for=delete", "deployment/gitlab-agent-v2", "-n", "gitlab-agent"
    )
    assert waited.returncode == 0 or "NotFound" in waited.stderr, waited.stderr
    assert get(world, "deployment", "gitlab-agent", "gitlab-agent-v2") is None
    assert get(world, "namespace", "default", "gitlab-agent") is None  # kasboot created it, empty
    environments = {e.name: e for e in project.environments.list(get_all=True)}
    assert "flux-system/flux-system" not in environments  # kasboot's, no one uses it now
    production = environments["production"]  # linked, not owned: unlinked, kept
    assert not getattr(production, "cluster_agent", None)
    deployments = project.deployments.list(environment="production", get_all=True)
    assert len(deployments) == 1
    stops = [
        r for r in world.gitlab_requests() if r["method"] == "POST" and r["path"].endswith("/stop")
    ]
    assert stops and all("force=true" in r["query"] for r in stops)


def test_a_dedicated_kustomization_prunes_the_release(world: Sandbox, project: Any) -> None:
    """A Kustomization whose spec.path IS the manifest directory: deleting both files
    would remove the directory and Flux would fail with "kustomization path not found",
    pruning nothing. uninstall leaves an empty kustomization.yaml instead."""
    agent = "dedicated"
    kustomization = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps-dedicated", "namespace": "flux-system"},
        "spec": {
            "interval": "1m0s",
            "path": "./apps/dedicated",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        },
    }
    applied = subprocess.run(
        [KUBECTL, "--kubeconfig", str(world.kubeconfig), "apply", "-f", "-"],
        input=json.dumps(kustomization),
        capture_output=True,
        text=True,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    args = [
        agent,
        "--manifest-path",
        "apps/dedicated",
        "--helm-release-name",
        agent,
        "--helm-release-target-namespace",
        agent,
        "--helm-repository-name",
        f"gitlab-{agent}",
        "--flux-environment-name",
        f"{agent}-flux",
        *TIMEOUT,
    ]
    result = run_kasboot(world, "bootstrap", *args)
    assert result.code == 0, result.stderr
    assert get(world, "helmrelease", "flux-system", agent) is not None

    gone = run_kasboot(world, "uninstall", agent, "-o", "json", *TIMEOUT)
    assert gone.code == 0, gone.stderr
    assert gone.json()["files_added"] == ["apps/dedicated/kustomization.yaml"]
    assert get(world, "helmrelease", "flux-system", agent) is None
    assert get(world, "helmrepository", "flux-system", f"gitlab-{agent}") is None
    left = project.files.get("apps/dedicated/kustomization.yaml", ref="main").decode().decode()
    assert "resources: []" in left
    status = get(world, "kustomization", "flux-system", "apps-dedicated") or {}
    assert ready(status), status.get("status")
