"""What the simulated agentk writes to its log on a connection attempt to KAS.

agentk logs JSON lines through zap (level, time, msg, then fields): a failed reverse
tunnel attempt is ``{"level":"error",…,"msg":"Reverse tunnel","mod_name":"reverse_tunnel",
"error":"Connect(): rpc error: …"}`` (internal/module/reverse_tunnel/agent/connection.go
of gitlab-org/cluster-integration/gitlab-agent), the gRPC status carrying the dial error
of its WebSocket transport — the Go error texts of crypto/x509 and net, which is what
people paste into searches and what kasboot's diagnosis matches."""

from __future__ import annotations

import json
import ssl
import urllib.error
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

_WEBSOCKET_SCHEMES = {"wss": "https", "ws": "http", "grpcs": "https", "grpc": "http"}


def handshake_url(kas_address: str) -> str:
    """The URL agentk's WebSocket dial GETs: ``wss://h/-/kubernetes-agent/`` -> https."""
    parts = urlsplit(kas_address)
    scheme = _WEBSOCKET_SCHEMES.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path or "/", "", ""))


def go_dial_error(kas_address: str, error: BaseException) -> str:
    """The Go error text for a failed dial to KAS, as agentk reports it."""
    url = handshake_url(kas_address)
    reason = getattr(error, "reason", error)
    if isinstance(reason, ssl.SSLCertVerificationError):
        if "hostname mismatch" in str(reason).lower() or "not valid for" in str(reason):
            host = urlsplit(url).hostname or ""
            cause = f"x509: certificate is not valid for {host}"
        else:
            cause = "x509: certificate signed by unknown authority"
        cause = f"tls: failed to verify certificate: {cause}"
    elif isinstance(reason, ConnectionRefusedError):
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        cause = f"dial tcp {parts.hostname}:{port}: connect: connection refused"
    elif isinstance(reason, TimeoutError):
        cause = f"dial tcp {urlsplit(url).netloc}: i/o timeout"
    else:
        cause = str(reason)
    dial = f'failed to WebSocket dial: failed to send handshake request: Get "{url}": {cause}'
    return (
        "Connect(): rpc error: code = Unavailable desc = connection error: desc = "
        f'"transport: Error while dialing: {dial}"'
    )


def attempt_error(error: BaseException, kas_address: str) -> str:
    """agentk's error for an attempt KAS answered or that never reached it."""
    if isinstance(error, urllib.error.HTTPError):
        if error.code == 401:
            return "Connect(): rpc error: code = Unauthenticated desc = unauthenticated"
        if error.code == 404:
            return (
                "Connect(): rpc error: code = Unavailable desc = connection error: desc = "
                '"transport: Error while dialing: failed to WebSocket dial: expected handshake '
                'response status code 101 but got 404"'
            )
        return (
            f"Connect(): rpc error: code = Unavailable desc = unexpected HTTP status {error.code}"
        )
    return go_dial_error(kas_address, error)


def log_line(message: str, error: str | None = None, module: str = "reverse_tunnel") -> str:
    record: dict[str, str] = {
        "level": "error" if error else "info",
        "time": datetime.now(timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "msg": message,
        "mod_name": module,
    }
    if error:
        record["error"] = error
    return json.dumps(record, separators=(",", ":"))
