"""The simulated helm-controller, specialised in what the sandbox installs: the
GitLab agent chart. A HelmRelease gets its HelmChart (``<ns>-<name>``), waits for it,
"installs" the release (storage Secret, the agentk Deployment) once the agent's token
Secret exists, and the simulated agentk then connects to the KAS stand-in with that
token, so GitLab records ``last_used_at`` only for a token it still accepts.
The release actions (remediation, Stalled, reset/force) are in helm_release.py."""

from __future__ import annotations

import base64
import logging
from typing import Any

import yaml

from kasboot.sandbox.flux.agentk import (
    agentk_deployment,
    apply_rendered,
    chart_deployment_name,
    chart_fullname,
    chart_labels,
    chart_secret,
    chart_secret_name,
    chart_service_account,
    release_secret,
    rollout_failure,
    uninstall_release,
)
from kasboot.sandbox.flux.agentk_logs import log_line
from kasboot.sandbox.flux.chart_rbac import rendered_rbac, start_failure
from kasboot.sandbox.flux.conditions import (
    format_duration,
    get_condition,
    parse_duration,
    set_condition,
)
from kasboot.sandbox.flux.helm_release import (
    AgentConnector,
    ReleaseActions,
    ReleaseFailure,
    is_ready,
)
from kasboot.sandbox.flux.kubeapi import KubeApi, KubeRequestError
from kasboot.sandbox.flux.runtime import Key
from kasboot.sandbox.flux.status import finish_status

LOG = logging.getLogger("kasboot.sandbox.flux.helm")
REQUEUE_DEPENDENCY = 5.0  # helm-controller's --requeue-dependency default
FINALIZER = "finalizers.fluxcd.io"
__all__ = ["FINALIZER", "HelmReconciler", "chart_location", "merge_values", "release_identity"]


