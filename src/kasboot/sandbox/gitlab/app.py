"""The emulator's ASGI application: API routes, git smart HTTP, emulator control routes."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kasboot.sandbox.common import CONTROL_PREFIX, Receive, Scope, Send
from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.backend import GitLabBackend
from kasboot.sandbox.gitlab.context import RequestContext, error_response
from kasboot.sandbox.gitlab.entities import Entities
from kasboot.sandbox.gitlab.githttp import is_git_request, serve_git
from kasboot.sandbox.gitlab.urls import resolve

log = logging.getLogger(__name__)


def _merge_params(query: bytes, body: bytes, content_type: str) -> dict[str, Any]:
    """Query string and body in one map, the way Grape declares parameters."""
    params: dict[str, Any] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name.endswith("[]"):  # Rack: `refs[]=a&refs[]=b` is the array refs
            params.setdefault(name[:-2], []).append(value)
        else:
            params[name] = value
    if not body:
        return params
    if "json" in content_type:
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise err.GitLabApiError(400, {"error": "The request body is not valid JSON"}) from exc
        if isinstance(decoded, dict):
            params.update(decoded)
    elif "x-www-form-urlencoded" in content_type:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    return params


class GitLabApp:
    def __init__(self, backend: GitLabBackend) -> None:
        self.backend = backend
        self.entities = Entities(backend)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            response = await self._control(Request(scope, receive))
        elif is_git_request(path):
            await serve_git(self.backend, scope, receive, send)
            return
        else:
            response = await self._api(Request(scope, receive))
        await response(scope, receive, send)

    async def _api(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
        raw = raw_path.decode("latin-1").split("?", 1)[0]
        route = resolve(request.method, raw)
        if route is None:
            return JSONResponse({"error": "404 Not Found"}, status_code=404)
        if route == "method":
            return JSONResponse({"error": "405 Not Allowed"}, status_code=405)
        assert not isinstance(route, str)
        handler, values = route
        try:
            body = await request.body()
            params = _merge_params(
                request.scope.get("query_string", b""),
                body,
                request.headers.get("content-type", ""),
            )
            context = RequestContext(
                backend=self.backend,
                entities=self.entities,
                method=request.method,
                url=self._link_base(request) + raw,
                params=params,
                path=values,
                headers={k.lower(): v for k, v in request.headers.items()},
            )
            return await run_in_threadpool(handler, context)
        except err.GitLabApiError as error:
            return error_response(error)
        except Exception:
            log.exception("GitLab emulator failed on %s %s", request.method, raw)
            return JSONResponse({"message": "500 Internal Server Error"}, status_code=500)

    def _link_base(self, request: Request) -> str:
        """Where pagination links point: GitLab writes them with its configured external
        URL (``Gitlab::Pagination::OffsetHeaderBuilder``), not the address the request
        came in on — through a port-forward the two differ."""
        if self.backend.external_url != self.backend.base_url:
            return self.backend.external_url
        return f"{request.url.scheme}://{request.url.netloc}"

    async def _control(self, request: Request) -> Response:
        """Emulator-only routes: KAS settings, token minting, health."""
        name = request.url.path[len(CONTROL_PREFIX) :].rstrip("/")
        if name == "health" and request.method == "GET":
            return JSONResponse({"status": "ok"})
        if name == "kas" and request.method == "PUT":
            body = await request.json()
            await run_in_threadpool(
                lambda: self.backend.set_kas(
                    bool(body.get("enabled", True)),
                    body.get("version"),
                    body.get("externalUrl"),
                    version_known=not ("version" in body and body["version"] is None),
                )
            )
            return JSONResponse(self.backend.metadata()["kas"])
        if name == "oauth_tokens" and request.method == "POST":
            body = await request.json()
            token = await run_in_threadpool(
                self.backend.create_oauth_token,
                str(body.get("username") or "root"),
                list(body.get("scopes") or ["api"]),
                str(body["expires_at"]),
            )
            return JSONResponse({"access_token": token, "token_type": "Bearer"}, status_code=201)
        if name.startswith("users/") and request.method == "PUT":
            body = await request.json()
            username = name.split("/", 1)[1]
            await run_in_threadpool(
                self.backend.store.execute,
                "UPDATE users SET commit_email = ? WHERE username = ?",
                (body.get("commit_email"), username),
            )
            return JSONResponse({"username": username, **body})
        if name == "personal_access_tokens" and request.method == "POST":
            body = await request.json()
            try:
                token = await run_in_threadpool(
                    self.backend.create_personal_access_token,
                    str(body["username"]),
                    str(body.get("name") or "sandbox"),
                    list(body.get("scopes") or ["api"]),
                    None,
                    body.get("expires_at"),
                )
            except err.GitLabApiError as error:
                return error_response(error)
            except KeyError:
                return JSONResponse({"error": "username is missing"}, status_code=400)
            return JSONResponse({"token": token}, status_code=201)
        return JSONResponse({"error": "404 Not Found"}, status_code=404)
