"""`kasboot token rotate`: zero-downtime rotation, GitLab's own recipe — mint the new
token (within the 2-active-token limit, revoking only a token the cluster does not
hold), switch the cluster to it in ONE Secret write, make agentk reconnect with it,
and only once GitLab shows the new token used, revoke the one the cluster held
before (with --revoke-previous). The bootstrap's steps do the minting and the Secret;
this module adds what only rotation needs. Nothing here prints."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kasboot.bootstrap import BootstrapRun, open_context
from kasboot.errors import FluxError, KasbootError, PreflightError
from kasboot.gitlab_api import RequestLogger
from kasboot.pipeline import Change, Listener, Runner, Step
from kasboot.settings import Settings
from kasboot.steps.agent_restart import ConfirmToken
from kasboot.steps.context import BootstrapContext
from kasboot.steps.preflight import Preflight
from kasboot.steps.reconcile import ReconcileFlux, request_token
from kasboot.steps.recorded import apply_record
from kasboot.steps.secret import StoreTokenSecret
from kasboot.steps.token import MintToken

POLL_SECONDS = 0.5  # GitLab has no watch for token use: poll its single-token GET


@dataclass
class RotationContext(BootstrapContext):
    revoke_previous: bool = False
    explicit: frozenset[str] = frozenset()  # the options given as flags or KASBOOT_*
    settings_source: str = ""
    restarted: list[str] = field(default_factory=list)  # "namespace/name" of Deployments
    new_token_used_at: str | None = None


def widen(base: BootstrapContext, cls: type[Any], **extra: Any) -> Any:
    """The same context as a subclass carrying the command's own fields."""
    values = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
    return cls(**values, **extra)


class RotationPreflight(Preflight):
    """Bootstrap's pre-flight without the topology guard (rotation commits nothing),
    plus: the agent is registered and the cluster already has its token Secret."""

    def _guard(self, ctx: BootstrapContext) -> None:
        source = ctx.settings_source if isinstance(ctx, RotationContext) else ""
        self._guard_summary = f"topology guard not needed (nothing is committed); {source}"

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        assert isinstance(ctx, RotationContext)
        # How the agent was bootstrapped, from its record, before anything else is read.
        ctx.project_path = ctx.gitlab.project(ctx.project_path).path
        ctx.settings_source = apply_record(ctx, ctx.explicit)
        super().plan(ctx)
        settings = ctx.settings
        ctx.agent = ctx.gitlab.find_agent(ctx.project_path, settings.agent)
        if ctx.agent is None:
            raise PreflightError(
                f"agent {settings.agent} is not registered in {ctx.project_path}",
                hint=f"bootstrap it first: kasboot bootstrap {settings.agent} …",
            )
        if ctx.token_secret is None:
            raise PreflightError(
                f"Secret {settings.helm_release_target_namespace}/"
                f"{settings.gitlab_agent_token_secret_name} does not exist: there is no "
                "token in the cluster to rotate",
                hint="pass the options the agent was bootstrapped with, or run kasboot bootstrap",
            )
        return []


class ReconnectAgent(ReconcileFlux):
    """Make agentk reconnect with the new Secret: reconcile the HelmRelease, watched
    until Ready, then restart its Deployment (agentk reads its token file only at start,
    as `kubectl rollout restart` would). In that order: a receptive agent's pods mount
    the chart's own Secret, whose copy of the token helm-controller writes only when it
    upgrades the release with the new valuesFrom — a restart before would start them
    with the old token (the chart's pod template has no checksum of that Secret)."""

    name = "reconnect"
    title = "Reconnecting the agent with the new token"

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        if not ctx.secret_changed and not ctx.dry_run:
            return []
        settings = ctx.settings
        release = f"{settings.helm_release_namespace}/{settings.helm_release_name}"
        changes = [Change("annotate", f"HelmRelease {release}", "then wait until Ready")]
        changes += [
            Change("restart", f"Deployment {namespace}/{name}", "rollout restart")
            for namespace, name in self.agent_deployments(ctx)
        ]
        return changes

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        assert isinstance(ctx, RotationContext)
        settings = ctx.settings
        token = request_token()
        deadline = time.monotonic() + settings.timeout
        try:
            self._reconcile(
                ctx,
                "HelmRelease",
                settings.helm_release_namespace,
                settings.helm_release_name,
                token,
                None,
                deadline,
            )
        except FluxError as error:
            previous = ctx.held_token_id
            if previous is None or previous == ctx.token_id:
                raise
            # Say what matters to whoever re-runs: the old token still works.
            raise FluxError(
                f"{error.message}; nothing was revoked (token {previous} is still active)",
                hint=error.hint,
            ) from error
        ctx.restarted.extend(self.restart_agent(ctx, token))
        ctx.flux_state = "HelmRelease Ready"

    def summary(self, ctx: BootstrapContext) -> str:
        if not ctx.secret_changed:
            return "the Secret did not change"
        return ctx.flux_state or "the agent will reconnect"


