"""What the wizard (and shell completion) read to offer good defaults: where GitLab and
the project are, which agents exist, the kube contexts, the Flux sources and the paths
their Kustomizations apply, whether release names are taken, and the topology guard's
verdict. Reads only: nothing here writes to GitLab or the cluster."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kasboot.cluster import SOURCE_KINDS, TOKEN_ID_ANNOTATION, Cluster
from kasboot.credentials import DEFAULT_URL, gitlab_credentials, normalise_url
from kasboot.errors import KasbootError, PreflightError, UsageError
from kasboot.gitlab_api import GitLabAPI
from kasboot.localrepo import resolve_project
from kasboot.option_sources import (
    find_config_file,
    load_config_file,
    params_from_environment,
    settings_from_params,
)
from kasboot.settings import SETTINGS_FIELDS, Settings, build_settings
from kasboot.steps.context import BootstrapContext
from kasboot.steps.guard import source_kustomizations
from kasboot.steps.preflight import Preflight
from kasboot.wizard.model import FluxSource, ReleaseNames, release_collision


class WizardGitLab(GitLabAPI):
    """The GitLab seam plus the one listing only the wizard and completion need."""

    def agent_names(self, project: str) -> list[str]:
        with self._errors("listing agents"):
            agents = self._project(project).cluster_agents.list(iterator=True, per_page=100)
            return sorted(str(agent.name) for agent in agents)

    def agent_token_ids(self, project: str, agent: str) -> set[int]:
        found = self.find_agent(project, agent)
        if found is None:
            return set()
        return {int(token["id"]) for token in self.active_tokens(project, int(found["id"]))}


@dataclass(frozen=True)
class Presets:
    """What flags, KASBOOT_* variables and the config file already say."""

    settings: Settings  # resolved with a placeholder agent
    explicit: frozenset[str]  # fields a flag, variable or the file set
    agent: str | None
    config: Path | None


def resolve_presets(params: Mapping[str, Any]) -> Presets:
    """`params` as click gives them (flag or environment merged), plus the config file."""
    values = dict(params)
    config = values.pop("config", None)
    agent = values.pop("agent", None) or None
    values.pop("non_interactive", None)
    config_path = Path(config) if config else find_config_file()
    from_file = load_config_file(config_path) if config_path is not None else {}
    explicit = {
        name for name in SETTINGS_FIELDS if values.get(name) not in (None, ()) or name in from_file
    }
    settings = settings_from_params({**values, "agent": agent or "x"}, config_path)
    return Presets(settings, frozenset(explicit), agent, config_path)


def baseline_settings(agent: str, config: Path | None) -> Settings:
    """What `kasboot bootstrap AGENT` resolves to without flags: env > file > default."""
    presets = resolve_presets({**params_from_environment(os.environ), "config": config})
    return build_settings(
        **{
            **{f: getattr(presets.settings, f) for f in SETTINGS_FIELDS},
            "agent": agent,
        }
    )


@dataclass(frozen=True)
class GitLabGuess:
    url: str
    project: str | None


def guess_gitlab(cwd: Path, env: Mapping[str, str]) -> GitLabGuess:
    """GitLab host and project in bootstrap's own order (localrepo.resolve_project):
    KASBOOT_REPO > GITLAB_REPO > the local clone > CI_PROJECT_PATH > KASBOOT_PROJECT; the
    host from a URL there, else GITLAB_HOST, the clone, CI_SERVER_URL, glab's default."""
    try:
        project, host_hint = resolve_project(env.get("KASBOOT_REPO"), cwd, env)
    except UsageError:  # nothing names a project: the wizard asks without a default
        project, host_hint = None, None
    try:
        url = gitlab_credentials(host_hint=host_hint, env=env).url
    except UsageError:
        host = host_hint or env.get("GITLAB_HOST") or env.get("GL_HOST") or env.get("CI_SERVER_URL")
        url = normalise_url(host) if host else DEFAULT_URL
    return GitLabGuess(url, project or None)


