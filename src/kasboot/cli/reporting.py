"""What every command that runs steps does around them: pick the listener (the live step
list, or silence for --output json) and, at the end, print the JSON document or the
summary and turn an error into its exit code. Also the JSON document of a run that
failed before its command could report (a usage error click caught)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kasboot.bootstrap import BootstrapRun
    from kasboot.gitlab_api import RequestLogger
    from kasboot.pipeline import Listener
    from kasboot.settings import Settings

# (outcome, settings, run) -> prints the text summary on stdout
Summary = Callable[[dict[str, Any], "Settings", "BootstrapRun"], None]


def debug_enabled() -> bool:
    """--debug (or KASBOOT_DEBUG) was given to the kasboot command group."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and isinstance(root.obj, dict) and root.obj.get("debug"))


def listener_for(settings: Settings) -> tuple[Listener, RequestLogger | None]:
    """The step listener, and the request logger for -v or --debug (None otherwise).
    Requests — GitLab's and the cluster's — go to stderr (the JSON document or the plan
    alone is on stdout) with any token in a URL redacted."""
    from kasboot.ui.console import ConsoleReporter, SilentReporter, make_console
    from kasboot.ui.events import with_event_stream
    from kasboot.ui.requestlog import log_cluster_requests

    debug = debug_enabled()
    if settings.output == "json":
        # A parent showing many runs (kasboot fleet) reads step events from a pipe.
        silent = with_event_stream(SilentReporter())
        if not debug:
            return silent, None
        console = ConsoleReporter(make_console())
        log_cluster_requests(console.cluster_request)
        return silent, _redacting(console.request)
    console = ConsoleReporter(verbose=settings.verbose, changes_on_stdout=settings.dry_run)
    if settings.verbose or debug:
        log_cluster_requests(console.cluster_request)
        return with_event_stream(console), _redacting(console.request)
    return with_event_stream(console), None


def request_logger_for(settings: Settings) -> RequestLogger | None:
    """For the commands that only read (doctor, status): requests with -v/--debug."""
    if not (settings.verbose or debug_enabled()):
        return None
    from kasboot.ui.console import ConsoleReporter
    from kasboot.ui.requestlog import log_cluster_requests

    console = ConsoleReporter()  # requests go to stderr, the answer to stdout
    log_cluster_requests(console.cluster_request)
    return _redacting(console.request)


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
    *,
    exit_code: int = 0,
    extra: dict[str, Any] | None = None,
) -> None:
    """One JSON document (exit code from the error), or the summary / the error line.
    `exit_code` is what a run without error ends with (plan --detailed-exitcode)."""
    if settings.output == "json":
        from kasboot.ui.jsonout import report_document

        click.echo(
            report_document(
                command, run.reports, outcome, run.error, exit_code=exit_code, extra=extra
            )
        )
        if run.error is not None:
            sys.exit(int(run.error.exit_code))
    else:
        if run.error is not None:
            raise run.error
        print_summary(outcome, settings, run)
    if exit_code:
        sys.exit(exit_code)


# -- a JSON document when the command never got to report ---------------------------

_OUTPUT_FLAGS = ("-o", "--output")


def json_requested(argv: Sequence[str], env: Mapping[str, str]) -> bool:
    """`-o json`, `--output json`, `--output=json`, `-ojson` or KASBOOT_OUTPUT=json —
    read from argv because click may have failed before it parsed anything."""
    head = list(argv[: argv.index("--")] if "--" in argv else argv)
    found: str | None = None
    for index, arg in enumerate(head):
        if arg in _OUTPUT_FLAGS and index + 1 < len(head):
            found = head[index + 1]
        elif arg.startswith("--output="):
            found = arg.partition("=")[2]
        elif arg.startswith("-o") and len(arg) > 2 and not arg.startswith("--"):
            found = arg[2:].lstrip("=")
    if found is None:
        found = env.get("KASBOOT_OUTPUT")
    return (found or "").strip().lower() == "json"


def command_name(argv: Sequence[str]) -> str:
    """The command words of argv (`token rotate`, `bootstrap`), for the document."""
    from kasboot.cli import COMMANDS

    words = [arg for arg in argv if not arg.startswith("-")]
    if not words:
        return "kasboot"
    first = words[0]
    if first == "token" and len(words) > 1 and words[1] in ("rotate", "list", "revoke"):
        return f"token {words[1]}"
    return first if first in COMMANDS else "kasboot"


def print_error_document(
    argv: Sequence[str], message: str, hint: str | None, exit_code: int
) -> None:
    from kasboot.ui.jsonout import error_document

    click.echo(error_document(command_name(argv), message, hint, exit_code))
