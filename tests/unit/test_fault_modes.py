"""The shared fault hooks over a real socket: each mode fails the way its contract says,
and the ``applied_*`` modes let the write happen first."""

from __future__ import annotations

import http.client
import json
import threading
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


# --- matching on the client: the User-Agent --------------------------------------


def _post(url: str, agent: str) -> int:
    return requests.post(f"{url}/things", headers={"User-Agent": agent}, timeout=5).status_code


def test_a_user_agent_rule_faults_that_client_only(
    served: tuple[CountingApp, FaultInjector, str],
) -> None:
    app, faults, url = served
    _rules(faults, status=503, user_agent=r"^kasboot/")
    assert _post(url, "kasboot/1.2.3") == 503
    assert _post(url, "helm-controller/v1.3.0") == 201
    assert _post(url, "python-requests/2 kasboot/1") == 201  # anchored: not at the start
    assert app.writes == 2
    assert faults.rules[0].hits == 1  # the other clients' requests do not spend it


def test_a_user_agent_without_regex_characters_is_a_substring(
    served: tuple[CountingApp, FaultInjector, str],
) -> None:
    _app, faults, url = served
    _rules(faults, status=500, user_agent="kasboot")
    assert _post(url, "kasboot/1.2.3") == 500
    assert _post(url, "x kasboot y") == 500
    assert _post(url, "flux/v2") == 201


def test_no_user_agent_field_matches_every_client(
    served: tuple[CountingApp, FaultInjector, str],
) -> None:
    _app, faults, url = served
    _rules(faults, status=502)
    assert _post(url, "kasboot/1") == 502
    assert _post(url, "") == 502


def test_the_log_names_the_fault_that_answered(
    served: tuple[CountingApp, FaultInjector, str],
) -> None:
    _app, faults, _url = served
    log = RequestLog()
    server = ServerThread(SandboxMiddleware(CountingApp(), log, faults, lambda c, r: {})).start()
    try:
        faults.replace([{"path": "/things", "status": 500, "user_agent": "^a/", "times": 1}])
        assert _post(server.url, "a/1") == 500
        assert _post(server.url, "a/1") == 201
    finally:
        server.stop()
    assert [(r.status, r.fault, r.user_agent) for r in log.records()] == [
        (500, "reject", "a/1"),
        (201, "", "a/1"),
    ]


def test_a_malformed_regex_is_refused() -> None:
    with pytest.raises(ValueError, match="user_agent"):
        FaultRule(user_agent="kasboot/(")
    with pytest.raises(ValueError, match="path"):
        FaultRule(path="[")


# --- seeded draws -----------------------------------------------------------------


def _pattern(faults: FaultInjector, count: int, agent: str = "kasboot/1") -> list[bool]:
    return [faults.pick("GET", "/x", agent)[1] is not None for _ in range(count)]


RULES = [{"path": "/x", "status": 500, "rate": 0.3}, {"path": "/x", "status": 502, "rate": 0.3}]


def _statuses(faults: FaultInjector, count: int, agent: str = "kasboot/1") -> list[int]:
    """The status each of `count` requests would get (200: not faulted)."""
    statuses = []
    for _ in range(count):
        _latency, rule = faults.pick("GET", "/x", agent)
        statuses.append(200 if rule is None else int(rule.status or 0))
    return statuses


def test_the_same_seed_and_rules_fault_the_same_requests() -> None:
    first, second = FaultInjector(seed=7), FaultInjector(seed=7)
    first.replace(RULES)
    second.replace(RULES)
    drawn = _statuses(first, 300)
    assert drawn == _statuses(second, 300)
    assert 60 < drawn.count(500) < 120 and 30 < drawn.count(502) < 100  # 30 %, then 30 % of 70 %
    first.replace(RULES)  # the rules put again: the draws start again
    assert _statuses(first, 300) == drawn


def test_another_seed_faults_other_requests() -> None:
    first, other = FaultInjector(seed=7), FaultInjector(seed=8)
    first.replace(RULES)
    other.replace(RULES)
    assert _statuses(first, 300) != _statuses(other, 300)


def test_other_clients_do_not_shift_the_draws() -> None:
    """The simulated controllers' requests, interleaved at any rate, change nothing for
    the client a rule matches."""
    rules = [{**rule, "user_agent": "^kasboot/"} for rule in RULES]
    alone, crowded = FaultInjector(seed=3), FaultInjector(seed=3)
    alone.replace(rules)
    crowded.replace(rules)
    expected = _statuses(alone, 100)
    drawn = []
    for n in range(100):
        for _ in range(n % 4):
            assert crowded.pick("GET", "/x", "helm-controller/v1")[1] is None
        drawn += _statuses(crowded, 1)
    assert drawn == expected


