"""`kasboot token rotate`: thin — options → Settings → run_rotation → report."""

from __future__ import annotations

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
    dry_run = settings.dry_run
    agent = outcome.get("agent") or {}
    previous = outcome["previous_token_id"]
    token_id = outcome["token_id"]
    new = "minted on apply" if dry_run and token_id is None else (token_id or "-")
    lines = [
        "",
        "Planned (nothing written yet):" if dry_run else "Rotated the agent token:",
        f"  project      {outcome['project']}",
        f"  agent        {agent.get('name', '-')} (id {agent.get('id', '-')})",
        f"  token id     {new} (replaces {previous if previous is not None else 'none'})",
        f"  secret       {outcome['secret']}",
    ]
    if outcome["revoked_token_ids"]:
        verb = "to revoke" if dry_run else "revoked"
        lines.append(f"  {verb:<12} {', '.join(map(str, outcome['revoked_token_ids']))}")
    if outcome["previous_token_active"] and not dry_run:
        agent_name = agent.get("name") or "AGENT"
        lines.append(
            f"  note         the previous token {previous} is STILL ACTIVE; once the agent "
            f"uses the new one (`kasboot token list {agent_name}` shows it used), revoke it "
            f"with `kasboot token revoke {agent_name} {previous}`"
        )
    flux = outcome["flux"] or ("reconciled on apply" if dry_run else "-")
    lines.append(f"  flux         {flux}")
    click.echo("\n".join(lines))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def token() -> None:
    """Manage the agent token."""


@token.command(
    cls=KasbootCommand,
    examples=(
        "kasboot token rotate prod",
        "# and revoke the old token once GitLab shows the new one used",
        "kasboot token rotate prod --revoke-previous --timeout 10m",
    ),
)
@click.argument("agent", envvar="KASBOOT_AGENT", shell_complete=complete_agent_names)
@click.option(
    "--revoke-previous/--keep-previous",
    default=False,
    envvar="KASBOOT_REVOKE_PREVIOUS",
    show_envvar=True,
    help="Once GitLab shows the new token used (within --timeout), revoke the token the "
    "cluster held before. Default: keep it active.",
)
@command_options("token rotate")
def rotate(agent: str, revoke_previous: bool, **params: Any) -> None:
    """Rotate AGENT's token with no downtime.

    Mints a new token (within GitLab's limit of two, revoking only a token the cluster
    does not hold), replaces the token Secret in one call, restarts agentk and reconciles
    its HelmRelease so it reconnects, and — with --revoke-previous — revokes the old
    token only after GitLab shows the new one used. Runs under a Lease beside the
    Secret (a concurrent rotation waits), and confirms the Secret's token is active
    before it reports success. Finds the agent's Secret and names from the record
    bootstrap left; a flag that contradicts it is refused (exit 3).
    """
    from kasboot.cli.recorded import explicit_options
    from kasboot.steps.rotate import rotation_outcome, run_rotation

    params.pop("non_interactive", None)  # rotation never prompts
    config_file = params.pop("config", None)
    settings = settings_from_click(
        {"agent": agent, **params}, Path(config_file) if config_file else None
    )
    listener, logger = listener_for(settings)
    run = run_rotation(
        settings,
        listener,
        revoke_previous=revoke_previous,
        explicit=explicit_options(params),
        request_logger=logger,
    )
    finish("token rotate", run, rotation_outcome(run), settings, _print_summary)


def _print_tokens(outcome: dict[str, Any], settings: Settings, run: BootstrapRun) -> None:
    if not outcome:
        return
    dry_run = settings.dry_run
    agent = outcome.get("agent") or {}
    lines = [f"Active tokens of agent {agent.get('name', '-')} (id {agent.get('id', '-')}):"]
    header = f"  {'ID':>6}  {'NAME':<36}  {'CREATED':<24}  {'LAST USED':<24}  HELD BY"
    lines.append(header)
    for token in outcome["tokens"]:
        lines.append(
            f"  {token['id']:>6}  {token['name'] or '-'!s:<36}  "
            f"{token['created_at'] or '-'!s:<24}  {token['last_used_at'] or 'never'!s:<24}  "
            f"{token['held_by'] or '-'}"
        )
    if not outcome["tokens"]:
        lines.append("  (none)")
    revoked = ", ".join(map(str, outcome["revoked_token_ids"]))
    if revoked:
        verb = "Would revoke" if dry_run else "Revoked"
        lines.append(
            f"{verb} token {revoked}." + (" (Planned: nothing written.)" if dry_run else "")
        )
    elif dry_run:
        lines.append("Planned: nothing to revoke, nothing written.")
    click.echo("\n".join(lines))


def _token_run(agent: str, params: dict[str, Any], command: str, revoke_id: int | None) -> None:
    from kasboot.cli.recorded import explicit_options
    from kasboot.steps.token_admin import run_token_command, token_outcome

    params.pop("non_interactive", None)
    config_file = params.pop("config", None)
    settings = settings_from_click(
        {"agent": agent, **params}, Path(config_file) if config_file else None
    )
    listener, logger = listener_for(settings)
    run = run_token_command(
        settings,
        listener,
        explicit=explicit_options(params),
        revoke_id=revoke_id,
        request_logger=logger,
    )
    finish(command, run, token_outcome(run), settings, _print_tokens)


@token.command(
    name="list",
    cls=KasbootCommand,
    examples=("kasboot token list prod", "kasboot token list prod -o json | jq '.tokens[].id'"),
)
@click.argument("agent", envvar="KASBOOT_AGENT", shell_complete=complete_agent_names)
@command_options("token list")
def list_tokens(agent: str, **params: Any) -> None:
    """List AGENT's active tokens: id, name, created, last used, and which Secret (and
    cluster) holds each, when known. Finds the agent's Secret from its record."""
    _token_run(agent, params, "token list", None)


@token.command(
    cls=KasbootCommand,
    examples=("kasboot token revoke prod 42", "kasboot token revoke prod 42 --dry-run"),
)
@click.argument("agent", envvar="KASBOOT_AGENT", shell_complete=complete_agent_names)
@click.argument("token_id", metavar="ID", type=int)
@command_options("token revoke")
def revoke(agent: str, token_id: int, **params: Any) -> None:
    """Revoke AGENT's token ID. Refuses (exit 3) the token this cluster holds unless
    --force: the running agent would lose its credential. A token already revoked is
    nothing to do."""
    _token_run(agent, params, "token revoke", token_id)
