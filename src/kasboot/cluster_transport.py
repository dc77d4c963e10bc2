"""How the cluster seam talks HTTP: per-request timeouts, a bounded total, retries of
transient answers, and errors in words. cluster.py builds on it; nothing here knows
kasboot's objects.

- Every call gets ``_request_timeout`` (connect, read) — the kubernetes client has none
  by default, so a hung API server was waited on forever — capped by what is left of
  the run's deadline (``--timeout``); past it a call fails at once (exit 5).
- Transient answers (429, 500, 502, 503, 504) and dropped connections are retried by
  urllib3's Retry with exponential backoff, for writes too: every write kasboot makes
  is idempotent (merge patches of fixed values, PUT with a resourceVersion, creates of
  fixed names whose repeat answers AlreadyExists, handled by the caller). Retry-After
  is honoured but capped, and no retry sleeps past the deadline. When the retries are
  spent the last answer is returned (``raise_on_status=False``), so the error names
  what the cluster answered instead of urllib3's MaxRetryError, and how many attempts
  over how long it took ("gave up after N attempts over T s").
- A body cut off after the answer began (urllib3 reads it after its retry is done:
  ProtocolError / IncompleteRead) is retried here, up to ``CUT_ATTEMPTS`` in all.
- Every wait grows exponentially with jitter, so that clients hit by the same outage
  do not come back in step.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from urllib3.util.retry import Retry

# After the Flux wait ends at --timeout, the reads that diagnose a failure still get
# this long before the cluster seam refuses to send anything.
DIAGNOSIS_GRACE = 5.0
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
RETRY_AFTER_CAP = 10.0  # seconds: a Retry-After beyond this is not waited for in full
TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CUT_ATTEMPTS = 5  # attempts of one call whose answer is cut off mid-way
_JITTER = random.Random()
F = TypeVar("F", bound=Callable[..., Any])


class Deadline:
    """The run's end on the monotonic clock (None: unbounded)."""

    def __init__(self, seconds: float | None) -> None:
        self.at: float | None = None
        self.retried = 0  # urllib3 retries since the current call began (for the wording)
        if seconds is not None:
            self.start(seconds)

    def start(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def passed(self) -> bool:
        remaining = self.remaining()
        return remaining is not None and remaining <= 0


class BoundedRetry(Retry):
    """urllib3's Retry, with a Retry-After cap and no sleep past the run's deadline."""

    deadline: Deadline | None = None

    def new(self, **kwargs: Any) -> BoundedRetry:
        renewed = super().new(**kwargs)
        assert isinstance(renewed, BoundedRetry)
        renewed.deadline = self.deadline
        return renewed

    def _bounded(self, seconds: float) -> float:
        remaining = self.deadline.remaining() if self.deadline is not None else None
        if remaining is not None:
            seconds = min(seconds, max(0.0, remaining))
        return seconds

    def increment(self, *args: Any, **kwargs: Any) -> BoundedRetry:
        renewed = super().increment(*args, **kwargs)
        if self.deadline is not None:
            self.deadline.retried += 1
        assert isinstance(renewed, BoundedRetry)
        return renewed

    def get_retry_after(self, response: Any) -> float | None:
        retry_after = super().get_retry_after(response)
        if retry_after is None:
            return None
        return self._bounded(min(float(retry_after), RETRY_AFTER_CAP))

    def get_backoff_time(self) -> float:
        return self._bounded(float(super().get_backoff_time()))

    def is_exhausted(self) -> bool:
        return bool(super().is_exhausted()) or (
            self.deadline is not None and self.deadline.passed()
        )


def retry_policy(deadline: Deadline) -> BoundedRetry:
    retry = BoundedRetry(
        total=5,
        connect=3,
        read=3,
        status=4,
        backoff_factor=0.3,
        backoff_max=4.0,
        backoff_jitter=0.3,
        status_forcelist=TRANSIENT_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", *WRITE_METHODS}),
        raise_on_status=False,
    )
    retry.deadline = deadline
    return retry


class DeadlinePassed(Exception):
    """The run's --timeout is spent: no further request is sent."""


def request_timeout(deadline: Deadline, read: float = READ_TIMEOUT) -> tuple[float, float]:
    remaining = deadline.remaining()
    if remaining is None:
        return (CONNECT_TIMEOUT, read)
    if remaining <= 0:
        raise DeadlinePassed
    return (min(CONNECT_TIMEOUT, remaining), min(read, remaining))


class GaveUp(Exception):
    """A call kept failing until its attempts were spent; ``str()`` says how."""


def gave_up(attempts: int, started: float) -> str:
    noun = "attempt" if attempts == 1 else "attempts"
    return f"gave up after {attempts} {noun} over {time.monotonic() - started:.1f} s"


def jittered(attempt: int) -> float:
    ceiling = min(2.0, 0.2 * 2 ** (attempt - 1))
    return ceiling / 2 + _JITTER.uniform(0, ceiling / 2)


def with_retries(call: Callable[[], Any], deadline: Deadline) -> Any:
    """``call()``, again after a cut-off answer, and with the attempts counted: an
    answer that stays transient carries ``gave_up`` (its wording) when it is raised."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import ProtocolError

    started = time.monotonic()
    attempts = 0
    while True:
        deadline.retried = 0
        attempts += 1
        try:
            return call()
        except ApiException as error:
            attempts += deadline.retried
            if error.status in TRANSIENT_STATUSES and attempts > 1:
                error.gave_up = gave_up(attempts, started)  # type: ignore[attr-defined]
            raise
        except ProtocolError as error:
            attempts += deadline.retried
            remaining = deadline.remaining()
            wait = jittered(attempts)
            if attempts >= CUT_ATTEMPTS or (remaining is not None and remaining <= wait):
                raise GaveUp(f"{transport_failure(error)}; {gave_up(attempts, started)}") from error
            time.sleep(wait)


def transport_failure(error: BaseException) -> str:
    """A urllib3/socket failure in words (the cause, not the exception class)."""
    from urllib3 import exceptions

    reason: Any = error
    if isinstance(error, exceptions.MaxRetryError) and error.reason is not None:
        reason = error.reason
    if isinstance(reason, exceptions.ResponseError):
        return f"it kept answering errors ({reason})"
    # NewConnectionError is a ConnectTimeoutError to urllib3: look at it first
    if isinstance(reason, exceptions.NewConnectionError):
        text = str(reason).lower()
        if "refused" in text:
            return "connection refused"
        if "resolve" in text or "name or service not known" in text:
            return "the host name does not resolve"
        return "no connection could be made"
    if isinstance(reason, exceptions.ConnectTimeoutError):
        return "no connection could be made in time"
    if isinstance(reason, exceptions.ReadTimeoutError):
        return "it accepted the connection but sent no answer in time"
    if isinstance(reason, exceptions.SSLError):
        text = str(reason)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            return "TLS: certificate verify failed"
        return f"TLS: {text}"
    if isinstance(reason, exceptions.ProtocolError):
        return "the connection was closed before the answer was complete"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "no answer in time"
    return str(reason) or type(reason).__name__
