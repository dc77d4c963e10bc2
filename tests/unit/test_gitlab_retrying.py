"""The GitLab session's retry policy as pure logic: jittered exponential waits, the
Retry-After it honours, and the give-up wording."""

from __future__ import annotations

import random
import time
from types import SimpleNamespace

from kasboot.cluster_transport import jittered
from kasboot.gitlab_api.retrying import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    RETRY_AFTER_CAP,
    backoff,
    gave_up,
    retry_after,
)


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    rng = random.Random(7)
    for attempt in range(1, 10):
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        waits = {backoff(attempt, rng) for _ in range(50)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1  # jitter: not the same wait every time


def test_two_clients_do_not_wait_in_step() -> None:
    first, second = random.Random(1), random.Random(2)
    assert [backoff(n, first) for n in range(1, 6)] != [backoff(n, second) for n in range(1, 6)]


def test_cluster_waits_are_jittered_too() -> None:
    assert len({round(jittered(3), 6) for _ in range(20)}) > 1


def test_retry_after_seconds_capped_and_dates_ignored() -> None:
    def answer(value: str) -> SimpleNamespace:
        return SimpleNamespace(headers={"Retry-After": value})

    assert retry_after(answer("2")) == 2.0
    assert retry_after(answer("3600")) == RETRY_AFTER_CAP
    assert retry_after(answer("Wed, 21 Oct 2015 07:28:00 GMT")) is None
    assert retry_after(SimpleNamespace(headers={})) is None


def test_gave_up_wording() -> None:
    text = gave_up(3, time.monotonic(), "GitLab answered 503")
    assert text.startswith("gave up after 3 attempts over ")
    assert text.endswith(" s (last: GitLab answered 503)")
