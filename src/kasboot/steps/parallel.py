"""Independent reads at once: pre-flight's GitLab reads and cluster reads do not wait for
each other. Daemon threads, so that an interrupt (Ctrl-C: exit 130) never waits for a
read still in flight; errors come back in the order the reads were given (the first
one's error first), the order the checks had when they ran one after the other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def run_together(*reads: Callable[[], Any]) -> list[Any]:
    """Run ``reads`` at once (the first in this thread); their results in order, or the
    first read's error, then the second's, …"""
    results: list[Any] = [None] * len(reads)
    errors: list[BaseException | None] = [None] * len(reads)

    def run(index: int) -> None:
        try:
            results[index] = reads[index]()
        except BaseException as error:  # re-raised in the caller's thread
            errors[index] = error

    threads = [
        threading.Thread(target=run, args=(index,), daemon=True, name=f"read-{index}")
        for index in range(1, len(reads))
    ]
    for thread in threads:
        thread.start()
    if reads:
        run(0)
    for thread in threads:
        wait_for(thread)
    for error in errors:
        if error is not None:
            raise error
    return results


def wait_for(thread: threading.Thread) -> None:
    while thread.is_alive():
        thread.join(0.1)  # short joins: a signal handler still runs in this thread
