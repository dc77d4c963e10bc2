"""The Deployment status a Deployment controller and kubelet would bring about, at once:
Available when every container image parses and pulls; otherwise the pods wait
(``InvalidImageName`` / ``ErrImagePull``), the Deployment reports
``Available=False, MinimumReplicasUnavailable`` with all replicas unavailable, and the
kubelet's Events name the pod and the cause (``kubectl describe`` / ``kubectl get
events`` show them). A change of the registry's pullable images re-evaluates every
Deployment, as the kubelet's pull back-off would notice.

After kubernetes/kubernetes pkg/controller/deployment/sync.go and
pkg/controller/deployment/util/deployment_util.go (status, MinimumReplicasUnavailable)
and pkg/kubelet/images/image_manager.go (the pull and its events)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from .images import ImageRegistry, PodTrouble

Obj = dict[str, Any]
DEPLOYMENT_KEY = ("apps", "deployments")


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _containers(obj: Obj) -> list[Obj]:
    pod_spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]


def deployment_trouble(obj: Obj, images: ImageRegistry) -> tuple[Obj, PodTrouble] | None:
    """The first container whose pods cannot start, and why."""
    for container in _containers(obj):
        trouble = images.trouble(str(container.get("image") or ""))
        if trouble is not None:
            return container, trouble
    return None


def template_hash(obj: Obj) -> str:
    """A stand-in for pod-template-hash: the ReplicaSet's and pods' name part."""
    template = repr((obj.get("spec") or {}).get("template"))
    return hashlib.sha256(template.encode()).hexdigest()[:10]


def pod_name(obj: Obj, index: int = 0) -> str:
    """The name of the Deployment's ``index``-th pod (pods.py makes them)."""
    seed = f"{obj['metadata'].get('uid', '')}/{template_hash(obj)}/{index}"
    suffix = hashlib.sha256(seed.encode()).hexdigest()[:5]
    return f"{obj['metadata']['name']}-{template_hash(obj)}-{suffix}"


def deployment_status(obj: Obj, images: ImageRegistry) -> Obj:
    replicas = int((obj.get("spec") or {}).get("replicas", 1))
    stamp = _stamp()
    replica_set = f"{obj['metadata']['name']}-{template_hash(obj)}"
    blocked = replicas > 0 and deployment_trouble(obj, images) is not None
    available: Obj = {
        "type": "Available",
        "status": "False" if blocked else "True",
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": "MinimumReplicasUnavailable" if blocked else "MinimumReplicasAvailable",
        "message": "Deployment does not have minimum availability."
        if blocked
        else "Deployment has minimum availability.",
    }
    progressing: Obj = {
        "type": "Progressing",
        "status": "True",
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": "ReplicaSetUpdated" if blocked else "NewReplicaSetAvailable",
        "message": f'ReplicaSet "{replica_set}" is progressing.'
        if blocked
        else f'ReplicaSet "{replica_set}" has successfully progressed.',
    }
    status: Obj = {
        "observedGeneration": obj["metadata"].get("generation", 1),
        "conditions": [available, progressing],
    }
    if replicas == 0:
        return status
    status.update(replicas=replicas, updatedReplicas=replicas)
    if blocked:
        status["unavailableReplicas"] = replicas
    else:
        status.update(readyReplicas=replicas, availableReplicas=replicas)
    return status


def same_status(old: Obj | None, new: Obj) -> bool:
    """Equal but for the condition timestamps."""

    def strip(status: Obj | None) -> Any:
        if not status:
            return None
        conditions = [
            {k: v for k, v in c.items() if k not in ("lastUpdateTime", "lastTransitionTime")}
            for c in status.get("conditions") or []
        ]
        return {**status, "conditions": conditions}

    return bool(strip(old) == strip(new))


def pod_events(obj: Obj, images: ImageRegistry) -> list[Obj]:
    """The kubelet's Events for the first pod of a Deployment that cannot start."""
    found = deployment_trouble(obj, images)
    if found is None or int((obj.get("spec") or {}).get("replicas", 1)) == 0:
        return []
    container, trouble = found
    pod = pod_name(obj)
    namespace = obj["metadata"].get("namespace", "")
    stamp = _stamp()
    kubelet_says = (
        [("InspectFailed", trouble.message), ("Failed", "Error: InvalidImageName")]
        if trouble.reason == "InvalidImageName"
        else [
            ("Failed", trouble.message),
            ("Failed", "Error: ErrImagePull"),
            ("BackOff", f'Back-off pulling image "{container.get("image")}"'),
        ]
    )
    return [
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{pod}.{index:x}{template_hash(obj)[:6]}"},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "namespace": namespace,
                "name": pod,
                "fieldPath": f"spec.containers{{{container.get('name')}}}",
            },
            "reason": reason,
            "message": message,
            "type": "Warning",
            "source": {"component": "kubelet"},
            "reportingComponent": "kubelet",
            "count": 1,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
        }
        for index, (reason, message) in enumerate(kubelet_says)
    ]


def record_pod_events(backend: Any, obj: Obj) -> None:
    """Store the kubelet's Events for a Deployment whose pods cannot start (``backend``
    is the KubeBackend; events already recorded are left as they are)."""
    from .errors import KubeApiError

    event_type = backend.registry.get("", "events")
    namespace = obj["metadata"].get("namespace")
    for event in pod_events(obj, backend.images):
        try:
            backend.create(event_type, "v1", namespace, event)
        except KubeApiError:  # already recorded (same pod, same cause)
            continue


def refresh_deployments(backend: Any) -> None:
    """Re-evaluate every Deployment after the registry changed, as the kubelet's pull
    back-off would notice: a status that differs is written (one MODIFIED event)."""
    deployment_type = backend.registry.get(*DEPLOYMENT_KEY)
    for obj in backend.store.list_objects(*DEPLOYMENT_KEY, None)[0]:
        status = deployment_status(obj, backend.images)
        if same_status(obj.get("status"), status):
            continue
        metadata = obj["metadata"]
        backend.replace(
            deployment_type,
            "v1",
            metadata.get("namespace"),
            metadata["name"],
            {**obj, "status": status},
            subresource="status",
        )
        record_pod_events(backend, obj)
        from .pods import sync_pods  # pods.py builds on this module

        sync_pods(backend, obj)
