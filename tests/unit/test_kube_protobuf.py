"""The protobuf wire decoder and the Kubernetes envelope, on byte strings built here by a
tiny encoder (and one body captured from kubectl), checked against the JSON they mean."""

from __future__ import annotations

import base64

import pytest

from kasboot.sandbox.kube.errors import KubeApiError
from kasboot.sandbox.kube.protobuf import (
    Field,
    Message,
    ProtobufError,
    UnsupportedField,
    decode_message,
    iter_fields,
    read_varint,
    to_signed,
)
from kasboot.sandbox.kube.protobuf_envelope import (
    UNKNOWN_FORMAT_MESSAGE,
    decode_object,
    object_from_protobuf,
)

# ---- a minimal encoder, the mirror image of the decoder under test ---------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negatives as 64-bit two's complement, as int32/int64 travel
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def number(field: int, value: int) -> bytes:
    return varint(field << 3) + varint(value)


def blob(field: int, value: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(value)) + value


def text(field: int, value: str) -> bytes:
    return blob(field, value.encode())


def message(field: int, *parts: bytes) -> bytes:
    return blob(field, b"".join(parts))


def string_entry(field: int, key: str, value: str) -> bytes:
    return message(field, text(1, key), text(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = message(1, text(1, api_version), text(2, kind))
    return b"k8s\x00" + type_meta + blob(2, raw) + text(3, "") + text(4, "")


def metadata(name: str, namespace: str = "", **labels: str) -> bytes:
    entries = b"".join(string_entry(11, k, v) for k, v in labels.items())
    return message(1, text(1, name), text(2, ""), text(3, namespace), number(7, 0), entries)


# ---- wire format -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (b"\x00", 0),
        (b"\x01", 1),
        (b"\x7f", 127),
        (b"\x80\x01", 128),
        (b"\xac\x02", 300),
        (b"\xff" * 9 + b"\x01", (1 << 64) - 1),
    ],
)
def test_varints_decode_little_endian_seven_bits_at_a_time(encoded: bytes, expected: int) -> None:
    assert read_varint(encoded + b"tail", 0) == (expected, len(encoded))
    assert varint(expected) == encoded


def test_negative_numbers_travel_as_ten_byte_twos_complement() -> None:
    encoded = varint(-1)
    assert len(encoded) == 10
    value, _ = read_varint(encoded, 0)
    assert to_signed(value) == -1
    assert to_signed(5) == 5


@pytest.mark.parametrize("broken", [b"\x80", b"\xff" * 11])
def test_truncated_or_overlong_varints_are_refused(broken: bytes) -> None:
    with pytest.raises(ProtobufError):
        read_varint(broken, 0)


def test_fields_of_every_wire_type_are_listed_in_order() -> None:
    fixed64 = varint(3 << 3 | 1) + (7).to_bytes(8, "little")
    fixed32 = varint(4 << 3 | 5) + (9).to_bytes(4, "little")
    data = number(1, 150) + text(2, "hi") + fixed64 + fixed32 + number(1, 0)
    assert [(f.number, f.wire_type, f.value) for f in iter_fields(data)] == [
        (1, 0, 150),
        (2, 2, b"hi"),
        (3, 1, 7),
        (4, 5, 9),
        (1, 0, 0),
    ]


@pytest.mark.parametrize(
    "broken",
    [
        varint(1 << 3 | 2) + varint(5) + b"abc",  # length past the end
        varint(1 << 3 | 3),  # start-group: not used by Kubernetes
        number(0, 1),  # field number 0
        varint(1 << 3 | 1) + b"\x00\x00",  # fixed64 cut short
    ],
)
def test_malformed_messages_are_refused(broken: bytes) -> None:
    with pytest.raises(ProtobufError):
        list(iter_fields(broken))


# ---- schema-driven decoding ------------------------------------------------------------------

INNER = Message("Inner", {1: Field("label", "string")})
SAMPLE = Message(
    "Sample",
    {
        1: Field("name", "string"),
        2: Field("count", "int"),
        3: Field("pointer", "int", keep_zero=True),
        4: Field("flag", "bool"),
        5: Field("payload", "bytes"),
        6: Field("tags", "string", repeated=True),
        7: Field("numbers", "int", repeated=True),
        8: Field("inner", "message", message=INNER),
        9: Field("items", "message", message=INNER, repeated=True),
        10: Field("labels", "map", value=Field("value", "string")),
        11: Field("files", "map", value=Field("value", "bytes")),
        12: Field("nested", "map", value=Field("value", "message", message=INNER)),
    },
)


