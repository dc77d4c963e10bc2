"""A namespace-scoped user for the Kubernetes emulator, answering as the API server's
RBAC authorizer does when a Role/RoleBinding grants a user everything in some
namespaces and nothing cluster-wide.

The sandbox's own token (and no token at all) stays cluster-admin. The scoped user
presents ``SCOPED_TOKEN``; it may do anything inside the namespaces labelled
``OPERATOR_LABEL=<user>`` (label them with the admin credentials), and nothing at the
cluster scope: listing a namespaced kind across all namespaces, or reading a
cluster-scoped object (Namespace, CustomResourceDefinition), is 403 Forbidden with the
API server's wording (k8s.io/apiserver ``forbiddenMessage``):

    kustomizations.kustomize.toolkit.fluxcd.io is forbidden: User "flux-operator"
    cannot list resource "kustomizations" in API group "kustomize.toolkit.fluxcd.io"
    at the cluster scope

Discovery (/api, /apis, /version, /openapi) stays open, as ``system:discovery`` grants.
``scoped_kubeconfig`` writes a kubeconfig for that user next to the sandbox's one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import KubeApiError, qualified

if TYPE_CHECKING:
    from .app import Target
    from .backend import KubeBackend

SCOPED_TOKEN = "kasboot-sandbox-scoped-token"
SCOPED_USER = "flux-operator"
OPERATOR_LABEL = "sandbox.kasboot.dev/operator"


def _verb(method: str, query: Mapping[str, str], named: bool) -> str:
    if method == "GET":
        if query.get("watch", "").lower() in ("1", "true"):
            return "watch"
        return "get" if named else "list"
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


def forbidden(user: str, verb: str, target: Target) -> KubeApiError:
    rt = target.resource_type
    resource = rt.plural + (f"/{target.subresource}" if target.subresource else "")
    subject = qualified(rt.plural, rt.group)
    if target.name:
        subject = f'{subject} "{target.name}"'
    scope = f'in the namespace "{target.namespace}"' if target.namespace else "at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
        f'in API group "{rt.group}" {scope}'
    )
    details: dict[str, Any] = {"kind": rt.plural}
    if rt.group:
        details["group"] = rt.group
    if target.name:
        details["name"] = target.name
    return KubeApiError(403, message, "Forbidden", details)


class Authorizer:
    """Decides each resource request by its bearer token; see the module docstring."""

    def __init__(self, backend: KubeBackend) -> None:
        self.backend = backend
        self.users: dict[str, str] = {SCOPED_TOKEN: SCOPED_USER}

    def _granted(self, user: str) -> set[str]:
        namespaces = self.backend.registry.lookup("", "v1", "namespaces")
        if namespaces is None:
            return set()
        listed = self.backend.list(namespaces, "v1", None, lambda obj: True, 0, None)
        return {
            item["metadata"]["name"]
            for item in listed["items"]
            if ((item["metadata"].get("labels") or {}).get(OPERATOR_LABEL)) == user
        }

    def check(
        self, headers: Mapping[str, str], method: str, query: Mapping[str, str], target: Target
    ) -> None:
        """Raise 403 when the request's user may not do this."""
        token = headers.get("authorization", "").removeprefix("Bearer ").strip()
        user = self.users.get(token)
        if user is None:
            return  # the sandbox's cluster-admin
        verb = _verb(method, query, target.name is not None)
        if target.namespace is None or target.namespace not in self._granted(user):
            raise forbidden(user, verb, target)


def scoped_kubeconfig(admin: Path, path: Path, *, namespace: str = "flux-system") -> Path:
    """A copy of the sandbox kubeconfig whose user is the namespace-scoped one."""
    config = yaml.safe_load(admin.read_text(encoding="utf-8"))
    for user in config.get("users") or []:
        user["user"] = {"token": SCOPED_TOKEN}
    for context in config.get("contexts") or []:
        context["context"]["namespace"] = namespace
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return path
