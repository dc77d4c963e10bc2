"""The wizard's decisions, free of prompts and I/O so they can be tested directly:
detected defaults, answer checks that speak as the prompt does (True or the reason),
collision verdicts, the generated values file, and the equivalent command line that
repeats the same bootstrap without a single question (e.g. in CI)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kasboot.errors import UsageError
from kasboot.option_specs import SPECS
from kasboot.settings import Settings, build_settings
from kasboot.validation import normalise_repo_path, validate_agent_name

Validator = Callable[[str], "bool | str"]

DEFAULT_AGENT_NAME = "gitlab-agent"
# How questionary validators speak: True, or the message shown under the prompt.
_LABEL_INVALID = re.compile(r"[^a-z0-9-]+")


def check_agent_name(text: str) -> bool | str:
    """RFC 1123 label, checked at each key press."""
    try:
        validate_agent_name(text.strip())
    except UsageError as error:
        return error.hint or error.message
    return True


def check_with(build: Callable[[str], object]) -> Validator:
    """A prompt validator from a kasboot check that raises UsageError."""

    def validate(text: str) -> bool | str:
        try:
            build(text)
        except UsageError as error:
            return error.one_line()
        return True

    return validate


def check_option(field: str, agent: str = "x") -> Validator:
    """Validate one answer exactly as `build_settings` will (same rules, same words)."""
    # A blank answer to a prompt means "none / the default" (a blank flag is an error).
    return check_with(lambda text: build_settings(agent=agent, **{field: text.strip() or None}))


def check_project_path(text: str) -> bool | str:
    segments = text.strip().strip("/").split("/")
    if len(segments) < 2 or not all(segments):
        return "give the project as group/project (subgroups allowed)"
    return True


def suggest_agent_name(context: str | None, existing: Sequence[str]) -> str:
    """An RFC 1123 name for the cluster's agent: the kube context's name made valid
    (one agent per cluster is the common layout), else the first existing agent."""
    if context:
        candidate = _LABEL_INVALID.sub("-", context.lower()).strip("-")[:63].strip("-")
        if candidate and check_agent_name(candidate) is True:
            return candidate
    return existing[0] if existing else DEFAULT_AGENT_NAME


def order_contexts(names: Iterable[str], current: str | None) -> list[str]:
    """Kube contexts with the current one first, then alphabetically."""
    listed = list(names)
    rest = sorted(name for name in listed if name != current)
    return [current, *rest] if current is not None and current in listed else rest


def repo_dir(flux_path: str) -> str:
    """A Kustomization's spec.path ("./clusters/x", "./", "") as a repository directory."""
    try:
        return normalise_repo_path(flux_path.lstrip("/") if flux_path else "", "path")
    except UsageError:
        return ""


def default_manifest_path(kustomization_paths: Sequence[str], agent: str) -> str:
    """Under the directory Flux already applies, in a directory named for the agent,
    so a second agent in the same cluster never shares files with the first."""
    base = repo_dir(kustomization_paths[0]) if kustomization_paths else ""
    return f"{base}/{agent}" if base else agent


@dataclass(frozen=True)
class FluxSource:
    kind: str  # GitRepository | OCIRepository
    namespace: str
    name: str
    url: str

    @property
    def type(self) -> str:
        return {"GitRepository": "git", "OCIRepository": "oci"}.get(self.kind, "helm")

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def pick_source(sources: Sequence[FluxSource], project: str) -> FluxSource | None:
    """The source that syncs `project` (its URL names the project), else flux-system's."""
    wanted = project.lower().strip("/")
    for source in sources:
        path = re.sub(r"\.git$", "", source.url.lower().rstrip("/"))
        if path.endswith("/" + wanted) or path.endswith(":" + wanted):
            return source
    return next((s for s in sources if s.name == "flux-system"), sources[0] if sources else None)


@dataclass(frozen=True)
class ReleaseNames:
    helm_release_name: str
    helm_release_target_namespace: str
    helm_repository_name: str


def default_release_names(agent: str, taken: Callable[[ReleaseNames], bool]) -> ReleaseNames:
    """glab's names unless another agent already uses them in this cluster; then names
    derived from the agent, which cannot collide with another agent's."""
    standard = ReleaseNames("gitlab-agent", "gitlab-agent", "gitlab")
    if not taken(standard):
        return standard
    suffix = agent[: 53 - len("gitlab-agent-")].rstrip("-")
    own = f"gitlab-agent-{suffix}"
    return ReleaseNames(own, own, f"gitlab-{suffix}")


def release_collision(
    existing_release: Mapping[str, Any] | None,
    release_file_in_repo: bool,
    secret_token_id: int | None,
    agent_token_ids: set[int] | None,
) -> str | None:
    """Why these names would step on another release, or None.

    A HelmRelease that our own manifest file already describes is this agent's (a
    re-run); one that no file at our path describes belongs to someone else. A token
    Secret holding a token this agent never had would be overwritten with ours."""
    if existing_release is not None and not release_file_in_repo:
        meta = existing_release.get("metadata") or {}
        return (
            f"a HelmRelease {meta.get('namespace')}/{meta.get('name')} already exists and is "
            "not managed from this manifest path: choose another release name"
        )
    if (
        secret_token_id is not None
        and agent_token_ids is not None
        and secret_token_id not in agent_token_ids
    ):
        return (
            f"the token Secret in this namespace holds token {secret_token_id}, which is "
            "not this agent's: choose another target namespace"
        )
    return None


def _flag_value(value: Any) -> list[str]:
    if isinstance(value, float):
        return [str(int(value)) if value.is_integer() else str(value)]
    if isinstance(value, (tuple, list)):
        return [str(item) for item in value]
    return [str(value)]


def equivalent_args(settings: Settings, baseline: Settings) -> list[str]:
    """`kasboot bootstrap` arguments that reproduce `settings` where a run without
    flags would resolve to `baseline` (environment, config file and defaults). The
    project is always spelt out; --dry-run, --output and -v are the run's, not the
    bootstrap's, and are left out."""
    args = [settings.agent]
    if settings.repo:
        args += ["-R", settings.repo]
    for spec in SPECS:
        if spec.name in ("repo", "dry_run", "output", "verbose"):
            continue
        value = getattr(settings, spec.name)
        if value == getattr(baseline, spec.name):
            continue
        flag = spec.flags[-1]
        if spec.boolean:
            assert spec.negative is not None
            args.append(flag if value else spec.negative)
        elif value is None:
            continue  # the baseline has a value the answer cleared: nothing to spell
        elif spec.multiple:
            for item in _flag_value(value):
                args += [flag, item]
        else:
            args += [flag, *_flag_value(value)]
    return args


def command_line(args: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """A shell line: `VAR=value … kasboot bootstrap ARGS`."""
    prefix = [f"{name}={shlex.quote(value)}" for name, value in (env or {}).items()]
    return " ".join([*prefix, "kasboot", "bootstrap", *map(shlex.quote, args)])
