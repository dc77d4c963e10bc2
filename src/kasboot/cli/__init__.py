"""The command line. Thin: parse, build settings, run, report.

Start-up is part of the interface (a TAB completion, `--help`, `--version` in a script):
the group knows each command's name and one-line help without importing it, so
`kasboot --help` and `--version` import click and nothing heavy; a command's module
(and whatever it pulls in: the GitLab and Kubernetes clients, ruamel, the sandbox) is
imported only when that command is invoked or asked for its own --help."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

import click

from kasboot import __version__
from kasboot.cli.argv import DEBUG, options_part, place_global_flags
from kasboot.errors import ExitCode, KasbootError, printed_line

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


class Entry:
    """A sub-command as the group lists it: where it lives and its one-line help (the
    first sentence of its docstring; tests/unit/test_cli_startup.py keeps them equal)."""

    def __init__(self, target: str, short_help: str) -> None:
        self.target = target
        self.short_help = short_help


# name -> where the command lives and what `kasboot --help` says about it.
COMMANDS: dict[str, Entry] = {
    "bootstrap": Entry(
        "kasboot.cli.bootstrap:bootstrap",
        "Register AGENT in the GitLab project and install it in the cluster with Flux.",
    ),
    "completion": Entry(
        "kasboot.cli.completion:completion",
        "Print the shell completion script for SHELL (bash, zsh or fish).",
    ),
    "demo": Entry(
        "kasboot.cli.demo:demo",
        "Run the narrated demo on the embedded sandbox (nothing outside 127.0.0.1).",
    ),
    "doctor": Entry(
        "kasboot.cli.doctor:doctor",
        "Check everything bootstrap depends on, and AGENT's state when given.",
    ),
    "fleet": Entry(
        "kasboot.cli.fleet:fleet",
        "Bootstrap many clusters from one fleet file: plan, apply, or a CI pipeline.",
    ),
    "glab": Entry(
        "kasboot.cli.glab:glab",
        "kasboot inside glab: `glab kasboot …` and `glab cluster-bootstrap …`.",
    ),
    "plan": Entry(
        "kasboot.cli.bootstrap:plan",
        "Show every change `bootstrap` would make, diffs included; write nothing.",
    ),
    "render": Entry(
        "kasboot.cli.render:render",
        "Print the manifests bootstrap would commit for AGENT (to stdout, as YAML).",
    ),
    "sandbox": Entry(
        "kasboot.cli.sandbox:sandbox",
        "The emulated world (GitLab + Kubernetes + Flux) on loopback, for demos and tests.",
    ),
    "status": Entry(
        "kasboot.cli.doctor:status",
        "Show AGENT at a glance: registered? tokens (last used)? Secret (which token)? "
        "HelmRelease Ready? connected?",
    ),
    "token": Entry("kasboot.cli.token:token", "Manage the agent token."),
    "uninstall": Entry(
        "kasboot.cli.uninstall:uninstall",
        "Remove AGENT from the cluster and the repository: the reverse of bootstrap, "
        "touching only what is AGENT's.",
    ),
    "wizard": Entry(
        "kasboot.cli.wizard:wizard",
        "Bootstrap interactively: each value asked with a detected default.",
    ),
}
# glab's spellings: `glab cluster agent bs` is `bootstrap`.
ALIASES: dict[str, str] = {"bs": "bootstrap"}


def load_command(name: str) -> click.Command | None:
    """The click command `name` (or an alias of it) stands for, imported now."""
    entry = COMMANDS.get(ALIASES.get(name, name))
    if entry is None:
        return None
    module_name, attribute = entry.target.split(":")
    command = getattr(importlib.import_module(module_name), attribute)
    assert isinstance(command, click.Command)
    return command


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        # The canonical name, so that usage lines, default_map and completion agree.
        name = ALIASES.get(name or "", name)
        from kasboot.startup_gc import RESUMED_LATER, resume

        if name not in RESUMED_LATER:
            resume()  # the command's modules are loaded (startup_gc.py)
        return name, command, rest

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """`kasboot <TAB>`: the names from the static table (click's own completion would
        import every command to ask for its help line), then the group's options."""
        from click.shell_completion import CompletionItem

        results = [
            CompletionItem(name, help=COMMANDS[name].short_help)
            for name in self.list_commands(ctx)
            if name.startswith(incomplete)
        ]
        results.extend(click.Command.shell_complete(self, ctx, incomplete))
        return results

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the static table, laid out as click lays it out."""
        names = self.list_commands(ctx)
        aliases = {target: alias for alias, target in ALIASES.items()}
        labels = [f"{name} ({aliases[name]})" if name in aliases else name for name in names]
        limit = formatter.width - 6 - max(len(label) for label in labels)
        rows = [
            (label, click.Command(name, help=COMMANDS[name].short_help).get_short_help_str(limit))
            for name, label in zip(names, labels, strict=True)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kasboot")
@click.option(
    DEBUG,
    is_flag=True,
    envvar="KASBOOT_DEBUG",
    help="Show tracebacks (exit codes stay as documented) and every GitLab API request "
    "(method, URL with tokens redacted, status, time). Also accepted after the command.",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Say more: the same as the command's own -v (also accepted after the command).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """Connect a Kubernetes cluster to GitLab through the GitLab agent (agentk) and Flux."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["verbose"] = verbose


