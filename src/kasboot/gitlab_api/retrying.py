"""The requests session under python-gitlab: every retry of a GitLab request is decided
here, with one policy, so that the run's --timeout bounds GitLab's part too.

python-gitlab's own retry (ten attempts, 0.1 s doubling, no jitter; a hung GitLab
11 × 30 s) is switched off; this session sends each request itself and decides:

- a failure before anything was sent (connection refused, DNS, TLS, connect timeout)
  is final at once — raised as ``Unreachable``, which python-gitlab does not retry;
- 429 is retried after its ``Retry-After`` (the request was refused, not handled);
- an idempotent request (GET, HEAD, PUT, DELETE, and a POST the seam marks idempotent)
  answered 500/502/503/504, cut off, or unanswered within the read timeout is tried
  again, up to ``MAX_ATTEMPTS`` in all (at most ``MAX_TIMEOUTS`` of them timeouts);
- any other POST answered 5xx or with no answer goes back to the seam at once (GitLab
  may have acted: writes.py reads GitLab again before anything is re-sent);
- waits grow exponentially with jitter (so that many clients hit by the same outage do
  not come back in step), a 503's Retry-After is honoured too, and no wait or request
  runs past the run's deadline;
- when the attempts are spent: ``Unreachable("gave up after N attempts over T s …")``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from kasboot.cluster_transport import Deadline
from kasboot.gitlab_api.failures import (
    CONNECT_TIMEOUT,
    Unreachable,
    before_send,
    describe,
    read_timeout,
)

MAX_ATTEMPTS = 8  # attempts of one request in all
MAX_TIMEOUTS = 3  # of which at most this many read timeouts (each costs the read timeout)
BACKOFF_BASE = 0.25  # seconds before the second attempt, doubling after that …
BACKOFF_CAP = 4.0  # … up to this
RETRY_AFTER_CAP = 30.0  # a longer Retry-After is not waited for in full
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def backoff(attempt: int, rng: random.Random) -> float:
    """The wait after the ``attempt``-th failure: half fixed, half random ("equal
    jitter"), so waits still grow while clients spread out."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retry_after(response: Any) -> float | None:
    raw = str(response.headers.get("Retry-After", "") or "").strip()
    try:
        return max(0.0, min(float(raw), RETRY_AFTER_CAP)) if raw else None
    except ValueError:
        return None  # an HTTP date: fall back to the backoff


def gave_up(attempts: int, started: float, last: str) -> str:
    seconds = time.monotonic() - started
    noun = "attempt" if attempts == 1 else "attempts"
    return f"gave up after {attempts} {noun} over {seconds:.1f} s (last: {last})"


class GuardedSession(requests.Session):
    """A requests session that retries what may be retried, and ends in time."""

    def __init__(self, rng: random.Random | None = None) -> None:
        super().__init__()
        self.read_timeout = read_timeout()
        self.deadline = Deadline(None)
        self.timeout_label = ""  # "--timeout (300s)" once the run is bounded
        self._idempotent_post = False
        self._random = rng or random.Random()

    @contextmanager
    def idempotent_post(self) -> Iterator[None]:
        """POSTs sent inside may be repeated (the seam knows a repeat changes nothing)."""
        self._idempotent_post = True
        try:
            yield
        finally:
            self._idempotent_post = False

    def _timeouts(self) -> tuple[float, float]:
        remaining = self.deadline.remaining()
        if remaining is None:
            return (CONNECT_TIMEOUT, self.read_timeout)
        return (min(CONNECT_TIMEOUT, remaining), min(self.read_timeout, remaining))

    def _wait(self, seconds: float, attempts: int, started: float, last: str) -> None:
        remaining = self.deadline.remaining()
        if remaining is not None and remaining <= seconds:
            raise Unreachable(f"{self.timeout_label} spent: {gave_up(attempts, started, last)}")
        time.sleep(seconds)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        verb = (method.decode() if isinstance(method, bytes) else str(method)).upper()
        repeatable = verb in IDEMPOTENT_METHODS or self._idempotent_post
        started = time.monotonic()
        attempts = timeouts = 0
        while True:
            if self.deadline.passed():
                last = "no attempt left" if not attempts else "out of time"
                raise Unreachable(f"{self.timeout_label} spent: {gave_up(attempts, started, last)}")
            attempts += 1
            kwargs["timeout"] = self._timeouts()
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.exceptions.RequestException as error:
                if before_send(error):
                    raise Unreachable(describe(error)) from error
                timed_out = isinstance(error, requests.exceptions.Timeout)
                timeouts += timed_out
                last = describe(error, kwargs["timeout"][1])
                if not repeatable:
                    raise  # GitLab may have acted: the seam reads before re-sending
                if attempts >= MAX_ATTEMPTS or timeouts >= MAX_TIMEOUTS:
                    raise Unreachable(gave_up(attempts, started, last)) from error
                self._wait(backoff(attempts, self._random), attempts, started, last)
                continue
            status = response.status_code
            if status != 429 and not (status in RETRYABLE_STATUSES and repeatable):
                return response  # success, a definite answer, or a POST's unclear 5xx
            last = f"GitLab answered {status}"
            if attempts >= MAX_ATTEMPTS:
                raise Unreachable(gave_up(attempts, started, last))
            wait = retry_after(response) if status in (429, 503) else None
            response.close()
            self._wait(
                backoff(attempts, self._random) if wait is None else wait, attempts, started, last
            )
