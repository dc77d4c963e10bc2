"""Step 3: the environments with dashboards (one for the agent, one for Flux),
created or updated only where a field differs.

GitLab before 17.5 does not declare the dashboard fields (``cluster_agent_id``,
``kubernetes_namespace``, ``flux_resource_path``) on POST/PUT: it drops them silently
and never shows them. There the environment is created by name only, and the summary
says the dashboard was skipped — instead of "updating" the fields on every run."""

from __future__ import annotations

from typing import Any

from kasboot.doctor.versions import parse_version
from kasboot.ownership import environment_description
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext
from kasboot.steps.shared_flux import keeps_other_agent, shared_note

DASHBOARD_FIELDS = ("cluster_agent_id", "kubernetes_namespace", "flux_resource_path")
DASHBOARD_SINCE = (17, 5)


def dashboard_supported(ctx: BootstrapContext) -> bool:
    """Whether this GitLab keeps the dashboard fields (unknown version: assume so)."""
    version = parse_version(str(ctx.metadata.get("version") or ""))
    return version is None or (version.major, version.minor) >= DASHBOARD_SINCE


class _Environment:
    name: str
    title: str

    def fields(self, ctx: BootstrapContext) -> dict[str, Any]:
        """Everything the environment should have, the dashboard link included."""
        raise NotImplementedError

    def enabled(self, ctx: BootstrapContext) -> bool:
        raise NotImplementedError

    def wanted(self, ctx: BootstrapContext) -> dict[str, Any]:
        """What is sent: without the dashboard fields where GitLab would drop them."""
        fields = self.fields(ctx)
        if dashboard_supported(ctx):
            return fields
        return {key: value for key, value in fields.items() if key not in DASHBOARD_FIELDS}

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None if self.enabled(ctx) else "disabled by flag"

    def _differences(self, current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
        agent = current.get("cluster_agent") or {}  # absent when no agent is linked
        actual = {
            **current,
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
            detail = ", ".join(_field_text(k, v) for k, v in wanted.items() if k != "name")
            return [Change("create", f"environment {wanted['name']}", detail or "by name")]
        ctx.environments[self.name] = current
        wanted = self.settle(ctx, current, wanted)
        differences = self._differences(current, wanted)
        if not differences:
            return []
        detail = ", ".join(_field_text(k, v) for k, v in differences.items())
        return [Change("update", f"environment {wanted['name']}", detail)]

    def settle(
        self, ctx: BootstrapContext, current: dict[str, Any], wanted: dict[str, Any]
    ) -> dict[str, Any]:
        """What to send given the environment as it is (the Flux one may be shared)."""
        return wanted

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        wanted = self.wanted(ctx)
        current = ctx.environments.get(self.name)
        if current is None:
            # The ownership marker: GitLab keeps the description, so uninstall can tell
            # an environment kasboot created from one it found and only linked.
            created = {**wanted, "description": environment_description(ctx.agent_identity)}
            current = ctx.gitlab.create_environment(ctx.project_path, created)
            ctx.environments[self.name] = current
            update = self._differences(current, wanted)  # a concurrent run created it
            if not update:
                return
        else:
            update = self._differences(current, self.settle(ctx, current, wanted))
        answer = ctx.gitlab.update_environment(ctx.project_path, int(current["id"]), update)
        ctx.environments[self.name] = answer or {**current, **update}

    def summary(self, ctx: BootstrapContext) -> str:
        found = ctx.environments.get(self.name)
        name = self.fields(ctx)["name"]
        done = f"environment {name} (id {found['id']})" if found else f"environment {name}"
        if not dashboard_supported(ctx):
            version = ctx.metadata.get("version")
            return (
                f"{done}; dashboard link SKIPPED: GitLab {version} ignores the agent, "
                "namespace and Flux resource of an environment (17.5 and later keep them)"
            )
        return done


def _field_text(key: str, value: Any) -> str:
    """A planned field as people read it: an agent not registered yet has no id."""
    if key == "cluster_agent_id" and value is None:
        return "cluster_agent=the agent registered by this run"
    return f"{key}={value}"


class AgentEnvironment(_Environment):
    name = "environment"
    title = "Configuring environment with dashboard for the agent"

    def enabled(self, ctx: BootstrapContext) -> bool:
        return ctx.settings.create_environment

    def fields(self, ctx: BootstrapContext) -> dict[str, Any]:
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
    _before: dict[str, Any] | None = None  # as plan found it (the agent it named)

    def enabled(self, ctx: BootstrapContext) -> bool:
        return ctx.settings.create_flux_environment

    def fields(self, ctx: BootstrapContext) -> dict[str, Any]:
        settings = ctx.settings
        return {
            "name": settings.flux_env_name,
            "cluster_agent_id": ctx.agent["id"] if ctx.agent else None,
            "kubernetes_namespace": settings.flux_env_namespace,
            "flux_resource_path": settings.flux_env_flux_resource_path,
        }

    def settle(
        self, ctx: BootstrapContext, current: dict[str, Any], wanted: dict[str, Any]
    ) -> dict[str, Any]:
        self._before = current
        kept = keeps_other_agent(ctx, current)  # a second agent of this cluster's Flux
        return wanted if kept is None else {**wanted, "cluster_agent_id": kept}

    def summary(self, ctx: BootstrapContext) -> str:
        return super().summary(ctx) + shared_note(ctx, self._before)
