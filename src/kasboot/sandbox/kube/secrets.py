"""What the API server does with a Secret on every write (Kubernetes ``ValidateSecret``
and ``ValidateSecretUpdate``): ``stringData`` merged into ``data``, ``type`` defaulted
to Opaque, the total size bounded, the keys each built-in type requires; on update
``type`` is immutable and an ``immutable: true`` Secret keeps its data and the flag.
After kubernetes/kubernetes pkg/apis/core/validation/validation.go."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .errors import FieldCause, invalid

Obj = dict[str, Any]

MAX_SECRET_SIZE = 1024 * 1024  # corev1.MaxSecretSize, the decoded bytes of all values
SERVICE_ACCOUNT_NAME = "kubernetes.io/service-account.name"
_FORBIDDEN_IMMUTABLE = "Forbidden: field is immutable when `immutable` is set"


def normalise_secret(obj: Obj) -> None:
    """Decode-check ``data``, fold ``stringData`` in, default the type, then validate
    (validation sees the merged data, as the real server's does)."""
    name = (obj.get("metadata") or {}).get("name", "")
    decoded: dict[str, bytes] = {}
    for key, value in (obj.get("data") or {}).items():
        try:
            decoded[key] = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError) as error:
            raise invalid(
                "Secret",
                "",
                name,
                [
                    FieldCause(
                        f"data[{key}]",
                        "FieldValueInvalid",
                        f"Invalid value: illegal base64 data: {error}",
                    )
                ],
            ) from error
    string_data = obj.pop("stringData", None) or {}
    if string_data:
        data = obj.setdefault("data", {}) or {}
        for key, value in string_data.items():
            raw = str(value).encode()
            data[key] = base64.b64encode(raw).decode()
            decoded[key] = raw
        obj["data"] = data
    if not obj.get("type"):
        obj["type"] = "Opaque"
    causes = _type_causes(obj, decoded)
    if sum(len(value) for value in decoded.values()) > MAX_SECRET_SIZE:
        causes.append(
            FieldCause(
                "data", "FieldValueTooLong", f"Too long: must have at most {MAX_SECRET_SIZE} bytes"
            )
        )
    if causes:
        raise invalid("Secret", "", name, causes)


def _type_causes(obj: Obj, data: dict[str, bytes]) -> list[FieldCause]:
    """The keys (or annotation) each built-in Secret type requires."""
    kind = obj.get("type")
    annotations = (obj.get("metadata") or {}).get("annotations") or {}

    def required(field: str) -> FieldCause:
        return FieldCause(field, "FieldValueRequired", "Required value")

    if kind == "kubernetes.io/service-account-token":
        if not annotations.get(SERVICE_ACCOUNT_NAME):
            return [required(f"metadata.annotations[{SERVICE_ACCOUNT_NAME}]")]
    elif kind in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if kind == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if key not in data:
            return [required(f"data[{key}]")]
        try:
            if not isinstance(json.loads(data[key] or b"null"), dict):
                raise ValueError("json: cannot unmarshal into a map")
        except ValueError as error:
            return [
                FieldCause(
                    f"data[{key}]",
                    "FieldValueInvalid",
                    f'Invalid value: "<secret contents redacted>": {error}',
                )
            ]
    elif kind == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            return [required("data[username]"), required("data[password]")]
    elif kind == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            return [required("data[ssh-privatekey]")]
    elif kind == "kubernetes.io/tls":
        return [required(f"data[{key}]") for key in ("tls.crt", "tls.key") if key not in data]
    return []


def check_secret_update(old: Obj, new: Obj) -> None:
    """ValidateSecretUpdate: the type never changes; an immutable Secret's data and its
    ``immutable`` flag never change (metadata still may)."""
    causes: list[FieldCause] = []
    if old.get("type") != new.get("type"):
        causes.append(
            FieldCause(
                "type",
                "FieldValueInvalid",
                f'Invalid value: "{new.get("type")}": field is immutable',
            )
        )
    if old.get("immutable"):
        if not new.get("immutable"):
            causes.append(FieldCause("immutable", "FieldValueForbidden", _FORBIDDEN_IMMUTABLE))
        if (old.get("data") or {}) != (new.get("data") or {}):
            causes.append(FieldCause("data", "FieldValueForbidden", _FORBIDDEN_IMMUTABLE))
    if causes:
        raise invalid("Secret", "", old["metadata"]["name"], causes)
