"""Part of the cluster seam (kasboot.cluster.Cluster mixes it in): coordination.k8s.io/v1
Leases, read and written as plain JSON — the lock two kasboot runs take before one
mints and stores an agent token (steps/token_lease.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kasboot.cluster_kinds import resource_path


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


def _leases(namespace: str, name: str | None = None) -> str:
    return resource_path("coordination.k8s.io", "v1", "leases", namespace, name)


class LeaseSeam:
    """Lease calls; ``_call``, ``_get`` and ``_errors`` are Cluster's."""

    _call: Callable[..., Any]
    _errors: Callable[[str], Any]

    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._errors(f"reading Lease {namespace}/{name}"):
            return _lease_call(lambda: self._call("GET", _leases(namespace, name)))

    def create_lease(self, namespace: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Raises LeaseTaken when it exists already; None when the namespace does not
        exist (yet: a first bootstrap creates it)."""
        with self._errors(f"creating Lease {namespace}/{body['metadata']['name']}"):
            return _lease_call(lambda: self._call("POST", _leases(namespace), body=body))

    def replace_lease(self, namespace: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """PUT with the resourceVersion in ``body``: LeaseTaken when it changed since."""
        name = body["metadata"]["name"]
        with self._errors(f"replacing Lease {namespace}/{name}"):
            return _lease_call(lambda: self._call("PUT", _leases(namespace, name), body=body))

    def delete_lease(self, namespace: str, name: str, resource_version: str | None = None) -> None:
        """Delete the Lease (gone already: done). With ``resource_version``: only that
        version of it (precondition), else LeaseTaken — it changed hands meanwhile."""
        options = (
            {
                "apiVersion": "v1",
                "kind": "DeleteOptions",
                "preconditions": {"resourceVersion": resource_version},
            }
            if resource_version
            else None
        )
        with self._errors(f"deleting Lease {namespace}/{name}"):
            _lease_call(lambda: self._call("DELETE", _leases(namespace, name), body=options))
