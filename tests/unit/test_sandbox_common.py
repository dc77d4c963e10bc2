"""The shared middleware over a real socket: log, faults and control routes."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from kasboot.sandbox.common import FaultInjector, RequestLog, SandboxMiddleware, ServerThread


def _app() -> SandboxMiddleware:
    async def hello(request):  # type: ignore[no-untyped-def]
        return JSONResponse({"hello": "world"})

    inner = Starlette(routes=[Route("/hello", hello)])
    return SandboxMiddleware(
        inner,
        RequestLog(),
        FaultInjector(seed=1),
        lambda code, reason: {"message": f"{code} {reason}"},
    )


def test_log_faults_and_control_routes() -> None:
    server = ServerThread(_app()).start()
    try:
        with httpx.Client(base_url=server.url) as client:
            assert client.get("/hello", headers={"user-agent": "probe/1"}).json() == {
                "hello": "world"
            }
            rules = {"rules": [{"path": "^/hello$", "status": 429, "retry_after": 3, "times": 1}]}
            assert client.put("/-/sandbox/faults", json=rules).status_code == 200
            limited = client.get("/hello")
            assert limited.status_code == 429
            assert limited.headers["retry-after"] == "3"
            assert limited.json() == {"message": "429 Too Many Requests"}
            assert client.get("/hello").status_code == 200  # the rule was bounded to one hit
            log = client.get("/-/sandbox/requests").json()
            assert [(r["method"], r["path"], r["status"]) for r in log] == [
                ("GET", "/hello", 200),
                ("GET", "/hello", 429),
                ("GET", "/hello", 200),
            ]
            assert log[0]["user_agent"] == "probe/1"
            client.delete("/-/sandbox/requests")
            assert client.get("/-/sandbox/requests").json() == []
    finally:
        server.stop()
