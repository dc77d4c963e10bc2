"""The live step list on stderr: one line per step — title, result, elapsed time —
and a spinner on the running step when stderr is a terminal. Colours are off when
stderr is not a TTY or NO_COLOR is set."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from kasboot.pipeline import Result, StepReport

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

_STYLE = {
    Result.OK: "green",
    Result.CHANGED: "yellow",
    Result.UNCHANGED: "green",
    Result.SKIPPED: "dim",
    Result.FAILED: "bold red",
    Result.PLANNED: "cyan",
}
_MARK = {
    Result.OK: "✔",
    Result.CHANGED: "✔",
    Result.UNCHANGED: "✔",
    Result.SKIPPED: "-",
    Result.FAILED: "✖",
    Result.PLANNED: "•",
}


def make_console(stream: Any = None) -> Console:
    from rich.console import Console

    stream = stream or sys.stderr
    interactive = stream.isatty() and not os.environ.get("CI")
    return Console(
        file=stream,
        no_color=bool(os.environ.get("NO_COLOR")) or not interactive,
        force_terminal=interactive,
        highlight=False,
        soft_wrap=True,
    )


class ConsoleReporter:
    """Listener that draws the step list; with verbose, also each change planned."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        verbose: bool = False,
        changes_on_stdout: bool = False,
    ) -> None:
        self._console = console
        self.verbose = verbose
        # A plan prints its changes on stdout (ui/plan.py); the step list stays progress.
        self.changes_on_stdout = changes_on_stdout
        self._spinner: bool | None = None
        self._status: Status | None = None

    @property
    def console(self) -> Console:
        # Made on first output, not with the reporter: bootstrap's first reads are on
        # their way by then, so rich's import overlaps their round trips.
        if self._console is None:
            self._console = make_console()
        return self._console

    @property
    def spinner(self) -> bool:
        # A spinner only for a person at a terminal: never in CI, in a pipe, or with NO_COLOR.
        if self._spinner is None:
            self._spinner = self.console.is_terminal and not os.environ.get("NO_COLOR")
        return self._spinner

    def step_started(self, name: str, title: str) -> None:
        if self.spinner:
            self._status = self.console.status(f"{title} …")
            self._status.start()

    def step_finished(self, report: StepReport) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        style = _STYLE[report.result]
        line = (
            f"[{style}]{_MARK[report.result]}[/] {report.title} … "
            f"[{style}]{report.result.value}[/] [dim]({report.elapsed:.2f}s)[/]"
        )
        if report.summary and report.result is not Result.FAILED:
            line += f" [dim]{report.summary}[/]"
        self.console.print(line)
        if self.changes_on_stdout:
            return
        if self.verbose or report.result is Result.PLANNED:
            for change in report.changes:
                self.console.print(f"    {change.action} {change.target}", markup=False)
                if change.detail:
                    for detail_line in change.detail.rstrip("\n").splitlines():
                        self.console.print(f"      {detail_line}", markup=False)

    def request(self, method: str, url: str, status: int, seconds: float) -> None:
        """-v/--debug: each HTTP request (URLs carry no secrets; bodies are never shown)."""
        self.console.print(f"  [dim]{method} {url} → {status} ({seconds * 1000:.0f} ms)[/]")

    def cluster_request(self, method: str, url: str, status: int) -> None:
        """-v/--debug: each Kubernetes API request (urllib3's record has no timing)."""
        self.console.print(f"  [dim]kube {method} {url} → {status}[/]")

    def text(self, message: str) -> None:
        self.console.print(message, markup=False)


class SilentReporter:
    """Listener for --output json: the JSON document is the only output."""

    def step_started(self, name: str, title: str) -> None:
        return None

    def step_finished(self, report: StepReport) -> None:
        return None
