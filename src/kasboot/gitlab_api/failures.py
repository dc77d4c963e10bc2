"""How a request to GitLab fails, in words (the retrying session is retrying.py)."""

from __future__ import annotations

import os

import requests

DEFAULT_READ_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
TIMEOUT_VARIABLE = "KASBOOT_GITLAB_TIMEOUT"  # seconds GitLab may take to answer one request


class Unreachable(Exception):
    """GitLab cannot be talked to; deliberately not a requests exception (no retry)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def read_timeout(env: dict[str, str] | None = None) -> float:
    raw = (env if env is not None else os.environ).get(TIMEOUT_VARIABLE, "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_READ_TIMEOUT
    return value if value > 0 else DEFAULT_READ_TIMEOUT


def _chain_text(error: BaseException) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}")
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException):
                parts.append(f"{type(arg).__name__}: {arg}")
                reason = getattr(arg, "reason", None)
                if isinstance(reason, BaseException):
                    parts.append(f"{type(reason).__name__}: {reason}")
        current = current.__cause__ or current.__context__
    return " | ".join(parts)


def describe(error: BaseException, timeout: float | None = None) -> str:
    """The cause of a transport failure in words a user can act on."""
    if isinstance(error, Unreachable):
        return error.cause
    text = _chain_text(error)
    lowered = text.lower()
    if "certificate verify failed" in lowered:
        detail = lowered.split("certificate verify failed", 1)[1].lstrip(": ").split("(")[0]
        detail = detail.split("'")[0].split('"')[0].split(" | ")[0].strip(" .)")
        return "certificate verify failed" + (f" ({detail})" if detail else "")
    if "wrong version number" in lowered or "record layer failure" in lowered:
        return "the server answered plain HTTP to a TLS handshake (is the URL http://?)"
    if "connection refused" in lowered:
        return "connection refused"
    if any(
        marker in lowered
        for marker in (
            "name or service not known",
            "nodename nor servname",
            "getaddrinfo failed",
            "temporary failure in name resolution",
            "no address associated",
            "failed to resolve",
        )
    ):
        return "DNS: the host name does not resolve"
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "no connection within the connect timeout"
    if isinstance(error, requests.exceptions.Timeout):
        return f"no answer within {timeout:g} s" if timeout else "no answer in time"
    if "sslerror" in lowered or "ssl:" in lowered:
        return "TLS handshake failed: " + str(error).split(" | ")[0][:160]
    if "remotedisconnected" in lowered or "connection aborted" in lowered:
        return "the connection was closed without an answer"
    return f"{type(error).__name__}: {str(error)[:160]}"


def before_send(error: requests.exceptions.RequestException) -> bool:
    """True when the request never reached GitLab (nothing can have happened)."""
    if isinstance(error, (requests.exceptions.SSLError, requests.exceptions.ConnectTimeout)):
        return True
    if isinstance(error, requests.exceptions.ConnectionError):
        text = _chain_text(error).lower()
        return "newconnectionerror" in text or "nameresolutionerror" in text
    return False
