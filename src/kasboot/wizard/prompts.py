"""The wizard's questions as questionary asks them, and its lines of text. Prompts
raise KeyboardInterrupt on Ctrl-C (`unsafe_ask`), which the entry point turns into
exit 130; until the last confirmation the wizard has only read."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import click
import questionary


def say(text: str = "", *, style: str | None = None) -> None:
    click.echo(click.style(text, fg=style) if style and not os.environ.get("NO_COLOR") else text)


@contextmanager
def reading(what: str) -> Iterator[None]:
    """A line before a read that can take a while, so the wizard never sits silent
    (a spinner would fight questionary for the terminal)."""
    say(f"  {what} …", style="bright_black")
    yield


def ask_text(message: str, default: str = "", validate: Any = None) -> str:
    answer = questionary.text(message, default=default, validate=validate).unsafe_ask()
    return str(answer).strip()


def ask_select(message: str, choices: Mapping[str, str], default: str) -> str:
    options = [questionary.Choice(title, value=value) for value, title in choices.items()]
    return str(questionary.select(message, choices=options, default=default).unsafe_ask())


def ask_confirm(message: str, default: bool) -> bool:
    return bool(questionary.confirm(message, default=default).unsafe_ask())
