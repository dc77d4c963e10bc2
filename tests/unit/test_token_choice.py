"""Which token the cluster holds, and which one may be revoked at the 2-token limit."""

from __future__ import annotations

from kasboot.cluster import TOKEN_ID_ANNOTATION
from kasboot.steps.token import held_token_id, revocation_order


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
