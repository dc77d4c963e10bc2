"""The simulated agentk's log lines carry the Go error texts a real agentk logs, and
kasboot's diagnosis rules for agent logs recognise each of them."""

from __future__ import annotations

import json
import ssl
import urllib.error

import pytest

from kasboot.flux.diagnose import diagnose
from kasboot.sandbox.flux.agentk_logs import attempt_error, handshake_url, log_line

KAS = "wss://kas.example.com/-/kubernetes-agent/"


def test_handshake_url_is_the_websocket_get() -> None:
    assert handshake_url(KAS) == "https://kas.example.com/-/kubernetes-agent/"
    assert handshake_url("grpc://127.0.0.1:8150") == "http://127.0.0.1:8150/"


@pytest.mark.parametrize(
    ("error", "wording", "code"),
    [
        (
            urllib.error.URLError(ssl.SSLCertVerificationError(1, "unable to get local issuer")),
            "x509: certificate signed by unknown authority",
            "kas-x509-unknown-authority",
        ),
        (
            urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
            "dial tcp kas.example.com:443: connect: connection refused",
            "kas-unreachable",
        ),
        (
            urllib.error.HTTPError(KAS, 401, "Unauthorized", {}, None),  # type: ignore[arg-type]
            "code = Unauthenticated desc = unauthenticated",
            "agent-token-rejected",
        ),
        (
            urllib.error.HTTPError(KAS, 404, "Not Found", {}, None),  # type: ignore[arg-type]
            "expected handshake response status code 101 but got 404",
            "kas-wrong-address",
        ),
    ],
)
def test_attempt_errors_read_as_agentk_writes_them(
    error: BaseException, wording: str, code: str | None
) -> None:
    text = attempt_error(error, KAS)
    assert wording in text and text.startswith("Connect(): rpc error: code = ")
    line = json.loads(log_line("Reverse tunnel", text))
    assert (line["level"], line["msg"], line["mod_name"]) == (
        "error",
        "Reverse tunnel",
        "reverse_tunnel",
    )
    found = diagnose("agentk", {"logs": [log_line("Reverse tunnel", text)]})
    if code is not None:
        assert found is not None and found.code == code


def test_an_info_line_has_no_error_field() -> None:
    assert "error" not in json.loads(
        log_line("Observability endpoint is up", module="observability")
    )
