"""The bootstrap as a library call: resolve the project and credentials, open the
seams, run the steps. The CLI (and the wizard, and tests) call this; it never prints."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kasboot.errors import KasbootError
from kasboot.gitlab_api import RequestLogger
from kasboot.pipeline import Listener, Runner, StepReport
from kasboot.settings import Settings
from kasboot.steps.context import BootstrapContext


@dataclass
class BootstrapRun:
    context: BootstrapContext | None = None
    reports: list[StepReport] = field(default_factory=list)
    error: KasbootError | None = None

    def outcome(self) -> dict[str, Any]:
        """What happened, by id and name — never the token."""
        ctx = self.context
        if ctx is None:
            return {}
        settings = ctx.settings
        return {
            "project": ctx.project_path,
            "branch": ctx.branch,
            "agent": {"id": ctx.agent.get("id"), "name": ctx.agent.get("name")}
            if ctx.agent
            else None,
            "environments": [
                {"id": env.get("id"), "name": env.get("name")} for env in ctx.environments.values()
            ],
            "token_id": ctx.token_id,
            "token_minted": ctx.token is not None,
            "revoked_token_ids": ctx.revoked_token_ids,
            "secret": (
                f"{settings.helm_release_target_namespace}/"
                f"{settings.gitlab_agent_token_secret_name}"
            ),
            "commit": ctx.commit_sha,
            "files": sorted(ctx.staged) if ctx.commit_sha or ctx.dry_run else [],
            "flux": ctx.flux_state or None,
        }


def open_context(
    settings: Settings,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    request_logger: RequestLogger | None = None,
    start_reads: bool = False,
) -> BootstrapContext:
    """Resolve the project and credentials and open the seams. With ``start_reads``,
    pre-flight's reads are on their way when it returns (steps/preflight_reads.py):
    GitLab's are sent before the kubernetes client is imported, the cluster's once it
    is, so that neither import waits for the other's round trips; else no request is
    made yet."""
    from kasboot.cluster import Cluster
    from kasboot.credentials import gitlab_credentials
    from kasboot.gitlab_api import GitLabAPI
    from kasboot.localrepo import resolve_project

    environ = dict(os.environ) if env is None else env
    project_path, host = resolve_project(settings.repo, cwd or Path.cwd(), environ)
    credentials = gitlab_credentials(host_hint=host, env=environ)
    gitlab = GitLabAPI.for_credentials(
        credentials, request_logger=request_logger, ca_file=settings.ca_file
    )
    # The kubeconfig is checked here, before any request (exit 2 for a mistake).
    cluster = Cluster(settings.kubeconfig, settings.context, connect=not start_reads)
    cluster.bound_run(settings.timeout)  # --timeout bounds the cluster side of the run
    gitlab.bound_run(cluster.deadline, settings.timeout)  # and GitLab's
    ctx = BootstrapContext(
        settings=settings,
        gitlab=gitlab,
        cluster=cluster,
        project_path=project_path,
        dry_run=settings.dry_run,
    )
    if start_reads:
        from kasboot.steps.preflight_reads import StartedReads

        ctx.started_reads = StartedReads(ctx, connect=cluster.connect)
    return ctx


def run_bootstrap(
    settings: Settings,
    listener: Listener,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    request_logger: RequestLogger | None = None,
) -> BootstrapRun:
    from kasboot.commit_lock import serialised_commits
    from kasboot.plugins import discover, with_plugins

    run = BootstrapRun()
    environ = os.environ if env is None else env
    try:
        run.context = open_context(
            settings, cwd=cwd, env=env, request_logger=request_logger, start_reads=True
        )
    except KasbootError as error:
        run.error = error
        return run
    # The steps load while pre-flight's reads travel (steps/__init__.py).
    from kasboot.startup_gc import resume
    from kasboot.steps import bootstrap_steps

    steps = serialised_commits(bootstrap_steps(), environ)
    plugins = discover([step.name for step in steps], environ)
    resume()  # start-up is over: the collector runs again (startup_gc.py)
    runner: Runner[BootstrapContext] = Runner(
        with_plugins(steps, plugins), listener, dry_run=settings.dry_run
    )
    try:
        runner.run(run.context)
    except KasbootError as error:
        run.error = error
    run.reports = runner.reports
    return run
