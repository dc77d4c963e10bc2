"""`kasboot plan` (and `bootstrap --dry-run`) on stdout: every planned change with its
diff, the planned state, and a one-line verdict — so `kasboot plan … > plan.txt` holds
the plan while the step list (progress) stays on stderr, as terraform plan and flux diff
do. Diffs are coloured only when stdout is a terminal (make_console decides)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kasboot.pipeline import Result, StepReport
from kasboot.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

_DIFF_STYLE = {"+": "green", "-": "red", "@": "cyan"}


def pending_changes(reports: list[StepReport]) -> int:
    return sum(len(r.changes) for r in reports if r.result is Result.PLANNED)


def verdict(reports: list[StepReport], settings: Settings) -> str:
    """One line: are changes pending, how many, and what applies them."""
    count = pending_changes(reports)
    if count == 0:
        return f"No changes: agent {settings.agent} is bootstrapped as asked."
    steps = sum(1 for r in reports if r.result is Result.PLANNED and r.changes)
    return (
        f"Plan: {count} change(s) in {steps} step(s) pending; `kasboot bootstrap "
        f"{settings.agent}` with the same options applies them."
    )


def _diff_style(line: str) -> str | None:
    if line.startswith(("+++", "---")):
        return "bold"
    return _DIFF_STYLE.get(line[:1])


def print_plan(
    console: Console, reports: list[StepReport], summary: list[str], settings: Settings
) -> None:
    from rich.text import Text

    for report in reports:
        if report.result is not Result.PLANNED or not report.changes:
            continue
        console.print(Text(report.title, style="bold"))
        for change in report.changes:
            console.print(Text(f"  {change.action} {change.target}", style="yellow"))
            for line in change.detail.rstrip("\n").splitlines():
                console.print(Text(f"      {line}", style=_diff_style(line) or ""))
    if summary:
        console.print()
        for line in summary:
            console.print(Text(line))
    console.print()
    console.print(Text(verdict(reports, settings), style="bold"))
