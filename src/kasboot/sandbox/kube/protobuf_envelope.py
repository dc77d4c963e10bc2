"""The Kubernetes protobuf envelope: ``k8s\\x00`` followed by a ``runtime.Unknown``
(typeMeta = 1, raw = 2, contentEncoding = 3, contentType = 4) whose ``raw`` is the object,
decoded into the dict the same object's JSON would parse to."""

from __future__ import annotations

from typing import Any

from .errors import KubeApiError, bad_request
from .protobuf import (
    Field,
    Message,
    ProtobufError,
    UnsupportedField,
    decode_message,
    iter_fields,
)
from .protobuf_messages import KINDS

MAGIC = b"k8s\x00"
UNKNOWN_FORMAT_MESSAGE = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json, application/yaml"
)
TYPE_META = Message("TypeMeta", {1: Field("apiVersion", "string"), 2: Field("kind", "string")})


class UnknownKind(ProtobufError):
    """The envelope names a kind whose protobuf form is not described here."""


def decode_object(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded Kubernetes object as the dict its JSON form would parse to."""
    if not body.startswith(MAGIC):
        raise ProtobufError(
            f"provided data does not appear to be a protobuf message, expected prefix {list(MAGIC)}"
        )
    type_meta: dict[str, Any] = {}
    raw = b""
    # runtime.Unknown: typeMeta = 1, raw = 2, contentEncoding = 3, contentType = 4
    for wire in iter_fields(body[len(MAGIC) :]):
        if wire.number == 1 and isinstance(wire.value, bytes):
            type_meta = decode_message(TYPE_META, wire.value)
        elif wire.number == 2 and isinstance(wire.value, bytes):
            raw = wire.value
        elif wire.number == 3 and wire.value:
            encoding = (
                wire.value.decode("utf-8", "replace") if isinstance(wire.value, bytes) else ""
            )
            raise ProtobufError(f"unsupported content encoding {encoding!r}")
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    message = KINDS.get((api_version, kind))
    if message is None:
        raise UnknownKind(f"no protobuf form known for {kind} {api_version}".strip())
    return {"apiVersion": api_version, "kind": kind, **decode_message(message, raw)}


def object_from_protobuf(body: bytes) -> dict[str, Any]:
    """``decode_object`` with failures as the API server's errors: 415 for a kind (or a field)
    this server cannot read from protobuf, 400 for bytes that are not a message."""
    try:
        return decode_object(body)
    except UnknownKind as error:
        raise KubeApiError(415, UNKNOWN_FORMAT_MESSAGE, "UnsupportedMediaType") from error
    except UnsupportedField as error:
        raise KubeApiError(
            415,
            f"the body of the request was in an unknown format - {error} by this server; "
            "send the object as application/json",
            "UnsupportedMediaType",
        ) from error
    except ProtobufError as error:
        raise bad_request(f"the body of the request could not be decoded: {error}") from error
