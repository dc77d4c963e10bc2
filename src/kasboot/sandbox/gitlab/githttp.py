"""Git smart HTTP at ``<url>/<namespace>/<project>.git`` through ``git http-backend``.

The CGI program that ships with git does the protocol; this module only authenticates
(any username, a personal access token as password, as GitLab accepts), checks the
caller may read or write the project, and streams bodies both ways. Pushes then pass
GitLab's branch checks in a pre-receive hook (prereceive.py)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import os
import re
from typing import TYPE_CHECKING

from kasboot.sandbox.common import Receive, Scope, Send

if TYPE_CHECKING:
    from kasboot.sandbox.gitlab.backend import GitLabBackend, Principal

GIT_PATH = re.compile(
    r"^/(?P<project>.+?)(?:\.git)?(?P<rest>/(?:info/refs|git-upload-pack|git-receive-pack|HEAD|objects/.*))$"
)
READ_SCOPES = {"api", "read_repository", "write_repository"}
WRITE_SCOPES = {"api", "write_repository"}
REPORTER, DEVELOPER = 20, 30


def is_git_request(path: str) -> bool:
    return GIT_PATH.match(path) is not None


async def _send_plain(
    send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _credentials(scope: Scope) -> str | None:
    headers = dict(scope.get("headers") or [])
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    if not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, _, password = decoded.partition(":")
    return password or None


def _authenticate(backend: GitLabBackend, password: str | None) -> Principal | None:
    from kasboot.sandbox.gitlab.exceptions import GitLabApiError

    try:
        return backend.authenticate(password)
    except GitLabApiError:
        return None


async def serve_git(backend: GitLabBackend, scope: Scope, receive: Receive, send: Send) -> None:
    match = GIT_PATH.match(scope["path"])
    assert match is not None
    query = scope.get("query_string", b"").decode("latin-1")
    rest = match.group("rest")
    writing = rest.endswith("git-receive-pack") or "service=git-receive-pack" in query
    principal = _authenticate(backend, _credentials(scope))
    if principal is None:
        await _send_plain(
            send,
            401,
            "HTTP Basic: Access denied\n",
            [(b"www-authenticate", b'Basic realm="GitLab"')],
        )
        return
    project = backend.project_by_path(match.group("project"))
    level = backend.access_level(project, principal.user_id) if project else 0
    if project is None or level < REPORTER:
        await _send_plain(
            send,
            404,
            "The project you were looking for could not be found or you don't have "
            "permission to view it.\n",
            [],
        )
        return
    needed_scopes = WRITE_SCOPES if writing else READ_SCOPES
    if not principal.scopes & needed_scopes or (writing and level < DEVELOPER):
        await _send_plain(
            send,
            403,
            "You are not allowed to push code to this project.\n"
            if writing
            else "You are not allowed to download code.\n",
            [],
        )
        return
    full_path = backend.full_path(project)
    from kasboot.sandbox.gitlab.prereceive import hook_env

    checks = hook_env(backend, project, principal.user_id) if writing else {}
    await _run_backend(backend, scope, receive, send, f"/{full_path}.git{rest}", principal, checks)


async def _run_backend(
    backend: GitLabBackend,
    scope: Scope,
    receive: Receive,
    send: Send,
    path_info: str,
    principal: Principal,
    checks: dict[str, str],
) -> None:
    from kasboot.sandbox.gitlab.prereceive import hooks_dir

    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(backend.repositories_root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "http.receivepack",
        "GIT_CONFIG_VALUE_0": "true",
        # GitLab's branch checks, as its pre-receive hook runs them (prereceive.py)
        "GIT_CONFIG_KEY_1": "core.hooksPath",
        "GIT_CONFIG_VALUE_1": str(hooks_dir(backend)),
        **checks,
        "REMOTE_USER": str(principal.user["username"]),
        "REMOTE_ADDR": (scope.get("client") or ("127.0.0.1", 0))[0],
        "REQUEST_METHOD": scope["method"],
        "PATH_INFO": path_info,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "CONTENT_TYPE": headers.get("content-type", ""),
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    if "content-length" in headers:
        env["CONTENT_LENGTH"] = headers["content-length"]
    if "content-encoding" in headers:
        env["HTTP_CONTENT_ENCODING"] = headers["content-encoding"]
    if "git-protocol" in headers:
        env["GIT_PROTOCOL"] = headers["git-protocol"]
    process = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None

    async def feed() -> None:
        assert process.stdin is not None
        try:
            while True:
                message = await receive()
                chunk = message.get("body", b"")
                if chunk:
                    process.stdin.write(chunk)
                    await process.stdin.drain()
                if not message.get("more_body"):
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                process.stdin.close()

    feeder = asyncio.create_task(feed())
    status = 200
    response_headers: list[tuple[bytes, bytes]] = []
    while True:  # CGI header block, ended by an empty line
        line = (await process.stdout.readline()).rstrip(b"\r\n")
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.lower() == b"status":
            status = int(value.strip().split(b" ")[0])
        else:
            response_headers.append((name.strip().lower(), value.strip()))
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    while True:
        chunk = await process.stdout.read(65536)
        if not chunk:
            break
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
    await feeder
    await process.wait()
