"""`kasboot fleet plan|apply|ci FLEET.yaml`: many clusters from one file."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from kasboot.errors import UsageError

FLEET_FORMAT = """\b
FLEET.yaml:
  defaults:                        # bootstrap options for every cluster
    repo: platform/fleet           # (long flag names, as in .kasboot.yaml)
    manifest-path: clusters/{name}/gitlab-agent
  clusters:
    - name: prod-eu                # required, unique; {name} and {agent} expand
      context: prod-eu             # or kubeconfig: FILE
    - name: prod-us
      agent: agent-us              # default: the cluster's name
      context: prod-us
      helm-release-target-namespace: agents
"""


HELP = {"help_option_names": ["-h", "--help"]}  # as every kasboot command, however reached


@click.group(epilog=FLEET_FORMAT, context_settings=HELP)
def fleet() -> None:
    """Bootstrap many clusters from one fleet file: plan, apply, or a CI pipeline.

    Each cluster runs as its own `kasboot bootstrap` (the same checks, idempotence and
    token handling); one cluster's failure never stops the others. Exit code: 0 when
    every cluster succeeded, else the first failed cluster's (130/143 if interrupted).
    """


def _run_options(f: Any) -> Any:
    f = click.option(
        "--only",
        "only",
        multiple=True,
        metavar="NAME",
        help="Only this cluster (repeatable).",
    )(f)
    f = click.option(
        "--parallel",
        type=click.IntRange(1, 64),
        default=4,
        show_default=True,
        help="Clusters bootstrapped at once.",
    )(f)
    f = click.option(
        "-o",
        "--output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="text: a live table on stderr; json: one document on stdout.",
    )(f)
    return click.argument("fleet_file", type=click.Path(path_type=Path, dir_okay=False))(f)


@fleet.command(context_settings=HELP)
@_run_options
def plan(fleet_file: Path, only: tuple[str, ...], parallel: int, output: str) -> None:
    """Show what bootstrap would change on each cluster; write nothing."""
    _run(fleet_file, only, parallel, output, dry_run=True)


@fleet.command(context_settings=HELP)
@_run_options
def apply(fleet_file: Path, only: tuple[str, ...], parallel: int, output: str) -> None:
    """Bootstrap every cluster (re-runs change nothing where nothing differs)."""
    _run(fleet_file, only, parallel, output, dry_run=False)


def _run(
    fleet_file: Path, only: tuple[str, ...], parallel: int, output: str, dry_run: bool
) -> None:
    from kasboot.fleet.run import FleetRunner, fleet_exit_code
    from kasboot.fleet.spec import load_fleet
    from kasboot.fleet.table import BUILTIN_STEPS, FleetDisplay, summary_lines
    from kasboot.ui.console import make_console

    spec = load_fleet(fleet_file).select(only)  # every cluster validated before any runs
    console = make_console()
    display = FleetDisplay([], BUILTIN_STEPS, console) if output == "text" else None
    runner = FleetRunner(
        spec, dry_run=dry_run, parallel=parallel, listener=lambda run: _update(display, run)
    )
    if display is not None:
        display.runs = runner.runs
        with display:
            runs = runner.run()
    else:
        runs = runner.run()
    code = fleet_exit_code(runs)
    if output == "json":
        from kasboot.ui.jsonout import dumps, envelope

        document = _document(spec.path, runs, code, dry_run)
        command = document.pop("command")  # the envelope every -o json document shares
        click.echo(dumps(envelope(command, document, exit_code=code, ok=code == 0)))
    else:
        for line in summary_lines(runs, dry_run):
            console.print(line, highlight=False)
    sys.exit(code)


def _update(display: Any, run: Any) -> None:
    if display is not None:
        display.update(run)


def _document(path: Path, runs: list[Any], code: int, dry_run: bool) -> dict[str, Any]:
    verdicts: dict[str, int] = {}
    for run in runs:
        verdicts[run.verdict] = verdicts.get(run.verdict, 0) + 1
    return {
        "command": "fleet plan" if dry_run else "fleet apply",
        "ok": code == 0,
        "exit_code": code,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "fleet": str(path),
        "summary": {"clusters": len(runs), **verdicts},
        "clusters": [run.as_json() for run in runs],
    }


@fleet.command(context_settings=HELP)
@click.argument("fleet_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--write",
    "write_to",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the pipeline to this file (e.g. .gitlab-ci.yml) instead of stdout.",
)
@click.option(
    "--component",
    default=None,
    metavar="PATH@VERSION",
    help="Include kasboot's CI/CD component (e.g. gitlab.com/acme/kasboot/fleet@1.0) "
    "instead of writing the job out.",
)
@click.option("--stage", default="deploy", show_default=True, help="The jobs' stage.")
@click.option(
    "--image", default="python:3.11-slim", show_default=True, help="A Python 3.10+ image."
)
def ci(
    fleet_file: Path, write_to: Path | None, component: str | None, stage: str, image: str
) -> None:
    """Write a GitLab CI pipeline that applies the fleet, one job per cluster.

    The clusters of one project and branch share a resource_group, so their commits
    take turns; each job keeps its JSON report as an artifact.
    """
    from kasboot.fleet.ci import component_pipeline, dump, pipeline
    from kasboot.fleet.spec import load_fleet

    spec = load_fleet(fleet_file)
    if component is not None and "@" not in component:
        raise UsageError(
            f"--component {component!r} names no version",
            hint="give PATH@VERSION, e.g. gitlab.com/acme/kasboot/fleet@1.0",
        )
    name = fleet_file.as_posix()
    document = (
        component_pipeline(spec, name, component, stage=stage)
        if component
        else pipeline(spec, name, stage=stage, image=image)
    )
    text = dump(document, name)
    if write_to is None:
        click.echo(text, nl=False)
        return
    write_to.write_text(text, encoding="utf-8")
    click.echo(f"wrote {write_to} ({len(spec.clusters)} cluster(s))", err=True)
