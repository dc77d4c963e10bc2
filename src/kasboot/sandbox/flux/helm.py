"""The simulated helm-controller, specialised in what the sandbox installs: the
GitLab agent chart. A HelmRelease gets its HelmChart (``<ns>-<name>``), waits for it,
"installs" the release (storage Secret, the agentk Deployment) once the agent's token
Secret exists, and the simulated agentk then connects to the KAS stand-in with that
token, so GitLab records ``last_used_at`` only for a token it still accepts."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import yaml

from kasboot.sandbox.flux.agentk import (
    agentk_deployment,
    apply_rendered,
    chart_deployment_name,
    chart_secret,
    chart_secret_name,
    release_secret,
    rollout_failure,
    uninstall_release,
)
from kasboot.sandbox.flux.conditions import (
    FORCE_AT,
    get_condition,
    parse_duration,
    remove_condition,
    requested_at,
    set_condition,
)
from kasboot.sandbox.flux.kubeapi import KubeApi, KubeRequestError, now_rfc3339
from kasboot.sandbox.flux.runtime import Key
from kasboot.sandbox.flux.status import finish_status

LOG = logging.getLogger("kasboot.sandbox.flux.helm")
REQUEUE_DEPENDENCY = 5.0

# (kas address, token) -> True when KAS accepted the token
AgentConnector = Callable[[str, str, str], bool]


class ReleaseFailure(Exception):
    def __init__(self, reason: str, message: str, retry: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry = retry


def merge_values(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def chart_location(hr: dict[str, Any]) -> tuple[str, str]:
    """(namespace, name) of the HelmChart helm-controller makes for ``hr``."""
    metadata = hr["metadata"]
    source_ref = ((hr.get("spec") or {}).get("chart") or {}).get("spec", {}).get("sourceRef", {})
    namespace = source_ref.get("namespace") or metadata["namespace"]
    return namespace, f"{metadata['namespace']}-{metadata['name']}"


def release_identity(hr: dict[str, Any]) -> tuple[str, str, str]:
    """(target namespace, release name, storage namespace) with helm-controller's defaults."""
    spec = hr.get("spec") or {}
    metadata = hr["metadata"]
    target = spec.get("targetNamespace") or metadata["namespace"]
    default_name = (
        f"{spec['targetNamespace']}-{metadata['name']}"
        if spec.get("targetNamespace")
        else metadata["name"]
    )
    return (
        target,
        spec.get("releaseName") or default_name,
        spec.get("storageNamespace") or metadata["namespace"],
    )


