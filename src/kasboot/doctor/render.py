"""Text output of `doctor` and `status` (rich, on stdout: it is the command's answer).
Colours only on a terminal without NO_COLOR; the marks carry the meaning without them."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from kasboot.doctor.context import ago
from kasboot.doctor.model import Outcome, Report

if TYPE_CHECKING:
    from rich.console import Console

    from kasboot.doctor.agent_state import AgentState

_STYLE = {
    Outcome.PASS: "green",
    Outcome.FAIL: "bold red",
    Outcome.WARN: "yellow",
    Outcome.SKIP: "dim",
}
_WIDTH = max(len(t) for t in ("Agent registered", "Name collisions", "agentk version")) + 2


@contextlib.contextmanager
def waiting(what: str, *, json_output: bool = False) -> Iterator[None]:
    """A spinner on stderr while the checks run (they can wait seconds on a host that
    does not answer), for a person at a terminal only: never with -o json, in a pipe,
    in CI or with NO_COLOR. The answer itself goes to stdout afterwards."""
    from kasboot.ui.console import make_console

    console = make_console()  # stderr
    if json_output or not console.is_terminal or os.environ.get("NO_COLOR"):
        yield
        return
    with console.status(f"{what} …"):
        yield


def print_report(console: Console, report: Report) -> None:
    from rich.markup import escape

    heading = f"kasboot doctor: {report.project or '(project unknown)'}"
    if report.agent:
        heading += f", agent {report.agent}"
    console.print(heading, markup=False)
    for check in report.checks:
        style = _STYLE[check.outcome]
        console.print(
            f"[{style}]{check.outcome.mark}[/] {escape(check.title.ljust(_WIDTH))}"
            f"{escape(check.summary)}"
        )
        if check.fix and check.outcome in (Outcome.FAIL, Outcome.WARN):
            console.print(f"  {' ' * _WIDTH}[{style}]fix:[/] {escape(check.fix)}")
    counts = report.counts()
    tail = (
        f"{counts['pass']} passed, {counts['fail']} failed, {counts['warn']} warning(s), "
        f"{counts['skip']} skipped"
    )
    if report.ok:
        console.print(f"[green]{tail}: all checks pass[/]")
    else:
        first = report.failures[0]
        console.print(
            f"[bold red]{tail}: exit {int(report.exit_code)}[/]"
            f" (first failure: {escape(first.title)})"
        )


def print_status(console: Console, state: AgentState, now: datetime) -> None:
    from rich.markup import escape

    def row(label: str, text: str, good: bool | None) -> None:
        style = "green" if good else ("dim" if good is None else "bold red")
        console.print(f"{label:<12} [{style}]{escape(text)}[/]")

    if state.agent is None:
        row("agent", f"{state.name} is not registered in {state.project}", False)
        return
    row("agent", f"{state.name} (id {state.agent['id']}) in {state.project}", True)
    tokens = "; ".join(
        f"{t.id} {t.name}, last used {ago(t.last_used_at, now)}" for t in state.tokens
    )
    row("tokens", tokens or "none active", bool(state.tokens))
    secret = state.secret
    if secret is None or not secret.present:
        where = f"{secret.namespace}/{secret.name} " if secret else ""
        row("secret", f"{where}missing", False)
    else:
        held = f"token {secret.token_id}" if secret.token_id is not None else "unknown token"
        active = "active" if state.secret_token_active else "NOT active"
        row(
            "secret",
            f"{secret.namespace}/{secret.name} holds {held} ({active})",
            state.secret_token_active,
        )
    release = state.release
    if release is None or not release.present:
        where = f"{release.namespace}/{release.name} " if release else ""
        row("helmrelease", f"{where}missing", False)
    else:
        text = f"{release.namespace}/{release.name} "
        if release.ready:
            text += "Ready"
        elif release.diagnosis is not None:
            text += f"not Ready: {release.diagnosis.cause} (fix: {release.diagnosis.fix})"
        else:
            text += f"not Ready: {release.reason}: {release.message}"
        row("helmrelease", text, release.ready)
    latest = state.last_contact
    contact = ago(latest.last_used_at, now) if latest else "never"
    connected = state.connected(now)
    row("connected", f"{'yes' if connected else 'no'} (last contact {contact})", connected)
    healthy = state.healthy(now)
    row("health", "healthy" if healthy else "NOT healthy", healthy)
    if state.located_by_token:
        row("note", "Secret and HelmRelease found through the agent's token", None)
