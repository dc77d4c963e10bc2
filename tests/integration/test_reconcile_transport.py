"""The cluster seam's transport rules (cluster_transport.py), as pure logic: failures in
words, the Retry-After cap, no retry past the run's deadline, per-request timeouts
capped by what is left."""

from __future__ import annotations

import pytest
from urllib3 import exceptions

from kasboot.cluster_transport import (
    RETRY_AFTER_CAP,
    Deadline,
    DeadlinePassed,
    request_timeout,
    retry_policy,
    transport_failure,
)


class _Answer:
    def __init__(self, retry_after: str) -> None:
        self.headers = {"Retry-After": retry_after}


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            exceptions.MaxRetryError(
                None,
                "/",
                exceptions.NewConnectionError(None, "Connection refused"),  # type: ignore[arg-type]
            ),
            "connection refused",
        ),
        (exceptions.ProtocolError("Connection broken"), "closed before the answer"),
        (exceptions.ReadTimeoutError(None, "/", "read timed out"), "no answer in time"),  # type: ignore[arg-type]
        (
            exceptions.MaxRetryError(
                None, "/", exceptions.ResponseError("too many 500 error responses")
            ),  # type: ignore[arg-type]
            "kept answering errors",
        ),
        (
            exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            "certificate verify failed",
        ),
    ],
)
def test_transport_failures_in_words(error: Exception, words: str) -> None:
    assert words in transport_failure(error)


def test_retry_after_is_capped_and_never_sleeps_past_the_deadline() -> None:
    unbounded = retry_policy(Deadline(None))
    assert unbounded.get_retry_after(_Answer("3600")) == RETRY_AFTER_CAP
    bounded = retry_policy(Deadline(2.0))
    waited = bounded.get_retry_after(_Answer("3600"))
    assert waited is not None and waited <= 2.0
    assert bounded.new(total=3).deadline is bounded.deadline  # kept across retries
    spent = retry_policy(Deadline(-1.0))
    assert spent.is_exhausted()


def test_request_timeouts_are_capped_by_the_deadline() -> None:
    assert request_timeout(Deadline(None)) == (10.0, 30.0)
    connect, read = request_timeout(Deadline(3.0))
    assert connect <= 3.0 and read <= 3.0
    with pytest.raises(DeadlinePassed):
        request_timeout(Deadline(-1.0))
