"""What a person sees of a fleet run on stderr: at a terminal, a live table of clusters
× steps (one column per step, a mark per cell); elsewhere (CI logs, pipes) one line per
cluster as it finishes. Then the summary. Never a secret: only names, results, times
and the children's one-line errors."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from kasboot.fleet.run import ClusterRun

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

MARKS = {
    "running": "●",
    "OK": "✔",
    "CHANGED": "✚",
    "UNCHANGED": "✔",
    "SKIPPED": "-",
    "FAILED": "✖",
    "PLANNED": "•",
}
STYLES = {
    "running": "cyan",
    "OK": "green",
    "CHANGED": "yellow",
    "UNCHANGED": "green",
    "SKIPPED": "dim",
    "FAILED": "bold red",
    "PLANNED": "cyan",
    "failed": "bold red",
    "changed": "yellow",
    "pending": "cyan",
    "unchanged": "green",
    "waiting": "dim",
}


class FleetDisplay:
    def __init__(self, runs: list[ClusterRun], step_names: list[str], console: Console) -> None:
        self.runs = runs
        self.step_names = list(step_names)
        self.console = console
        self._lock = threading.Lock()
        self._live: Live | None = None

    def __enter__(self) -> FleetDisplay:
        if self.console.is_terminal:
            from rich.live import Live

            self._live = Live(self._table(), console=self.console, refresh_per_second=8)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(*exc)

    def update(self, run: ClusterRun) -> None:
        with self._lock:
            for step in run.steps:
                if step not in self.step_names:  # a plugin step
                    self.step_names.append(step)
            if self._live is not None:
                self._live.update(self._table())
            elif run.state in ("done", "failed"):
                self.console.print(line_for(run), highlight=False)

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, pad_edge=False, header_style="bold")
        table.add_column("cluster")
        table.add_column("agent")
        for step in self.step_names:
            table.add_column(_short(step), justify="center")
        table.add_column("verdict")
        table.add_column("time", justify="right")
        for run in self.runs:
            cells = [run.spec.name, run.spec.agent]
            for step in self.step_names:
                result = run.steps.get(step)
                cells.append(
                    f"[{STYLES.get(result, 'dim')}]{MARKS.get(result, '·')}[/]" if result else "·"
                )
            cells.append(f"[{STYLES.get(run.verdict, '')}]{run.verdict}[/]")
            cells.append(f"{run.elapsed:.0f}s" if run.started else "")
            table.add_row(*cells)
        return table


# bootstrap's steps in order (kasboot.steps.bootstrap_steps; a unit test keeps them equal)
BUILTIN_STEPS = [
    "preflight",
    "options",
    "agent",
    "receptive",
    "agent-config",
    "environment",
    "flux-environment",
    "token",
    "secret",
    "proxy-secret",
    "manifests",
    "commit",
    "reconcile",
    "restart",
    "confirm-token",
]


def _short(step: str) -> str:
    """Column headers narrow enough for a dozen steps on one line."""
    return {
        "preflight": "pre",
        "options": "opts",
        "agent": "agent",
        "receptive": "recept",
        "agent-config": "cfg",
        "environment": "env",
        "flux-environment": "flux-env",
        "token": "token",
        "secret": "secret",
        "proxy-secret": "proxy",
        "manifests": "files",
        "commit": "commit",
        "reconcile": "flux",
        "restart": "restart",
        "confirm-token": "confirm",
    }.get(step, step)


def line_for(run: ClusterRun) -> str:
    mark = "✖" if run.verdict == "failed" else "✔"
    head = f"{mark} {run.spec.name} (agent {run.spec.agent}): {run.verdict} in {run.elapsed:.1f}s"
    if run.verdict == "failed":
        return f"{head} — exit {run.exit_code}: {run.error}"
    return head


def summary_lines(runs: list[ClusterRun], dry_run: bool) -> list[str]:
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.verdict] = counts.get(run.verdict, 0) + 1
    order = ["changed", "pending", "unchanged", "failed", "waiting"]
    parts = [f"{counts[key]} {key}" for key in order if counts.get(key)]
    verb = "planned" if dry_run else "applied"
    lines = [f"Fleet {verb}: {len(runs)} cluster(s) — {', '.join(parts)}"]
    lines += [f"  {line_for(run)}" for run in runs if run.verdict == "failed"]
    not_run = [run.spec.name for run in runs if run.state == "waiting"]
    if not_run:
        lines.append(f"  not started (interrupted): {', '.join(not_run)}")
    return lines
