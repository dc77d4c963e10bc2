"""``sandbox up`` on a --dir that already holds a world: the options that cannot apply
to it are refused (exit 2) instead of silently ignored.

A world is seeded once: its project, Flux path, Flux release, whether Flux is
installed and how many clusters it has are fixed by the first ``up`` (the repository
and the cluster hold them).
KAS (on/off, version), the GitLab version, the external URL, the Receiver and whether
receptive agents are offered are applied on every start, so they work on a stopped
world, but not on a running one."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from kasboot.errors import UsageError

# option name (click parameter) -> (flag, key in world.json "options", how to compare)
_SEED_OPTIONS = {
    "project": ("--project", "project"),
    "flux_path": ("--flux-path", "flux_path"),
    "no_flux": ("--no-flux", "flux"),
    "flux_version": ("--flux-version", "flux_version"),
    "clusters": ("--clusters", "clusters"),
}
_START_OPTIONS = {
    "no_kas": ("--no-kas", "kas_enabled"),
    "kas_version": ("--kas-version", "kas_version"),
    "gitlab_version": ("--gitlab-version", "gitlab_version"),
    "external_url": ("--external-url", "external_url"),
    "flux_receiver": ("--flux-receiver", "flux_receiver"),
    "fault_seed": ("--fault-seed", "fault_seed"),
    "receptive_agents": ("--receptive-agents", "receptive_agents"),
}
_NEGATED = {"no_flux", "no_kas"}  # stored as "flux" / "kas_enabled"


def _given(ctx: click.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _comparable(name: str, value: Any) -> Any:
    if name == "flux_path" and isinstance(value, str):
        return posixpath.normpath(value.strip() or ".")
    if name == "project" and isinstance(value, str):
        return value.strip("/")
    return value


def _stored(name: str, key: str, options: Mapping[str, Any]) -> Any:
    value = options.get(key)
    return (not value) if name in _NEGATED else value


_UNSET_WORDS = {"--no-kas": "KAS on", "--no-flux": "Flux installed"}


def _describe(flag: str, value: Any) -> str:
    if isinstance(value, bool):
        return flag if value else _UNSET_WORDS.get(flag, f"no {flag}")
    return f"{flag} {value}" if value not in (None, "") else f"no {flag}"


def check_reuse(
    ctx: click.Context,
    directory: Path,
    state: Mapping[str, Any] | None,
    running: bool,
    params: Mapping[str, Any],
) -> None:
    """UsageError when an option given to ``up`` cannot apply to the world in
    ``directory`` (``state`` is its world.json, None when there is none yet)."""
    if not state or not (state.get("seeded") or running):
        return
    options = state.get("options") or {}
    if not isinstance(options, Mapping):
        return
    checked = {**_SEED_OPTIONS, **(_START_OPTIONS if running else {})}
    for name, (flag, key) in checked.items():
        if name not in params or not _given(ctx, name):
            continue
        wanted = _comparable(name, params[name])
        stored = _comparable(name, _stored(name, key, options))
        if name == "flux_version" and not stored:
            stored = None  # "" in world.json: the default release
        if name == "clusters" and not stored:
            stored = 1  # a world.json from before --clusters
        if name == "receptive_agents" and not stored:
            stored = "offered"  # a world.json from before --receptive-agents
        if wanted == stored or (name in _NEGATED and not wanted and not stored):
            continue
        seeded_with = _describe(flag, _stored(name, key, options))
        if name in _SEED_OPTIONS:
            raise UsageError(
                f"{_describe(flag, params[name])} cannot apply to the existing sandbox in "
                f"{directory}: it was seeded with {seeded_with}",
                hint="use another --dir for a new sandbox, or remove this one first "
                f"(`kasboot sandbox down --dir {directory} && rm -rf {directory}`)",
            )
        raise UsageError(
            f"{_describe(flag, params[name])} cannot apply to the sandbox running in "
            f"{directory} (it runs with {seeded_with})",
            hint=f"`kasboot sandbox down --dir {directory}`, then `up` again with {flag}",
        )
