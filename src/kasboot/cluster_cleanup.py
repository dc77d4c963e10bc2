"""Part of the cluster seam (kasboot.cluster.Cluster mixes it in): what uninstall
--delete-agent needs to leave nothing of the agent — its namespace, once empty, and
Helm's release records, to know helm-controller has finished uninstalling agentk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CleanupSeam:
    """Namespace calls; ``_call``, ``_get``, ``_errors`` and ``list_deployments``
    are Cluster's."""

    _call: Callable[..., Any]
    _known_namespaces: set[str]
    _get: Callable[..., Any]
    _errors: Callable[[str], Any]
    list_deployments: Callable[..., list[dict[str, Any]]]

    def read_namespace(self, name: str) -> dict[str, Any] | None:
        with self._errors(f"reading namespace {name}"):
            found = self._get(f"/api/v1/namespaces/{name}")
            return dict(found) if found else None

    def namespace_contents(self, name: str) -> list[str]:
        """What a namespace holds beyond what Kubernetes puts in every one ("Kind/name")."""
        defaults = {"ConfigMap/kube-root-ca.crt", "ServiceAccount/default"}
        found = []
        with self._errors(f"listing namespace {name}"):
            for plural, kind in (
                ("secrets", "Secret"),
                ("configmaps", "ConfigMap"),
                ("pods", "Pod"),
                ("services", "Service"),
                ("serviceaccounts", "ServiceAccount"),
            ):
                listing = self._get(f"/api/v1/namespaces/{name}/{plural}") or {}
                for item in listing.get("items", []):
                    ref = f"{kind}/{item['metadata']['name']}"
                    if ref not in defaults:
                        found.append(ref)
        found += [f"Deployment/{d['metadata']['name']}" for d in self.list_deployments(name)]
        return found

    def delete_namespace(self, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        self._known_namespaces.discard(name)
        with self._errors(f"deleting namespace {name}"):
            try:
                self._call("DELETE", f"/api/v1/namespaces/{name}")
            except ApiException as error:
                if error.status != 404:
                    raise

    def helm_release_records(self, namespace: str, release: str) -> list[str]:
        """The names of Helm's storage Secrets of one release (labels owner=helm,
        name=<release>): gone once the release is uninstalled."""
        selector = f"owner=helm,name={release}"
        with self._errors(f"listing Helm's records of {namespace}/{release}"):
            found = self._get(
                f"/api/v1/namespaces/{namespace}/secrets", [("labelSelector", selector)]
            )
            return [str(item["metadata"]["name"]) for item in (found or {}).get("items", [])]
