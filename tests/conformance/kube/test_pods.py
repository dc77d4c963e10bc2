"""A Deployment's pods and their logs, as the official client and kubectl see them on a
real cluster: Pod objects with the template's labels (what `kubectl logs deploy/NAME`
and label selectors find), replaced on a new template, gone with the Deployment; logs as
plain text with the API server's errors for a missing or waiting container."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from kasboot.sandbox.kube import KubeEmulator
from tests.conformance.kube.conftest import KubectlRunner
from tests.conformance.kube.test_workloads import deployment


def post_logs(emulator: KubeEmulator, namespace: str, name: str, lines: list[str]) -> int:
    body = json.dumps({"namespace": namespace, "deployment": name, "lines": lines}).encode()
    request = urllib.request.Request(f"{emulator.url}/-/sandbox/pod-logs", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(json.loads(answer.read())["pods"])


def pods_of(core: client.CoreV1Api, namespace: str, app: str) -> list[Any]:
    return list(core.list_namespaced_pod(namespace, label_selector=f"app={app}").items)


def test_a_deployment_runs_its_replicas_as_pods(
    apps: client.AppsV1Api, core: client.CoreV1Api, namespace: str
) -> None:
    apps.create_namespaced_deployment(namespace, deployment("web", "nginx:1.27", replicas=2))
    pods = pods_of(core, namespace, "web")
    assert len(pods) == 2
    for pod in pods:
        assert pod.metadata.name.startswith("web-")
        assert pod.metadata.owner_references[0].kind == "ReplicaSet"
        assert pod.status.phase == "Running"
        assert pod.status.container_statuses[0].ready is True

    apps.patch_namespaced_deployment(
        namespace=namespace, name="web", body={"spec": {"replicas": 3}}
    )
    assert len(pods_of(core, namespace, "web")) == 3
    before = {p.metadata.name for p in pods_of(core, namespace, "web")}
    apps.patch_namespaced_deployment(
        namespace=namespace,
        name="web",
        body={
            "spec": {
                "template": {"spec": {"containers": [{"name": "agent", "image": "nginx:1.28"}]}}
            }
        },
    )
    after = {p.metadata.name for p in pods_of(core, namespace, "web")}
    assert len(after) == 3 and not before & after  # a new ReplicaSet, new pods
    apps.delete_namespaced_deployment("web", namespace)
    assert pods_of(core, namespace, "web") == []


def test_logs_are_plain_text_with_tail_and_timestamps(
    emulator: KubeEmulator, apps: client.AppsV1Api, core: client.CoreV1Api, namespace: str
) -> None:
    apps.create_namespaced_deployment(namespace, deployment("agent", "nginx:1.27", replicas=1))
    assert post_logs(emulator, namespace, "agent", ["one", '{"level":"error","msg":"two"}']) == 1
    pod = pods_of(core, namespace, "agent")[0].metadata.name
    text = core.read_namespaced_pod_log(pod, namespace)
    assert text == 'one\n{"level":"error","msg":"two"}\n'
    assert (
        core.read_namespaced_pod_log(pod, namespace, tail_lines=1)
        == '{"level":"error","msg":"two"}\n'
    )
    stamped = core.read_namespaced_pod_log(pod, namespace, timestamps=True).splitlines()
    assert stamped[0].endswith(" one") and stamped[0][:4].isdigit()


def test_log_errors_are_the_api_servers(
    emulator: KubeEmulator, apps: client.AppsV1Api, core: client.CoreV1Api, namespace: str
) -> None:
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod_log("nobody", namespace)
    assert missing.value.status == 404
    assert json.loads(missing.value.body)["message"] == 'pods "nobody" not found'
    apps.create_namespaced_deployment(namespace, deployment("one", "nginx:1.27", replicas=1))
    pod = pods_of(core, namespace, "one")[0].metadata.name
    with pytest.raises(ApiException) as wrong:
        core.read_namespaced_pod_log(pod, namespace, container="sidecar")
    assert wrong.value.status == 400
    assert (
        json.loads(wrong.value.body)["message"] == f"container sidecar is not valid for pod {pod}"
    )
    unpullable = "registry.example.com/none/such:1"
    request = urllib.request.Request(
        f"{emulator.url}/-/sandbox/images",
        data=json.dumps({"unpullable": ["registry.example.com/*"]}).encode(),
        method="PUT",
    )
    request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request, timeout=10).close()
    try:
        apps.create_namespaced_deployment(namespace, deployment("stuck", unpullable, replicas=1))
        stuck = pods_of(core, namespace, "stuck")[0]
        assert stuck.status.phase == "Pending"
        with pytest.raises(ApiException) as waiting:
            core.read_namespaced_pod_log(stuck.metadata.name, namespace)
        assert waiting.value.status == 400
        assert "is waiting to start" in str(waiting.value.body)
    finally:
        reset = urllib.request.Request(
            f"{emulator.url}/-/sandbox/images",
            data=json.dumps({"unpullable": []}).encode(),
            method="PUT",
        )
        reset.add_header("Content-Type", "application/json")
        urllib.request.urlopen(reset, timeout=10).close()


def test_kubectl_logs_of_a_deployment(
    emulator: KubeEmulator, apps: client.AppsV1Api, kubectl: KubectlRunner, namespace: str
) -> None:
    apps.create_namespaced_deployment(namespace, deployment("tool", "nginx:1.27", replicas=1))
    post_logs(emulator, namespace, "tool", ["hello from the pod"])
    result = kubectl("logs", "-n", namespace, "deploy/tool")
    assert result.stdout == "hello from the pod\n"
