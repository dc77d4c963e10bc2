"""Part of the cluster seam (kasboot.cluster.Cluster mixes it in): the pods of a
Deployment and the last lines their containers logged — what `kubectl logs
deploy/NAME` shows, read so that doctor can name why agentk does not connect."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kasboot.cluster_transport import Deadline, request_timeout, with_retries
from kasboot.kube_http import send


@dataclass(frozen=True)
class PodLog:
    pod: str
    lines: list[str] = field(default_factory=list)
    # why there are no lines: the API server's message (a container waiting to start,
    # logs not allowed for these credentials)
    unavailable: str | None = None


class LogSeam:
    """``_api``, ``deadline``, ``_get`` and ``_errors`` are Cluster's."""

    _api: Any
    deadline: Deadline
    _get: Callable[..., Any]
    _errors: Callable[[str], Any]

    def deployment_logs(
        self, namespace: str, selector: dict[str, str], container: str, tail_lines: int = 200
    ) -> list[PodLog]:
        """The last ``tail_lines`` of ``container`` in each pod the selector matches
        (at most three pods: agentk's replicas log the same attempts)."""
        label_selector = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))
        with self._errors(f"listing the pods of {namespace} ({label_selector})"):
            found = self._get(
                f"/api/v1/namespaces/{namespace}/pods", [("labelSelector", label_selector)]
            )
        pods = sorted(
            (item for item in (found or {}).get("items", [])),
            key=lambda pod: pod["metadata"]["name"],
        )
        return [self._pod_log(namespace, pod, container, tail_lines) for pod in pods[:3]]

    def _pod_log(
        self, namespace: str, pod: dict[str, Any], container: str, tail_lines: int
    ) -> PodLog:
        name = str(pod["metadata"]["name"])
        path = f"/api/v1/namespaces/{namespace}/pods/{name}/log"
        query = [("container", container), ("tailLines", str(tail_lines))]

        def read() -> tuple[int, bytes]:
            response = send(
                self._api,
                "GET",
                path,
                query=query,
                headers={"Accept": "text/plain, */*"},
                timeout=request_timeout(self.deadline),
            )
            try:
                return response.status, response.read()
            finally:
                response.release()

        with self._errors(f"reading the log of pod {namespace}/{name}"):
            status, data = with_retries(read, self.deadline)
        text = data.decode("utf-8", "replace")
        if 200 <= status < 300:
            return PodLog(name, text.splitlines())
        return PodLog(name, unavailable=_status_message(text) or f"HTTP {status}")


def _status_message(text: str) -> str | None:
    try:
        found = json.loads(text)
    except ValueError:
        return text.strip() or None
    return str(found.get("message")) if isinstance(found, dict) and found.get("message") else None
