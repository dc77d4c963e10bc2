"""The pods a Deployment's ReplicaSet runs, and what their containers log.

The emulator keeps the Deployment controller's and kubelet's outcome, not their work:
each Deployment has ``spec.replicas`` Pod objects named ``<deployment>-<template hash>-
<suffix>`` with the template's labels, Running and Ready when every image pulls, else
Pending with the kubelet's waiting reason (as the Deployment's own status and Events
say, workloads.py). A new template replaces them (new names), scaling adds or removes,
deleting the Deployment deletes them.

Logs are lines a simulated container wrote (the sandbox's agentk posts them,
``POST /-/sandbox/pod-logs``); ``GET …/pods/NAME/log`` answers them as the API server
relays the kubelet's: plain text, ``container`` required when the pod has several,
``tailLines``, ``timestamps``, and the errors of a missing container or one still
waiting to start (kubernetes pkg/registry/core/pod/strategy.go LogLocation and
pkg/kubelet/kubelet_pods.go validateContainerLogStatus)."""

from __future__ import annotations

import hashlib
from collections import deque
from datetime import datetime, timezone
from typing import Any

from .errors import bad_request, not_found
from .workloads import deployment_trouble, pod_name, template_hash

Obj = dict[str, Any]
POD_KEY = ("", "pods")
LOG_LINES_KEPT = 2000  # a kubelet rotates container logs; older lines are gone
NODE_NAME = "sandbox-node"


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owned_by(pod: Obj, deployment: str) -> bool:
    return any(
        ref.get("kind") == "ReplicaSet" and str(ref.get("name", "")).rsplit("-", 1)[0] == deployment
        for ref in pod["metadata"].get("ownerReferences") or []
    )


def desired_pods(deployment: Obj, images: Any) -> list[Obj]:
    """The pods the Deployment's current ReplicaSet would have, with their status."""
    metadata = deployment["metadata"]
    spec = deployment.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    template = spec.get("template") or {}
    replica_set = f"{metadata['name']}-{template_hash(deployment)}"
    trouble = deployment_trouble(deployment, images)
    containers = list((template.get("spec") or {}).get("containers") or [])
    stamp = _stamp()
    pods = []
    for index in range(replicas):
        name = pod_name(deployment, index)
        statuses = []
        for container in containers:
            image = str(container.get("image") or "")
            digest = hashlib.sha256(image.encode()).hexdigest()
            entry: Obj = {
                "name": container.get("name"),
                "image": image,
                "imageID": "",  # the kubelet fills it in once the image is pulled
                "restartCount": 0,
                "started": trouble is None,
                "ready": trouble is None,
            }
            if trouble is None:
                prefix, _, last = image.split("@")[0].rpartition("/")
                repository = f"{prefix}/{last.split(':')[0]}" if prefix else last.split(":")[0]
                entry["imageID"] = f"{repository}@sha256:{digest}"
                entry["containerID"] = f"containerd://{hashlib.sha256(name.encode()).hexdigest()}"
                entry["state"] = {"running": {"startedAt": stamp}}
            else:
                entry["state"] = {
                    "waiting": {"reason": trouble[1].reason, "message": trouble[1].message}
                }
            statuses.append(entry)
        ready = "True" if trouble is None else "False"
        pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": metadata.get("namespace"),
                    "labels": {
                        **((template.get("metadata") or {}).get("labels") or {}),
                        "pod-template-hash": template_hash(deployment),
                    },
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "ReplicaSet",
                            "name": replica_set,
                            "uid": hashlib.sha256(replica_set.encode()).hexdigest()[:32],
                            "controller": True,
                            "blockOwnerDeletion": True,
                        }
                    ],
                },
                "spec": {**(template.get("spec") or {}), "nodeName": NODE_NAME},
                "status": {
                    "phase": "Running" if trouble is None else "Pending",
                    "conditions": [
                        {"type": "PodScheduled", "status": "True"},
                        {"type": "Ready", "status": ready},
                        {"type": "ContainersReady", "status": ready},
                    ],
                    "containerStatuses": statuses,
                    "startTime": stamp,
                },
            }
        )
    return pods


