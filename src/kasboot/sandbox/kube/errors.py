"""Errors that render as Kubernetes ``Status`` objects, with the API server's wording.

The messages copy the API server's forms exactly (clients and people grep for them):
``secrets "x" not found``, ``deployments.apps "x" already exists``, ``Operation cannot be
fulfilled on …``, ``Secret "x" is invalid: …``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_REASON_BY_CODE = {
    400: "BadRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
}


def status_body(
    code: int, message: str, reason: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or _REASON_BY_CODE.get(code, "Unknown"),
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def qualified(plural: str, group: str) -> str:
    """``secrets`` for the core group, ``deployments.apps`` otherwise (GroupResource.String())."""
    return f"{plural}.{group}" if group else plural


@dataclass
class KubeApiError(Exception):
    code: int
    message: str
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def status(self) -> dict[str, Any]:
        return status_body(self.code, self.message, self.reason, self.details)


def _resource_details(plural: str, group: str, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    return details


def not_found(plural: str, group: str, name: str) -> KubeApiError:
    return KubeApiError(
        404,
        f'{qualified(plural, group)} "{name}" not found',
        "NotFound",
        _resource_details(plural, group, name),
    )


def already_exists(plural: str, group: str, name: str) -> KubeApiError:
    return KubeApiError(
        409,
        f'{qualified(plural, group)} "{name}" already exists',
        "AlreadyExists",
        _resource_details(plural, group, name),
    )


def conflict(plural: str, group: str, name: str) -> KubeApiError:
    return KubeApiError(
        409,
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": the object has '
        "been modified; please apply your changes to the latest version and try again",
        "Conflict",
        _resource_details(plural, group, name),
    )


@dataclass
class FieldCause:
    field: str
    reason: str  # FieldValueRequired, FieldValueInvalid, FieldValueForbidden, …
    message: str


def invalid(kind: str, group: str, name: str, causes: list[FieldCause]) -> KubeApiError:
    """422 the way ``errors.NewInvalid`` words it: ``Kind.group "name" is invalid: a, b``."""
    qualified_kind = f"{kind}.{group}" if group else kind
    parts = [f"{c.field}: {c.message}" for c in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "causes": [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes],
    }
    if group:
        details["group"] = group
    return KubeApiError(422, f'{qualified_kind} "{name}" is invalid: {summary}', "Invalid", details)


def bad_request(message: str) -> KubeApiError:
    return KubeApiError(400, message, "BadRequest")


def expired(message: str) -> KubeApiError:
    return KubeApiError(410, message, "Expired")
