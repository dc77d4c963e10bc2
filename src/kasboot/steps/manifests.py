"""Step 6: the Flux HelmRepository and HelmRelease for the gitlab-agent chart, rendered
from templates/flux like `flux create … --export` prints them, staged for the commit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kasboot.doctor.versions import TagChoice, install_tag, is_valid_image_tag
from kasboot.errors import PreflightError
from kasboot.flux.render import render_manifests
from kasboot.pipeline import Change
from kasboot.steps.agent_config import stage_file
from kasboot.steps.context import BootstrapContext

if TYPE_CHECKING:
    from kasboot.settings import Settings


def agent_image_choice(
    settings: Settings, kas_version: str | None, gitlab_url: str | None = None
) -> TagChoice:
    """agentk's image tag: --agent-version, else the tag GitLab's install command derives
    from the KAS version (``vX.Y.0``, the agent matching GitLab's major.minor), else the
    chart's default — never a string that is not a legal image tag."""
    if settings.agent_version:
        version = settings.agent_version
        tag = version if version.startswith("v") else f"v{version}"
        return TagChoice(tag, f"image tag {tag} (--agent-version)")
    if not settings.pin_version:
        return TagChoice(None, "chart default image tag (--no-pin-version)")
    choice = install_tag(kas_version, gitlab_url)
    if choice.tag is not None and not is_valid_image_tag(choice.tag):
        return TagChoice(None, "chart default image tag")
    return choice


def agent_image_tag(
    settings: Settings, kas_version: str | None, gitlab_url: str | None = None
) -> str | None:
    return agent_image_choice(settings, kas_version, gitlab_url).tag


def enabled_kas_address(kas: Mapping[str, Any]) -> str:
    """KAS's external URL from GitLab's /metadata; refuses when KAS is disabled."""
    address = kas.get("externalUrl")
    if not kas.get("enabled") or not address:
        raise PreflightError(
            "KAS is not configured in this GitLab instance, so an agent has nowhere to connect",
            hint="ask your GitLab administrator to enable the agent server (KAS)",
        )
    return str(address)


def image_choice(ctx: BootstrapContext) -> TagChoice:
    return agent_image_choice(ctx.settings, ctx.kas.get("version"), ctx.gitlab.url)


def image_tag(ctx: BootstrapContext) -> str | None:
    return image_choice(ctx).tag


def kas_address(ctx: BootstrapContext) -> str:
    return enabled_kas_address(ctx.kas)


def rendered_manifests(ctx: BootstrapContext) -> dict[str, str]:
    """The HelmRepository and HelmRelease files, by repository path."""
    settings = ctx.settings
    ca_cert = settings.kas_ca_cert.read_text() if settings.kas_ca_cert else None
    return render_manifests(
        settings,
        kas_address=kas_address(ctx),
        image_tag=image_tag(ctx),
        kas_ca_cert=ca_cert,
        receptive_public_key=ctx.receptive_public_key,
        owner=ctx.agent_identity,
    )


class RenderManifests:
    name = "manifests"
    title = "Creating Flux Helm resources"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        wanted = {**rendered_manifests(ctx), **ctx.extra_files}
        changes: list[Change] = []
        for path, text in wanted.items():
            existing = ctx.gitlab.get_file(ctx.project_path, path, ctx.branch)
            changes.extend(stage_file(ctx, path, text, existing))
        return changes

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        """Nothing to write now: the commit step writes every staged file at once."""

    def summary(self, ctx: BootstrapContext) -> str:
        settings = ctx.settings
        paths = [settings.helm_repository_path, settings.helm_release_path]
        staged = [path for path in paths if path in ctx.staged]
        done = f"staged {', '.join(staged)}" if staged else "manifests up to date"
        return f"{done}; {image_choice(ctx).why}"
