"""What the gitlab-agent chart renders besides the Deployment and its Secret, and what
stops its pods from starting — the parts the seed options reach.

After gitlab-org/charts/gitlab-agent templates/serviceaccount.yaml,
templates/clusterrolebinding.yaml and templates/deployment.yaml (values.yaml's
``serviceAccount``, ``rbac``, ``extraEnv``, ``replicas``):

- ``serviceAccount.create`` (default true): a ServiceAccount ``serviceAccount.name`` or
  ``<fullname>``. With ``create: false`` the pods run as ``serviceAccount.name`` (else
  ``default``), which must exist: otherwise the ReplicaSet controller cannot create a
  pod (``error looking up service account``) and helm's wait gives up.
- ``rbac.create`` (default true): a ClusterRoleBinding ``<namespace>:<fullname>-<role>``
  binding that ServiceAccount to the ClusterRole ``rbac.useExistingRole`` (default
  ``cluster-admin``), which the chart never creates.
- ``extraEnv`` goes to the container verbatim; an entry's ``valueFrom.secretKeyRef``
  must name an existing Secret and key, or the kubelet refuses the container
  (``CreateContainerConfigError``).
"""

from __future__ import annotations

from typing import Any

DEFAULT_ROLE = "cluster-admin"


def _account(values: dict[str, Any]) -> dict[str, Any]:
    return dict(values.get("serviceAccount") or {})


def _rbac(values: dict[str, Any]) -> dict[str, Any]:
    return dict(values.get("rbac") or {})


def bound_role(values: dict[str, Any]) -> str | None:
    """The ClusterRole the chart binds, None with ``rbac.create: false``."""
    rbac = _rbac(values)
    if rbac.get("create", True) is False:
        return None
    return str(rbac.get("useExistingRole") or DEFAULT_ROLE)


def rendered_rbac(
    namespace: str,
    fullname: str,
    account_name: str,
    values: dict[str, Any],
    labels: dict[str, str],
    release: str,
) -> list[dict[str, Any]]:
    annotations = {
        "meta.helm.sh/release-name": release,
        "meta.helm.sh/release-namespace": namespace,
    }
    objects: list[dict[str, Any]] = []
    if _account(values).get("create", True) is not False:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": account_name,
                    "namespace": namespace,
                    "labels": labels,
                    "annotations": annotations,
                },
            }
        )
    role = bound_role(values)
    if role is not None:
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {
                    "name": f"{namespace}:{fullname}-{role}",
                    "labels": labels,
                    "annotations": annotations,
                },
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": role,
                },
                "subjects": [
                    {"kind": "ServiceAccount", "name": account_name, "namespace": namespace}
                ],
            }
        )
    return objects


def object_path(obj: dict[str, Any]) -> str | None:
    metadata = obj["metadata"]
    if obj["kind"] == "ServiceAccount":
        return f"/api/v1/namespaces/{metadata['namespace']}/serviceaccounts/{metadata['name']}"
    if obj["kind"] == "ClusterRoleBinding":
        return f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{metadata['name']}"
    return None


def pod_start_failure(api: Any, deployment: dict[str, Any]) -> str | None:
    """Why the Deployment's pods cannot start for want of an object (the ServiceAccount,
    a Secret an env entry reads), in the words of the ReplicaSet controller / kubelet;
    None when nothing is missing."""
    namespace = deployment["metadata"]["namespace"]
    pod_spec = deployment["spec"]["template"]["spec"]
    account = pod_spec.get("serviceAccountName") or "default"
    # "default" is made in every namespace by the ServiceAccount controller.
    account_path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}"
    if account != "default" and api.get_or_none(account_path) is None:
        return (
            f'pods "{deployment["metadata"]["name"]}-" is forbidden: error looking up service '
            f'account {namespace}/{account}: serviceaccount "{account}" not found'
        )
    for container in pod_spec.get("containers") or []:
        for entry in container.get("env") or []:
            ref = (entry.get("valueFrom") or {}).get("secretKeyRef") or {}
            if not ref:
                continue
            secret = api.get_or_none(f"/api/v1/namespaces/{namespace}/secrets/{ref.get('name')}")
            if secret is None:
                return f'CreateContainerConfigError: secret "{ref.get("name")}" not found'
            if ref.get("key") not in (secret.get("data") or {}):
                return (
                    f"CreateContainerConfigError: couldn't find key {ref.get('key')} in Secret "
                    f"{namespace}/{ref.get('name')}"
                )
    return None


def start_failure(api: Any, deployment: dict[str, Any]) -> str | None:
    """helm's wait, when the pods cannot start for want of an object."""
    cause = pod_start_failure(api, deployment)
    if cause is None:
        return None
    metadata = deployment["metadata"]
    wanted = int(deployment["spec"].get("replicas", 1))
    return (
        f"resource Deployment/{metadata['namespace']}/{metadata['name']} not ready. status: "
        f"InProgress, message: Available: 0/{wanted}; {cause}\ncontext deadline exceeded"
    )
