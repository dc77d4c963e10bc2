"""When kasboot may prompt, and when colours and spinners are wanted."""

from __future__ import annotations

import io
import os
import pty
from collections.abc import Iterator
from typing import IO, Any

import pytest

from kasboot.wizard.prompting import can_prompt, colour_wanted, in_ci, prompt_blocker


@pytest.fixture
def tty() -> Iterator[IO[Any]]:
    """A real terminal (the slave end of a pseudo-terminal)."""
    master, slave = pty.openpty()
    stream = os.fdopen(slave, "w")
    try:
        yield stream
    finally:
        stream.close()
        os.close(master)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("yes", True), ("TRUE", True), ("", False), ("false", False),
     ("0", False), ("no", False), (None, False)],
)  # fmt: skip
def test_ci_detection(value: str | None, expected: bool) -> None:
    env = {} if value is None else {"CI": value}
    assert in_ci(env) is expected


def test_prompt_blockers_in_order(tty: IO[Any]) -> None:
    pipe = io.StringIO()
    cases = [
        ({"non_interactive": True, "env": {}, "stdin": tty, "stdout": tty},
         "--non-interactive/--yes was given"),
        ({"env": {"CI": "true"}, "stdin": tty, "stdout": tty}, "CI is set"),
        ({"env": {}, "stdin": pipe, "stdout": tty}, "stdin is not a terminal"),
        ({"env": {}, "stdin": tty, "stdout": pipe}, "stdout is not a terminal"),
        ({"env": {"CI": "false"}, "stdin": tty, "stdout": tty}, None),
    ]  # fmt: skip
    for kwargs, reason in cases:
        assert prompt_blocker(**kwargs) == reason
    assert can_prompt(env={}, stdin=tty, stdout=tty)


def test_closed_stdin_blocks_prompts(tty: IO[Any]) -> None:
    closed = io.StringIO()
    closed.close()
    assert prompt_blocker(env={}, stdin=closed, stdout=tty) == "stdin is not a terminal"


def test_colour_only_on_a_terminal_outside_ci_without_no_color(tty: IO[Any]) -> None:
    assert colour_wanted(tty, {}) is True
    assert colour_wanted(tty, {"NO_COLOR": "1"}) is False
    assert colour_wanted(tty, {"CI": "true"}) is False
    assert colour_wanted(io.StringIO(), {}) is False
