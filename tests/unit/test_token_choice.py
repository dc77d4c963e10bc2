"""Which token the cluster holds, and which one may be revoked at the 2-token limit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kasboot.cluster import TOKEN_ID_ANNOTATION
from kasboot.errors import PreflightError
from kasboot.steps.token import held_token_id
from kasboot.steps.token_choice import choose_revocation, revocation_order

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def at(delta: timedelta) -> str:
    return (NOW - delta).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_held_token_id_reads_the_annotation() -> None:
    secret = {"metadata": {"annotations": {TOKEN_ID_ANNOTATION: "42"}}}
    assert held_token_id(secret) == 42
    assert held_token_id({"metadata": {}}) is None
    assert held_token_id({"metadata": {"annotations": {TOKEN_ID_ANNOTATION: "x"}}}) is None
    assert held_token_id(None) is None


def test_revocation_order_puts_the_longest_unused_first() -> None:
    tokens = [
        {"id": 1, "last_used_at": "2026-11-20T10:00:00Z", "created_at": "2026-01-01T00:00:00Z"},
        {"id": 2, "last_used_at": None, "created_at": "2026-05-01T00:00:00Z"},
        {"id": 3, "last_used_at": "2026-10-01T10:00:00Z", "created_at": "2026-02-01T00:00:00Z"},
        {"id": 4, "last_used_at": None, "created_at": "2026-03-01T00:00:00Z"},
    ]
    assert [t["id"] for t in revocation_order(tokens)] == [4, 2, 3, 1]


def test_a_token_used_in_the_last_hour_is_kept_when_the_held_one_is_unknown() -> None:
    recent = {
        "id": 1,
        "name": "a",
        "last_used_at": at(timedelta(minutes=20)),
        "created_at": at(timedelta(days=9)),
    }
    old = {
        "id": 2,
        "name": "b",
        "last_used_at": at(timedelta(hours=3)),
        "created_at": at(timedelta(days=8)),
    }
    chosen = choose_revocation([recent, old], held_known=False, force=False, agent="x", now=NOW)
    assert chosen["id"] == 2
    with pytest.raises(PreflightError) as refused:
        choose_revocation(
            [recent, dict(recent, id=3)], held_known=False, force=False, agent="x", now=NOW
        )
    assert "within the last hour" in refused.value.message and "token 1" in refused.value.message
    assert choose_revocation([recent], held_known=False, force=True, agent="x", now=NOW)["id"] == 1
    # The cluster's token is known: the other one (its predecessor) may go.
    assert choose_revocation([recent], held_known=True, force=False, agent="x", now=NOW)["id"] == 1


def test_a_fresh_unused_token_may_be_another_runs_and_is_kept() -> None:
    fresh = {"id": 5, "name": "kasboot-x-1796115000-a1b2c3", "created_at": at(timedelta(minutes=1))}
    with pytest.raises(PreflightError) as refused:
        choose_revocation([fresh], held_known=True, force=False, agent="x", now=NOW)
    assert "another kasboot run" in refused.value.message
    stale = dict(fresh, created_at=at(timedelta(hours=2)))
    assert choose_revocation([stale], held_known=True, force=False, agent="x", now=NOW)["id"] == 5
    # One minted by hand is not another kasboot run's: it may go.
    by_hand = dict(fresh, name="someone-else")
    assert choose_revocation([by_hand], held_known=True, force=False, agent="x", now=NOW)["id"] == 5
