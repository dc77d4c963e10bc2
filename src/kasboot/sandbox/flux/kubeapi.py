"""How the simulated controllers talk to the Kubernetes API: over HTTP through the
official ``kubernetes`` client, each controller with its own User-Agent (so the
request log tells Flux's traffic from kasboot's), like the real controllers.

Generic objects are addressed by discovery (``/api/v1``, ``/apis/<group>/<version>``),
so the kustomize-controller can apply whatever a build renders."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from kasboot import kube_http

FLUX_GROUPS = {
    "GitRepository": ("source.toolkit.fluxcd.io", "v1", "gitrepositories"),
    "OCIRepository": ("source.toolkit.fluxcd.io", "v1", "ocirepositories"),
    "HelmRepository": ("source.toolkit.fluxcd.io", "v1", "helmrepositories"),
    "HelmChart": ("source.toolkit.fluxcd.io", "v1", "helmcharts"),
    "Kustomization": ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations"),
    "HelmRelease": ("helm.toolkit.fluxcd.io", "v2", "helmreleases"),
}


class KubeRequestError(Exception):
    """The API server answered with an error Status (or could not be reached: code 0)."""

    def __init__(self, code: int, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class ResourceInfo:
    group_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None, name: str | None = None) -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


def now_rfc3339() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeApi:
    """A thin, thread-safe wrapper over one ``kubernetes.client.ApiClient``."""

    def __init__(self, kube_url: str, user_agent: str) -> None:
        configuration = client.Configuration()
        configuration.host = kube_url
        configuration.verify_ssl = False
        self.api_client = client.ApiClient(configuration)
        self.api_client.user_agent = user_agent
        self.custom = client.CustomObjectsApi(self.api_client)
        self._discovery: dict[tuple[str, str], ResourceInfo] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.api_client.close()

    # -- raw requests ------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: list[tuple[str, str]] | None = None,
    ) -> Any:
        response = self.send(method, path, body, content_type=content_type, query=query)
        try:
            data = response.read()
        finally:
            response.response.release_conn()
        if not 200 <= response.status < 300:
            raise _as_request_error(response.status, response.reason or "", data)
        return json.loads(data) if data else {}

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: list[tuple[str, str]] | None = None,
        timeout: float | tuple[float, float] = 30,
    ) -> Any:
        """The raw response (body not read: watches stream it)."""
        try:  # the same request path on every kubernetes client kasboot allows
            return kube_http.send(
                self.api_client,
                method,
                path,
                query=query,
                body=body,
                content_type=content_type,
                timeout=timeout,
            )
        except Exception as error:  # urllib3 connection errors: the server is down
            raise KubeRequestError(0, str(error)) from None

    def get_or_none(self, path: str) -> dict[str, Any] | None:
        try:
            return dict(self.request("GET", path))
        except KubeRequestError as error:
            if error.code == 404:
                return None
            raise

    # -- discovery -----------------------------------------------------------------
    def resource(self, api_version: str, kind: str) -> ResourceInfo:
        key = (api_version, kind)
        with self._lock:
            if key in self._discovery:
                return self._discovery[key]
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        try:
            listing = self.request("GET", path)
        except KubeRequestError as error:
            raise KubeRequestError(
                404, f'no matches for kind "{kind}" in version "{api_version}"', "NotFound"
            ) from error
        with self._lock:
            for entry in listing.get("resources", []):
                if "/" in entry["name"]:
                    continue  # subresources
                info = ResourceInfo(api_version, entry["kind"], entry["name"], entry["namespaced"])
                self._discovery[(api_version, entry["kind"])] = info
            if key not in self._discovery:
                raise KubeRequestError(
                    404, f'no matches for kind "{kind}" in version "{api_version}"', "NotFound"
                )
            return self._discovery[key]

    def forget_discovery(self) -> None:
        with self._lock:
            self._discovery.clear()

    # -- Flux objects ----------------------------------------------------------------
    def flux_path(self, kind: str, namespace: str, name: str | None = None) -> str:
        group, version, plural = FLUX_GROUPS[kind]
        base = f"/apis/{group}/{version}/namespaces/{namespace}/{plural}"
        return f"{base}/{name}" if name else base

    def get_flux(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.get_or_none(self.flux_path(kind, namespace, name))

    def list_flux(self, kind: str) -> list[dict[str, Any]]:
        group, version, plural = FLUX_GROUPS[kind]
        return list(self.request("GET", f"/apis/{group}/{version}/{plural}").get("items", []))

    def patch_status(self, kind: str, obj: dict[str, Any], status: dict[str, Any]) -> None:
        """Merge-patch ``status`` through the status subresource (lists are replaced whole)."""
        path = self.flux_path(kind, obj["metadata"]["namespace"], obj["metadata"]["name"])
        self.request(
            "PATCH",
            path + "/status",
            {"status": status},
            content_type="application/merge-patch+json",
        )

    # -- generic objects -------------------------------------------------------------
    def apply(self, obj: dict[str, Any], field_manager: str) -> str:
        """Create or update (merge patch, so fields others set — annotations, status —
        survive, as with server-side apply). Returns ``created``/``configured``/``unchanged``."""
        info = self.resource(obj["apiVersion"], obj["kind"])
        metadata = obj["metadata"]
        namespace = metadata.get("namespace") if info.namespaced else None
        if info.namespaced and not namespace:
            raise KubeRequestError(
                422, f"{obj['kind']}/{metadata.get('name')} namespace not specified", "Invalid"
            )
        query = [("fieldManager", field_manager)]
        existing = self.get_or_none(info.path(namespace, metadata["name"]))
        if existing is None:
            self.request("POST", info.path(namespace), obj, query=query)
            return "created"
        if _contains(existing, {k: v for k, v in obj.items() if k != "status"}):
            return "unchanged"
        self.request(
            "PATCH",
            info.path(namespace, metadata["name"]),
            obj,
            content_type="application/merge-patch+json",
            query=query,
        )
        return "configured"

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> None:
        info = self.resource(api_version, kind)
        try:
            self.request("DELETE", info.path(namespace if info.namespaced else None, name))
        except KubeRequestError as error:
            if error.code != 404:
                raise

    def record_event(
        self,
        involved: dict[str, Any],
        *,
        event_type: str,
        reason: str,
        message: str,
        component: str,
    ) -> None:
        """A core/v1 Event about ``involved``, as the controllers' event recorders emit."""
        metadata = involved["metadata"]
        namespace = metadata.get("namespace", "default")
        stamp = now_rfc3339()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{metadata['name']}.{uuid.uuid4().hex[:16]}",
                "namespace": namespace,
            },
            "involvedObject": {
                "apiVersion": involved.get("apiVersion"),
                "kind": involved.get("kind"),
                "name": metadata["name"],
                "namespace": namespace,
                "uid": metadata.get("uid"),
                "resourceVersion": metadata.get("resourceVersion"),
            },
            "reason": reason,
            "message": message,
            "type": event_type,
            "source": {"component": component},
            "reportingComponent": component,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        self.request("POST", f"/api/v1/namespaces/{namespace}/events", event)


def _contains(actual: Any, wanted: Any) -> bool:
    """Whether every field of ``wanted`` is already present, equal, in ``actual``."""
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            key in actual and _contains(actual[key], value) for key, value in wanted.items()
        )
    return bool(actual == wanted)


def _as_request_error(code: int, reason: str, body: bytes | str | None) -> KubeRequestError:
    message, status_reason = reason, ""
    if body:
        try:
            status = json.loads(body)
            message = status.get("message", message)
            status_reason = status.get("reason", "")
        except (ValueError, AttributeError):
            message = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
    return KubeRequestError(code, message, status_reason)
