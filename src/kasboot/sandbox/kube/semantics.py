"""Per-kind rules applied on every write: name validation, defaults, Secret/ConfigMap
handling, simulated Deployment readiness, CRD status, and generation bookkeeping."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from .errors import FieldCause, KubeApiError, invalid
from .images import ImageRegistry
from .registry import CRD_KEY, NAMESPACE_KEY, ResourceType
from .secrets import check_secret_update, normalise_secret
from .workloads import DEPLOYMENT_KEY, deployment_status

Obj = dict[str, Any]

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _quoted(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def validate(resource_type: ResourceType, obj: Obj, api_version: str) -> None:
    """Raise 422 Invalid with causes, as the API server's validation does."""
    metadata = obj.get("metadata") or {}
    name = metadata.get("name") or ""
    causes: list[FieldCause] = []
    if obj.get("kind") != resource_type.kind:
        causes.append(
            FieldCause(
                "kind",
                "FieldValueInvalid",
                f"Invalid value: {_quoted(obj.get('kind'))}: must be {resource_type.kind}",
            )
        )
    if obj.get("apiVersion") != api_version:
        causes.append(
            FieldCause(
                "apiVersion",
                "FieldValueInvalid",
                f"Invalid value: {_quoted(obj.get('apiVersion'))}: must be {api_version}",
            )
        )
    if not name:
        causes.append(
            FieldCause(
                "metadata.name",
                "FieldValueRequired",
                "Required value: name or generateName is required",
            )
        )
    elif resource_type.group == "rbac.authorization.k8s.io":
        # ValidateRBACName is path.IsValidPathSegmentName: anything but "."/".." and "/"
        # or "%" (the chart's ClusterRoleBinding is "<namespace>:<fullname>-<role>").
        if name in (".", "..") or "/" in name or "%" in name:
            causes.append(
                FieldCause(
                    "metadata.name",
                    "FieldValueInvalid",
                    f"Invalid value: \"{name}\": may not contain '/' or '%'",
                )
            )
    else:
        label_only = resource_type.key == NAMESPACE_KEY
        pattern, message = (
            (_DNS1123_LABEL, _LABEL_MESSAGE)
            if label_only
            else (_DNS1123_SUBDOMAIN, _SUBDOMAIN_MESSAGE)
        )
        if not pattern.match(name) or len(name) > (63 if label_only else 253):
            causes.append(
                FieldCause(
                    "metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {message}'
                )
            )
    causes.extend(_kind_causes(resource_type, obj))
    if causes:
        raise invalid(resource_type.kind, resource_type.group, name, causes)


def _kind_causes(resource_type: ResourceType, obj: Obj) -> list[FieldCause]:
    causes: list[FieldCause] = []
    if resource_type.key in (("", "secrets"), ("", "configmaps")):
        for field in ("data", "stringData", "binaryData"):
            for key in obj.get(field) or {}:
                if not _DATA_KEY.match(key):
                    causes.append(
                        FieldCause(
                            f"{field}[{key}]",
                            "FieldValueInvalid",
                            f'Invalid value: "{key}": a valid config key must consist of '
                            "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
                            "'KEY_NAME',  or 'key-name', regex used for validation is "
                            "'[-._a-zA-Z0-9]+')",
                        )
                    )
    if resource_type.key == ("apps", "deployments"):
        spec = obj.get("spec") or {}
        if not spec.get("selector"):
            causes.append(FieldCause("spec.selector", "FieldValueRequired", "Required value"))
        if not ((spec.get("template") or {}).get("spec") or {}).get("containers"):
            causes.append(
                FieldCause("spec.template.spec.containers", "FieldValueRequired", "Required value")
            )
    if resource_type.key == CRD_KEY:
        causes.extend(_crd_causes(obj))
    return causes


def _crd_causes(crd: Obj) -> list[FieldCause]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    causes: list[FieldCause] = []
    expected = f"{names.get('plural', '')}.{spec.get('group', '')}"
    if crd.get("metadata", {}).get("name") != expected:
        causes.append(
            FieldCause(
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{crd.get("metadata", {}).get("name")}": must be spec.names.plural'
                '+"."+spec.group',
            )
        )
    for field in ("plural", "kind"):
        if not names.get(field):
            causes.append(FieldCause(f"spec.names.{field}", "FieldValueRequired", "Required value"))
    versions = spec.get("versions") or []
    if sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            FieldCause(
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: []: must have exactly one version marked as storage version",
            )
        )
    return causes


