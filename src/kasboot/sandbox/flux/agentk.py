"""What the GitLab agent chart installs (the agentk Deployment, Helm's release record)
and the simulated agentk's connection to KAS."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit, urlunsplit

AGENTK_IMAGE = "registry.gitlab.com/gitlab-org/cluster-integration/gitlab-agent/agentk"


def agentk_deployment(
    hr: dict[str, Any],
    namespace: str,
    release: str,
    values: dict[str, Any],
    app_version: str,
    chart_name: str,
    chart_version: str,
) -> dict[str, Any]:
    image_values = values.get("image") or {}
    tag = str(image_values.get("tag") or app_version).removeprefix("v")
    image = f"{image_values.get('repository') or AGENTK_IMAGE}:v{tag}"
    config = values.get("config") or {}
    secret_name = config.get("secretName") or f"{release}-token"
    labels = {
        "app.kubernetes.io/name": chart_name,
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/managed-by": "Helm",
        "helm.sh/chart": f"{chart_name}-{chart_version}",
    }
    selector = {"app.kubernetes.io/name": chart_name, "app.kubernetes.io/instance": release}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": release,
            "namespace": namespace,
            "labels": {
                **labels,
                "helm.toolkit.fluxcd.io/name": hr["metadata"]["name"],
                "helm.toolkit.fluxcd.io/namespace": hr["metadata"]["namespace"],
            },
            "annotations": {
                "meta.helm.sh/release-name": release,
                "meta.helm.sh/release-namespace": namespace,
            },
        },
        "spec": {
            "replicas": int(values.get("replicas", 2)),
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {
                    "serviceAccountName": release,
                    "containers": [
                        {
                            "name": "agent",
                            "image": image,
                            "args": [
                                "--token-file=/etc/agentk/secrets/token",
                                f"--kas-address={config.get('kasAddress', 'wss://kas.gitlab.com')}",
                            ],
                            "env": list(values.get("extraEnv") or []),
                            "volumeMounts": [
                                {"name": "token-volume", "mountPath": "/etc/agentk/secrets"}
                            ],
                        }
                    ],
                    "volumes": [{"name": "token-volume", "secret": {"secretName": secret_name}}],
                },
            },
        },
    }


def release_secret(
    release: str, namespace: str, number: int, chart: str, version: str
) -> dict[str, Any]:
    """Helm's release record (storage driver "secret"), so release lookups find it."""
    record = {
        "name": release,
        "version": number,
        "chart": f"{chart}-{version}",
        "info": {"status": "deployed"},
    }
    encoded = base64.b64encode(base64.b64encode(json.dumps(record).encode())).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {
            "name": f"sh.helm.release.v1.{release}.v{number}",
            "namespace": namespace,
            "labels": {
                "name": release,
                "owner": "helm",
                "status": "deployed",
                "version": str(number),
            },
        },
        "data": {"release": encoded},
    }


def agent_info_url(kas_address: str) -> str:
    """``ws(s)://host/-/kubernetes-agent/`` -> ``http(s)://host/-/kubernetes-agent/agent_info``."""
    parts = urlsplit(kas_address)
    scheme = {"ws": "http", "wss": "https", "grpc": "http", "grpcs": "https"}.get(
        parts.scheme, parts.scheme
    )
    path = parts.path.rstrip("/") + "/agent_info"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def connect_to_kas(kas_address: str, token: str, agent_version: str = "v17.11.0") -> bool:
    """One agentk connection attempt: True when KAS (the GitLab stand-in) accepts the token."""
    if not kas_address:
        return False
    request = urllib.request.Request(
        agent_info_url(kas_address),
        headers={"Authorization": f"Bearer {token}", "User-Agent": f"gitlab-agent/{agent_version}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError):
        return False


def rollout_failure(api: Any, deployment: dict[str, Any]) -> str | None:
    """What helm's wait (helm-controller's kstatus status waiter) reports when the
    Deployment it just applied does not become Current before the timeout — e.g. pods
    that never start because the image reference is invalid or cannot be pulled (the
    emulated kubelet decides; its Events say why). None when it is Available. The
    simulator does not sleep out ``spec.timeout``: the verdict is known at once."""
    metadata = deployment["metadata"]
    namespace, name = metadata["namespace"], metadata["name"]
    found = api.get_or_none(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    status = (found or {}).get("status") or {}
    wanted = int(((found or deployment).get("spec") or {}).get("replicas", 1))
    available = int(status.get("availableReplicas") or 0)
    if found is not None and available >= wanted:
        return None
    return (
        f"resource Deployment/{namespace}/{name} not ready. status: InProgress, message: "
        f"Available: {available}/{wanted}\ncontext deadline exceeded"
    )