class RevokePrevious:
    """Revoke the token the cluster held before — only after GitLab shows the new one
    used (agentk reconnected with it), so the agent is never left without a token
    GitLab accepts. Not connected in time: nothing is revoked, exit 6."""

    name = "revoke-previous"
    title = "Revoking the previous token once the new one is in use"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        assert isinstance(ctx, RotationContext)
        if ctx.revoke_previous:
            return None
        if ctx.held_token_id is not None and ctx.held_token_id != ctx.token_id:
            return (
                f"previous token {ctx.held_token_id} stays active: revoke it with "
                "--revoke-previous once the agent uses the new one"
            )
        return "no previous token"

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        previous = ctx.held_token_id
        if previous is None or previous == ctx.token_id or previous in ctx.revoked_token_ids:
            return []
        if (
            ctx.agent is None
            or ctx.gitlab.get_token(ctx.project_path, ctx.agent_id, previous) is None
        ):
            return []  # already revoked
        return [
            Change(
                "revoke",
                f"agent token {previous}",
                f"after token {ctx.token_id} is used by the agent",
            )
        ]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        assert isinstance(ctx, RotationContext) and ctx.token_id is not None
        previous = ctx.held_token_id
        assert previous is not None
        deadline = time.monotonic() + ctx.settings.timeout
        while True:
            new = ctx.gitlab.get_token(ctx.project_path, ctx.agent_id, ctx.token_id)
            if new is not None and new.get("last_used_at"):
                ctx.new_token_used_at = str(new["last_used_at"])
                break
            if time.monotonic() >= deadline:
                raise FluxError(
                    f"the agent did not connect with the new token {ctx.token_id} within "
                    f"{ctx.settings.timeout:g}s; nothing was revoked (token {previous} is "
                    "still active)",
                    hint="check the agent with `kasboot status`, then re-run with "
                    "--revoke-previous",
                )
            time.sleep(POLL_SECONDS)
        ctx.gitlab.revoke_token(ctx.project_path, ctx.agent_id, previous)
        ctx.revoked_token_ids.append(previous)

    def summary(self, ctx: BootstrapContext) -> str:
        assert isinstance(ctx, RotationContext)
        if ctx.new_token_used_at:
            return (
                f"token {ctx.token_id} used at {ctx.new_token_used_at}; "
                f"revoked token {ctx.held_token_id}"
            )
        return "nothing to revoke"


class ForcedMint(MintToken):
    title = "Creating the new agent token"


def rotation_steps() -> list[Step[BootstrapContext]]:
    return [
        RotationPreflight(),
        ForcedMint(),
        StoreTokenSecret(),
        ReconnectAgent(),
        RevokePrevious(),
        ConfirmToken(),
    ]


def rotation_outcome(run: BootstrapRun) -> dict[str, Any]:
    ctx = run.context
    if not isinstance(ctx, RotationContext):
        return {}
    settings = ctx.settings
    previous_active = (
        ctx.held_token_id is not None
        and ctx.held_token_id != ctx.token_id
        and ctx.held_token_id not in ctx.revoked_token_ids
    )
    return {
        "project": ctx.project_path,
        "agent": {"id": ctx.agent.get("id"), "name": ctx.agent.get("name")} if ctx.agent else None,
        "previous_token_id": ctx.held_token_id,
        "token_id": ctx.token_id,
        "token_minted": ctx.token is not None,
        "revoked_token_ids": ctx.revoked_token_ids,
        "previous_token_active": previous_active,
        "secret": f"{settings.helm_release_target_namespace}/"
        f"{settings.gitlab_agent_token_secret_name}",
        "restarted": ctx.restarted,
        "new_token_used_at": ctx.new_token_used_at,
        "flux": ctx.flux_state or None,
    }


def run_rotation(
    settings: Settings,
    listener: Listener,
    *,
    revoke_previous: bool,
    explicit: frozenset[str] = frozenset(),
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    request_logger: RequestLogger | None = None,
) -> BootstrapRun:
    """Rotate the agent's token; the bootstrap's result type, with rotation's context."""
    settings = dataclasses.replace(settings, rotate_token=True)
    run = BootstrapRun()
    runner: Runner[BootstrapContext] = Runner(rotation_steps(), listener, dry_run=settings.dry_run)
    try:
        base = open_context(settings, cwd=cwd, env=env, request_logger=request_logger)
        run.context = widen(
            base, RotationContext, revoke_previous=revoke_previous, explicit=frozenset(explicit)
        )
        runner.run(run.context)
    except KasbootError as error:
        run.error = error
    run.reports = runner.reports
    return run
