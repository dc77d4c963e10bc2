"""Independent reads at once: pre-flight's GitLab reads and cluster reads do not wait for
each other. Daemon threads, so that an interrupt (Ctrl-C: exit 130) never waits for a
read still in flight; errors come back in the order the reads were given (the first
one's error first), the order the checks had when they ran one after the other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Outcome = tuple[Any, BaseException | None]  # (result, error): one of them is set


class InThread:
    """``read`` running in a daemon thread; its result or error is taken in the caller's
    thread (``outcome``)."""

    def __init__(self, read: Callable[[], Any], name: str) -> None:
        self._outcome: Outcome = (None, None)
        self._thread = threading.Thread(target=self._run, args=(read,), name=name, daemon=True)
        self._thread.start()

    def _run(self, read: Callable[[], Any]) -> None:
        self._outcome = _outcome_of(read)

    def settled(self) -> Outcome:
        """Wait for the read to end; its (result, error)."""
        while self._thread.is_alive():
            self._thread.join(0.1)  # short joins: a signal handler still runs in this thread
        return self._outcome

    def outcome(self) -> Any:
        """Wait for the read to end; its result, or its error raised here."""
        return _raised(self.settled())


def run_together(*reads: Callable[[], Any]) -> list[Any]:
    """Run ``reads`` at once (the first in this thread); their results in order, or the
    first read's error, then the second's, …"""
    started = [InThread(read, f"read-{index}") for index, read in enumerate(reads[1:], start=1)]
    outcomes = [_outcome_of(reads[0])] if reads else []
    outcomes.extend(thread.settled() for thread in started)
    return [_raised(outcome) for outcome in outcomes]


def _outcome_of(read: Callable[[], Any]) -> Outcome:
    try:
        return read(), None
    except BaseException as error:  # re-raised in the caller's thread
        return None, error


def _raised(outcome: Outcome) -> Any:
    result, error = outcome
    if error is not None:
        raise error
    return result
