"""The guard against what source-controller really fetches, end to end: a GitRepository
that never sees kasboot's commit (no `ref` on a `main` project follows `master`; a tag)
is refused before any write (exit 3), and a symlink under the Flux path — which Flux's
artifact never holds — does not make the guard refuse a layout Flux builds."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gitlab
import kubernetes
import pytest

from tests.integration.bootstrap_helpers import (
    CliResult,
    agent_args,
    kasboot_writes,
    run_kasboot,
)
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox
SYNC_FILE = "clusters/sandbox/flux-system/gotk-sync.yaml"
SOURCE = ("source.toolkit.fluxcd.io", "v1", "flux-system", "gitrepositories", "flux-system")
SYNC = ("kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations", "flux-system")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("sources-sandbox")
    sandbox = sandbox_up(directory)
    try:
        yield sandbox
    finally:
        sandbox_down(directory)


def _custom(world: Sandbox) -> Any:
    return kubernetes.client.CustomObjectsApi(
        kubernetes.config.new_client_from_config(str(world.kubeconfig))
    )


def _source_with_ref(world: Sandbox, name: str, ref: dict[str, str] | None) -> None:
    """A GitRepository of this project (and a Kustomization on it) as someone created
    them by hand: nothing in git re-applies them."""
    api = _custom(world)
    live = api.get_namespaced_custom_object(*SOURCE)
    spec: dict[str, Any] = {"interval": "1m0s", "url": live["spec"]["url"]}
    spec["secretRef"] = live["spec"]["secretRef"]
    if ref is not None:
        spec["ref"] = ref
    group, version, namespace, plural, _ = SOURCE
    api.create_namespaced_custom_object(
        group,
        version,
        namespace,
        plural,
        {
            "apiVersion": f"{group}/{version}",
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        },
    )
    group, version, namespace, plural, _ = SYNC
    api.create_namespaced_custom_object(
        group,
        version,
        namespace,
        plural,
        {
            "apiVersion": f"{group}/{version}",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "interval": "10m0s",
                "path": "./clusters/sandbox",
                "prune": False,
                "sourceRef": {"kind": "GitRepository", "name": name},
            },
        },
    )


def _bootstrap(world: Sandbox, name: str, *extra: str) -> CliResult:
    return run_kasboot(world, *agent_args(name, *extra, timeout="120s"))


def test_no_ref_on_a_main_project_is_refused_before_any_write(world: Sandbox) -> None:
    _source_with_ref(world, "noref", None)
    world.clear_logs()
    result = _bootstrap(world, "noref", "--flux-source-name", "noref")
    assert result.code == 3, result.stderr
    assert "no spec.ref.branch" in result.stderr
    assert "'master'" in result.stderr and "'main'" in result.stderr
    assert "spec.ref.branch: main" in result.stderr  # the fix
    assert kasboot_writes(world.gitlab_requests()) == []
    assert kasboot_writes(world.kube_requests()) == []


def test_a_tag_ref_is_refused_instead_of_waiting_for_the_timeout(world: Sandbox) -> None:
    _source_with_ref(world, "tagged", {"tag": "v1.0.0"})
    result = _bootstrap(world, "tagged", "--flux-source-name", "tagged")
    assert result.code == 3, result.stderr
    assert "pinned to spec.ref.tag 'v1.0.0'" in result.stderr


def _push_symlink(
    world: Sandbox, work: Path, link: str, target: str, files: dict[str, str]
) -> None:
    pair = base64.b64encode(f"git:{world.token}".encode()).decode()
    env = {
        **os.environ,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {pair}",
        "GIT_TERMINAL_PROMPT": "0",
    }

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=ops", "-c", "user.email=ops@example.test", *args],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
        )

    url = f"{world.gitlab_url}/{world.project}.git"
    subprocess.run(["git", "clone", "-q", url, str(work)], env=env, check=True)
    for relative, text in files.items():
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        (work / relative).write_text(text)
    (work / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, work / link)
    git("add", "-A")
    git("commit", "-q", "-m", "Share monitoring values")
    git("push", "-q", "origin", "HEAD:main")


def test_a_symlink_under_the_flux_path_is_not_refused(world: Sandbox, tmp_path: Path) -> None:
    # Helm values (not Kubernetes YAML) outside the Flux path, linked in under it: Flux
    # drops the link from its artifact, so the build passes.
    _push_symlink(
        world,
        tmp_path / "work",
        "clusters/sandbox/monitoring/values.yaml",
        "../../../charts/monitoring/values.yaml",
        {"charts/monitoring/values.yaml": "replicas: 2\n"},
    )
    # GitLab's tree API reports the link as a blob of mode 120000, as GitLab does
    project = gitlab.Gitlab(world.gitlab_url, private_token=world.token).projects.get(world.project)
    tree = project.repository_tree(path="clusters/sandbox/monitoring", ref="main", get_all=True)
    assert [(e["name"], e["type"], e["mode"]) for e in tree] == [("values.yaml", "blob", "120000")]
    result = _bootstrap(world, "linked")
    assert result.code == 0, result.stderr


def test_ref_name_of_the_branch_is_followed_to_ready(world: Sandbox) -> None:
    # source-controller names this revision refs/heads/main@sha1:…: the wait expects that.
    _source_with_ref(world, "byname", {"name": "refs/heads/main"})
    result = _bootstrap(world, "byname", "--flux-source-name", "byname")
    assert result.code == 0, result.stderr
    source = _custom(world).get_namespaced_custom_object(*SOURCE[:4], "byname")
    assert source["status"]["artifact"]["revision"].startswith("refs/heads/main@sha1:")