def _command_at(names: Sequence[str]) -> click.Command | None:
    command: click.Command | None = load_command(names[0])
    for name in names[1:]:
        if not isinstance(command, click.Group):
            return None
        command = command.commands.get(name)
    return command


def _is_group(names: Sequence[str]) -> bool:
    if names[0] not in COMMANDS and names[0] not in ALIASES:
        return False
    return isinstance(_command_at(names), click.Group)


def _declares_verbose(names: Sequence[str]) -> bool | None:
    command = _command_at(names) if (names[0] in COMMANDS or names[0] in ALIASES) else None
    if command is None:
        return None
    return any("-v" in param.opts or "--verbose" in param.opts for param in command.params)


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """The command line with the global flags where their parsers expect them."""
    head = options_part(argv)
    if DEBUG not in head and "-v" not in head and "--verbose" not in head:
        return list(argv)  # nothing to move: import no command module for it
    return place_global_flags(argv, _is_group, _declares_verbose)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI job cancelled, `kill`), raised like Ctrl-C so that every layer
    unwinds the same way, and told apart at the end for its own exit code."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def debug_requested(argv: list[str], env: Mapping[str, str]) -> bool:
    """--debug, or KASBOOT_DEBUG set to a true word (click's reading: "0"/"false" are off)."""
    if DEBUG in options_part(argv):
        return True
    return env.get("KASBOOT_DEBUG", "").strip().lower() in ("1", "true", "t", "yes", "y", "on")


def hoist_debug(argv: list[str]) -> list[str]:
    """`kasboot bootstrap … --debug` means `kasboot --debug bootstrap …` (kept for
    callers that only move --debug; `normalize_argv` places -v too)."""
    head = options_part(argv)
    if DEBUG not in head:
        return argv
    return [DEBUG, *(arg for arg in head if arg != DEBUG), *argv[len(head) :]]


def _interrupted(signal_name: str, code: ExitCode) -> NoReturn:
    click.echo(
        f"Interrupted. ({signal_name}) What was done stays done — run the same command "
        "again to finish: every step picks up from there",
        err=True,
    )
    sys.exit(int(code))


def _json_error(args: list[str], message: str, hint: str | None, code: int) -> None:
    """With -o json, an error still ends in one JSON document on stdout."""
    from kasboot.cli.reporting import json_requested, print_error_document

    if json_requested(args, os.environ):
        print_error_document(args, message, hint, int(code))


def main(argv: list[str] | None = None) -> None:
    """Entry point: maps kasboot's errors to their exit codes and one clear line
    (after the traceback with --debug: debugging never changes an exit code)."""
    if argv is None:  # the process's own entry point (console script, -m kasboot)
        from kasboot.startup_gc import pause

        pause()  # until the command's modules are loaded (startup_gc.py)
    try:
        _main(argv)
    finally:
        if argv is None:
            _before_shutdown()


def _before_shutdown() -> None:
    """The process ends now. Its shutdown clears 1,000+ modules (the GitLab and
    Kubernetes clients, pydantic, rich, git) and runs the cyclic garbage collector over
    every object they hold several times on the way: half a second after the last
    request. Frozen into the permanent generation with the collector off, they are freed
    by reference count alone. Still a normal exit: the exit code, atexit handlers
    (weakref finalizers, temporary directories), thread joins and flushing are as they
    were; nothing of kasboot's cleanup waits for the collector."""
    import gc

    gc.disable()
    gc.freeze()


def _main(argv: list[str] | None) -> None:
    args = normalize_argv(list(argv if argv is not None else sys.argv[1:]))
    debug = debug_requested(args, os.environ)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main(args=args, prog_name="kasboot", standalone_mode=False)
    except KasbootError as error:
        if debug:
            _print_traceback()
        click.echo(f"Error: {printed_line(error)}", err=True)
        _json_error(args, error.message, error.hint, int(error.exit_code))
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
        _json_error(args, error.format_message(), "see `kasboot COMMAND --help`", ExitCode.USAGE)
        sys.exit(int(ExitCode.USAGE))
    except Exception as error:  # a bug: keep it short unless asked
        from kasboot.secret_scan import redact

        if debug:
            _print_traceback()
        click.echo(
            f"Internal error: {type(error).__name__}: {redact(str(error))}"
            + ("" if debug else " (re-run with --debug for the trace)"),
            err=True,
        )
        sys.exit(int(ExitCode.INTERNAL))


def _print_traceback() -> None:
    import traceback  # only on the error path: it pulls in linecache and tokenize

    traceback.print_exc()
