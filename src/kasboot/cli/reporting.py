"""What every command that runs steps does around them: pick the listener (the live step
list, or silence for --output json) and, at the end, print the JSON document or the
summary and turn an error into its exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kasboot.bootstrap import BootstrapRun
    from kasboot.gitlab_api import RequestLogger
    from kasboot.pipeline import Listener
    from kasboot.settings import Settings

Summary = Callable[[dict[str, Any], bool], None]


def listener_for(settings: Settings) -> tuple[Listener, RequestLogger | None]:
    """The step listener, and the request logger for -v (None otherwise)."""
    from kasboot.ui.console import ConsoleReporter, SilentReporter

    if settings.output == "json":
        return SilentReporter(), None
    console = ConsoleReporter(verbose=settings.verbose)
    return console, console.request if settings.verbose else None


def finish(
    command: str,
    run: BootstrapRun,
    outcome: dict[str, Any],
    settings: Settings,
    print_summary: Summary,
) -> None:
    """One JSON document (exit code from the error), or the summary / the error line."""
    if settings.output == "json":
        from kasboot.ui.jsonout import report_document

        click.echo(report_document(command, run.reports, outcome, run.error))
        if run.error is not None:
            sys.exit(int(run.error.exit_code))
        return
    if run.error is not None:
        raise run.error
    print_summary(outcome, settings.dry_run)