def merge_values(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def at_path(path: str, value: str) -> dict[str, Any]:
    """``a.b.c`` = value as a nested map (helm-controller's targetPath; lists not needed)."""
    node: dict[str, Any] = {}
    keys = path.split(".")
    cursor = node
    for key in keys[:-1]:
        cursor = cursor.setdefault(key, {})
    cursor[keys[-1]] = value
    return node


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


def _source_not_ready(chart: dict[str, Any]) -> str:
    """helm-controller's isReady for the chart source: "" when Ready with an artifact."""
    metadata, status = chart.get("metadata") or {}, chart.get("status") or {}
    ready = get_condition(chart, "Ready")
    if status.get("observedGeneration") != metadata.get("generation"):
        if ready is not None and ready.get("status") == "False":
            return str(ready.get("message") or "")
        return "latest generation of object has not been reconciled"
    stalled = get_condition(chart, "Stalled")
    if stalled is not None and stalled.get("status") == "True":
        return str(stalled.get("message") or "")
    if not status.get("artifact"):
        return "does not have an artifact"
    return ""


class HelmReconciler(ReleaseActions):
    component = "helm-controller"
    finalizer = FINALIZER
    kinds = ("HelmRelease",)
    dependency_kinds = ("HelmChart",)

    def __init__(
        self,
        api: KubeApi,
        connect: AgentConnector,
        *,
        artifact_fetch_failures: int = 0,
        dependency_requeue: float = REQUEUE_DEPENDENCY,
    ) -> None:
        self.api = api
        self.connect = connect
        self.artifact_fetch_failures = artifact_fetch_failures
        self.dependency_requeue = dependency_requeue
        self._artifact_misses: dict[tuple[str, str, str], int] = {}

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
        """One pass of helm-controller's HelmRelease reconciler. The first pass over a
        new object only adds the finalizer (and records the handled request); the
        HelmChart is made on the second. Prerequisites that are not there yet leave
        Ready=False (SourceNotReady, ArtifactFailed, ValuesError) with Reconciling=True."""
        spec = obj.get("spec") or {}
        interval = parse_duration(spec.get("interval"), 60.0)
        status = dict(obj.get("status") or {})
        generation = int(obj["metadata"].get("generation") or 1)
        if FINALIZER not in (obj["metadata"].get("finalizers") or []):
            self._add_finalizer(obj)
            finish_status(self.api, kind, obj, status, succeeded=False)
            return 0.0  # ctrl.Result{Requeue: true}
        status["conditions"] = set_condition(
            list(status.get("conditions") or []),
            "Reconciling",
            "True",
            "Progressing",
            "Fulfilling prerequisites",
            generation,
        )
        self.api.patch_status(kind, obj, {"conditions": status["conditions"]})
        try:
            chart = self._chart(obj)
            status["helmChart"] = "/".join(chart_location(obj))
            values = self._values(obj)
            self._load_chart(obj, chart)
        except ReleaseFailure as failure:
            status["conditions"] = set_condition(
                status["conditions"], "Ready", "False", failure.reason, failure.message, generation
            )
            finish_status(self.api, kind, obj, status, succeeded=False)
            return failure.retry if failure.retry is not None else interval
        again, terminal = self._release(obj, status, chart, values, generation)
        finish_status(self.api, kind, obj, status, succeeded=terminal)
        if is_ready(status):
            self._agent_connects(obj, values)
        return again

    def _add_finalizer(self, hr: dict[str, Any]) -> None:
        metadata = hr["metadata"]
        finalizers = [*(metadata.get("finalizers") or []), FINALIZER]
        self.api.request(
            "PATCH",
            self.api.flux_path("HelmRelease", metadata["namespace"], metadata["name"]),
            {"metadata": {"finalizers": finalizers}},
            content_type="application/merge-patch+json",
        )

    def _load_chart(self, hr: dict[str, Any], chart: dict[str, Any]) -> None:
        """Fetching the chart's artifact from source-controller's storage; the first
        ``artifact_fetch_failures`` loads of a new chart revision find no artifact yet
        (the storage not yet serving it), as helm-controller reports and retries."""
        revision = str(((chart.get("status") or {}).get("artifact") or {}).get("revision", ""))
        key = (hr["metadata"]["namespace"], hr["metadata"]["name"], revision)
        misses = self._artifact_misses.get(key, 0)
        if misses < self.artifact_fetch_failures:
            self._artifact_misses[key] = misses + 1
            raise ReleaseFailure(
                "ArtifactFailed",
                "Source not ready: artifact not found. "
                f"Retrying in {format_duration(self.dependency_requeue)}",
                self.dependency_requeue,
            )

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
        problem = _source_not_ready(chart)
        if problem:
            raise ReleaseFailure(
                "SourceNotReady",
                f"HelmChart '{namespace}/{name}' is not ready: {problem}",
                self.dependency_requeue,
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
            if reference.get("targetPath"):  # the raw value at that path (strvals)
                values = merge_values(values, at_path(str(reference["targetPath"]), data[key]))
                continue
            loaded = yaml.safe_load(data[key]) or {}
            values = merge_values(values, loaded if isinstance(loaded, dict) else {})
        return merge_values(values, spec.get("values") or {})

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
        rbac = rendered_rbac(
            namespace,
            chart_fullname(release, values),
            chart_service_account(release, values),
            values,
            chart_labels(release, values, app_version, chart_version),
            release,
        )
        try:
            action = "install" if number == 1 else "upgrade"
            conflict = apply_rendered(
                self.api, [*rbac, secret, deployment], release, namespace, action
            )
            if conflict is not None:
                raise ReleaseFailure("", conflict)
            # helm's wait for the pods
            waited = start_failure(self.api, deployment) or rollout_failure(self.api, deployment)
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
            ca_cert = str(config.get("kasCaCert") or "") or None
            error = self.connect(str(config.get("kasAddress") or ""), token, target, ca_cert)
            LOG.info("agentk in %s: KAS %s the token", target, "rejected" if error else "accepted")
            if error is not None:
                self._agentk_logs(hr, values, [log_line("Reverse tunnel", error)])

    def _agentk_logs(self, hr: dict[str, Any], values: dict[str, Any], lines: list[str]) -> None:
        """What agentk's pods log (the Kubernetes emulator keeps it for `kubectl logs`)."""
        target, release, _ = release_identity(hr)
        body = {
            "namespace": target,
            "deployment": chart_deployment_name(release, values),
            "lines": lines,
        }
        try:
            self.api.request("POST", "/-/sandbox/pod-logs", body)
        except KubeRequestError:  # a real cluster's kubelet keeps logs; here it is best effort
            LOG.debug("agentk's log lines were not kept")
