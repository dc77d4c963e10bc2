"""What the GitLab agent chart installs (the agentk Deployment, Helm's release record)
and the simulated agentk's connection to KAS."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from kasboot.sandbox.flux.agentk_logs import attempt_error
from kasboot.sandbox.flux.chart_rbac import object_path, rendered_rbac

AGENTK_IMAGE = "registry.gitlab.com/gitlab-org/cluster-integration/gitlab-agent/agentk"
CHART_NAME = "gitlab-agent"


# -- the chart's names (templates/_helpers.tpl of gitlab-org/charts/gitlab-agent) ------------


def _dns_trunc(name: str, limit: int = 63) -> str:
    """Helm's ``trunc 63 | trimSuffix "-"``."""
    return name[:limit].removesuffix("-")


def chart_name(values: dict[str, Any]) -> str:
    """``gitlab-agent.name``: nameOverride, else the chart's name."""
    return _dns_trunc(str(values.get("nameOverride") or CHART_NAME))


def chart_fullname(release: str, values: dict[str, Any]) -> str:
    """``gitlab-agent.fullname``: fullnameOverride; else the release name when it contains
    the chart name (``gitlab-agent``); else ``<release>-gitlab-agent``."""
    if values.get("fullnameOverride"):
        return _dns_trunc(str(values["fullnameOverride"]))
    name = str(values.get("nameOverride") or CHART_NAME)
    return _dns_trunc(release if name in release else f"{release}-{name}")


def chart_secret_name(release: str, values: dict[str, Any]) -> str:
    """``gitlab-agent.secretName``: config.secretName, else ``<fullname>-token``."""
    config = values.get("config") or {}
    return str(config.get("secretName") or f"{chart_fullname(release, values)}-token")


def chart_deployment_name(release: str, values: dict[str, Any]) -> str:
    """The chart's Deployment: ``<fullname | trunc 60>-v2`` (an epoch suffix)."""
    return f"{chart_fullname(release, values)[:60]}-v2"


def chart_service_account(release: str, values: dict[str, Any]) -> str:
    account = values.get("serviceAccount") or {}
    if account.get("create", True):
        return str(account.get("name") or chart_fullname(release, values))
    return str(account.get("name") or "default")


def receptive(values: dict[str, Any]) -> bool:
    config = values.get("config") or {}
    return bool((config.get("receptive") or {}).get("enabled")) and bool(
        (config.get("api") or {}).get("jwtPublicKey")
    )


def chart_labels(
    release: str, values: dict[str, Any], app_version: str, version: str
) -> dict[str, str]:
    return {
        "helm.sh/chart": f"{CHART_NAME}-{version}".replace("+", "_"),
        "app.kubernetes.io/name": chart_name(values),
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/version": app_version,
        "app.kubernetes.io/managed-by": "Helm",
    }


def chart_secret(
    namespace: str, release: str, values: dict[str, Any], app_version: str, version: str
) -> dict[str, Any] | None:
    """The Secret the chart renders itself: with ``config.token`` (key ``token``), and in
    receptive mode (``config.receptive.enabled`` + ``config.api.jwtPublicKey``) one under
    the secret name WITHOUT ``token`` — which Helm then owns, so a Secret of that name
    that Helm does not own makes the install fail. None when the chart renders none
    (``config.secretName`` only: the chart reads the existing Secret's ``token``)."""
    config = values.get("config") or {}
    data: dict[str, str] = {}
    if config.get("token"):
        data["token"] = base64.b64encode(str(config["token"]).encode()).decode()
    if receptive(values):
        jwt = str((config.get("api") or {}).get("jwtPublicKey"))
        data["api.jwt.public.key"] = base64.b64encode(jwt.encode()).decode()
    if not data:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": chart_secret_name(release, values),
            "namespace": namespace,
            "labels": chart_labels(release, values, app_version, version),
            "annotations": {
                "meta.helm.sh/release-name": release,
                "meta.helm.sh/release-namespace": namespace,
            },
        },
        "data": data,
    }


def agentk_deployment(
    hr: dict[str, Any],
    namespace: str,
    release: str,
    values: dict[str, Any],
    app_version: str,
    chart: str,
    chart_version: str,
) -> dict[str, Any]:
    image_values = values.get("image") or {}
    image = (
        f"{image_values.get('repository') or AGENTK_IMAGE}:{image_values.get('tag') or app_version}"
    )
    config = values.get("config") or {}
    labels = chart_labels(release, values, app_version, chart_version)
    selector = {"app.kubernetes.io/name": chart_name(values), "app.kubernetes.io/instance": release}
    mounts_secret = bool(config.get("token") or config.get("secretName"))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": chart_deployment_name(release, values),
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
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": chart_service_account(release, values),
                    "containers": [
                        {
                            "name": chart or CHART_NAME,
                            "image": image,
                            "args": [
                                "--token-file=/etc/agentk/secrets/token",
                                f"--kas-address={config.get('kasAddress', '')}",
                            ],
                            "env": list(values.get("extraEnv") or []),
                            "volumeMounts": [
                                {"name": "secret-volume", "mountPath": "/etc/agentk/secrets"}
                            ]
                            if mounts_secret
                            else [],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "secret-volume",
                            "secret": {"secretName": chart_secret_name(release, values)},
                        }
                    ]
                    if mounts_secret
                    else [],
                },
            },
        },
    }


