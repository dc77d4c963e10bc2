"""Fixtures for the Flux simulator's conformance tests: the Kubernetes emulator with
Flux's CRDs, the simulator, and real git repositories (served over git smart HTTP by
the GitLab emulator where a test needs credentials)."""

from __future__ import annotations

import base64
import itertools
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from kasboot.sandbox.flux import FluxSimulator
from kasboot.sandbox.flux.kubeapi import FLUX_GROUPS
from kasboot.sandbox.kube import KubeEmulator, flux_crds

_names = itertools.count(1)


@pytest.fixture(scope="session")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeEmulator]:
    emulator = KubeEmulator(tmp_path_factory.mktemp("kube")).start()
    api = client.ApiextensionsV1Api(_api_client(emulator.url))
    for crd in flux_crds():
        api.create_custom_resource_definition(crd)
    yield emulator
    emulator.close()


@pytest.fixture(scope="session")
def flux(kube: KubeEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FluxSimulator]:
    simulator = FluxSimulator(kube.url, tmp_path_factory.mktemp("flux")).start()
    yield simulator
    simulator.stop()


def _api_client(url: str) -> client.ApiClient:
    configuration = client.Configuration()
    configuration.host = url
    return client.ApiClient(configuration)


@pytest.fixture(scope="session")
def k8s(kube: KubeEmulator) -> client.ApiClient:
    return _api_client(kube.url)


@pytest.fixture
def namespace(k8s: client.ApiClient) -> str:
    name = f"t{next(_names)}"
    client.CoreV1Api(k8s).create_namespace({"metadata": {"name": name}})
    return name


def wait_for(probe: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    """Poll until ``probe`` returns something truthy; the deadline only bounds a hang."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class GitRepo:
    """A bare repository (the remote) and a work tree to commit from."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "remote.git"
        self.work = root / "work"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.bare)], check=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(self.work)], check=True)
        self._git("remote", "add", "origin", str(self.bare))

    @property
    def url(self) -> str:
        return str(self.bare)

    def _git(self, *args: str) -> str:
        completed = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=self.work,
            check=True,
            capture_output=True,
            text=True,
        )
        return completed.stdout.strip()

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        """Write (or, with None, delete) files, commit and push; the new sha."""
        for relative, content in files.items():
            path = self.work / relative
            if content is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        self._git("add", "-A")
        self._git("commit", "-q", "--allow-empty", "-m", message)
        self._git("push", "-q", "origin", "HEAD:main")
        return self._git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path)


def configmap(name: str, namespace: str | None = None) -> str:
    meta = f"  name: {name}\n" + (f"  namespace: {namespace}\n" if namespace else "")
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n{meta}data:\n  k: v\n"


class Flux:
    """Create and read Flux objects through the kubernetes client (as kasboot would)."""

    def __init__(self, api_client: client.ApiClient, namespace: str) -> None:
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)
        self.namespace = namespace

    def create(self, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        group, version, plural = FLUX_GROUPS[kind]
        body = {
            "apiVersion": f"{group}/{version}",
            "kind": kind,
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": spec,
        }
        return dict(
            self.custom.create_namespaced_custom_object(
                group, version, self.namespace, plural, body
            )
        )

    def get(self, kind: str, name: str) -> dict[str, Any]:
        group, version, plural = FLUX_GROUPS[kind]
        return dict(
            self.custom.get_namespaced_custom_object(group, version, self.namespace, plural, name)
        )

    def patch(self, kind: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        group, version, plural = FLUX_GROUPS[kind]
        return dict(
            self.custom.patch_namespaced_custom_object(
                group, version, self.namespace, plural, name, body
            )
        )

    def request_reconcile(self, kind: str, name: str, token: str) -> None:
        self.patch(
            kind, name, {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}}
        )

    def ready(self, kind: str, name: str) -> dict[str, Any] | None:
        """The Ready condition once it is True or False (None while unknown/absent)."""
        obj = self.get(kind, name)
        for condition in (obj.get("status") or {}).get("conditions") or []:
            if condition["type"] == "Ready" and condition["status"] in ("True", "False"):
                return dict(condition)
        return None

    def settled(self, kind: str, name: str) -> dict[str, Any] | None:
        """The Ready verdict once past the transient wait for a dependency (ArtifactFailed
        while the chart or source is fetched, as in Flux)."""
        ready = self.ready(kind, name)
        if ready is None or ready["reason"] in ("ArtifactFailed", "SourceNotReady"):
            return None
        return ready

    def secret(self, name: str, data: dict[str, str], namespace: str | None = None) -> None:
        self.core.create_namespaced_secret(
            namespace or self.namespace,
            {
                "metadata": {"name": name},
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            },
        )


@pytest.fixture
def fluxapi(k8s: client.ApiClient, namespace: str, flux: FluxSimulator) -> Flux:
    return Flux(k8s, namespace)
