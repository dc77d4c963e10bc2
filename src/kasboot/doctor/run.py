"""`kasboot doctor` as a library call: every check in order, each reported whatever the
others found; never prints, never writes."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kasboot.doctor import cluster_checks, gitlab_checks
from kasboot.doctor.agent_checks import agent_checks, read_agent
from kasboot.doctor.context import open_doctor_context
from kasboot.doctor.model import Report
from kasboot.doctor.plugin_checks import check_plugins
from kasboot.doctor.topology import check_topology

if TYPE_CHECKING:
    from kasboot.gitlab_api import RequestLogger
    from kasboot.settings import Settings


def run_doctor(
    settings: Settings,
    *,
    agent_given: bool,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    request_logger: RequestLogger | None = None,
    now: datetime | None = None,
) -> Report:
    """The checklist for the setup `settings` describe (the options bootstrap would get).
    Without ``agent_given`` the agent in ``settings`` is a placeholder: only the guard
    uses it, and the agent's own lines are left out."""
    ctx = open_doctor_context(settings, cwd=cwd, env=env, request_logger=request_logger, now=now)
    report = Report(project=ctx.project_path, agent=settings.agent if agent_given else None)
    for check in (
        gitlab_checks.check_gitlab,
        gitlab_checks.check_token,
        gitlab_checks.check_project,
        gitlab_checks.check_kas,
        cluster_checks.check_cluster,
        cluster_checks.check_flux,
        cluster_checks.check_flux_source,
    ):
        report.add(check(ctx))
    # Read before the version check: it looks where the agent really runs.
    reading = read_agent(ctx) if agent_given else None
    report.add(cluster_checks.check_agent_version(ctx))
    report.add(check_topology(ctx))
    plugins = check_plugins(os.environ if env is None else env)
    if plugins is not None:
        report.add(plugins)
    if ctx.project is not None:
        report.project = ctx.project.path
    if reading is not None:
        for line in agent_checks(ctx, reading):
            report.add(line)
    return report
