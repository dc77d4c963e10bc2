"""The command line. Thin: parse, build settings, run, report. Sub-commands are
imported only when invoked, so `kasboot --help` stays fast."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Mapping
from types import FrameType
from typing import NoReturn

import click

from kasboot import __version__
from kasboot.errors import ExitCode, KasbootError, printed_line
from kasboot.secret_scan import redact

# name -> "module:attribute"; a module is imported only when its command runs.
COMMANDS: dict[str, str] = {
    "bootstrap": "kasboot.cli.bootstrap:bootstrap",
    "completion": "kasboot.cli.completion:completion",
    "demo": "kasboot.cli.demo:demo",
    "doctor": "kasboot.cli.doctor:doctor",
    "fleet": "kasboot.cli.fleet:fleet",
    "plan": "kasboot.cli.bootstrap:plan",
    "render": "kasboot.cli.render:render",
    "sandbox": "kasboot.cli.sandbox:sandbox",
    "status": "kasboot.cli.doctor:status",
    "token": "kasboot.cli.token:token",
    "uninstall": "kasboot.cli.uninstall:uninstall",
    "wizard": "kasboot.cli.wizard:wizard",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kasboot")
@click.option(
    "--debug",
    is_flag=True,
    envvar="KASBOOT_DEBUG",
    help="Show tracebacks (exit codes stay as documented) and every GitLab API request "
    "(method, URL with tokens redacted, status, time).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Connect a Kubernetes cluster to GitLab through the GitLab agent (agentk) and Flux."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI job cancelled, `kill`), raised like Ctrl-C so that every layer
    unwinds the same way, and told apart at the end for its own exit code."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def debug_requested(argv: list[str], env: Mapping[str, str]) -> bool:
    """--debug, or KASBOOT_DEBUG set to a true word (click's reading: "0"/"false" are off)."""
    if "--debug" in _options_part(argv):
        return True
    return env.get("KASBOOT_DEBUG", "").strip().lower() in ("1", "true", "t", "yes", "y", "on")


def _options_part(argv: list[str]) -> list[str]:
    return argv[: argv.index("--")] if "--" in argv else argv


def hoist_debug(argv: list[str]) -> list[str]:
    """`kasboot bootstrap … --debug` means `kasboot --debug bootstrap …`: the flag
    belongs to the group, but people add it at the end of the line they just ran."""
    head = _options_part(argv)
    if "--debug" not in head:
        return argv
    return ["--debug", *(arg for arg in head if arg != "--debug"), *argv[len(head) :]]


def _interrupted(signal_name: str, code: ExitCode) -> NoReturn:
    click.echo(
        f"Interrupted. ({signal_name}) What was done stays done — run the same command "
        "again to finish: every step picks up from there",
        err=True,
    )
    sys.exit(int(code))


def main(argv: list[str] | None = None) -> None:
    """Entry point: maps kasboot's errors to their exit codes and one clear line
    (after the traceback with --debug: debugging never changes an exit code)."""
    args = hoist_debug(list(argv if argv is not None else sys.argv[1:]))
    debug = debug_requested(args, os.environ)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main(args=args, prog_name="kasboot", standalone_mode=False)
    except KasbootError as error:
        if debug:
            traceback.print_exc()
        click.echo(f"Error: {printed_line(error)}", err=True)
        sys.exit(int(error.exit_code))
    except (click.exceptions.Abort, KeyboardInterrupt) as interrupt:
        cause = interrupt.__cause__ or interrupt.__context__
        if isinstance(interrupt, Terminated) or isinstance(cause, Terminated):
            _interrupted("SIGTERM", ExitCode.TERMINATED)
        _interrupted("SIGINT", ExitCode.INTERRUPTED)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(int(ExitCode.USAGE))
    except Exception as error:  # a bug: keep it short unless asked
        if debug:
            traceback.print_exc()
        click.echo(
            f"Internal error: {type(error).__name__}: {redact(str(error))}"
            + ("" if debug else " (re-run with --debug for the trace)"),
            err=True,
        )
        sys.exit(int(ExitCode.INTERNAL))
