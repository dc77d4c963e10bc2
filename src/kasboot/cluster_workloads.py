"""Part of the cluster seam (kasboot.cluster.Cluster mixes it in): the server's
version, Deployments (Flux's controllers, agentk's restarts), Events and ConfigMaps,
as plain JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kasboot.cluster_kinds import MERGE_PATCH, RESTARTED_AT, STARTED_WITH_TOKEN, resource_path


def _deployments(namespace: str | None = None, name: str | None = None) -> str:
    return resource_path("apps", "v1", "deployments", namespace, name)


class WorkloadSeam:
    """``_call``, ``_get`` and ``_errors`` are Cluster's."""

    _call: Callable[..., Any]
    _get: Callable[..., Any]
    _errors: Callable[[str], Any]

    def server_version(self) -> str:
        with self._errors("reading the server version"):
            return str((self._call("GET", "/version") or {}).get("gitVersion", "unknown"))

    def flux_controllers(self, namespace: str = "flux-system") -> list[dict[str, Any]]:
        return self.list_deployments(namespace, "app.kubernetes.io/part-of=flux")

    def list_deployments(
        self, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Deployments in one namespace, or in all when ``namespace`` is None."""
        query = [("labelSelector", label_selector)] if label_selector else None
        with self._errors("listing Deployments"):
            found = self._get(_deployments(namespace), query)
            return [dict(item) for item in (found or {}).get("items", [])]

    def events_for(self, kind: str, namespace: str, name: str) -> list[dict[str, Any]]:
        """The core/v1 Events about one object (what `kubectl describe` shows)."""
        selector = f"involvedObject.kind={kind},involvedObject.name={name}"
        with self._errors(f"listing events of {kind} {namespace}/{name}"):
            found = self._get(
                f"/api/v1/namespaces/{namespace}/events", [("fieldSelector", selector)]
            )
            return [dict(item) for item in (found or {}).get("items", [])]

    def read_config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._errors(f"reading ConfigMap {namespace}/{name}"):
            found = self._get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
            return dict(found) if found is not None else None

    def read_service_account(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._errors(f"reading ServiceAccount {namespace}/{name}"):
            found: dict[str, Any] | None = self._get(
                f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}"
            )
            return found

    def read_cluster_role(self, name: str) -> dict[str, Any] | None:
        with self._errors(f"reading ClusterRole {name}"):
            found: dict[str, Any] | None = self._get(
                f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"
            )
            return found

    def annotate_deployment(self, namespace: str, name: str, annotations: dict[str, str]) -> None:
        """Annotate the Deployment object itself (its pods are not replaced)."""
        patch = {"metadata": {"annotations": annotations}}
        with self._errors(f"annotating Deployment {namespace}/{name}"):
            self._call("PATCH", _deployments(namespace, name), body=patch, content_type=MERGE_PATCH)

    def restart_deployment(
        self, namespace: str, name: str, stamp: str, token_id: int | None = None
    ) -> None:
        """What `kubectl rollout restart` does: stamp the pod template, so the pods are
        replaced one by one and re-read their mounted Secrets (agentk reads its token
        file only when it starts). ``token_id`` is recorded beside the stamp: the token
        the new pods start with, so a later run can tell a restart is still pending."""
        annotations = {RESTARTED_AT: stamp}
        if token_id is not None:
            annotations[STARTED_WITH_TOKEN] = str(token_id)
        patch = {"spec": {"template": {"metadata": {"annotations": annotations}}}}
        with self._errors(f"restarting Deployment {namespace}/{name}"):
            self._call("PATCH", _deployments(namespace, name), body=patch, content_type=MERGE_PATCH)
