"""Deployments become Available only when their pods could start: the image reference
follows the Docker reference grammar and the (simulated) registry has it. Otherwise the
Deployment reports MinimumReplicasUnavailable and the kubelet's Events say why, as on a
real cluster; the API server itself accepts any image string."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from kubernetes import client, config

from kasboot.sandbox.kube import KubeEmulator
from kasboot.sandbox.kube.images import reference_error

AGENTK = "registry.gitlab.com/gitlab-org/cluster-integration/gitlab-agent/agentk"


def deployment(name: str, image: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "agent", "image": image}]},
            },
        },
    }


def condition(obj: Any, kind: str) -> Any:
    return next(c for c in obj.status.conditions if c.type == kind)


@pytest.mark.parametrize(
    ("image", "error"),
    [
        ("nginx", None),
        (f"{AGENTK}:v17.11.0", None),
        (f"{AGENTK}:v17.4.0-rc1", None),
        ("localhost:5000/team/app:1.0@sha256:" + "a" * 64, None),
        (f"{AGENTK}:v17.4.0-rc1+6a02f3c1", "invalid reference format"),
        ("Registry.example.com/App:1", "repository name must be lowercase"),
        ("nginx:", "invalid reference format"),
        ("a//b:1", "invalid reference format"),
        ("nginx:" + "t" * 129, "invalid reference format"),
    ],
)
def test_docker_reference_grammar(image: str, error: str | None) -> None:
    assert reference_error(image) == error


def test_an_invalid_image_never_becomes_available(
    apps: client.AppsV1Api, core: Any, namespace: str
) -> None:
    image = f"{AGENTK}:v17.4.0-rc1+6a02f3c1"
    created = apps.create_namespaced_deployment(namespace, deployment("bad", image))
    assert created.spec.template.spec.containers[0].image == image  # accepted as is
    status = apps.read_namespaced_deployment("bad", namespace).status
    assert status.available_replicas is None and status.ready_replicas is None
    assert status.unavailable_replicas == 2
    available = condition(apps.read_namespaced_deployment("bad", namespace), "Available")
    assert (available.status, available.reason) == ("False", "MinimumReplicasUnavailable")
    events = core.list_namespaced_event(namespace, field_selector="involvedObject.kind=Pod").items
    assert any(
        e.reason == "InspectFailed" and "invalid reference format" in e.message for e in events
    )
    assert any(e.message == "Error: InvalidImageName" for e in events)
    good = apps.create_namespaced_deployment(namespace, deployment("good", f"{AGENTK}:v17.11.0"))
    assert good.status.available_replicas == 2
    assert condition(good, "Available").status == "True"


def test_an_unpullable_image_becomes_available_once_the_registry_has_it(
    tmp_path: Any,
) -> None:
    with KubeEmulator() as emu:
        api_client = config.new_client_from_config(
            str(emu.write_kubeconfig(tmp_path / "kubeconfig"))
        )
        apps = client.AppsV1Api(api_client)
        core = client.CoreV1Api(api_client)
        _put_unpullable(emu, [f"{AGENTK}:v99.*"])
        apps.create_namespaced_deployment("default", deployment("agent", f"{AGENTK}:v99.0.0", 1))
        blocked = apps.read_namespaced_deployment("agent", "default")
        assert condition(blocked, "Available").status == "False"
        reasons = {e.reason for e in core.list_namespaced_event("default").items}
        assert {"Failed", "BackOff"} <= reasons
        _put_unpullable(emu, [])  # the image was pushed: the kubelet's retry pulls it
        ready = apps.read_namespaced_deployment("agent", "default")
        assert ready.status.available_replicas == 1
        assert condition(ready, "Available").status == "True"


def _put_unpullable(emu: KubeEmulator, patterns: list[str]) -> None:
    request = urllib.request.Request(
        f"{emu.url}/-/sandbox/images",
        data=json.dumps({"unpullable": patterns}).encode(),
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.loads(answer.read()) == {"unpullable": patterns}
