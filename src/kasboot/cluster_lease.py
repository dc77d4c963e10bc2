"""Part of the cluster seam (kasboot.cluster.Cluster mixes it in): coordination.k8s.io/v1
Leases, read and written through the generic client (no model import) — the lock two
kasboot runs take before one mints and stores an agent token (steps/token_lease.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class LeaseTaken(Exception):
    """Creating or replacing a Lease lost a race (409): another holder was first."""


def _lease_call(call: Callable[[], Any]) -> dict[str, Any] | None:
    from kubernetes.client.exceptions import ApiException

    try:
        return dict(call())
    except ApiException as error:
        if error.status == 404:
            return None
        if error.status == 409:
            raise LeaseTaken() from error
        raise


class LeaseSeam:
    """Lease calls; ``_custom`` and ``_errors`` are Cluster's."""

    _custom: Any
    _errors: Callable[[str], Any]

    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._errors(f"reading Lease {namespace}/{name}"):
            return _lease_call(
                lambda: self._custom.get_namespaced_custom_object(
                    "coordination.k8s.io", "v1", namespace, "leases", name
                )
            )

    def create_lease(self, namespace: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Raises LeaseTaken when it exists already; None when the namespace does not
        exist (yet: a first bootstrap creates it)."""
        with self._errors(f"creating Lease {namespace}/{body['metadata']['name']}"):
            return _lease_call(
                lambda: self._custom.create_namespaced_custom_object(
                    "coordination.k8s.io", "v1", namespace, "leases", body
                )
            )

    def replace_lease(self, namespace: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """PUT with the resourceVersion in ``body``: LeaseTaken when it changed since."""
        name = body["metadata"]["name"]
        with self._errors(f"replacing Lease {namespace}/{name}"):
            return _lease_call(
                lambda: self._custom.replace_namespaced_custom_object(
                    "coordination.k8s.io", "v1", namespace, "leases", name, body
                )
            )

    def delete_lease(self, namespace: str, name: str) -> None:
        with self._errors(f"deleting Lease {namespace}/{name}"):
            _lease_call(
                lambda: self._custom.delete_namespaced_custom_object(
                    "coordination.k8s.io", "v1", namespace, "leases", name
                )
            )