def test_zero_scalars_are_left_out_unless_the_field_is_a_go_pointer() -> None:
    data = text(1, "") + number(2, 0) + number(3, 0) + number(4, 0) + blob(5, b"")
    assert decode_message(SAMPLE, data) == {"pointer": 0}


def test_values_take_their_json_shapes() -> None:
    data = (
        text(1, "héllo")
        + number(2, -3)
        + number(4, 1)
        + blob(5, b"\x00\xffbin")
        + text(6, "a")
        + text(6, "b")
        + number(7, 1)
        + blob(7, varint(2) + varint(300))  # packed repeated ints are accepted too
        + message(8)
        + message(9, text(1, "x"))
        + message(9)
    )
    assert decode_message(SAMPLE, data) == {
        "name": "héllo",
        "count": -3,
        "flag": True,
        "payload": base64.b64encode(b"\x00\xffbin").decode(),
        "tags": ["a", "b"],
        "numbers": [1, 2, 300],
        "inner": {},  # a message on the wire is rendered, empty or not, as Go renders structs
        "items": [{"label": "x"}, {}],
    }


def test_maps_are_repeated_entries_whose_missing_halves_are_zero_values() -> None:
    data = (
        string_entry(10, "app", "web")
        + string_entry(10, "tier", "")
        + message(10, text(1, "bare"))
        + message(11, text(1, "bin"), blob(2, b"\x01\x02"))
        + message(11, text(1, "empty"))
        + message(12, text(1, "k"), message(2, text(1, "v")))
        + message(12, text(1, "none"))
    )
    assert decode_message(SAMPLE, data) == {
        "labels": {"app": "web", "tier": "", "bare": ""},
        "files": {"bin": "AQI=", "empty": ""},
        "nested": {"k": {"label": "v"}, "none": {}},
    }


def test_the_last_occurrence_of_a_scalar_wins() -> None:
    assert decode_message(SAMPLE, text(1, "first") + text(1, "second")) == {"name": "second"}
    assert decode_message(SAMPLE, text(1, "first") + text(1, "")) == {}


def test_unknown_fields_are_skipped_when_zero_and_refused_when_carrying_data() -> None:
    assert decode_message(SAMPLE, number(40, 0) + blob(41, b"") + text(1, "n")) == {"name": "n"}
    with pytest.raises(UnsupportedField) as raised:
        decode_message(SAMPLE, text(41, "data"))
    assert (raised.value.message, raised.value.number) == ("Sample", 41)


def test_a_field_of_the_wrong_wire_type_is_refused() -> None:
    with pytest.raises(ProtobufError, match="wire type"):
        decode_message(SAMPLE, number(1, 5))


# ---- the Kubernetes envelope and kinds -------------------------------------------------------

# `kubectl create namespace foo` (v1.37), as its -v=9 log shows the request body
KUBECTL_NAMESPACE_BODY = bytes.fromhex(
    "6b387300 0a0f0a02 76311209 4e616d65 73706163 65121b0a 130a0366 6f6f1200"
    "1a002200 2a003200 38004200 12001a02 0a001a00 2200".replace(" ", "")
)


def test_the_body_kubectl_sends_for_a_namespace() -> None:
    assert decode_object(KUBECTL_NAMESPACE_BODY) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "foo", "creationTimestamp": None},
        "spec": {},
        "status": {},
    }


def test_a_secret_keeps_binary_data_string_data_type_and_immutable() -> None:
    raw = (
        metadata("creds", "team", app="demo")
        + message(2, text(1, "blob"), blob(2, b"\x00\x01\xfe"))
        + string_entry(4, "token", "s3cret")
        + text(3, "Opaque")
        + number(5, 0)
    )
    assert decode_object(envelope("v1", "Secret", raw)) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "team", "labels": {"app": "demo"}},
        "data": {"blob": base64.b64encode(b"\x00\x01\xfe").decode()},
        "stringData": {"token": "s3cret"},
        "type": "Opaque",
        "immutable": False,
    }