def ownership_conflict(
    existing: dict[str, Any] | None, release: str, namespace: str, action: str
) -> str | None:
    """Helm's refusal to take over an object it does not own (action/validate.go): an
    existing object of a rendered name must carry the release's ownership metadata."""
    if existing is None:
        return None
    metadata = existing.get("metadata") or {}
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    problems = []
    if labels.get("app.kubernetes.io/managed-by") != "Helm":
        problems.append(
            'label validation error: missing key "app.kubernetes.io/managed-by": must be set '
            'to "Helm"'
        )
    for key, wanted in (
        ("meta.helm.sh/release-name", release),
        ("meta.helm.sh/release-namespace", namespace),
    ):
        if annotations.get(key) != wanted:
            found = annotations.get(key)
            problems.append(
                f'annotation validation error: missing key "{key}": must be set to "{wanted}"'
                if found is None
                else f'annotation validation error: key "{key}" must equal "{wanted}": '
                f'current value is "{found}"'
            )
    if not problems:
        return None
    verb = "install" if action == "install" else "update"
    return (
        f"rendered manifests contain a resource that already exists. Unable to continue with "
        f'{verb}: {existing.get("kind")} "{metadata.get("name")}" in namespace '
        f'"{metadata.get("namespace")}" exists and cannot be imported into the current '
        f"release: invalid ownership metadata; {'; '.join(problems)}"
    )


def _path(obj: dict[str, Any]) -> str:
    metadata = obj["metadata"]
    other = object_path(obj)
    if other is not None:
        return other
    if obj["kind"] == "Secret":
        return f"/api/v1/namespaces/{metadata['namespace']}/secrets/{metadata['name']}"
    return f"/apis/apps/v1/namespaces/{metadata['namespace']}/deployments/{metadata['name']}"


def apply_rendered(
    api: Any, rendered: list[dict[str, Any] | None], release: str, namespace: str, action: str
) -> str | None:
    """Create or update what the chart rendered, as Helm does: first refuse (its message
    returned, nothing applied) when an object of a rendered name exists that this
    release does not own; then apply each, owner labels and annotations included."""
    objects = [obj for obj in rendered if obj is not None]
    for obj in objects:
        conflict = ownership_conflict(api.get_or_none(_path(obj)), release, namespace, action)
        if conflict is not None:
            return conflict
    for obj in objects:
        api.apply(obj, "helm-controller")
    return None


def uninstall_release(api: Any, namespace: str, release: str, values: dict[str, Any]) -> None:
    """What `helm uninstall` removes of the chart: the Deployment and the Secret the chart
    rendered itself (never a Secret it only reads)."""
    api.delete("apps/v1", "Deployment", namespace, chart_deployment_name(release, values))
    name = chart_secret_name(release, values)
    found = api.get_or_none(f"/api/v1/namespaces/{namespace}/secrets/{name}")
    annotations = ((found or {}).get("metadata") or {}).get("annotations") or {}
    if annotations.get("meta.helm.sh/release-name") == release:
        api.delete("v1", "Secret", namespace, name)
    for obj in rendered_rbac(
        namespace,
        chart_fullname(release, values),
        chart_service_account(release, values),
        values,
        {},
        release,
    ):
        kind, api_version = obj["kind"], obj["apiVersion"]
        api.delete(api_version, kind, obj["metadata"].get("namespace"), obj["metadata"]["name"])


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


def connect_to_kas(
    kas_address: str, token: str, agent_version: str = "v17.11.0", ca_cert: str | None = None
) -> str | None:
    """One agentk connection attempt: None when KAS (the GitLab stand-in) accepts the
    token, else agentk's error for the log (agentk_logs). Over TLS agentk trusts the
    system CAs, or only ``config.kasCaCert`` when it is set."""
    if not kas_address:
        return "kas address is empty: set config.kasAddress"
    request = urllib.request.Request(
        agent_info_url(kas_address),
        headers={"Authorization": f"Bearer {token}", "User-Agent": f"gitlab-agent/{agent_version}"},
    )
    context = None
    if request.full_url.startswith("https://"):
        try:
            context = ssl.create_default_context(cadata=ca_cert or None)
        except ssl.SSLError as error:  # not a PEM certificate: agentk's TLS config fails
            return f"failed to load CA certificate: {error}"
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            if 200 <= int(response.status) < 300:
                return None
            return f"unexpected HTTP status {response.status}"
    except (urllib.error.URLError, OSError) as error:
        return attempt_error(error, kas_address)


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
