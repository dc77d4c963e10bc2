"""`kasboot bootstrap` and `kasboot plan`: thin — options → Settings → run → report."""

from __future__ import annotations

import sys
from typing import Any

import click

from kasboot.cli.completion import complete_agent_names
from kasboot.cli.options import bootstrap_options, settings_from_click
from kasboot.cli.reporting import finish, listener_for
from kasboot.errors import KasbootError, UsageError


def _print_summary(outcome: dict[str, Any], dry_run: bool) -> None:
    if not outcome:
        return
    agent = outcome.get("agent") or {}
    lines = [
        "",
        "Planned (nothing written):" if dry_run else "Bootstrapped the GitLab agent:",
        f"  project      {outcome['project']} (branch {outcome['branch']})",
        f"  agent        {agent.get('name', '-')} (id {agent.get('id', '-')})",
    ]
    for environment in outcome["environments"]:
        lines.append(f"  environment  {environment['name']} (id {environment['id']})")
    lines.append(
        f"  token id     {outcome['token_id'] if outcome['token_id'] is not None else '-'}"
    )
    lines.append(f"  secret       {outcome['secret']}")
    if outcome["commit"]:
        lines.append(f"  commit       {outcome['commit']}: {', '.join(outcome['files'])}")
    else:
        lines.append(
            "  commit       none (files up to date)" if not dry_run else "  commit       -"
        )
    lines.append(f"  flux         {outcome['flux'] or '-'}")
    click.echo("\n".join(lines))


def execute(params: dict[str, Any], *, command: str, dry_run: bool) -> None:
    from pathlib import Path

    from kasboot.bootstrap import run_bootstrap
    from kasboot.ui.jsonout import report_document

    config_file = params.pop("config", None)
    if dry_run:
        params["dry_run"] = True
    try:
        settings = settings_from_click(params, Path(config_file) if config_file else None)
    except KasbootError as error:
        if params.get("output") == "json":  # a machine reader still gets one JSON document
            click.echo(report_document(command, [], {}, error))
            sys.exit(int(error.exit_code))
        raise
    listener, logger = listener_for(settings)
    run = run_bootstrap(settings, listener, request_logger=logger)
    finish(command, run, run.outcome(), settings, _print_summary)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument(
    "agent", required=False, envvar="KASBOOT_AGENT", shell_complete=complete_agent_names
)
@bootstrap_options
def bootstrap(agent: str | None, **params: Any) -> None:
    """Register AGENT in the GitLab project and install it in the cluster with Flux.

    Runs, idempotently: pre-flight checks (incl. the Flux topology guard), agent
    registration, .gitlab/agents/AGENT/config.yaml, environments, the agent token, the
    token Secret, the Flux HelmRepository + HelmRelease (one commit), and a watched Flux
    reconciliation. Credentials come from GITLAB_TOKEN / glab's or python-gitlab's config
    and from kubeconfig — never from a flag.

    AGENT may also come from KASBOOT_AGENT; without it, on a terminal, the wizard asks.
    Every option below can come from its KASBOOT_<OPTION> variable or a config file:
    flag > environment > file > default.
    """
    non_interactive = bool(params.pop("non_interactive", False))
    if agent is None:
        from kasboot.interactive import prompt_blocker

        blocker = prompt_blocker(non_interactive=non_interactive)
        if blocker is not None:
            raise UsageError(
                f"missing AGENT, the name of the agent to bootstrap (no prompt: {blocker})",
                hint="pass it as the first argument (`kasboot bootstrap my-agent …`) "
                "or set KASBOOT_AGENT",
            )
        from kasboot.ui.wizard import run_wizard

        run_wizard(params)
        return
    execute({"agent": agent, **params}, command="bootstrap", dry_run=False)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("agent", envvar="KASBOOT_AGENT", shell_complete=complete_agent_names)
@bootstrap_options
def plan(agent: str, **params: Any) -> None:
    """Show every change `bootstrap` would make (diffs included); write nothing."""
    execute({"agent": agent, **params}, command="plan", dry_run=True)