def test_config_maps_and_service_accounts() -> None:
    config_map = metadata("settings") + string_entry(2, "mode", "fast")
    config_map += message(3, text(1, "logo"), blob(2, b"\x89PNG")) + number(4, 1)
    assert decode_object(envelope("v1", "ConfigMap", config_map)) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"mode": "fast"},
        "binaryData": {"logo": base64.b64encode(b"\x89PNG").decode()},
        "immutable": True,
    }
    account = metadata("robot") + message(3, text(1, "pull")) + number(4, 0)
    assert decode_object(envelope("v1", "ServiceAccount", account)) == {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "robot"},
        "imagePullSecrets": [{"name": "pull"}],
        "automountServiceAccountToken": False,
    }


def test_a_deployment_with_template_strategy_and_timestamps() -> None:
    container = message(
        2,
        text(1, "web"),
        text(2, "nginx:1.27"),
        text(3, "sleep"),
        text(4, "10"),
        message(6, text(1, "http"), number(3, 8080), text(4, "TCP")),
        message(7, text(1, "MODE"), text(2, "fast")),
        message(8, message(1, text(1, "cpu"), message(2, text(1, "500m")))),
        number(16, 0),
    )
    template = message(
        3, message(1, string_entry(11, "app", "web"), message(8)), message(2, container)
    )
    strategy = message(
        4,
        text(1, "RollingUpdate"),
        message(
            2, message(1, number(1, 0), number(2, 1)), message(2, number(1, 1), text(3, "50%"))
        ),
    )
    spec = message(
        2, number(1, 0), message(2, string_entry(1, "app", "web")), template, strategy, number(5, 0)
    )
    created = message(1, text(1, "web"), message(8, number(1, 1_700_000_000), number(2, 5)))
    assert decode_object(envelope("apps/v1", "Deployment", created + spec + message(3))) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "creationTimestamp": "2023-11-14T22:13:20Z"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.27",
                            "command": ["sleep"],
                            "args": ["10"],
                            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                            "env": [{"name": "MODE", "value": "fast"}],
                            "resources": {"limits": {"cpu": "500m"}},
                        }
                    ]
                },
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "50%"},
            },
        },
        "status": {},
    }


def test_a_service_with_numeric_and_named_target_ports() -> None:
    ports = message(
        1, text(1, "web"), text(2, "TCP"), number(3, 80), message(4, number(1, 0), number(2, 8080))
    ) + message(1, text(1, "tls"), number(3, 443), message(4, number(1, 1), text(3, "https")))
    spec = message(2, ports, string_entry(2, "app", "web"), text(4, "NodePort"), text(3, ""))
    status = message(3, message(1))  # loadBalancer: {}, as generators send it
    assert decode_object(envelope("v1", "Service", metadata("web") + spec + status)) == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {
            "ports": [
                {"name": "web", "protocol": "TCP", "port": 80, "targetPort": 8080},
                {"name": "tls", "port": 443, "targetPort": "https"},
            ],
            "selector": {"app": "web"},
            "type": "NodePort",
        },
        "status": {"loadBalancer": {}},
    }


def test_kinds_and_fields_without_a_protobuf_form_are_unsupported_media() -> None:
    with pytest.raises(KubeApiError) as raised:
        object_from_protobuf(envelope("v1", "Pod", metadata("p")))
    assert (raised.value.code, raised.value.message) == (415, UNKNOWN_FORMAT_MESSAGE)
    with pytest.raises(KubeApiError) as raised:
        object_from_protobuf(envelope("v1", "Secret", metadata("s") + text(99, "x")))
    assert raised.value.code == 415
    assert "field 99 of Secret" in raised.value.message


@pytest.mark.parametrize(
    "body",
    [
        b'{"kind": "Secret"}',  # no magic prefix
        b"k8s\x00" + varint(2 << 3 | 2) + varint(9),  # raw runs past the end
        b"k8s\x00" + message(1, text(1, "v1"), text(2, "Secret")) + text(3, "gzip"),
    ],
)
def test_bodies_that_are_not_readable_envelopes_are_bad_requests(body: bytes) -> None:
    with pytest.raises(KubeApiError) as raised:
        object_from_protobuf(body)
    assert raised.value.code == 400
    assert raised.value.message.startswith("the body of the request could not be decoded")
