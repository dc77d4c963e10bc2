"""kustomize-controller's build of spec.path, on real repositories and the real kustomize."""

from __future__ import annotations

import re
from typing import Any

from kubernetes import client

from .conftest import Flux, GitRepo, configmap, wait_for

AGENT_CONFIG = "user_access:\n  access_as:\n    agent: {}\n  projects:\n  - id: demo/fleet\n"


def _sync(fluxapi: Flux, repo: GitRepo, path: str, name: str = "sync", **spec: Any) -> None:
    fluxapi.create(
        "GitRepository", name, {"interval": "1m0s", "url": repo.url, "ref": {"branch": "main"}}
    )
    # Created together, the Kustomization would first report ArtifactFailed (as in Flux)
    wait_for(lambda: fluxapi.ready("GitRepository", name), "source Ready")
    fluxapi.create(
        "Kustomization",
        name,
        {
            "interval": "10m0s",
            "path": path,
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": name},
            **spec,
        },
    )


def _configmaps(k8s: client.ApiClient, namespace: str) -> set[str]:
    items = client.CoreV1Api(k8s).list_namespaced_config_map(namespace).items
    return {item.metadata.name for item in items}


def test_generated_kustomization_walks_recursively_and_applies(
    fluxapi: Flux, repo: GitRepo, k8s: client.ApiClient, namespace: str
) -> None:
    sha = repo.commit(
        {
            "apps/a.yaml": configmap("a", namespace),
            "apps/deep/b.yml": configmap("b", namespace),
            "apps/notes.txt": "not yaml at all: [",
            "apps/empty.yaml": "",
        }
    )
    _sync(fluxapi, repo, "./apps")
    ready = wait_for(lambda: fluxapi.ready("Kustomization", "sync"), "Kustomization Ready")
    assert ready["status"] == "True", ready
    assert ready["reason"] == "ReconciliationSucceeded"
    assert ready["message"] == f"Applied revision: main@sha1:{sha}"
    status = fluxapi.get("Kustomization", "sync")["status"]
    assert status["lastAppliedRevision"] == status["lastAttemptedRevision"] == f"main@sha1:{sha}"
    assert status["observedGeneration"] == 1
    assert {"a", "b"} <= _configmaps(k8s, namespace)
    labels = client.CoreV1Api(k8s).read_namespaced_config_map("a", namespace).metadata.labels
    assert labels["kustomize.toolkit.fluxcd.io/name"] == "sync"
    assert labels["kustomize.toolkit.fluxcd.io/namespace"] == namespace
    source = fluxapi.get("GitRepository", "sync")["status"]
    assert source["artifact"]["revision"] == f"main@sha1:{sha}"
    assert fluxapi.ready("GitRepository", "sync")["message"] == (  # type: ignore[index]
        f"stored artifact for revision 'main@sha1:{sha}'"
    )


def test_non_kubernetes_yaml_fails_the_build_with_fluxs_message(
    fluxapi: Flux, repo: GitRepo
) -> None:
    repo.commit({".gitlab/agents/x/config.yaml": AGENT_CONFIG, "README.md": "# fleet\n"})
    _sync(fluxapi, repo, "./")
    ready = wait_for(lambda: fluxapi.ready("Kustomization", "sync"), "Kustomization verdict")
    assert ready["status"] == "False"
    assert ready["reason"] == "BuildFailed"
    message = ready["message"]
    assert message.startswith("failed to decode Kubernetes YAML from /tmp/kustomization-")
    assert message.endswith("/.gitlab/agents/x/config.yaml: missing Resource metadata <nil>")
    work_dir = message.split(" from ")[1].split("/.gitlab/")[0]
    assert work_dir.removeprefix("/tmp/kustomization-").isdigit()
    status = fluxapi.get("Kustomization", "sync")["status"]
    assert "observedGeneration" not in status
    reconciling = [c for c in status["conditions"] if c["type"] == "Reconciling"]
    assert reconciling and reconciling[0]["status"] == "True"
    assert reconciling[0]["reason"] == "ProgressingWithRetry"


def test_kustomization_file_is_honoured_and_nested_one_taken_whole(
    fluxapi: Flux, repo: GitRepo, k8s: client.ApiClient, namespace: str
) -> None:
    repo.commit(
        {
            ".gitlab/agents/x/config.yaml": AGENT_CONFIG,
            "clusters/c1/kustomization.yaml": "resources:\n- listed.yaml\n",
            "clusters/c1/listed.yaml": configmap("listed", namespace),
            "clusters/c1/unlisted.yaml": configmap("unlisted", namespace),
            "nested/top.yaml": configmap("top", namespace),
            "nested/sub/kustomization.yaml": "resources:\n- inner.yaml\n",
            "nested/sub/inner.yaml": configmap("inner", namespace),
            "nested/sub/stray.yaml": "not: kubernetes\n",
        }
    )
    _sync(fluxapi, repo, "./clusters/c1", name="honoured")
    _sync(fluxapi, repo, "./nested", name="nested")
    for name in ("honoured", "nested"):
        ready = wait_for(lambda n=name: fluxapi.ready("Kustomization", n), name)
        assert ready["status"] == "True", ready
    names = _configmaps(k8s, namespace)
    assert {"listed", "top", "inner"} <= names
    assert "unlisted" not in names


