"""The command line. Thin: parse, build settings, run, report. Sub-commands are
imported only when invoked, so `kasboot --help` stays fast."""

from __future__ import annotations

import importlib
import os
import sys

import click

from kasboot import __version__
from kasboot.errors import ExitCode, KasbootError

# name -> "module:attribute"; a module is imported only when its command runs.
COMMANDS: dict[str, str] = {
    "bootstrap": "kasboot.cli.bootstrap:bootstrap",
    "completion": "kasboot.cli.completion:completion",
    "demo": "kasboot.cli.demo:demo",
    "doctor": "kasboot.cli.doctor:doctor",
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
    "--debug", is_flag=True, envvar="KASBOOT_DEBUG", help="Show tracebacks and redacted requests."
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Connect a Kubernetes cluster to GitLab through the GitLab agent (agentk) and Flux."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> None:
    """Entry point: maps kasboot's errors to their exit codes and one clear line."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or bool(
        os.environ.get("KASBOOT_DEBUG")
    )
    try:
        cli.main(args=argv, prog_name="kasboot", standalone_mode=False)
    except KasbootError as error:
        if debug:
            raise
        click.echo(f"Error: {error.one_line()}", err=True)
        sys.exit(int(error.exit_code))
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(int(ExitCode.USAGE))
    except Exception as error:  # a bug: keep it short unless asked
        if debug:
            raise
        click.echo(
            f"Internal error: {type(error).__name__}: {error} (re-run with --debug for the trace)",
            err=True,
        )
        sys.exit(int(ExitCode.INTERNAL))