def test_the_seed_is_set_by_put_and_reported_by_get(
    served: tuple[CountingApp, FaultInjector, str],
) -> None:
    _app, faults, url = served
    assert requests.get(f"{url}/-/sandbox/faults", timeout=5).json() == {"seed": 1, "rules": []}
    body = {"seed": 42, "rules": [{"path": "/things", "status": 500, "rate": 0.5}]}
    answer = requests.put(f"{url}/-/sandbox/faults", json=body, timeout=5).json()
    assert answer["seed"] == 42 and faults.seed == 42
    first = [_post(url, "kasboot/1") for _ in range(20)]
    requests.put(f"{url}/-/sandbox/faults", json=body, timeout=5)
    assert [_post(url, "kasboot/1") for _ in range(20)] == first  # replayed
    assert set(first) == {201, 500}
    # Without a seed the rules change and the seed stays.
    requests.put(f"{url}/-/sandbox/faults", json={"rules": []}, timeout=5)
    assert requests.get(f"{url}/-/sandbox/faults", timeout=5).json()["seed"] == 42


@pytest.mark.parametrize("seed", [-1, 2**31, "7", 1.5, True])
def test_a_bad_seed_is_refused_and_changes_nothing(
    served: tuple[CountingApp, FaultInjector, str], seed: Any
) -> None:
    _app, faults, url = served
    body = {"seed": seed, "rules": [{"path": "/things", "status": 500}]}
    answer = requests.put(f"{url}/-/sandbox/faults", json=body, timeout=5)
    assert answer.status_code == 400
    assert "fault seed" in answer.json()["message"]
    assert faults.rules == [] and faults.seed == 1


def test_a_bad_regex_over_http_is_refused(served: tuple[CountingApp, FaultInjector, str]) -> None:
    _app, faults, url = served
    body = {"rules": [{"path": "/things", "status": 500, "user_agent": "("}]}
    assert requests.put(f"{url}/-/sandbox/faults", json=body, timeout=5).status_code == 400
    assert faults.rules == []


def test_an_injector_without_a_seed_picks_and_reports_one() -> None:
    seeds = {FaultInjector().seed for _ in range(5)}
    assert all(isinstance(seed, int) and 0 <= seed < 2**31 for seed in seeds)
    assert len(seeds) > 1
    replay = FaultInjector(seed=next(iter(seeds)))
    assert replay.seed in seeds


# --- holds a test ends: "release" ------------------------------------------------


def _in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except Exception as error:  # the outcome is what the test checks
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _wait_hit(faults: FaultInjector) -> None:
    deadline = time.monotonic() + 30  # bounds a broken run only
    while not (faults.rules and faults.rules[0].hits):
        assert time.monotonic() < deadline, "the request never arrived"
        time.sleep(0.01)


def test_release_ends_a_latency_hold_and_the_request_is_handled(
    served: tuple[CountingApp, FaultInjector, str],
) -> None:
    app, faults, url = served
    _rules(faults, latency_ms=600_000)  # ten minutes: only a release ends it in this test
    thread, outcome = _in_thread(lambda: requests.post(f"{url}/things", timeout=120))
    _wait_hit(faults)
    assert app.writes == 0  # held before the app
    body = {"rules": [], "release": True}
    assert requests.put(f"{url}/-/sandbox/faults", json=body, timeout=5).status_code == 200
    thread.join(timeout=120)
    assert outcome["value"].status_code == 201
    assert app.writes == 1


def test_release_ends_an_applied_timeout_with_the_dropped_connection(
    served: tuple[CountingApp, FaultInjector, str],
) -> None:
    app, faults, url = served
    _rules(faults, mode="applied_timeout", hold_ms=600_000)
    thread, outcome = _in_thread(lambda: requests.post(f"{url}/things", timeout=120))
    _wait_hit(faults)
    requests.put(f"{url}/-/sandbox/faults", json={"rules": [], "release": True}, timeout=5)
    thread.join(timeout=120)
    assert isinstance(outcome["error"], requests.exceptions.ConnectionError)
    assert app.writes == 1


def test_a_put_without_release_leaves_holds_alone(
    served: tuple[CountingApp, FaultInjector, str],
) -> None:
    """Re-arming a rule while an earlier request is held keeps that request held until
    the release that follows; the request after it meets the new rule."""
    app, faults, url = served
    _rules(faults, latency_ms=600_000, times=1)
    thread, outcome = _in_thread(lambda: requests.post(f"{url}/things", timeout=120))
    _wait_hit(faults)
    _rules(faults, status=503)
    assert app.writes == 0 and thread.is_alive()
    assert _post(url, "kasboot/1") == 503
    faults.replace([{"path": "/things", "status": 503}], release=True)
    thread.join(timeout=120)
    assert outcome["value"].status_code == 201  # its rule was latency only
    assert app.writes == 1
