"""Which agent token may make room under GitLab's limit of two active tokens — pure
logic, so every rule has a unit test.

Never the token the cluster holds. Without --force, also never:
- a token used in the last hour when the cluster's Secret does not say which token it
  holds (GitLab counts an agent connected for an hour after its last use: that token may
  be the one this, or another, cluster runs on);
- a token kasboot minted in the last few minutes and never used: another kasboot run
  may be storing it in a Secret right now (its agent has not started with it yet).
Of the tokens left, the longest unused goes first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from kasboot.doctor.context import parse_gitlab_time as parse_time
from kasboot.errors import PreflightError
from kasboot.ownership import minted_by_kasboot

CONNECTED_WINDOW = timedelta(hours=1)  # GitLab's "connected" window for an agent
IN_FLIGHT_WINDOW = timedelta(minutes=10)  # a fresh, unused token may be another run's


def revocation_order(tokens: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Longest unused first: never-used tokens, then the oldest last use; ties by age."""
    return sorted(tokens, key=lambda t: (t.get("last_used_at") or "", t.get("created_at") or ""))


@dataclass(frozen=True)
class Blocked:
    token: Mapping[str, Any]
    why: str


def blocked_reason(
    token: Mapping[str, Any], *, held_known: bool, now: datetime, agent: str
) -> str | None:
    """Why this token (not held by the cluster) must not be revoked without --force."""
    used = parse_time(token.get("last_used_at"))
    created = parse_time(token.get("created_at"))
    fresh = created is not None and now - created < IN_FLIGHT_WINDOW
    if used is None and fresh and minted_by_kasboot(token, agent):
        return (
            f"minted at {token.get('created_at')} and never used: another kasboot run may "
            "be storing it in a cluster"
        )
    if not held_known and used is not None and now - used < CONNECTED_WINDOW:
        return (
            f"used at {token.get('last_used_at')}, within the last hour, and the cluster's "
            "Secret does not say which token it holds: an agent may be connected with it"
        )
    return None


def choose_revocation(
    candidates: Sequence[Mapping[str, Any]],
    *,
    held_known: bool,
    force: bool,
    agent: str,
    now: datetime | None = None,
) -> Mapping[str, Any]:
    """The token to revoke among ``candidates`` (active, not held by the cluster);
    refuses (exit 3) when every one is blocked, naming each and why."""
    moment = now or datetime.now(timezone.utc)
    ordered = revocation_order(candidates)
    if force:
        return ordered[0]
    blocked = []
    for token in ordered:
        why = blocked_reason(token, held_known=held_known, now=moment, agent=agent)
        if why is None:
            return token
        blocked.append(Blocked(token, why))
    details = "; ".join(
        f"token {b.token.get('id')} ({b.token.get('name')}; "
        f"{b.token.get('description') or 'no description'}) {b.why}"
        for b in blocked
    )
    raise PreflightError(
        f"the agent has {len(candidates) + int(held_known)} active tokens (GitLab's limit is "
        f"2) and none may be revoked safely: {details}",
        hint="revoke one you know is unused with `kasboot token revoke AGENT ID`, or pass "
        "--force to revoke the longest unused anyway",
    )
