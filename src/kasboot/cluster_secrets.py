"""Part of the cluster seam (kasboot.cluster.Cluster mixes it in): namespaces and the
token Secret — read, created, replaced in one call, re-created when immutable, deleted
— as plain JSON. The token data stays in memory and is never printed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kasboot.cluster_kinds import AGENT_ANNOTATION, MANAGED_BY_LABEL, resource_path
from kasboot.cluster_writes import settled_secret_write


def _secret_path(namespace: str, name: str | None = None) -> str:
    return resource_path("", "v1", "secrets", namespace, name)


class SecretSeam:
    """``_call``, ``_get``, ``_errors`` and ``_known_namespaces`` are Cluster's."""

    _call: Callable[..., Any]
    _get: Callable[..., Any]
    _errors: Callable[[str], Any]
    _known_namespaces: set[str]

    def namespace_exists(self, name: str) -> bool:
        """Asked of the cluster only when no answer of this run has shown it already."""
        from kubernetes.client.exceptions import ApiException

        if name in self._known_namespaces:
            return True
        with self._errors(f"reading namespace {name}"):
            try:
                found = self._get(f"/api/v1/namespaces/{name}")
            except ApiException as error:
                if error.status != 403:
                    raise
                # Namespaces are cluster-scoped: a namespace-scoped user may not read
                # (nor create) them. Assume it exists; a write into it says otherwise.
                return True
        if found is not None:
            self._known_namespaces.add(name)
        return found is not None

    def create_namespace(self, name: str, owner: str | None = None) -> bool:
        """Create a namespace (True); one that exists already (a retried create whose
        first answer was lost, or a concurrent run) is done (False). ``owner``
        ("<project>/<agent>") is recorded as the kasboot/agent annotation: uninstall
        --delete-agent removes the namespace only when it is that agent's."""
        from kubernetes.client.exceptions import ApiException

        metadata: dict[str, Any] = {"name": name, "labels": dict([MANAGED_BY_LABEL])}
        if owner:
            metadata["annotations"] = {AGENT_ANNOTATION: owner}
        with self._errors(f"creating namespace {name}"):
            try:
                self._call(
                    "POST",
                    "/api/v1/namespaces",
                    body={"apiVersion": "v1", "kind": "Namespace", "metadata": metadata},
                )
                created = True
            except ApiException as error:
                if error.status != 409:
                    raise
                created = False
        self._known_namespaces.add(name)
        return created

    def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._errors(f"reading Secret {namespace}/{name}"):
            found = self._get(_secret_path(namespace, name))
            return dict(found) if found is not None else None

    def read_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        """One Secret as plain JSON, None when absent (it or its namespace)."""
        return self.get_secret(namespace, name)

    def put_secret(self, namespace: str, body: dict[str, Any], resource_version: str | None) -> str:
        """Create the Secret, or replace it in ONE call (PUT with the resourceVersion read
        before: a concurrent change fails with 409 instead of being lost). There is never
        a moment without a credential, unlike delete-then-create. Returns the new
        resourceVersion."""
        name = body["metadata"]["name"]
        with self._errors(f"writing Secret {namespace}/{name}"):
            if resource_version is None:
                created = self._call("POST", _secret_path(namespace), body=body)
                return str(created["metadata"]["resourceVersion"])
            body["metadata"]["resourceVersion"] = resource_version
            replaced = self._call("PUT", _secret_path(namespace, name), body=body)
            return str(replaced["metadata"]["resourceVersion"])

    # A Secret write answered 409 is settled by reading back (cluster_writes.py).
    put_secret = settled_secret_write(put_secret)

    def recreate_secret(
        self, namespace: str, body: dict[str, Any], uid: str, resource_version: str
    ) -> str:
        """Replace an ``immutable: true`` Secret, whose data no write may change: delete
        exactly the object that was read (preconditions uid and resourceVersion: a
        Secret changed or re-created meanwhile answers 409 and is left alone), then
        create ``body``. Returns the new resourceVersion."""
        name = body["metadata"]["name"]
        options = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "preconditions": {"uid": uid, "resourceVersion": resource_version},
        }
        with self._errors(f"re-creating immutable Secret {namespace}/{name}"):
            self._call("DELETE", _secret_path(namespace, name), body=options)
            created = self._call("POST", _secret_path(namespace), body=body)
            return str(created["metadata"]["resourceVersion"])

    def delete_secret(self, namespace: str, name: str) -> bool:
        """Delete a Secret; False when it was already gone."""
        from kubernetes.client.exceptions import ApiException

        with self._errors(f"deleting Secret {namespace}/{name}"):
            try:
                self._call("DELETE", _secret_path(namespace, name))
                return True
            except ApiException as error:
                if error.status == 404:
                    return False
                raise

    def list_managed_secrets(self) -> list[dict[str, Any]] | None:
        """Every Secret kasboot manages (its managed-by label), in every namespace, as
        metadata only: the token data is dropped here and never leaves the seam. None
        when the credentials may not list Secrets cluster-wide (403)."""
        from kubernetes.client.exceptions import ApiException

        selector = f"{MANAGED_BY_LABEL[0]}={MANAGED_BY_LABEL[1]}"
        with self._errors("listing kasboot's Secrets"):
            try:
                found = self._get("/api/v1/secrets", [("labelSelector", selector)])
            except ApiException as error:
                if error.status == 403:
                    return None
                raise
            return [
                {"metadata": dict(item.get("metadata") or {}), "type": item.get("type")}
                for item in (found or {}).get("items", [])
            ]
