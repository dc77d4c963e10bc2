"""`kasboot doctor [AGENT]` and `kasboot status AGENT`: thin — options → Settings →
read → print. Both take bootstrap's options, so they look at the very setup a
bootstrap with those options would use."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from kasboot.cli.options import bootstrap_options, settings_from_click


def _settings(params: dict[str, Any]) -> Any:
    config_file = params.pop("config", None)
    return settings_from_click(params, Path(config_file) if config_file else None)


def _request_logger(settings: Any) -> Any:
    if settings.output == "json" or not settings.verbose:
        return None
    from kasboot.ui.console import ConsoleReporter

    return ConsoleReporter().request  # requests go to stderr, the answer to stdout


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("agent", required=False, envvar="KASBOOT_AGENT")
@bootstrap_options
def doctor(agent: str | None, **params: Any) -> None:
    """Check everything bootstrap depends on, and AGENT's state when given.

    One line per check — ✔ pass, ✖ fail, ⚠ warning — with the fix: GitLab and its
    version, the token and its scopes, the project and branch, KAS, the cluster, Flux
    (CRDs, controllers, version), the Flux source, agentk's version against GitLab's,
    the Flux topology guard; for AGENT: registered, tokens, Secret, HelmRelease,
    connected, name collisions. Exits 0 when nothing fails (warnings do not), else
    with the exit code of the first failure's cause. Writes nothing.
    """
    from kasboot.doctor import run_doctor
    from kasboot.doctor.context import PLACEHOLDER_AGENT
    from kasboot.doctor.render import print_report, waiting
    from kasboot.ui.console import make_console

    settings = _settings({"agent": agent or PLACEHOLDER_AGENT, **params})
    with waiting("Checking GitLab, the cluster and Flux", json_output=settings.output == "json"):
        report = run_doctor(
            settings, agent_given=agent is not None, request_logger=_request_logger(settings)
        )
    if settings.output == "json":
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        print_report(make_console(sys.stdout), report)
    sys.exit(int(report.exit_code))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("agent", envvar="KASBOOT_AGENT")
@bootstrap_options
def status(agent: str, **params: Any) -> None:
    """Show AGENT at a glance: registered? tokens (last used)? Secret (which token)?
    HelmRelease Ready? connected?

    Exits 0 when the agent is healthy, 6 when it is registered but not Ready or not
    connected, 4 when it is not registered.
    """
    from kasboot.doctor.render import print_status, waiting
    from kasboot.doctor.status import read_status, status_document, status_exit_code
    from kasboot.ui.console import make_console

    settings = _settings({"agent": agent, **params})
    with waiting(f"Reading {agent}", json_output=settings.output == "json"):
        state = read_status(settings, request_logger=_request_logger(settings))
    now = datetime.now(timezone.utc)
    if settings.output == "json":
        click.echo(json.dumps(status_document(state, now), indent=2))
    else:
        print_status(make_console(sys.stdout), state, now)
    sys.exit(int(status_exit_code(state, now)))
