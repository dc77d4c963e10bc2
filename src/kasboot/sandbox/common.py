"""Plumbing shared by the emulators: a request log, fault injection, and running
an ASGI app on a free loopback port in a background thread.

Both are ASGI middleware, so every route of an emulator gets them without code of
its own. Tests and benchmarks drive them over HTTP through the control routes
under ``/-/sandbox/`` (never logged, never faulted):

    GET    /-/sandbox/requests    the log: [{method, path, query, status, user_agent, ms,
                                  at, fault}]
    DELETE /-/sandbox/requests    clear it
    GET    /-/sandbox/faults      the active fault rules and the seed: {"seed", "rules"}
    PUT    /-/sandbox/faults      replace them: {"rules": [FaultRule…], "seed": int?,
                                  "release": bool?} (release: end every hold now)
    DELETE /-/sandbox/faults      remove them all

A FaultRule is ``{"path": regex, "method": "GET"|…|null, "user_agent": regex|null,
"status": 429|500|502|503|null, "latency_ms": int, "rate": 0..1, "times": int|null,
"retry_after": int, "mode": str, "hold_ms": int, "cut_after_chunks": int|null}``: a
request whose method matches, whose path matches the regex and whose User-Agent matches
``user_agent`` (both ``re.search``; null = any client) waits latency_ms, then — with
probability ``rate``, drawn from the injector's seed (faults.py) — is faulted according
to ``mode``. ``times`` bounds how many requests a rule hits (null = unbounded). The PUT
body may carry ``"seed": int`` (the draws restart from it); GET answers ``{"seed",
"rules"}``. Modes:

    reject           (default) answered with ``status``; the app never sees the request
    applied_status   the app handles it (the write happens), its answer is thrown away and
                     ``status`` is sent instead — a proxy that lost the answer
    applied_drop     the app handles it, then the connection is closed with no answer
    applied_timeout  the app handles it, then nothing is sent for ``hold_ms`` (default
                     60 s) and the connection is closed — the client's read timeout fires
    cut              the app answers, and the body is cut off (connection closed) after
                     ``cut_after_chunks`` body chunks — a watch stream reset mid-way
                     (each watch event is one chunk)

``status`` is needed by ``reject`` and ``applied_status`` only; a rule without one only
adds latency. Each log record says which fault answered (``fault``: the mode, "latency"
for a request only delayed, or "").
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Re-exported: the emulators and tests import the fault types from here.
from kasboot.sandbox.faults import FAULT_MODES as FAULT_MODES
from kasboot.sandbox.faults import FaultInjector as FaultInjector
from kasboot.sandbox.faults import FaultRule as FaultRule

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTROL_PREFIX = "/-/sandbox/"

_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class _CutConnection(Exception):
    """Raised from the wrapped send to end a response mid-way (never reaches a client)."""


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    user_agent: str
    ms: float
    at: float = field(default_factory=time.time)
    fault: str = ""  # the mode of the rule that faulted it, "" for none


class RequestLog:
    """Thread-safe, in memory, optionally mirrored as JSON lines to a file."""

    def __init__(self, mirror: Path | None = None) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._mirror = mirror

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)
            if self._mirror is not None:
                with self._mirror.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(asdict(record)) + "\n")

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


async def _send_json(
    send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


RAW_SEND = "kasboot.sandbox.raw_send"


async def _drop(scope: Scope) -> None:
    """Close the connection with no (further) answer, as a proxy that lost it would: the
    client sees the peer disconnect (or a body cut short). uvicorn's send callable is a
    method of its request cycle, which holds the transport; aborting it is the only way
    ASGI leaves to drop a connection without a 500."""
    raw_send = scope.get(RAW_SEND)
    cycle = getattr(raw_send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("sandbox fault: connection dropped")
    transport.abort()
    await asyncio.sleep(0.05)  # let the server notice, so it logs no "incomplete response"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


class SandboxMiddleware:
    """Wraps an emulator's ASGI app with the request log, faults and control routes.

    ``error_body`` renders an injected error the way the emulated system would
    (GitLab: ``{"message": "500 Internal Server Error"}``; Kubernetes: a Status)."""

    def __init__(
        self,
        app: ASGIApp,
        log: RequestLog,
        faults: FaultInjector,
        error_body: Callable[[int, str], Any],
    ) -> None:
        self.app = app
        self.log = log
        self.faults = faults
        self.error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(CONTROL_PREFIX):
            await self._control(scope, receive, send)
            return
        method: str = scope.get("method", "GET")
        scope[RAW_SEND] = send
        started = time.perf_counter()
        status_holder = {"status": 0}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = int(message["status"])
            await send(message)

        request_headers = dict(scope.get("headers") or [])
        user_agent = request_headers.get(b"user-agent", b"").decode("latin-1")
        latency, rule = self.faults.pick(method, path, user_agent)
        if latency:
            await self.hold(latency)
        try:
            if rule is None:
                await self.app(scope, receive, tracking_send)
            elif rule.mode == "reject":
                await self._send_fault(tracking_send, rule)
            elif rule.mode == "cut":
                await self._run_cut(scope, receive, tracking_send, rule)
            else:
                await self._run_applied(scope, receive, tracking_send, rule)
        finally:
            self.log.add(
                RequestRecord(
                    method=method,
                    path=path,
                    query=scope.get("query_string", b"").decode("latin-1"),
                    status=status_holder["status"],
                    user_agent=user_agent,
                    ms=round((time.perf_counter() - started) * 1000, 3),
                    fault=rule.mode if rule is not None else ("latency" if latency else ""),
                )
            )

    async def hold(self, seconds: float) -> None:
        """Wait `seconds`, or less when a PUT with ``"release": true`` comes first."""
        releases = self.faults.releases
        deadline = time.monotonic() + seconds
        while self.faults.releases == releases:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.02))

    def _faults_body(self) -> dict[str, Any]:
        return {"seed": self.faults.seed, "rules": [asdict(r) for r in self.faults.rules]}

    async def _send_fault(self, send: Send, rule: FaultRule) -> None:
        status = int(rule.status or 500)
        reason = _REASONS.get(status, "Error")
        headers = [(b"retry-after", str(rule.retry_after).encode())] if status == 429 else []
        await _send_json(send, status, self.error_body(status, reason), headers)

    async def _run_applied(
        self, scope: Scope, receive: Receive, send: Send, rule: FaultRule
    ) -> None:
        """Let the app act, swallow its answer, then fail the way ``rule.mode`` says."""

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        if rule.mode == "applied_status":
            await self._send_fault(send, rule)
            return
        if rule.mode == "applied_timeout":
            await self.hold(rule.hold_ms / 1000)
        await _drop(scope)

    async def _run_cut(self, scope: Scope, receive: Receive, send: Send, rule: FaultRule) -> None:
        chunks = {"sent": 0}
        limit = rule.cut_after_chunks or 0

        async def cutting_send(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                if chunks["sent"] >= limit:
                    raise _CutConnection
                chunks["sent"] += 1
            await send(message)

        try:
            await self.app(scope, receive, cutting_send)
        except _CutConnection:
            await _drop(scope)

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"][len(CONTROL_PREFIX) :].rstrip("/")
        method: str = scope["method"]
        if path == "requests" and method == "GET":
            await _send_json(send, 200, [asdict(r) for r in self.log.records()], [])
        elif path == "requests" and method == "DELETE":
            self.log.clear()
            await _send_json(send, 200, {"cleared": True}, [])
        elif path == "faults" and method == "GET":
            await _send_json(send, 200, self._faults_body(), [])
        elif path == "faults" and method == "PUT":
            try:
                body = json.loads(await _read_body(receive) or b"{}")
                rules, seed = body.get("rules", []), body.get("seed")
                self.faults.replace(rules, seed, release=bool(body.get("release")))
            except (TypeError, ValueError, AttributeError) as error:
                await _send_json(send, 400, {"message": str(error)}, [])
                return
            await _send_json(send, 200, self._faults_body(), [])
        elif path == "faults" and method == "DELETE":
            self.faults.replace([])
            await _send_json(send, 200, self._faults_body(), [])
        else:
            await self.app(scope, receive, send)  # emulator-specific control routes


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """Runs an ASGI app under uvicorn on 127.0.0.1 in a daemon thread.

    Used by tests (one emulator per fixture) and by the sandbox world process."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name=f"asgi:{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