def normalise(resource_type: ResourceType, obj: Obj) -> Obj:
    """Defaults and conversions every stored object of this kind gets."""
    if resource_type.key == ("", "secrets"):
        normalise_secret(obj)
    if resource_type.key == ("apps", "deployments"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        _default_strategy(spec)
    if resource_type.key == NAMESPACE_KEY and not obj["metadata"].get("deletionTimestamp"):
        # the API server adds its finalizer to whatever spec arrives (``spec: {}`` included);
        # a terminating namespace keeps the spec and status its deletion gave it
        spec = obj.get("spec") or {}
        finalizers = spec.setdefault("finalizers", []) or []
        if "kubernetes" not in finalizers:
            spec["finalizers"] = [*finalizers, "kubernetes"]
        obj["spec"] = spec
        obj["status"] = {"phase": "Active"}
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    return obj


def _default_strategy(spec: Obj) -> None:
    """SetDefaults_Deployment: an empty strategy (as generators send) is a 25%/25% rollout."""
    strategy = spec.get("strategy") or {}
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.get("rollingUpdate") or {}
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
        strategy["rollingUpdate"] = rolling
    spec["strategy"] = strategy


def check_immutable(resource_type: ResourceType, old: Obj, new: Obj) -> None:
    if resource_type.key == ("", "secrets"):
        check_secret_update(old, new)
        return
    if resource_type.key != ("", "configmaps"):
        return
    name = old["metadata"]["name"]
    causes: list[FieldCause] = []
    if old.get("immutable"):
        for field in ("data", "binaryData"):
            if (old.get(field) or {}) != (new.get(field) or {}):
                causes.append(
                    FieldCause(
                        field,
                        "FieldValueForbidden",
                        "Forbidden: field is immutable when `immutable` is set",
                    )
                )
        if not new.get("immutable"):
            causes.append(
                FieldCause(
                    "immutable",
                    "FieldValueForbidden",
                    "Forbidden: field is immutable when `immutable` is set",
                )
            )
    if causes:
        raise invalid(resource_type.kind, resource_type.group, name, causes)


def spec_changed(resource_type: ResourceType, old: Obj, new: Obj) -> bool:
    """Whether generation must move: any change outside metadata (and status, when status
    is a subresource) for custom kinds; a change of ``spec`` for built-ins."""
    if resource_type.custom:
        ignored = {"metadata", "status"} if resource_type.has_status else {"metadata"}
        keys = (set(old) | set(new)) - ignored
        return any(old.get(k) != new.get(k) for k in keys)
    return old.get("spec") != new.get("spec")


def simulate_status(resource_type: ResourceType, obj: Obj, images: ImageRegistry) -> None:
    """Status a controller would write at once: Deployments ready (when their images
    start, see workloads.py), CRDs established."""
    if resource_type.key == DEPLOYMENT_KEY:
        obj["status"] = deployment_status(obj, images)
    if resource_type.key == CRD_KEY:
        spec = obj.get("spec") or {}
        stamp = now_rfc3339()
        obj["status"] = {
            "acceptedNames": spec.get("names") or {},
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "lastTransitionTime": stamp,
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                },
                {
                    "type": "Established",
                    "status": "True",
                    "lastTransitionTime": stamp,
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                },
            ],
            "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
        }


def refuse_unconditional_update(resource_type: ResourceType, obj: Obj) -> None:
    """Custom resources must name the resourceVersion they replace (no blind PUT)."""
    if resource_type.custom and not (obj.get("metadata") or {}).get("resourceVersion"):
        raise invalid(
            resource_type.kind,
            resource_type.group,
            (obj.get("metadata") or {}).get("name", ""),
            [
                FieldCause(
                    "metadata.resourceVersion",
                    "FieldValueInvalid",
                    "Invalid value: 0x0: must be specified for an update",
                )
            ],
        )


def ensure_kind_allowed(resource_type: ResourceType, content_type: str) -> None:
    if resource_type.custom and "strategic-merge-patch" in content_type:
        raise KubeApiError(
            415,
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, "
            "application/apply-patch+yaml",
            "UnsupportedMediaType",
        )
