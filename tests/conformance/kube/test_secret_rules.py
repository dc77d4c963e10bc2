"""Secrets as Kubernetes' ValidateSecret / ValidateSecretUpdate treat them, through the
official client: type immutable (422 on a PUT changing it, also when the PUT leaves
`type` out, which defaults it to Opaque), `immutable: true` freezing data and the flag,
the keys each built-in type requires, and a PUT replacing metadata as sent."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def refused(call: Any, *args: Any) -> dict[str, Any]:
    with pytest.raises(ApiException) as caught:
        call(*args)
    assert caught.value.status == 422
    status = dict(json.loads(caught.value.body))
    assert status["reason"] == "Invalid"
    return status


TLS = {"type": "kubernetes.io/tls", "data": {"tls.crt": b64("c"), "tls.key": b64("k")}}


def test_type_cannot_change_on_put(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_secret(namespace, {"metadata": {"name": "t"}, **TLS})
    current = core.read_namespaced_secret("t", namespace)
    body = {
        "metadata": {"name": "t", "resourceVersion": current.metadata.resource_version},
        "type": "Opaque",
        "data": {**TLS["data"], "token": b64("x")},
    }
    status = refused(core.replace_namespaced_secret, "t", namespace, body)
    assert (
        status["message"]
        == 'Secret "t" is invalid: type: Invalid value: "Opaque": field is immutable'
    )
    assert status["details"]["causes"][0]["field"] == "type"
    # leaving `type` out defaults it to Opaque: the same refusal
    body.pop("type")
    refused(core.replace_namespaced_secret, "t", namespace, body)
    # the same type with one more key is fine
    body["type"] = "kubernetes.io/tls"
    replaced = core.replace_namespaced_secret("t", namespace, body)
    assert replaced.type == "kubernetes.io/tls" and "token" in replaced.data


def test_immutable_secret_keeps_data_and_flag_but_not_metadata(
    core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "i"}, "immutable": True, "data": {"token": b64("a")}}
    )
    status = refused(core.patch_namespaced_secret, "i", namespace, {"data": {"token": b64("b")}})
    assert status["message"] == (
        'Secret "i" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    )
    status = refused(core.patch_namespaced_secret, "i", namespace, {"immutable": False})
    assert status["details"]["causes"][0]["field"] == "immutable"
    labelled = core.patch_namespaced_secret("i", namespace, {"metadata": {"labels": {"a": "b"}}})
    assert labelled.metadata.labels == {"a": "b"}
    core.delete_namespaced_secret("i", namespace)  # deleting is how it is replaced


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"type": "kubernetes.io/tls", "data": {"tls.crt": b64("c")}}, ["data[tls.key]"]),
        (
            {"type": "kubernetes.io/basic-auth", "data": {"token": b64("t")}},
            ["data[username]", "data[password]"],
        ),
        ({"type": "kubernetes.io/ssh-auth", "data": {}}, ["data[ssh-privatekey]"]),
        (
            {"type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": b64("{")}},
            ["data[.dockerconfigjson]"],
        ),
        (
            {"type": "kubernetes.io/service-account-token", "data": {"token": b64("t")}},
            ["metadata.annotations[kubernetes.io/service-account.name]"],
        ),
    ],
    ids=["tls", "basic-auth", "ssh-auth", "dockerconfigjson", "service-account-token"],
)
def test_built_in_types_require_their_keys(
    core: client.CoreV1Api, namespace: str, body: dict[str, Any], fields: list[str]
) -> None:
    status = refused(
        core.create_namespaced_secret, namespace, {"metadata": {"name": "typed"}, **body}
    )
    assert [c["field"] for c in status["details"]["causes"]] == fields


def test_custom_types_and_string_data_pass(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_secret(
        namespace,
        {
            "metadata": {"name": "custom"},
            "type": "gitlab.com/agent-token",
            "stringData": {"token": "glagent-x"},
        },
    )
    assert created.type == "gitlab.com/agent-token"
    basic = core.create_namespaced_secret(
        namespace,
        {
            "metadata": {"name": "basic"},
            "type": "kubernetes.io/basic-auth",
            "stringData": {"password": "p"},  # folded into data before validation
        },
    )
    assert set(basic.data) == {"password"}


def test_too_large_secret_is_refused(core: client.CoreV1Api, namespace: str) -> None:
    big = base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()
    status = refused(
        core.create_namespaced_secret, namespace, {"metadata": {"name": "big"}, "data": {"a": big}}
    )
    assert "Too long: must have at most 1048576 bytes" in status["message"]


def test_put_replaces_metadata_as_sent(core: client.CoreV1Api, namespace: str) -> None:
    """A PUT is the whole object: ownerReferences, finalizers and labels the body leaves
    out are gone afterwards (a client that wants them kept must send them)."""
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    core.create_namespaced_secret(
        namespace,
        {
            "metadata": {
                "name": "p",
                "labels": {"keep": "me"},
                "finalizers": ["example.com/hold"],
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "name": "owner",
                        "uid": owner.metadata.uid,
                    }
                ],
            },
            "data": {"token": b64("a"), "ca.crt": b64("pem")},
        },
    )
    current = core.read_namespaced_secret("p", namespace)
    replaced = core.replace_namespaced_secret(
        "p",
        namespace,
        {
            "metadata": {"name": "p", "resourceVersion": current.metadata.resource_version},
            "data": {"token": b64("b")},
        },
    )
    assert replaced.metadata.owner_references is None
    assert replaced.metadata.finalizers is None
    assert replaced.metadata.labels is None
    assert set(replaced.data) == {"token"}
