"""One plain HTTP request through a ``kubernetes.client.ApiClient``'s own machinery —
its urllib3 pool (TLS, client certificates, proxy, the configured Retry), its default
headers (User-Agent) and its bearer token (refreshed by the kubeconfig loader's hook) —
for JSON that need not pass through the generated models.

It uses only what every client kasboot allows has (``kubernetes>=29``):
``rest_client.pool_manager``, ``configuration.auth_settings()``, ``default_headers``.
``ApiClient.param_serialize`` and the new ``call_api`` signature exist only from
v36 on; v29–v35 have the older ``call_api(resource_path, method, …)`` that raises on
every non-2xx answer."""

from __future__ import annotations

import json
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


def custom_objects(api_client: Any) -> Any:
    """``CustomObjectsApi`` that takes ``_content_type="application/merge-patch+json"``
    on every allowed client: v36+ accept the argument (their default patch type is a JSON
    patch); v29–v35 reject it with ApiTypeError but always send a merge patch, so there
    it is dropped (and any other patch type refused, rather than sent wrongly)."""
    from kubernetes import client

    api = client.CustomObjectsApi(api_client)
    if hasattr(api_client, "param_serialize"):
        return api
    return _MergePatchOnly(api)


class _MergePatchOnly:
    """Old clients' CustomObjectsApi, with ``_content_type`` understood on patches."""

    def __init__(self, api: Any) -> None:
        self._api = api

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._api, name)
        if not name.startswith("patch_"):
            return method

        def patch(*args: Any, _content_type: str | None = None, **kwargs: Any) -> Any:
            if _content_type not in (None, "application/merge-patch+json"):
                raise TypeError(
                    f"this kubernetes client sends only merge patches, not {_content_type}"
                )
            return method(*args, **kwargs)

        return patch


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
