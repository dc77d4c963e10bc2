"""`kasboot doctor [AGENT]` and `kasboot status AGENT`: thin — options → Settings →
read → print. Both take the options that locate a bootstrapped agent (the record
bootstrap left fills the rest), so they look at the very setup bootstrap made."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from kasboot.cli.completion import complete_agent_names
from kasboot.cli.help import KasbootCommand
from kasboot.cli.options import command_options, settings_from_click
from kasboot.cli.reporting import request_logger_for


def _settings(params: dict[str, Any]) -> Any:
    config_file = params.pop("config", None)
    return settings_from_click(params, Path(config_file) if config_file else None)


@click.command(
    cls=KasbootCommand,
    examples=(
        "# everything bootstrap depends on, before the first bootstrap",
        "kasboot doctor -R group/fleet",
        "# and one agent's state: registered, tokens, Secret, HelmRelease, connected",
        "kasboot doctor prod",
        "kasboot doctor prod -o json | jq '.checks[] | select(.status == \"fail\")'",
    ),
)
@click.argument(
    "agent", required=False, envvar="KASBOOT_AGENT", shell_complete=complete_agent_names
)
@command_options("doctor")
def doctor(agent: str | None, **params: Any) -> None:
    """Check everything bootstrap depends on, and AGENT's state when given.

    One line per check — ✔ pass, ✖ fail, ⚠ warning — with the fix: GitLab and its
    version, the token and its scopes, the project and branch, KAS, the cluster, Flux
    (CRDs, controllers, version), the Flux source, agentk's version against GitLab's,
    the Flux topology guard; for AGENT: registered, tokens, Secret, HelmRelease,
    connected, name collisions. Exits 0 when nothing fails (warnings do not), else
    with the exit code of the first failure's cause. Writes nothing. AGENT may also
    come from KASBOOT_AGENT.
    """
    from kasboot.doctor import run_doctor
    from kasboot.doctor.context import PLACEHOLDER_AGENT
    from kasboot.doctor.render import print_report, waiting
    from kasboot.ui.console import make_console

    settings = _settings({"agent": agent or PLACEHOLDER_AGENT, **params})
    with waiting("Checking GitLab, the cluster and Flux", json_output=settings.output == "json"):
        report = run_doctor(
            settings, agent_given=agent is not None, request_logger=request_logger_for(settings)
        )
    if settings.output == "json":
        from kasboot.ui.jsonout import dumps, envelope

        body = report.as_json()
        if agent is None:
            body["agent"] = None
        code = int(report.exit_code)
        click.echo(dumps(envelope("doctor", body, exit_code=code, ok=bool(body.get("ok")))))
    else:
        print_report(make_console(sys.stdout), report)
    sys.exit(int(report.exit_code))


@click.command(
    cls=KasbootCommand,
    examples=(
        "kasboot status prod",
        "# in a script: exit 0 healthy, 6 not Ready or not connected, 4 not registered",
        "kasboot status prod -o json | jq .healthy",
    ),
)
@click.argument("agent", envvar="KASBOOT_AGENT", shell_complete=complete_agent_names)
@command_options("status")
def status(agent: str, **params: Any) -> None:
    """Show AGENT at a glance: registered? tokens (last used)? Secret (which token)?
    HelmRelease Ready? connected?

    Exits 0 when the agent is healthy, 6 when it is registered but not Ready or not
    connected, 4 when it is not registered. When something is wrong, `kasboot doctor
    AGENT` says why and how to fix it. AGENT may also come from KASBOOT_AGENT.
    """
    from kasboot.doctor.render import print_status, waiting
    from kasboot.doctor.status import read_status, status_document, status_exit_code
    from kasboot.ui.console import make_console

    settings = _settings({"agent": agent, **params})
    with waiting(f"Reading {agent}", json_output=settings.output == "json"):
        state = read_status(settings, request_logger=request_logger_for(settings))
    now = datetime.now(timezone.utc)
    code = int(status_exit_code(state, now))
    if settings.output == "json":
        from kasboot.ui.jsonout import dumps, envelope

        body = status_document(state, now)
        if code:
            body["next_step"] = f"kasboot doctor {agent}"
        click.echo(dumps(envelope("status", body, exit_code=code, ok=code == 0)))
    else:
        print_status(make_console(sys.stdout), state, now)
        if code:
            click.echo(
                f"\nSomething is wrong: `kasboot doctor {agent}` checks every part and "
                "says how to fix it."
            )
    sys.exit(code)
