"""`kasboot uninstall`: thin — options → Settings → (plan, confirm on a terminal) →
run_uninstall → report."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kasboot.cli.completion import complete_agent_names
from kasboot.cli.help import KasbootCommand
from kasboot.cli.options import command_options, settings_from_click
from kasboot.cli.reporting import finish, listener_for

if TYPE_CHECKING:
    from kasboot.bootstrap import BootstrapRun
    from kasboot.settings import Settings


def _print_summary(outcome: dict[str, Any], settings: Settings, run: BootstrapRun) -> None:
    if not outcome:
        return
    if settings.dry_run:
        _print_planned(outcome, run)
        return
    agent = outcome.get("agent") or {}
    lines = [
        "",
        "Uninstalled the GitLab agent:",
        f"  project      {outcome['project']} (branch {outcome['branch']})",
        f"  agent        {agent.get('name', '-')} (id {agent.get('id', '-')})"
        + (", registration deleted" if outcome["agent_deleted"] else ""),
        f"  commit       {outcome['commit'] or 'none'}"
        + (f": deleted {', '.join(outcome['files'])}" if outcome["commit"] else ""),
        f"  secret       {outcome['secret']}" + (" deleted" if outcome["secret_deleted"] else ""),
        f"  revoked      {', '.join(map(str, outcome['revoked_token_ids'])) or '-'}",
        f"  environments {', '.join(outcome['deleted_environments']) or '-'} deleted",
    ]
    if outcome["unlinked_environments"]:
        lines.append(f"  unlinked     {', '.join(outcome['unlinked_environments'])}")
    kept = [*outcome["kept_tokens"], *outcome["kept_environments"]]
    if kept:
        lines.append(f"  left alone   {', '.join(kept)} (not this agent's or not kasboot's)")
    lines.append(f"  flux         {outcome['flux'] or '-'}")
    if outcome.get("settings_from"):
        lines.append(f"  settings     {outcome['settings_from']}")
    click.echo("\n".join(lines))


def _print_planned(outcome: dict[str, Any], run: BootstrapRun) -> None:
    """--dry-run: what will go, in the future tense — the changes are the plan."""
    agent = outcome.get("agent") or {}
    changes = [c for report in run.reports for c in report.changes]
    lines = [
        "",
        "Planned (nothing written yet):",
        f"  project      {outcome['project']} (branch {outcome['branch']})",
        f"  agent        {agent.get('name', '-')} (id {agent.get('id', '-')})",
    ]
    lines += [f"  {c.action:<12} {c.target}" for c in changes]
    if outcome.get("settings_from"):
        lines.append(f"  settings     {outcome['settings_from']}")
    count = len(changes)
    lines.append(
        f"\nPlan: {count} change(s); run it again without --dry-run to apply them."
        if count
        else "\nNo changes: nothing of this agent is left to remove."
    )
    click.echo("\n".join(lines))


@click.command(
    cls=KasbootCommand,
    examples=(
        "# see what would go, then remove it (asks on a terminal)",
        "kasboot uninstall prod --dry-run",
        "kasboot uninstall prod",
        "# in CI, the registration too",
        "kasboot uninstall prod --delete-agent --yes",
    ),
)
@click.argument("agent", envvar="KASBOOT_AGENT", shell_complete=complete_agent_names)
@click.option(
    "--delete-agent/--keep-agent",
    default=False,
    envvar="KASBOOT_DELETE_AGENT",
    show_envvar=True,
    help="Also delete the agent registration and .gitlab/agents/AGENT/config.yaml.",
)
@command_options("uninstall")
def uninstall(agent: str, delete_agent: bool, **params: Any) -> None:
    """Remove AGENT from the cluster and the repository: the reverse of bootstrap,
    touching only what is AGENT's.

    Reads how AGENT was bootstrapped from the record bootstrap left (the token Secret's
    annotations), so no flag needs repeating; a flag that contradicts the record, or a
    file that is another agent's, refuses the run (exit 3, nothing written). One commit
    deletes AGENT's HelmRepository and HelmRelease files (and config.yaml with
    --delete-agent); Flux is reconciled so it prunes the agent (unless --no-reconcile);
    AGENT's token Secret is deleted; the token the cluster holds and the tokens kasboot
    minted are revoked (others are listed and left); environments kasboot created are
    stopped (force, no on_stop job) and deleted, those it only linked are unlinked; a
    receptive agent's URL configuration that bootstrap created (and the record names)
    is deleted; with --delete-agent the registration goes too. Idempotent. On a terminal the plan is
    shown and confirmed first (--yes skips that; CI never prompts).
    """
    from kasboot.cli.recorded import explicit_options
    from kasboot.steps.uninstall import run_uninstall, uninstall_outcome
    from kasboot.wizard.prompting import prompt_blocker

    non_interactive = bool(params.pop("non_interactive", False))
    config_file = params.pop("config", None)
    settings = settings_from_click(
        {"agent": agent, **params}, Path(config_file) if config_file else None
    )
    explicit = explicit_options(params)
    json_output = settings.output == "json"
    listener, logger = listener_for(settings)
    wants_confirmation = (
        not settings.dry_run
        and not json_output
        and prompt_blocker(non_interactive=non_interactive) is None
    )
    if wants_confirmation:
        preview = run_uninstall(
            dataclasses.replace(settings, dry_run=True),
            listener,
            delete_agent=delete_agent,
            explicit=explicit,
            request_logger=logger,
        )
        if preview.error is not None:
            raise preview.error
        if not any(report.changes for report in preview.reports):
            _print_summary(uninstall_outcome(preview), settings, preview)
            return
        import questionary

        if not questionary.confirm(
            f"Uninstall agent {agent} as planned above?", default=False
        ).ask():
            click.echo("Cancelled; nothing was written.")
            return
    run = run_uninstall(
        settings, listener, delete_agent=delete_agent, explicit=explicit, request_logger=logger
    )
    finish("uninstall", run, uninstall_outcome(run), settings, _print_summary)
