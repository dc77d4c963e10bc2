"""A second agent in one cluster shares that cluster's Flux: its Flux environment
(``<flux-source-namespace>/<flux-source-name>``, the Flux dashboard) already exists,
linked to the first agent. It is never re-pointed silently: by default it stays on the
agent it names (--flux-environment-agent keep); --flux-environment-agent move (or the
wizard's answer) points it at the new agent, and the summary says so either way."""

from __future__ import annotations

from typing import Any

from kasboot.steps.context import BootstrapContext


def linked_agent(environment: dict[str, Any] | None) -> dict[str, Any] | None:
    agent = (environment or {}).get("cluster_agent") or None
    return dict(agent) if isinstance(agent, dict) and agent.get("id") is not None else None


def other_agent(ctx: BootstrapContext, environment: dict[str, Any] | None) -> dict[str, Any] | None:
    """The agent the existing Flux environment names, when it is not this one."""
    agent = linked_agent(environment)
    if agent is None:
        return None
    if ctx.agent is not None and int(agent["id"]) == int(ctx.agent["id"]):
        return None
    if ctx.agent is None and agent.get("name") == ctx.settings.agent:
        return None
    return agent


def keeps_other_agent(ctx: BootstrapContext, environment: dict[str, Any] | None) -> int | None:
    """The agent id to keep on the Flux environment (None: link it to this agent)."""
    agent = other_agent(ctx, environment)
    if agent is None or ctx.settings.flux_environment_agent == "move":
        return None
    return int(agent["id"])


def shared_note(ctx: BootstrapContext, environment: dict[str, Any] | None) -> str:
    agent = other_agent(ctx, environment)
    if agent is None:
        return ""
    name = agent.get("name") or f"id {agent['id']}"
    if ctx.settings.flux_environment_agent == "move":
        return f"; shared Flux: moved from agent {name} to {ctx.settings.agent}"
    return (
        f"; shared Flux: stays on agent {name} "
        f"(--flux-environment-agent move points it at {ctx.settings.agent})"
    )