def test_kustomize_own_failure_reads_as_kustomize_writes_it(fluxapi: Flux, repo: GitRepo) -> None:
    repo.commit({"app/kustomization.yaml": "resources:\n- missing.yaml\n"})
    _sync(fluxapi, repo, "./app")
    ready = wait_for(lambda: fluxapi.ready("Kustomization", "sync"), "verdict")
    assert ready["reason"] == "BuildFailed"
    assert ready["message"].startswith("kustomize build failed: accumulating resources: ")


def test_reconcile_request_is_handled_and_prune_removes_what_left(
    fluxapi: Flux, repo: GitRepo, k8s: client.ApiClient, namespace: str
) -> None:
    repo.commit({"app/a.yaml": configmap("a", namespace), "app/b.yaml": configmap("b", namespace)})
    _sync(fluxapi, repo, "./app")
    wait_for(lambda: fluxapi.ready("Kustomization", "sync"), "first apply")
    # kustomize-controller's finalizer: a deletion waits for the controller's own
    # (serialized) pass, so a build still applying cannot re-create what was pruned.
    assert fluxapi.get("Kustomization", "sync")["metadata"]["finalizers"] == [
        "finalizers.fluxcd.io"
    ]
    sha = repo.commit({"app/b.yaml": None})
    token = "2026-01-01T00:00:00.000000001Z"
    fluxapi.request_reconcile("GitRepository", "sync", token)
    wait_for(
        lambda: (
            fluxapi.get("GitRepository", "sync")["status"].get("lastHandledReconcileAt") == token
        ),
        "source handled the request",
    )
    fluxapi.request_reconcile("Kustomization", "sync", token)
    wait_for(
        lambda: (
            fluxapi.get("Kustomization", "sync")["status"].get("lastAppliedRevision")
            == f"main@sha1:{sha}"
            and fluxapi.get("Kustomization", "sync")["status"].get("lastHandledReconcileAt")
            == token
        ),
        "Kustomization applied the new revision",
    )
    assert "b" not in _configmaps(k8s, namespace)
    assert "a" in _configmaps(k8s, namespace)

    # deleting a pruning Kustomization garbage-collects what it applied
    group, version, plural = "kustomize.toolkit.fluxcd.io", "v1", "kustomizations"
    fluxapi.custom.delete_namespaced_custom_object(group, version, namespace, plural, "sync")
    wait_for(lambda: "a" not in _configmaps(k8s, namespace), "garbage collection")
    wait_for(lambda: not fluxapi.custom.list_namespaced_custom_object(
        group, version, namespace, plural)["items"], "the Kustomization gone")  # fmt: skip


def test_missing_path_is_an_artifact_failure(fluxapi: Flux, repo: GitRepo) -> None:
    repo.commit({"app/a.yaml": ""})
    _sync(fluxapi, repo, "./clusters/absent")
    ready = wait_for(lambda: fluxapi.ready("Kustomization", "sync"), "verdict")
    assert ready["reason"] == "ArtifactFailed"
    assert re.fullmatch(
        r"kustomization path not found: stat /tmp/kustomization-\d+/clusters/absent: "
        r"no such file or directory",
        ready["message"],
    )


def test_target_namespace_prefix_and_patches_are_written_into_the_kustomization(
    fluxapi: Flux, repo: GitRepo, k8s: client.ApiClient, namespace: str
) -> None:
    """kustomize-controller overlays spec fields on the kustomization at spec.path (the
    file's own namespace and namePrefix are replaced); kustomize moves every object."""
    repo.commit(
        {
            "apps/kustomization.yaml": (
                "resources:\n- web.yaml\nnamespace: elsewhere\nnamePrefix: file-\n"
            ),
            "apps/web.yaml": configmap("web", "default"),
        }
    )
    label = "- op: add\n  path: /metadata/labels\n  value: {patched: 'yes'}\n"
    _sync(
        fluxapi,
        repo,
        "./apps",
        targetNamespace=namespace,
        namePrefix="flux-",
        nameSuffix="-v2",
        patches=[{"target": {"kind": "ConfigMap"}, "patch": label}],
    )
    ready = wait_for(lambda: fluxapi.ready("Kustomization", "sync"), "verdict")
    assert ready["status"] == "True", ready
    applied = client.CoreV1Api(k8s).read_namespaced_config_map("flux-web-v2", namespace)
    assert applied.metadata.labels["patched"] == "yes"
