"""`kasboot bootstrap` and `kasboot plan`: thin — options → Settings → run → report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kasboot.cli.completion import complete_agent_names
from kasboot.cli.help import KasbootCommand
from kasboot.cli.options import command_options, settings_from_click
from kasboot.cli.reporting import finish, listener_for
from kasboot.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from kasboot.bootstrap import BootstrapRun
    from kasboot.settings import Settings


def _print_summary(outcome: dict[str, Any], settings: Settings, run: BootstrapRun) -> None:
    from kasboot.ui.summary import bootstrap_summary

    lines = bootstrap_summary(outcome, settings)
    if settings.dry_run:
        from kasboot.ui.console import make_console
        from kasboot.ui.plan import print_plan

        print_plan(make_console(sys.stdout), run.reports, lines, settings)
    elif lines:
        click.echo("\n" + "\n".join(lines))
        click.echo(f"\nNext: `kasboot status {settings.agent}` shows it at a glance.")


def execute(
    params: dict[str, Any], *, command: str, dry_run: bool, detailed_exitcode: bool = False
) -> None:
    from kasboot.bootstrap import run_bootstrap
    from kasboot.ui.plan import pending_changes

    config_file = params.pop("config", None)
    if dry_run:
        params["dry_run"] = True
    settings = settings_from_click(params, Path(config_file) if config_file else None)
    listener, logger = listener_for(settings)
    run = run_bootstrap(settings, listener, request_logger=logger)
    pending = pending_changes(run.reports) if settings.dry_run else 0
    code = int(ExitCode.CHANGES_PENDING) if detailed_exitcode and pending else 0
    extra = {"pending_changes": pending} if settings.dry_run else None
    finish(command, run, run.outcome(), settings, _print_summary, exit_code=code, extra=extra)


_AGENT_HELP_TAIL = """
    AGENT may also come from KASBOOT_AGENT. Every option can come from its
    KASBOOT_<OPTION> variable or a config file: flag > environment > file > default.
"""


@click.command(
    cls=KasbootCommand,
    examples=(
        "# the agent's Flux resources under the directory Flux applies",
        "kasboot bootstrap prod --manifest-path clusters/prod/gitlab-agent -R group/fleet",
        "# the same with glab's spelling of a boolean, in CI (never prompts)",
        "CI=true kasboot bootstrap prod -p clusters/prod/gitlab-agent --create-environment=false",
        "# a root-path layout: let kasboot commit the fix Flux needs",
        "kasboot bootstrap prod --fix sourceignore",
        "# no AGENT on a terminal: the wizard asks",
        "kasboot bootstrap",
    ),
)
@click.argument(
    "agent", required=False, envvar="KASBOOT_AGENT", shell_complete=complete_agent_names
)
@command_options("bootstrap")
def bootstrap(agent: str | None, **params: Any) -> None:
    """Register AGENT in the GitLab project and install it in the cluster with Flux.

    Runs, idempotently: pre-flight checks (incl. the Flux topology guard), agent
    registration, .gitlab/agents/AGENT/config.yaml, environments, the agent token, the
    token Secret, the Flux HelmRepository + HelmRelease (one commit), and a watched Flux
    reconciliation. Credentials come from GITLAB_TOKEN / glab's or python-gitlab's config
    and from kubeconfig — never from a flag. Without AGENT, on a terminal, the wizard asks.
    """
    non_interactive = bool(params.pop("non_interactive", False))
    if agent is None:
        from kasboot.wizard.prompting import prompt_blocker

        blocker = prompt_blocker(non_interactive=non_interactive)
        if blocker is not None:
            raise UsageError(
                f"missing AGENT, the name of the agent to bootstrap (no prompt: {blocker})",
                hint="pass it as the first argument (`kasboot bootstrap my-agent …`) "
                "or set KASBOOT_AGENT",
            )
        from kasboot.wizard.flow import run_wizard

        run_wizard(params)
        return
    execute({"agent": agent, **params}, command="bootstrap", dry_run=False)


bootstrap.help = (bootstrap.help or "") + _AGENT_HELP_TAIL


@click.command(
    cls=KasbootCommand,
    examples=(
        "kasboot plan prod -p clusters/prod/gitlab-agent",
        "# keep the plan; progress stays on stderr",
        "kasboot plan prod -p clusters/prod/gitlab-agent > plan.txt",
        "# drift detection in a scheduled CI job: exit 10 when changes are pending",
        "kasboot plan prod -p clusters/prod/gitlab-agent --detailed-exitcode",
        "kasboot plan prod -o json | jq .pending_changes",
    ),
)
@click.argument("agent", envvar="KASBOOT_AGENT", shell_complete=complete_agent_names)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    default=False,
    envvar="KASBOOT_DETAILED_EXITCODE",
    show_envvar=True,
    help="Exit 10 when changes are pending (0: none; errors keep their codes), as "
    "terraform plan -detailed-exitcode.",
)
@command_options("plan")
def plan(agent: str, detailed_exitcode: bool, **params: Any) -> None:
    """Show every change `bootstrap` would make, diffs included; write nothing.

    The plan (changes, diffs, the planned state and a one-line verdict) goes to stdout,
    the step list to stderr, so `kasboot plan … > plan.txt` holds the plan. Diffs are
    coloured on a terminal only.
    """
    params.pop("non_interactive", None)
    execute(
        {"agent": agent, **params},
        command="plan",
        dry_run=True,
        detailed_exitcode=detailed_exitcode,
    )
