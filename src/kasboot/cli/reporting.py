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


def debug_enabled() -> bool:
    """--debug (or KASBOOT_DEBUG) was given to the kasboot command group."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and isinstance(root.obj, dict) and root.obj.get("debug"))


def listener_for(settings: Settings) -> tuple[Listener, RequestLogger | None]:
    """The step listener, and the request logger for -v or --debug (None otherwise).
    Requests go to stderr (the JSON document alone is on stdout) with any token in a
    URL redacted."""
    from kasboot.ui.console import ConsoleReporter, SilentReporter, make_console
    from kasboot.ui.events import with_event_stream

    debug = debug_enabled()
    if settings.output == "json":
        if not debug:
            return with_event_stream(SilentReporter()), None
        return with_event_stream(SilentReporter()), _redacting(
            ConsoleReporter(make_console()).request
        )
    console = ConsoleReporter(verbose=settings.verbose)
    if settings.verbose or debug:
        return with_event_stream(console), _redacting(console.request)
    return with_event_stream(console), None


def _redacting(log: RequestLogger) -> RequestLogger:
    from kasboot.secret_scan import redact_url

    def logged(method: str, url: str, status: int, seconds: float) -> None:
        log(method, redact_url(url), status, seconds)

    return logged


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