def sync_pods(backend: Any, deployment: Obj) -> None:
    """Bring the Deployment's pods to what it wants (called in the write's transaction)."""
    pod_type = backend.registry.get(*POD_KEY)
    namespace = deployment["metadata"].get("namespace")
    name = deployment["metadata"]["name"]
    wanted = {pod["metadata"]["name"]: pod for pod in desired_pods(deployment, backend.images)}
    existing = backend.store.list_objects(*POD_KEY, namespace)[0]
    for pod in existing:
        pod_name = pod["metadata"]["name"]
        if _owned_by(pod, name) and pod_name not in wanted:
            backend.delete(pod_type, "v1", namespace, pod_name)
            backend.pod_logs.pop((namespace, pod_name), None)
    present = {pod["metadata"]["name"]: pod for pod in existing}
    for pod_name, pod in wanted.items():
        old = present.get(pod_name)
        if old is None:  # created without status (the API server drops it), then set
            old = backend.create(pod_type, "v1", namespace, pod)
        elif old.get("status") == pod["status"]:
            continue
        backend.replace(
            pod_type,
            "v1",
            namespace,
            pod_name,
            {**old, "status": pod["status"]},
            subresource="status",
        )


def remove_pods(backend: Any, namespace: str | None, deployment: str) -> None:
    pod_type = backend.registry.get(*POD_KEY)
    for pod in backend.store.list_objects(*POD_KEY, namespace)[0]:
        if _owned_by(pod, deployment):
            backend.delete(pod_type, "v1", namespace, pod["metadata"]["name"])
            backend.pod_logs.pop((namespace, pod["metadata"]["name"]), None)


# -- logs ---------------------------------------------------------------------------------


def append_log(backend: Any, namespace: str, deployment: str, lines: list[str]) -> int:
    """Lines written by every running pod of the Deployment; how many pods wrote them."""
    written = 0
    stamp = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    for pod in backend.store.list_objects(*POD_KEY, namespace)[0]:
        if not _owned_by(pod, deployment) or (pod.get("status") or {}).get("phase") != "Running":
            continue
        kept = backend.pod_logs.setdefault(
            (namespace, pod["metadata"]["name"]), deque(maxlen=LOG_LINES_KEPT)
        )
        kept.extend((stamp, line) for line in lines)
        written += 1
    return written


def read_log(backend: Any, namespace: str, name: str, query: Any) -> str:
    """The text ``GET /api/v1/namespaces/NS/pods/NAME/log`` answers, or its error."""
    pod = backend.store.get(("", "pods", namespace or "", name))
    if pod is None:
        raise not_found("pods", "", name)
    containers = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
    container = query.get("container")
    if not container:
        if len(containers) != 1:
            raise bad_request(
                f"a container name must be specified for pod {name}, choose one of: "
                f"[{' '.join(containers)}]"
            )
        container = containers[0]
    if container not in containers:
        raise bad_request(f"container {container} is not valid for pod {name}")
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = ((status or {}).get("state") or {}).get("waiting")
        if status.get("name") == container and waiting is not None:
            reason = waiting.get("reason") or "ContainerCreating"
            because = (
                "trying and failing to pull image"
                if reason in ("ErrImagePull", "ImagePullBackOff")
                else reason
            )
            raise bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: {because}'
            )
    entries = list(backend.pod_logs.get((namespace, name)) or ())
    tail = query.get("tailLines")
    if tail is not None:
        try:
            count = int(tail)
        except ValueError:
            raise bad_request(f"tailLines: invalid value {tail!r}") from None
        entries = entries[-count:] if count > 0 else []
    with_time = str(query.get("timestamps", "")).lower() in ("1", "true")
    return "".join(f"{stamp} {line}\n" if with_time else f"{line}\n" for stamp, line in entries)
