"""Step 1: find the agent by name; register it when missing."""

from __future__ import annotations

from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext
from kasboot.steps.gitlab_survey import surveyed_agent


class RegisterAgent:
    name = "agent"
    title = "Registering agent"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        answered, agent = surveyed_agent(ctx)  # pre-flight's survey found it (or not)
        ctx.agent = (
            agent if answered else ctx.gitlab.find_agent(ctx.project_path, ctx.settings.agent)
        )
        if ctx.agent is not None:
            return []
        return [Change("register", f"agent {ctx.settings.agent}", f"in {ctx.project_path}")]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        ctx.agent = ctx.gitlab.register_agent(ctx.project_path, ctx.settings.agent)

    def summary(self, ctx: BootstrapContext) -> str:
        if ctx.agent is None:
            return f"agent {ctx.settings.agent} would be registered"
        return f"agent {ctx.agent['name']} (id {ctx.agent['id']})"
