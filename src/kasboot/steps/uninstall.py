"""`kasboot uninstall`: the bootstrap in reverse, touching only what is this agent's.

The pre-flight (steps/uninstall_survey.py) reads the agent's record — how it was
bootstrapped — and decides, before any write, whose each file, Secret, token and
environment is; anything that is another agent's refuses the run (exit 3). Then ONE
commit removes this agent's manifests (and config.yaml with --delete-agent); Flux is
reconciled so it prunes the HelmRelease (and agentk); the agent's Secret goes; the
token this cluster holds and the tokens kasboot minted are revoked; environments
kasboot created are stopped (force) and deleted, those it only linked are unlinked;
with --delete-agent the registration goes too. Each step is idempotent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kasboot.bootstrap import BootstrapRun, open_context
from kasboot.errors import KasbootError
from kasboot.gitlab_api import RequestLogger
from kasboot.pipeline import Listener, Runner, Step
from kasboot.settings import Settings
from kasboot.steps.context import BootstrapContext
from kasboot.steps.proxy_secret import DeleteProxySecret
from kasboot.steps.rotate import widen
from kasboot.steps.uninstall_receptive import DeleteUrlConfiguration
from kasboot.steps.uninstall_steps import (
    CommitRemoval,
    DeleteAgent,
    DeleteNamespace,
    DeleteTokenSecret,
    PruneFlux,
    RemoveEnvironments,
    RemoveFiles,
    RevokeTokens,
)
from kasboot.steps.uninstall_survey import UninstallContext, UninstallPreflight

__all__ = ["UninstallContext", "run_uninstall", "uninstall_outcome", "uninstall_steps"]


def uninstall_steps() -> list[Step[BootstrapContext]]:
    return [
        UninstallPreflight(),
        RemoveFiles(),
        CommitRemoval(),
        PruneFlux(),
        DeleteTokenSecret(),
        DeleteProxySecret(),
        RevokeTokens(),
        RemoveEnvironments(),
        DeleteUrlConfiguration(),
        DeleteAgent(),
        DeleteNamespace(),
    ]


def uninstall_outcome(run: BootstrapRun) -> dict[str, Any]:
    ctx = run.context
    if not isinstance(ctx, UninstallContext):
        return {}
    settings = ctx.settings
    inventory = ctx.inventory
    secret = (ctx.token_secret or {}).get("metadata") or {}
    return {
        "project": ctx.project_path,
        "branch": ctx.branch,
        "agent": {"id": ctx.agent.get("id"), "name": ctx.agent.get("name")} if ctx.agent else None,
        "agent_deleted": ctx.agent_deleted,
        "settings_from": inventory.settings_source or None,
        "commit": ctx.commit_sha,
        "files": sorted(inventory.removals),
        "files_added": sorted(inventory.writes),
        "secret": f"{secret.get('namespace') or settings.helm_release_target_namespace}/"
        f"{secret.get('name') or settings.gitlab_agent_token_secret_name}",
        "secret_deleted": ctx.secret_deleted,
        "revoked_token_ids": ctx.revoked_token_ids,
        "kept_tokens": inventory.kept_tokens,
        "deleted_environments": ctx.deleted_environments,
        "unlinked_environments": ctx.unlinked_environments,
        "kept_environments": inventory.kept_environments,
        "flux": ctx.flux_state or None,
    }


def run_uninstall(
    settings: Settings,
    listener: Listener,
    *,
    delete_agent: bool,
    explicit: frozenset[str] = frozenset(),
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    request_logger: RequestLogger | None = None,
) -> BootstrapRun:
    """``explicit``: the options the user gave as flags or KASBOOT_* variables; those
    are checked against the agent's record, the others are filled from it."""
    run = BootstrapRun()
    runner: Runner[BootstrapContext] = Runner(uninstall_steps(), listener, dry_run=settings.dry_run)
    try:
        base = open_context(settings, cwd=cwd, env=env, request_logger=request_logger)
        run.context = widen(
            base, UninstallContext, delete_agent=delete_agent, explicit=frozenset(explicit)
        )
        runner.run(run.context)
    except KasbootError as error:
        run.error = error
    run.reports = runner.reports
    return run
