"""Step 3: the environments with dashboards (one for the agent, one for Flux),
created or updated only where a field differs."""

from __future__ import annotations

from typing import Any

from kasboot.ownership import environment_description
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext


class _Environment:
    name: str
    title: str

    def wanted(self, ctx: BootstrapContext) -> dict[str, Any]:
        raise NotImplementedError

    def enabled(self, ctx: BootstrapContext) -> bool:
        raise NotImplementedError

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None if self.enabled(ctx) else "disabled by flag"

    def _differences(self, current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
        agent = current.get("cluster_agent") or {}
        actual = {
            "cluster_agent_id": agent.get("id"),
            "kubernetes_namespace": current.get("kubernetes_namespace"),
            "flux_resource_path": current.get("flux_resource_path"),
        }
        return {
            key: value
            for key, value in wanted.items()
            if key != "name" and actual.get(key) != value
        }

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        wanted = self.wanted(ctx)
        current = ctx.gitlab.find_environment(ctx.project_path, wanted["name"])
        if current is None:
            detail = ", ".join(f"{k}={v}" for k, v in wanted.items() if k != "name")
            return [Change("create", f"environment {wanted['name']}", detail)]
        ctx.environments[self.name] = current
        differences = self._differences(current, wanted)
        if not differences:
            return []
        detail = ", ".join(f"{k}={v}" for k, v in differences.items())
        return [Change("update", f"environment {wanted['name']}", detail)]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        wanted = self.wanted(ctx)
        current = ctx.environments.get(self.name)
        if current is None:
            # The ownership marker: GitLab keeps the description, so uninstall can tell
            # an environment kasboot created from one it found and only linked.
            created = {**wanted, "description": environment_description(ctx.agent_identity)}
            ctx.environments[self.name] = ctx.gitlab.create_environment(ctx.project_path, created)
        else:
            update = self._differences(current, wanted)
            ctx.gitlab.update_environment(ctx.project_path, int(current["id"]), update)
            ctx.environments[self.name] = {**current, **update}

    def summary(self, ctx: BootstrapContext) -> str:
        found = ctx.environments.get(self.name)
        name = self.wanted(ctx)["name"]
        return f"environment {name} (id {found['id']})" if found else f"environment {name}"


class AgentEnvironment(_Environment):
    name = "environment"
    title = "Configuring environment with dashboard for the agent"

    def enabled(self, ctx: BootstrapContext) -> bool:
        return ctx.settings.create_environment

    def wanted(self, ctx: BootstrapContext) -> dict[str, Any]:
        settings = ctx.settings
        return {
            "name": settings.env_name,
            "cluster_agent_id": ctx.agent["id"] if ctx.agent else None,
            "kubernetes_namespace": settings.env_namespace,
            "flux_resource_path": settings.env_flux_resource_path,
        }


class FluxEnvironment(_Environment):
    name = "flux-environment"
    title = "Configuring environment with dashboard for Flux"

    def enabled(self, ctx: BootstrapContext) -> bool:
        return ctx.settings.create_flux_environment

    def wanted(self, ctx: BootstrapContext) -> dict[str, Any]:
        settings = ctx.settings
        return {
            "name": settings.flux_env_name,
            "cluster_agent_id": ctx.agent["id"] if ctx.agent else None,
            "kubernetes_namespace": settings.flux_env_namespace,
            "flux_resource_path": settings.flux_env_flux_resource_path,
        }