def kube_contexts(kubeconfig: Path | None) -> tuple[list[str], str | None]:
    """(context names, current context); ([], None) when there is no kubeconfig."""
    from kubernetes import config

    try:
        contexts, active = config.list_kube_config_contexts(str(kubeconfig) if kubeconfig else None)
    except Exception:  # no or broken kubeconfig: the wizard then asks nothing about it
        return [], None
    names = [str(item["name"]) for item in contexts or []]
    return names, str(active["name"]) if active else None


def open_probe(settings: Settings, gitlab: GitLabAPI, project: str) -> BootstrapContext:
    """A bootstrap context for reads (pre-flight, the guard) with the wizard's seams."""
    cluster = Cluster(settings.kubeconfig, settings.context)
    return BootstrapContext(
        settings=settings, gitlab=gitlab, cluster=cluster, project_path=project, dry_run=True
    )


def flux_sources(cluster: Cluster) -> list[FluxSource]:
    found = []
    for kind in (SOURCE_KINDS["git"], SOURCE_KINDS["oci"]):
        for item in cluster.list_objects(kind):
            meta = item.get("metadata") or {}
            url = str((item.get("spec") or {}).get("url") or "")
            found.append(FluxSource(kind, str(meta["namespace"]), str(meta["name"]), url))
    return found


def kustomization_paths(ctx: BootstrapContext) -> list[str]:
    return [k.path for k in source_kustomizations(ctx)]


@dataclass(frozen=True)
class GuardVerdict:
    ok: bool
    text: str
    error: PreflightError | None = None

    @property
    def about_layout(self) -> bool:
        """A refusal another manifest path (or a --fix) can cure, as opposed to one
        about the world (no Flux, no branch, KAS disabled)."""
        return self.error is not None and self.error.message.startswith("Flux would")

    @property
    def fixable(self) -> bool:
        hint = (self.error.hint or "") if self.error is not None else ""
        return self.about_layout and "--fix" in hint


def guard_verdict(ctx: BootstrapContext) -> GuardVerdict:
    """Pre-flight as the bootstrap runs it (the topology guard included), reads only."""
    ctx.extra_files = {}
    preflight = Preflight()
    try:
        preflight.plan(ctx)
    except PreflightError as error:
        return GuardVerdict(False, error.one_line(), error)
    return GuardVerdict(True, preflight.summary(ctx))


def collision(ctx: BootstrapContext, gitlab: WizardGitLab, names: Settings) -> str | None:
    """Whether `names` (release, target namespace, Secret) would take another agent's."""
    branch = ctx.branch or gitlab.project(ctx.project_path).default_branch
    release = ctx.cluster.get_object(
        "HelmRelease", names.helm_release_namespace, names.helm_release_name
    )
    ours = gitlab.get_file(ctx.project_path, names.helm_release_path, branch) is not None
    secret = ctx.cluster.get_secret(
        names.helm_release_target_namespace, names.gitlab_agent_token_secret_name
    )
    annotation = ((secret or {}).get("metadata") or {}).get("annotations") or {}
    held = annotation.get(TOKEN_ID_ANNOTATION)
    held_id = int(held) if held and str(held).isdigit() else None
    token_ids = gitlab.agent_token_ids(ctx.project_path, names.agent) if held_id else None
    return release_collision(release, ours, held_id, token_ids)


def names_taken(
    ctx: BootstrapContext, gitlab: WizardGitLab, settings: Settings
) -> Callable[[ReleaseNames], bool]:
    """A `taken(ReleaseNames)` callback for `default_release_names`."""

    def taken(names: ReleaseNames) -> bool:
        candidate = Settings(
            **{
                **{f: getattr(settings, f) for f in SETTINGS_FIELDS},
                "helm_release_name": names.helm_release_name,
                "helm_release_target_namespace": names.helm_release_target_namespace,
                "helm_repository_name": names.helm_repository_name,
            }
        )
        try:
            return collision(ctx, gitlab, candidate) is not None
        except KasbootError:
            return False

    return taken
