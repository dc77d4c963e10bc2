"""Protocol Buffers wire format, read-only, and a schema-driven decoder into JSON-shaped dicts.

Kubernetes clients built on client-go (kubectl's ``create`` generators among them) send
bodies as protobuf. This module knows the wire format (varints, length-delimited fields,
maps as repeated key/value entry messages) and turns a message into the dict the same
object would have been as JSON, following Go's ``encoding/json`` conventions for the
generated Kubernetes types:

* a scalar whose value is the zero value is left out (``omitempty``), unless the field is a
  pointer in Go (``keep_zero``): gogo-protobuf writes pointer fields only when set, so a
  zero that arrives on the wire was meant (``replicas: 0``, ``immutable: false``);
* a nested message that arrives on the wire is always rendered, empty or not, as Go renders
  struct fields (``resources: {}``);
* ``bytes`` become base64 text, as Go's ``[]byte`` does in JSON.

A field the schema does not describe is skipped when it carries only a zero value (newer
clients write every non-pointer field, known or not) and refused otherwise: silently
dropping data would store something other than what the client sent.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

VARINT = 0
FIXED64 = 1
LENGTH_DELIMITED = 2
FIXED32 = 5

Kind = Literal["string", "bytes", "int", "bool", "message", "map"]
_SCALAR_WIRE_TYPES: dict[str, int] = {
    "string": LENGTH_DELIMITED,
    "bytes": LENGTH_DELIMITED,
    "int": VARINT,
    "bool": VARINT,
}
_ZERO: dict[str, Any] = {"string": "", "bytes": "", "int": 0, "bool": False}


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message (or not the one the schema says)."""


class UnsupportedField(ProtobufError):
    """A field this decoder has no description for arrived with a value."""

    def __init__(self, message: str, number: int) -> None:
        super().__init__(f"field {number} of {message} is not understood")
        self.message = message
        self.number = number


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint starting at ``pos`` and the position after it."""
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")


def to_signed(value: int) -> int:
    """Negative int32/int64 values travel as 64-bit two's complement."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass(frozen=True)
class WireField:
    number: int
    wire_type: int
    value: int | bytes  # int for VARINT and the fixed types, bytes for LENGTH_DELIMITED

    @property
    def is_zero(self) -> bool:
        return self.value in (0, b"")


def iter_fields(data: bytes) -> Iterator[WireField]:
    """The fields of one message in wire order (repeated fields appear once per element)."""
    pos = 0
    while pos < len(data):
        tag, pos = read_varint(data, pos)
        number, wire_type = tag >> 3, tag & 0x7
        if number == 0:
            raise ProtobufError("field number 0 is not allowed")
        value: int | bytes
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type == LENGTH_DELIMITED:
            length, pos = read_varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError(f"field {number} runs past the end of the message")
            value, pos = data[pos : pos + length], pos + length
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            if pos + size > len(data):
                raise ProtobufError(f"field {number} runs past the end of the message")
            value, pos = int.from_bytes(data[pos : pos + size], "little"), pos + size
        else:
            raise ProtobufError(f"field {number} has unsupported wire type {wire_type}")
        yield WireField(number, wire_type, value)


# ---- schema -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One field: its JSON name, what it holds, and how Go renders it."""

    name: str
    kind: Kind
    message: Message | None = None  # for kind "message"
    value: Field | None = None  # for kind "map": the value side (keys are strings)
    repeated: bool = False
    keep_zero: bool = False  # a Go pointer: a zero on the wire is a real value


@dataclass(frozen=True)
class Message:
    """A message type: field number → Field, and an optional conversion of the decoded dict
    for types whose JSON form is not an object (Time, IntOrString, Quantity)."""

    name: str
    fields: dict[int, Field]
    to_json: Callable[[dict[str, Any]], Any] | None = field(default=None, compare=False)


def decode_message(message: Message, data: bytes) -> Any:
    """``data`` decoded as ``message``, in its JSON shape."""
    result: dict[str, Any] = {}
    for wire in iter_fields(data):
        described = message.fields.get(wire.number)
        if described is None:
            if wire.is_zero:
                continue
            raise UnsupportedField(message.name, wire.number)
        _store(result, described, wire, message.name)
    if message.to_json is not None:
        return message.to_json(result)
    return result


def _store(result: dict[str, Any], described: Field, wire: WireField, owner: str) -> None:
    if described.kind == "map":
        key, value = _map_entry(described, wire, owner)
        result.setdefault(described.name, {})[key] = value
        return
    if described.repeated:
        result.setdefault(described.name, []).extend(_elements(described, wire, owner))
        return
    value = _single(described, wire, owner)
    if described.kind != "message" and value == _ZERO[described.kind] and not described.keep_zero:
        result.pop(described.name, None)  # proto: the last occurrence wins, even a zero
        return
    result[described.name] = value


def _elements(described: Field, wire: WireField, owner: str) -> list[Any]:
    packable = described.kind in ("int", "bool")
    if packable and wire.wire_type == LENGTH_DELIMITED and isinstance(wire.value, bytes):
        values: list[Any] = []
        pos = 0
        while pos < len(wire.value):
            number, pos = read_varint(wire.value, pos)
            values.append(_scalar(described, number))
        return values
    return [_single(described, wire, owner)]


def _single(described: Field, wire: WireField, owner: str) -> Any:
    expected = (
        LENGTH_DELIMITED if described.kind == "message" else _SCALAR_WIRE_TYPES[described.kind]
    )
    if wire.wire_type != expected:
        raise ProtobufError(
            f"field {wire.number} ({described.name}) of {owner} has wire type {wire.wire_type}, "
            f"expected {expected}"
        )
    if described.kind == "message":
        assert described.message is not None and isinstance(wire.value, bytes)
        return decode_message(described.message, wire.value)
    return _scalar(described, wire.value)


def _scalar(described: Field, value: int | bytes) -> Any:
    if described.kind == "string":
        assert isinstance(value, bytes)
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ProtobufError(f"{described.name} is not valid UTF-8") from error
    if described.kind == "bytes":
        assert isinstance(value, bytes)
        return base64.b64encode(value).decode("ascii")
    assert isinstance(value, int)
    if described.kind == "bool":
        return value != 0
    return to_signed(value)


def _map_entry(described: Field, wire: WireField, owner: str) -> tuple[str, Any]:
    """Maps travel as repeated entry messages: key = 1, value = 2, either may be absent."""
    if wire.wire_type != LENGTH_DELIMITED or not isinstance(wire.value, bytes):
        raise ProtobufError(f"map {described.name} of {owner} is not length-delimited")
    value_field = described.value
    assert value_field is not None
    key = ""
    value: Any = None
    for entry in iter_fields(wire.value):
        if entry.number == 1:
            key = _scalar(Field("key", "string"), _bytes(entry, described.name))
        elif entry.number == 2:
            value = _single(value_field, entry, f"{owner}.{described.name}")
    if value is None:  # an absent value is the zero value of its type
        if value_field.message is not None:
            value = decode_message(value_field.message, b"")
        else:
            value = _ZERO[value_field.kind]
    return key, value


def _bytes(wire: WireField, name: str) -> bytes:
    if not isinstance(wire.value, bytes):
        raise ProtobufError(f"the key of map {name} is not length-delimited")
    return wire.value
