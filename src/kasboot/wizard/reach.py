"""The wizard's questions for the seed options (proxy, RBAC, replicas) and for a Flux
that another agent of this cluster already has: they become flags of the equivalent
command (option_specs.SEED_SPECS), never a values file, and a proxy URL with credentials is
never taken here (it would land in the command shown and in shell history)."""

from __future__ import annotations

from typing import Any

from kasboot.seed_input import proxy_has_credentials
from kasboot.settings import Settings
from kasboot.steps.context import BootstrapContext
from kasboot.steps.shared_flux import other_agent

RBAC_CHOICES = {
    "cluster-admin": "cluster-admin (the chart's default; not for production)",
    "existing": "bind an existing ClusterRole (--rbac-role)",
    "none": "create no RBAC, bind it yourself (--no-rbac)",
}


def _no_credentials(text: str) -> bool | str:
    if text.strip() and proxy_has_credentials(text.strip()):
        return "a URL with credentials only from KASBOOT_HTTPS_PROXY (kasboot keeps it in a Secret)"
    return True


def ask_seed_options(settings: Settings) -> dict[str, Any]:
    from kasboot.ui.wizard import ask_select, ask_text

    https_proxy = ask_text(
        "HTTPS proxy for agentk (empty for none):", settings.https_proxy or "", _no_credentials
    )
    no_proxy = (
        ask_text("NO_PROXY for agentk (empty for none):", settings.no_proxy or "")
        if https_proxy
        else ""
    )
    default = "none" if not settings.rbac else "existing" if settings.rbac_role else "cluster-admin"
    rbac = ask_select("RBAC for agentk:", RBAC_CHOICES, default)
    role = (
        ask_text("Name of the existing ClusterRole:", settings.rbac_role or "")
        if rbac == "existing"
        else ""
    )
    return {
        "https_proxy": https_proxy or None,
        "no_proxy": no_proxy or None,
        "rbac": rbac != "none",
        "rbac_role": role or None,
    }


def say_shared_flux(ctx: BootstrapContext, settings: Settings) -> str | None:
    """Say what this agent shares with another agent of the cluster (its Flux and that
    Flux's environment, which stays on the other agent unless the advanced options say
    otherwise); that agent's name, or None when nothing is shared."""
    from kasboot.ui.wizard import say

    if not settings.create_flux_environment:
        return None
    current = ctx.gitlab.find_environment(ctx.project_path, settings.flux_env_name)
    agent = other_agent(ctx, current)
    if agent is None:
        return None
    name = str(agent.get("name") or f"id {agent['id']}")
    say(
        f"Shared with agent {name}: Flux ({settings.flux_source_namespace}/"
        f"{settings.flux_source_name}) and its GitLab environment {settings.flux_env_name}, "
        f"which stays on {name} (advanced options: point it at this agent). This agent "
        "gets its own release, namespace, token and environment."
    )
    return name


def ask_flux_environment_agent(settings: Settings, shared_with: str) -> str:
    from kasboot.ui.wizard import ask_select

    return ask_select(
        f"Which agent should the Flux environment {settings.flux_env_name} name?",
        {"keep": f"{shared_with} (keep: nothing changes for it)", "move": f"{settings.agent}"},
        settings.flux_environment_agent,
    )
