"""`kasboot status AGENT`: the agent in one compact view, and its exit code — 0 healthy,
6 registered but not Ready/connected, 4 not registered."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kasboot.doctor.agent_state import AgentState, read_agent_state
from kasboot.errors import ExitCode

if TYPE_CHECKING:
    from kasboot.gitlab_api import RequestLogger
    from kasboot.settings import Settings


def read_status(
    settings: Settings,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    request_logger: RequestLogger | None = None,
) -> AgentState:
    """GitLab's and the cluster's view of the agent; their errors propagate (4, 5)."""
    from kasboot.bootstrap import open_context

    ctx = open_context(settings, cwd=cwd, env=env, request_logger=request_logger)
    ctx.gitlab.metadata_once()  # an unreachable GitLab fails now, not after retries
    project = ctx.gitlab.project(ctx.project_path).path
    return read_agent_state(ctx.gitlab, ctx.cluster, project, settings)


def status_exit_code(state: AgentState, now: datetime) -> ExitCode:
    if not state.registered:
        return ExitCode.GITLAB
    return ExitCode.OK if state.healthy(now) else ExitCode.FLUX


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if moment else None


def status_document(state: AgentState, now: datetime) -> dict[str, Any]:
    """--output json: ids, names, states and times — never the token."""
    secret, release, latest = state.secret, state.release, state.last_contact
    return {
        "command": "status",
        "agent": state.name,
        "project": state.project,
        "registered": state.registered,
        "agent_id": state.agent.get("id") if state.agent else None,
        "tokens": [
            {
                "id": token.id,
                "name": token.name,
                "created_at": token.created_at,
                "last_used_at": _time(token.last_used_at),
            }
            for token in state.tokens
        ],
        "secret": None
        if secret is None
        else {
            "namespace": secret.namespace,
            "name": secret.name,
            "present": secret.present,
            "has_token_key": secret.has_token_key,
            "token_id": secret.token_id,
            "token_active": state.secret_token_active,
            "managed_for": secret.managed_for,
        },
        "helm_release": None
        if release is None
        else {
            "namespace": release.namespace,
            "name": release.name,
            "present": release.present,
            "ready": release.ready,
            "phase": release.phase.value if release.phase else None,
            "reason": release.reason,
            "message": release.message,
            "diagnosis": {
                "code": release.diagnosis.code,  # docs/troubleshooting.md lists each
                "cause": release.diagnosis.cause,
                "fix": release.diagnosis.fix,
            }
            if release.diagnosis
            else None,
        },
        "connected": state.connected(now),
        "last_contact": _time(latest.last_used_at) if latest else None,
        "healthy": state.healthy(now),
        "located_by_token": state.located_by_token,
        "settings_from": state.record_at,  # the agent's record, when found
        "exit_code": int(status_exit_code(state, now)),
    }
