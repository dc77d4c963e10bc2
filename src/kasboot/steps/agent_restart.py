"""The last two steps of bootstrap and token rotate.

FinishRestart: agentk reads its token file only when it starts, so after the Secret's
token changed its pods must be restarted. A run that died between replacing the Secret
and restarting left that undone, and a re-run finds the Secret as wanted (UNCHANGED).
The pending restart is read from the cluster itself: the pod template records the
token id the pods started with (``kasboot.dev/token-id``, stamped at every restart), or
— before any restart — the Deployment's own annotation of that name, recorded (no
rollout) by the run that created the Secret agentk mounts. With
neither, pods started (Deployment created, or last restarted) well before the Secret's
token was minted are running on an older token.

ConfirmToken: before a run that minted a token reports success, the token in the
Secret must still be active in GitLab (a concurrent run could have revoked it); then
the token lease is released."""

from __future__ import annotations

from typing import Any

from kasboot.cluster import REPLACED_TOKEN, RESTARTED_AT, STARTED_WITH_TOKEN
from kasboot.doctor.context import parse_gitlab_time as parse_time
from kasboot.errors import FluxError
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext
from kasboot.steps.gitlab_survey import known_token
from kasboot.steps.reconcile import ReconcileFlux, request_token
from kasboot.steps.token import held_token_id

CLOCK_SLACK_SECONDS = 5.0  # GitLab's and the API server's clocks may differ a little


def started_with(
    deployment: dict[str, Any], token: dict[str, Any], secret: dict[str, Any] | None = None
) -> bool | None:
    """Do the pods run with ``token``? None when nothing records it. ``secret``: the
    token Secret as read; one whose token a replace took out (REPLACED_TOKEN) leaves
    pods no restart has stamped since on that older token."""
    template = (deployment.get("spec") or {}).get("template") or {}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    stamped = annotations.get(STARTED_WITH_TOKEN) or (
        ((deployment.get("metadata") or {}).get("annotations") or {}).get(STARTED_WITH_TOKEN)
    )
    if stamped:
        return bool(str(stamped) == str(token.get("id")))
    secret_notes = ((secret or {}).get("metadata") or {}).get("annotations") or {}
    if secret_notes.get(REPLACED_TOKEN):
        return False
    created = (deployment.get("metadata") or {}).get("creationTimestamp")
    started = parse_time(annotations.get(RESTARTED_AT)) or parse_time(created)
    minted = parse_time(token.get("created_at"))
    if started is None or minted is None:
        return None
    if (minted - started).total_seconds() > CLOCK_SLACK_SECONDS:
        return False  # the pods are older than the token: they run on an older one
    return None


class FinishRestart(ReconcileFlux):
    name = "restart"
    title = "Checking agentk runs with the Secret's token"

    def __init__(self) -> None:
        self._pending: list[tuple[str, str]] = []
        self._unrecorded: list[tuple[str, str]] = []
        self._held: int | None = None
        self._done: list[str] = []

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        self._pending = []
        held = ctx.token_id if ctx.token_id is not None else held_token_id(ctx.token_secret)
        if held is None or ctx.agent is None:
            return []
        if ctx.helm_release_new:
            # This run's commit added the HelmRelease (after the Secret step): helm-controller
            # installed agentk since, its pods mount the Secret's token. A later replace of
            # that token marks the Secret (REPLACED_TOKEN): no record on the Deployment.
            return []
        deployments = ctx.cluster.list_deployments(
            ctx.settings.helm_release_target_namespace,
            f"helm.toolkit.fluxcd.io/name={ctx.settings.helm_release_name},"
            f"helm.toolkit.fluxcd.io/namespace={ctx.settings.helm_release_namespace}",
        )
        if not deployments:
            return []
        token = known_token(ctx, ctx.agent_id, held) or {"id": held}  # no GET: minted or surveyed
        self._held = held
        self._unrecorded = []
        for deployment in deployments:
            meta = deployment["metadata"]
            ref = (str(meta["namespace"]), str(meta["name"]))
            verdict = started_with(deployment, token, ctx.token_secret)
            if verdict is False:
                self._pending.append(ref)
            elif verdict is None and ctx.token is not None and ctx.held_token_id is None:
                # Nothing records it yet, and this run created the Secret agentk mounts:
                # its pods started with this token. Record that (no rollout).
                self._unrecorded.append(ref)
        changes = [
            Change("restart", f"Deployment {ns}/{name}", f"its pods predate token {held}")
            for ns, name in self._pending
        ]
        changes += [
            Change("annotate", f"Deployment {ns}/{name}", f"{STARTED_WITH_TOKEN}={held}")
            for ns, name in self._unrecorded
        ]
        return changes

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        stamp = request_token()
        for namespace, name in self._pending:
            ctx.cluster.restart_deployment(namespace, name, stamp, self._held)
            self._done.append(f"{namespace}/{name}")
        for namespace, name in self._unrecorded:
            ctx.cluster.annotate_deployment(namespace, name, {STARTED_WITH_TOKEN: str(self._held)})
        restarted = getattr(ctx, "restarted", None)
        if isinstance(restarted, list):
            restarted.extend(self._done)

    def summary(self, ctx: BootstrapContext) -> str:
        if self._done:
            return f"restarted {', '.join(self._done)} (a restart was pending)"
        if self._unrecorded:
            return f"recorded that agentk runs with token {self._held}"
        return "agentk runs with the Secret's token"


class ConfirmToken:
    name = "confirm-token"
    title = "Confirming the Secret's token is active"

    def __init__(self) -> None:
        self._summary = "no token minted in this run"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        """Reads only (a check: it plans no change, so it shows UNCHANGED)."""
        if ctx.token is None:
            return []
        settings = ctx.settings
        if ctx.token_lease is not None and ctx.token_lease.held_throughout():
            # No other kasboot run could write the Secret: it holds what this run stored.
            held: int | None = ctx.token_id
        else:
            secret = ctx.cluster.get_secret(
                settings.helm_release_target_namespace, settings.gitlab_agent_token_secret_name
            )
            held = held_token_id(secret)
        if ctx.token_lease is not None:
            ctx.token_lease.release()
            ctx.token_lease = None
        if held is None or ctx.agent is None:
            return []
        if ctx.gitlab.get_token(ctx.project_path, ctx.agent_id, held) is None:
            raise FluxError(
                f"Secret {settings.helm_release_target_namespace}/"
                f"{settings.gitlab_agent_token_secret_name} holds token {held}, which GitLab "
                "no longer has active (another run revoked it): agentk cannot connect",
                hint="run `kasboot token rotate` again to store an active token",
            )
        self._summary = f"token {held} in the Secret is active"
        return []

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        """A check writes nothing."""

    def summary(self, ctx: BootstrapContext) -> str:
        return self._summary