class HelmReconciler:
    component = "helm-controller"
    kinds = ("HelmRelease",)
    dependency_kinds = ("HelmChart",)

    def __init__(self, api: KubeApi, connect: AgentConnector) -> None:
        self.api = api
        self.connect = connect

    def dependents(self, kind: str, obj: dict[str, Any]) -> list[Key]:
        location = (obj["metadata"].get("namespace"), obj["metadata"]["name"])
        return [
            ("HelmRelease", hr["metadata"]["namespace"], hr["metadata"]["name"])
            for hr in self.api.list_flux("HelmRelease")
            if chart_location(hr) == location
        ]

    def finalize(self, kind: str, obj: dict[str, Any]) -> None:
        """A deleted HelmRelease is uninstalled: the agentk Deployment and the release
        records go (the token Secret is not the chart's and stays)."""
        target, release, storage = release_identity(obj)
        uninstall_release(self.api, target, release, (obj.get("spec") or {}).get("values") or {})
        for entry in (obj.get("status") or {}).get("history") or []:
            self.api.delete(
                "v1", "Secret", storage, f"sh.helm.release.v1.{release}.v{entry.get('version')}"
            )

    def reconcile(self, kind: str, obj: dict[str, Any]) -> float | None:
        spec = obj.get("spec") or {}
        interval = parse_duration(spec.get("interval"), 60.0)
        status = dict(obj.get("status") or {})
        generation = int(obj["metadata"].get("generation") or 1)
        try:
            chart = self._chart(obj)
            status["helmChart"] = "/".join(chart_location(obj))
            values = self._values(obj)
            self._release(obj, status, chart, values, generation)
        except ReleaseFailure as failure:
            conditions = set_condition(
                list(status.get("conditions") or []),
                "Ready",
                "False",
                failure.reason,
                failure.message,
                generation,
            )
            if failure.reason.endswith(("InstallFailed", "UpgradeFailed")):
                conditions = set_condition(
                    conditions, "Released", "False", failure.reason, failure.message, generation
                )
            status["conditions"] = remove_condition(conditions, "Reconciling")
            finish_status(self.api, kind, obj, status, succeeded=False)
            return failure.retry if failure.retry is not None else interval
        status["conditions"] = remove_condition(
            remove_condition(list(status.get("conditions") or []), "Reconciling"), "Stalled"
        )
        status["conditions"] = [
            {**c, "observedGeneration": generation} for c in status["conditions"]
        ]
        finish_status(self.api, kind, obj, status, succeeded=True)
        self._agent_connects(obj, values)
        return interval

    # -- chart -----------------------------------------------------------------------
    def _chart(self, hr: dict[str, Any]) -> dict[str, Any]:
        template = ((hr.get("spec") or {}).get("chart") or {}).get("spec") or {}
        namespace, name = chart_location(hr)
        source_ref = template.get("sourceRef") or {}
        wanted = {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmChart",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "chart": template.get("chart", ""),
                "version": template.get("version") or "*",
                "sourceRef": {
                    "kind": source_ref.get("kind", "HelmRepository"),
                    "name": source_ref.get("name", ""),
                },
                "interval": template.get("interval")
                or (hr.get("spec") or {}).get("interval", "1m0s"),
                "reconcileStrategy": template.get("reconcileStrategy") or "ChartVersion",
            },
        }
        self.api.apply(wanted, "helm-controller")
        chart = self.api.get_flux("HelmChart", namespace, name) or wanted
        ready = get_condition(chart, "Ready")
        if not ready or ready.get("status") != "True":
            detail = (ready or {}).get("message") or "HelmChart is not ready"
            raise ReleaseFailure(
                "ArtifactFailed",
                f"HelmChart '{namespace}/{name}' is not ready: {detail}",
                REQUEUE_DEPENDENCY,
            )
        return chart

    def _values(self, hr: dict[str, Any]) -> dict[str, Any]:
        spec = hr.get("spec") or {}
        namespace = hr["metadata"]["namespace"]
        values: dict[str, Any] = {}
        for reference in spec.get("valuesFrom") or []:
            kind, name = reference.get("kind"), reference.get("name")
            key = reference.get("valuesKey") or "values.yaml"
            plural = "configmaps" if kind == "ConfigMap" else "secrets"
            found = self.api.get_or_none(f"/api/v1/namespaces/{namespace}/{plural}/{name}")
            data = dict((found or {}).get("data") or {})
            if kind == "Secret":
                data = {k: base64.b64decode(v).decode() for k, v in data.items()}
            if found is None or key not in data:
                if reference.get("optional"):
                    continue
                cause = f'{plural} "{name}" not found' if found is None else f"missing key '{key}'"
                raise ReleaseFailure(
                    "ValuesError",  # helm-controller: values composition failed
                    f"could not resolve {kind} chart values reference '{namespace}/{name}' "
                    f"with key '{key}': {cause}",
                )
            loaded = yaml.safe_load(data[key]) or {}
            values = merge_values(values, loaded if isinstance(loaded, dict) else {})
        return merge_values(values, spec.get("values") or {})

    # -- release ---------------------------------------------------------------------
    def _release(
        self,
        hr: dict[str, Any],
        status: dict[str, Any],
        chart: dict[str, Any],
        values: dict[str, Any],
        generation: int,
    ) -> None:
        spec = hr.get("spec") or {}
        target, release, storage = release_identity(hr)
        artifact = (chart.get("status") or {}).get("artifact") or {}
        chart_name = (chart.get("spec") or {}).get("chart", "")
        version = str(artifact.get("revision", ""))
        app_version = str((artifact.get("metadata") or {}).get("appVersion", ""))
        config_digest = (
            "sha256:" + hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
        )
        history = list(status.get("history") or [])
        latest = history[0] if history else None
        forced = (hr["metadata"].get("annotations") or {}).get(FORCE_AT)
        force = (
            forced is not None
            and forced == requested_at(hr)
            and forced != status.get("lastHandledForceAt")
        )
        status.update(
            {
                "lastAttemptedRevision": version,
                "lastAttemptedConfigDigest": config_digest,
                "lastAttemptedGeneration": generation,
                "storageNamespace": storage,
            }
        )
        if force:
            status["lastHandledForceAt"] = forced
        unchanged = (
            latest is not None
            and latest.get("chartVersion") == version
            and latest.get("configDigest") == config_digest
            and latest.get("status") == "deployed"
            and get_condition(hr, "Ready") is not None
            and (get_condition(hr, "Ready") or {}).get("status") == "True"
        )
        if unchanged and not force:
            return
        number = int(latest["version"]) + 1 if latest else 1
        action = "upgrade" if latest and latest.get("status") == "deployed" else "install"
        failed_reason = "UpgradeFailed" if action == "upgrade" else "InstallFailed"
        subject = f"release {target}/{release}.v{number} with chart {chart_name}@{version}"
        try:
            self._ensure_namespace(target, bool((spec.get("install") or {}).get("createNamespace")))
            self._check_token_secret(target, release, values)
            self._install_objects(
                hr, target, release, storage, number, values, app_version, chart_name, version
            )
        except ReleaseFailure as failure:
            raise ReleaseFailure(
                failed_reason, f"Helm {action} failed for {subject}: {failure.message}"
            ) from None
        stamp = now_rfc3339()
        snapshot = {
            "apiVersion": "v2",
            "appVersion": app_version,
            "chartName": chart_name,
            "chartVersion": version,
            "configDigest": config_digest,
            "digest": "sha256:"
            + hashlib.sha256(f"{config_digest}{version}{number}".encode()).hexdigest(),
            "firstDeployed": (latest or {}).get("firstDeployed", stamp),
            "lastDeployed": stamp,
            "name": release,
            "namespace": target,
            "status": "deployed",
            "version": number,
        }
        if latest is not None:
            history[0] = {**latest, "status": "superseded"}
        status["history"] = [snapshot, *history][:5]
        reason = "UpgradeSucceeded" if action == "upgrade" else "InstallSucceeded"
        message = f"Helm {action} succeeded for {subject}"
        conditions = set_condition(
            list(status.get("conditions") or []), "Released", "True", reason, message, generation
        )
        status["conditions"] = set_condition(
            conditions, "Ready", "True", reason, message, generation
        )

    def _ensure_namespace(self, namespace: str, create: bool) -> None:
        if self.api.get_or_none(f"/api/v1/namespaces/{namespace}") is not None:
            return
        if not create:
            raise ReleaseFailure(
                "", f'create: failed to create: namespaces "{namespace}" not found'
            )
        self.api.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            "helm-controller",
        )

    def _check_token_secret(self, namespace: str, release: str, values: dict[str, Any]) -> None:
        """The chart mounts ``config.secretName`` (key ``token``) into agentk; without it
        the pods never start and helm's wait gives up."""
        config = values.get("config") or {}
        if config.get("token"):
            return
        secret_name = chart_secret_name(release, values)
        secret = self.api.get_or_none(f"/api/v1/namespaces/{namespace}/secrets/{secret_name}")
        wait_failure = (
            f"resource Deployment/{namespace}/{chart_deployment_name(release, values)} not ready. "
            "status: InProgress, message: Available: 0/1; "
            'MountVolume.SetUp failed for volume "secret-volume" : '
        )
        if secret is None:
            raise ReleaseFailure(
                "",
                wait_failure + f'secret "{secret_name}" not found: context deadline exceeded',
            )
        if "token" not in (secret.get("data") or {}):
            raise ReleaseFailure(
                "",
                wait_failure
                + "references non-existent secret key: token: context deadline exceeded",
            )

    def _install_objects(
        self,
        hr: dict[str, Any],
        namespace: str,
        release: str,
        storage: str,
        number: int,
        values: dict[str, Any],
        app_version: str,
        chart_name: str,
        chart_version: str,
    ) -> None:
        deployment = agentk_deployment(
            hr, namespace, release, values, app_version, chart_name, chart_version
        )
        secret = chart_secret(namespace, release, values, app_version, chart_version)
        try:
            action = "install" if number == 1 else "upgrade"
            conflict = apply_rendered(self.api, [secret, deployment], release, namespace, action)
            if conflict is not None:
                raise ReleaseFailure("", conflict)
            waited = rollout_failure(self.api, deployment)  # helm's wait for the pods
            if waited is not None:
                raise ReleaseFailure("", waited)
            if self.api.get_or_none(f"/api/v1/namespaces/{storage}") is not None:
                self.api.apply(
                    release_secret(release, storage, number, chart_name, chart_version),
                    "helm-controller",
                )
        except KubeRequestError as error:
            raise ReleaseFailure("", error.message) from None

    # -- agentk ----------------------------------------------------------------------------
    def _agent_connects(self, hr: dict[str, Any], values: dict[str, Any]) -> None:
        target, _, _ = release_identity(hr)
        config = values.get("config") or {}
        token = config.get("token")
        if not token:
            name = chart_secret_name(release_identity(hr)[1], values)
            secret = self.api.get_or_none(f"/api/v1/namespaces/{target}/secrets/{name}")
            encoded = ((secret or {}).get("data") or {}).get("token")
            token = base64.b64decode(encoded).decode().strip() if encoded else None
        if token:
            accepted = self.connect(str(config.get("kasAddress") or ""), token, target)
            LOG.info(
                "agentk in %s: KAS %s the token", target, "accepted" if accepted else "rejected"
            )
