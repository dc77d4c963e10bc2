"""May kasboot ask the user anything? Never in CI, never when stdin or stdout is not a
terminal, never with --yes/--non-interactive: a prompt there would wait forever (a CI
job has no one to answer), so a missing value must be an error naming the flag and
the environment variable that provide it instead."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import IO, Any

# Values of CI that mean "not in CI": people set CI=false to run a CI tool locally.
_NOT_CI = ("", "0", "false", "no", "off")


def in_ci(env: Mapping[str, str] = os.environ) -> bool:
    """True under GitLab CI (CI=true) and every other CI system that sets CI."""
    return env.get("CI", "").strip().lower() not in _NOT_CI


def _is_tty(stream: IO[Any] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):  # a closed stream
        return False


def prompt_blocker(
    *,
    non_interactive: bool = False,
    env: Mapping[str, str] | None = None,
    stdin: IO[Any] | None = None,
    stdout: IO[Any] | None = None,
) -> str | None:
    """Why no prompt may be shown now, or None when prompting is fine."""
    environ = os.environ if env is None else env
    if non_interactive:
        return "--non-interactive/--yes was given"
    if in_ci(environ):
        return "CI is set"
    if not _is_tty(sys.stdin if stdin is None else stdin):
        return "stdin is not a terminal"
    if not _is_tty(sys.stdout if stdout is None else stdout):
        return "stdout is not a terminal"
    return None


def can_prompt(**kwargs: Any) -> bool:
    return prompt_blocker(**kwargs) is None


def colour_wanted(stream: IO[Any], env: Mapping[str, str] | None = None) -> bool:
    """Colours and spinners only on a terminal, outside CI, without NO_COLOR
    (https://no-color.org: any non-empty value)."""
    environ = os.environ if env is None else env
    return _is_tty(stream) and not in_ci(environ) and not environ.get("NO_COLOR")
