"""How a request to GitLab fails, in words, and a session that gives up in time.

python-gitlab (with ``retry_transient_errors``) retries every connection error and
timeout up to ten times with back-off: a GitLab with a bad certificate or a closed port
costs a hundred seconds and eleven TLS handshakes, and a hung one 11 × 30 s. The session
below sends each request itself, so it can decide first:

- a failure before anything was sent (connection refused, DNS, TLS, connect timeout)
  is final at once — raised as ``Unreachable``, which python-gitlab does not retry;
- a request that went out and got no answer (read timeout) may be tried twice;
- a request answered 429/5xx, or whose connection broke after it was sent, may be tried
  ``MAX_ATTEMPTS + 1`` times in a row, then stops.
"""

from __future__ import annotations

import os
from typing import Any

import requests

MAX_ATTEMPTS = 8  # consecutive 429/5xx answers to one request (python-gitlab backs off)
MAX_TIMEOUTS = 2  # consecutive read timeouts of one request
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


def _before_send(error: requests.exceptions.RequestException) -> bool:
    """True when the request never reached GitLab (nothing can have happened)."""
    if isinstance(error, (requests.exceptions.SSLError, requests.exceptions.ConnectTimeout)):
        return True
    if isinstance(error, requests.exceptions.ConnectionError):
        text = _chain_text(error).lower()
        return "newconnectionerror" in text or "nameresolutionerror" in text
    return False


class GuardedSession(requests.Session):
    """A requests session that ends hopeless retries (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._key: tuple[str, str] | None = None
        self._failures = 0
        self._timeouts = 0
        self.read_timeout = read_timeout()

    def _count(self, key: tuple[str, str]) -> None:
        if key != self._key:
            self._key, self._failures, self._timeouts = key, 0, 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        verb = method.decode() if isinstance(method, bytes) else str(method)
        target = url.decode() if isinstance(url, bytes) else str(url)
        key = (verb.upper(), target.split("?", 1)[0])
        self._count(key)
        kwargs["timeout"] = (CONNECT_TIMEOUT, self.read_timeout)
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.exceptions.RequestException as error:
            if _before_send(error):
                raise Unreachable(describe(error)) from error
            if isinstance(error, requests.exceptions.Timeout):
                self._timeouts += 1
                if self._timeouts >= MAX_TIMEOUTS:
                    raise Unreachable(describe(error, self.read_timeout)) from error
            else:  # sent, then the connection broke: python-gitlab retries a read
                self._failures += 1
                if self._failures > MAX_ATTEMPTS:
                    raise Unreachable(describe(error)) from error
            raise
        if response.status_code == 429 or response.status_code >= 500:
            self._failures += 1
            if self._failures > MAX_ATTEMPTS:
                raise Unreachable(
                    f"GitLab answered {response.status_code} {MAX_ATTEMPTS + 1} times in a row"
                )
        else:
            self._key = None
        return response
