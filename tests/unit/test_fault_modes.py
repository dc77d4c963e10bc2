"""The shared fault hooks over a real socket: each mode fails the way its contract says,
and the ``applied_*`` modes let the write happen first."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from kasboot.sandbox.common import (
    FaultInjector,
    FaultRule,
    Message,
    Receive,
    RequestLog,
    SandboxMiddleware,
    Scope,
    Send,
    ServerThread,
)


class CountingApp:
    """POST /things counts a write; GET /stream sends five one-line chunks."""

    def __init__(self) -> None:
        self.writes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/stream":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for n in range(5):
                await send(
                    {"type": "http.response.body", "body": f"{n}\n".encode(), "more_body": True}
                )
            await send({"type": "http.response.body", "body": b""})
            return
        self.writes += 1
        body = json.dumps({"writes": self.writes}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        message: Message = {"type": "http.response.body", "body": body}
        await send(message)


@pytest.fixture()
def served() -> Iterator[tuple[CountingApp, FaultInjector, str]]:
    app = CountingApp()
    faults = FaultInjector(seed=1)
    server = ServerThread(
        SandboxMiddleware(app, RequestLog(), faults, lambda code, reason: {"message": reason})
    ).start()
    try:
        yield app, faults, server.url
    finally:
        server.stop()


def _rules(faults: FaultInjector, **rule: Any) -> None:
    faults.replace([{"path": "/things", **rule}])


def test_reject_never_reaches_the_app(served: tuple[CountingApp, FaultInjector, str]) -> None:
    app, faults, url = served
    _rules(faults, status=503)
    assert requests.post(f"{url}/things", timeout=5).status_code == 503
    assert app.writes == 0


def test_applied_status_writes_then_answers_the_error(
    served: tuple[CountingApp, FaultInjector, str],
) -> None:
    app, faults, url = served
    _rules(faults, status=502, mode="applied_status", times=1)
    assert requests.post(f"{url}/things", timeout=5).status_code == 502
    assert app.writes == 1
    assert requests.post(f"{url}/things", timeout=5).json() == {"writes": 2}


def test_applied_drop_writes_then_closes_without_an_answer(
    served: tuple[CountingApp, FaultInjector, str],
) -> None:
    app, faults, url = served
    _rules(faults, mode="applied_drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"{url}/things", timeout=5)
    assert app.writes == 1


def test_applied_timeout_writes_then_stays_silent(
    served: tuple[CountingApp, FaultInjector, str],
) -> None:
    app, faults, url = served
    _rules(faults, mode="applied_timeout", hold_ms=3000)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(f"{url}/things", timeout=0.5)
    assert time.monotonic() - started < 3
    assert app.writes == 1


def test_cut_ends_a_stream_after_n_chunks(served: tuple[CountingApp, FaultInjector, str]) -> None:
    _app, faults, url = served
    faults.replace([{"path": "/stream", "mode": "cut", "cut_after_chunks": 2}])
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("GET", "/stream")
    response = connection.getresponse()
    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    assert cut.value.partial == b"0\n1\n"


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault mode"):
        FaultRule(mode="explode")


def test_a_rule_without_status_only_adds_latency() -> None:
    assert FaultRule(latency_ms=10).mode == "latency"
