"""Part of the cluster seam (kasboot.cluster.Cluster mixes it in): every request as
plain JSON through kube_http.py, with the per-request timeout and the retries of
cluster_transport.py, and the namespaces known to exist so far in this run."""

from __future__ import annotations

from typing import Any

from kasboot.cluster_transport import Deadline, request_timeout, with_retries
from kasboot.kube_http import request_json


class RestSeam:
    """``_api`` (the client's ApiClient) and ``deadline`` are Cluster's."""

    _api: Any
    deadline: Deadline
    # Namespaces an answer of this run proved to exist (an object read or written in
    # one, or the namespace itself): asking again would repeat what the cluster said.
    _known_namespaces: set[str]

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """One request, retried as cluster_transport.py says; ApiException on an error
        status (404 included)."""
        found = with_retries(
            lambda: request_json(
                self._api,
                method,
                path,
                query=query,
                body=body,
                content_type=content_type,
                timeout=request_timeout(self.deadline),
            ),
            self.deadline,
        )
        metadata = found.get("metadata") if isinstance(found, dict) else None
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        if namespace:
            self._known_namespaces.add(str(namespace))
        return found

    def _get(self, path: str, query: list[tuple[str, str]] | None = None) -> Any:
        """GET as plain JSON; None on 404."""
        from kubernetes.client.exceptions import ApiException

        try:
            return self._call("GET", path, query=query)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
