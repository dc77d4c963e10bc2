"""Step events as JSON lines on a file descriptor (``KASBOOT_EVENTS_FD``), for a parent
process that shows many runs at once (`kasboot fleet`). Only step names, titles,
results and elapsed times travel: never summaries or changes, so never a secret."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import IO, Any

from kasboot.pipeline import Listener, StepReport

EVENTS_FD_VARIABLE = "KASBOOT_EVENTS_FD"


class EventStream:
    """Passes every event on to ``inner`` and writes it as one JSON line."""

    def __init__(self, inner: Listener, stream: IO[str]) -> None:
        self.inner = inner
        self.stream = stream

    def _write(self, event: dict[str, Any]) -> None:
        try:
            self.stream.write(json.dumps(event) + "\n")
            self.stream.flush()
        except OSError:  # the reader went away: the run itself goes on
            pass

    def step_started(self, name: str, title: str) -> None:
        self._write({"event": "started", "step": name, "title": title})
        self.inner.step_started(name, title)

    def step_finished(self, report: StepReport) -> None:
        self._write(
            {
                "event": "finished",
                "step": report.name,
                "result": report.result.value,
                "elapsed": round(report.elapsed, 3),
            }
        )
        self.inner.step_finished(report)

    def __getattr__(self, name: str) -> Any:  # the reporters' other hooks (request, …)
        return getattr(self.inner, name)


def with_event_stream(listener: Listener, env: Mapping[str, str] | None = None) -> Listener:
    raw = (os.environ if env is None else env).get(EVENTS_FD_VARIABLE, "")
    if not raw.isdigit():
        return listener
    try:
        stream = os.fdopen(int(raw), "w", buffering=1, encoding="utf-8", closefd=False)
    except OSError:
        return listener
    return EventStream(listener, stream)
