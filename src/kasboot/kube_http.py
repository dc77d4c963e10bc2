"""Every request kasboot sends to Kubernetes: plain HTTP through a
``kubernetes.client.ApiClient``'s own machinery — its urllib3 pool (TLS, client
certificates, proxy, the configured Retry), its default headers (User-Agent) and its
bearer token (refreshed by the kubeconfig loader's hook) — with JSON in and out, never
the generated typed APIs and models (``kubernetes.client.api.*``, ``.models.*``):
importing those costs a second at start-up and their teardown a third of one at exit.

It uses only what every client kasboot allows has (``kubernetes>=29``):
``rest_client.pool_manager``, ``configuration.auth_settings()``, ``default_headers``.
``ApiClient.param_serialize`` and the new ``call_api`` signature exist only from
v36 on; v29–v35 have the older ``call_api(resource_path, method, …)``, so one request
path serves them all. Errors are the client's own ``ApiException`` (status, reason,
body), as the generated APIs raise them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

Timeout = float | tuple[float, float] | None


@dataclass
class RawResponse:
    """The answer, body unread (a watch streams it); the shape of the client's own
    RESTResponse (``status``, ``reason``, ``response``, ``read()``)."""

    response: Any  # urllib3.BaseHTTPResponse
    status: int = field(init=False)
    reason: str = field(init=False)
    data: bytes | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.status = int(self.response.status)
        self.reason = str(self.response.reason or "")

    def read(self) -> bytes:
        if self.data is None:
            self.data = bytes(self.response.data or b"")
        return self.data

    @property
    def headers(self) -> Any:  # what ApiException(http_resp=…) reads (v36+)
        return self.response.headers

    def getheaders(self) -> Any:  # … and what older clients' ApiException reads
        return self.response.headers

    def release(self) -> None:
        self.response.release_conn()


def _timeout(value: Timeout) -> Any:
    import urllib3

    if value is None:
        return None
    if isinstance(value, tuple):
        return urllib3.Timeout(connect=value[0], read=value[1])
    return urllib3.Timeout(total=value)


def send(
    api_client: Any,
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
    content_type: str = "application/json",
    timeout: Timeout = None,
) -> RawResponse:
    """``method path?query`` with ``body`` (JSON-encoded unless bytes or str). Never
    raises for an HTTP status (the caller reads ``status``); urllib3's errors (the
    server unreachable, retries exhausted) propagate."""
    configuration = api_client.configuration
    all_headers = {**api_client.default_headers, "Accept": "application/json", **(headers or {})}
    bearer = configuration.auth_settings().get("BearerToken") or {}
    if bearer.get("value") and bearer.get("in") == "header":
        all_headers[bearer["key"]] = bearer["value"]
    encoded: bytes | str | None = None
    if body is not None:
        all_headers.setdefault("Content-Type", content_type)
        encoded = (
            body
            if isinstance(body, bytes | str)
            else json.dumps(api_client.sanitize_for_serialization(body))
        )
    url = str(configuration.host).rstrip("/") + path
    if query:
        url += "?" + urlencode(query)
    response = api_client.rest_client.pool_manager.request(
        method,
        url,
        body=encoded,
        headers=all_headers,
        preload_content=False,
        timeout=_timeout(timeout),
    )
    return RawResponse(response)


def get_json(
    api_client: Any,
    path: str,
    query: list[tuple[str, str]] | None = None,
    timeout: Timeout = None,
) -> Any:
    """GET as plain JSON; None on 404; an ``ApiException`` (as the generated APIs raise)
    for any other error status."""
    from kubernetes.client.exceptions import ApiException

    response = send(api_client, "GET", path, query=query, timeout=timeout)
    try:
        data = response.read()
    finally:
        response.release()
    if response.status == 404:
        return None
    if not 200 <= response.status < 300:
        raise ApiException(http_resp=response)
    return json.loads(data or b"null")


def request_json(
    api_client: Any,
    method: str,
    path: str,
    *,
    query: list[tuple[str, str]] | None = None,
    body: Any = None,
    content_type: str = "application/json",
    timeout: Timeout = None,
) -> Any:
    """``method path`` with a JSON body; the answer's JSON. Any status outside 2xx (404
    included: the caller decides what absence means) raises ``ApiException``."""
    from kubernetes.client.exceptions import ApiException

    response = send(
        api_client,
        method,
        path,
        query=query,
        body=body,
        content_type=content_type,
        timeout=timeout,
    )
    try:
        data = response.read()
    finally:
        response.release()
    if not 200 <= response.status < 300:
        raise ApiException(http_resp=response)
    return json.loads(data or b"null")


def watch_events(
    api_client: Any,
    path: str,
    query: list[tuple[str, str]],
    timeout: Timeout = None,
) -> Iterator[dict[str, Any]]:
    """The events of one watch request (``watch=true`` is added), one JSON object a
    line, as they arrive. An answer that is not 200 raises ``ApiException``; an
    ``ERROR`` event (410 Gone for a resourceVersion too old) is yielded as it came.
    urllib3's ProtocolError / ReadTimeoutError propagate when the stream is cut."""
    from kubernetes.client.exceptions import ApiException

    response = send(api_client, "GET", path, query=[*query, ("watch", "true")], timeout=timeout)
    try:
        if response.status != 200:
            response.read()
            raise ApiException(http_resp=response)
        pending = b""
        for chunk in response.response.stream(amt=None, decode_content=False):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    yield json.loads(line)
        if pending.strip():
            yield json.loads(pending)
    finally:
        response.response.close()
        response.release()
