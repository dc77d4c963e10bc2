"""FLEET.yaml: the clusters of a fleet and the bootstrap options of each.

    defaults:                       # options every cluster gets (long flag names,
      repo: platform/fleet          #   as in .kasboot.yaml)
      manifest-path: clusters/{name}/gitlab-agent
    clusters:
      - name: prod-eu               # the fleet's label for the cluster (required, unique)
        context: prod-eu            # kube context; `kubeconfig: FILE` also works
        agent: prod-eu              # the agent's name (default: the cluster's name)
      - name: prod-us
        context: prod-us
        helm-release-target-namespace: agents   # any bootstrap option, overriding defaults

Strings may name ``{name}`` and ``{agent}``. Everything is validated (each cluster's
options exactly as `kasboot bootstrap` validates its flags) before any cluster is
touched. Options the fleet itself decides (output, dry run, verbosity) are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kasboot.errors import KasbootError, UsageError

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_FLEET_DECIDES = {"output", "dry_run", "verbose", "agent"}
_CLUSTER_KEYS = {"name", "agent"}
MAX_CLUSTERS = 1000


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    agent: str
    options: dict[str, Any]  # Settings field -> value (str, bool, or tuple for lists)

    def flags(self) -> list[str]:
        """The options as `kasboot bootstrap` flags (they win over KASBOOT_* variables
        and .kasboot.yaml, as the fleet file is the more specific source)."""
        from kasboot.option_specs import SPECS_BY_NAME

        argv: list[str] = []
        for name, value in sorted(self.options.items()):
            flag = SPECS_BY_NAME[name].flags[-1]
            if isinstance(value, bool):
                argv.append(f"{flag}={'true' if value else 'false'}")
            elif isinstance(value, tuple):
                for item in value:
                    argv += [flag, str(item)]
            else:
                argv += [flag, str(value)]
        return argv

    @property
    def lock_key(self) -> str:
        """Commits of clusters with one key go one at a time (one project and branch)."""
        repo = str(self.options.get("repo", "")).strip("/") or "(the project of the clone)"
        return f"{repo}@{self.options.get('manifest_branch') or '(default branch)'}"


@dataclass(frozen=True)
class FleetSpec:
    path: Path
    clusters: list[ClusterSpec]

    def select(self, names: tuple[str, ...]) -> FleetSpec:
        if not names:
            return self
        known = {cluster.name for cluster in self.clusters}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise UsageError(
                f"{self.path}: no cluster named {', '.join(map(repr, unknown))}",
                hint=f"the clusters are: {', '.join(sorted(known))}",
            )
        return FleetSpec(self.path, [c for c in self.clusters if c.name in names])


def load_fleet(path: Path) -> FleetSpec:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(
            f"cannot read fleet file {path}: {error.strerror}", hint="check the path"
        ) from None
    except UnicodeDecodeError:
        raise UsageError(f"fleet file {path} is not UTF-8 text", hint="save it as UTF-8") from None
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        raise UsageError(f"fleet file {path} is not valid YAML: {first}", hint="fix it") from None
    return parse_fleet(data, path)


def parse_fleet(data: Any, path: Path) -> FleetSpec:
    if not isinstance(data, dict) or not isinstance(data.get("clusters"), list):
        raise UsageError(
            f"fleet file {path} has no `clusters:` list",
            hint="see `kasboot fleet --help` for the format",
        )
    unknown = sorted(set(map(str, data)) - {"defaults", "clusters"})
    if unknown:
        raise UsageError(
            f"fleet file {path}: unknown top-level key(s) {', '.join(unknown)}",
            hint="only `defaults:` and `clusters:`",
        )
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise UsageError(f"fleet file {path}: `defaults:` is not a map", hint="e.g. repo: g/p")
    if not data["clusters"]:
        raise UsageError(f"fleet file {path} lists no clusters", hint="add one under clusters:")
    if len(data["clusters"]) > MAX_CLUSTERS:
        raise UsageError(f"fleet file {path} lists more than {MAX_CLUSTERS} clusters")
    clusters: list[ClusterSpec] = []
    for index, entry in enumerate(data["clusters"], start=1):
        cluster = _cluster(entry, defaults, f"{path}: cluster #{index}")
        if any(c.name == cluster.name for c in clusters):
            raise UsageError(
                f"{path}: the cluster name {cluster.name!r} is listed twice",
                hint="give each cluster its own name",
            )
        clusters.append(cluster)
    _refuse_shared_targets(clusters, path)
    return FleetSpec(path, clusters)


def _cluster(entry: Any, defaults: dict[Any, Any], where: str) -> ClusterSpec:
    if not isinstance(entry, dict):
        raise UsageError(f"{where} is not a map", hint="e.g. `- name: prod` then its options")
    name = str(entry.get("name", "")).strip()
    if not _NAME.match(name):
        raise UsageError(
            f"{where}: name {name!r} is not a valid cluster name",
            hint="1 to 63 lowercase letters, digits or '-'",
        )
    where = f"{where.rsplit(':', 1)[0]}: cluster {name!r}"
    agent = str(entry.get("agent") or name).strip()
    raw = {**_options(defaults, f"{where} (from defaults)"), **_options(entry, where)}
    options = {key: _substitute(value, name, agent) for key, value in raw.items()}
    try:
        from kasboot.settings import build_settings

        settings = build_settings(agent=agent, **options)  # exactly bootstrap's validation
    except KasbootError as error:
        raise UsageError(f"{where}: {error.message}", hint=error.hint) from None
    # Environments belong to the project, not the cluster: by default each cluster gets
    # its own, in a folder named after it (prod-eu/flux-system/gitlab-agent), instead of
    # every cluster re-pointing one environment to its agent.
    options.setdefault("environment_name", f"{name}/{settings.env_name}")
    options.setdefault("flux_environment_name", f"{name}/{settings.flux_env_name}")
    return ClusterSpec(name, agent, options)


def _options(source: dict[Any, Any], where: str) -> dict[str, Any]:
    from kasboot.option_specs import COMMAND_OPTIONS, SPECS_BY_NAME

    options: dict[str, Any] = {}
    for key, value in source.items():
        field = str(key).strip().lstrip("-").replace("-", "_")
        if field in _CLUSTER_KEYS:
            continue
        if field in _FLEET_DECIDES:
            raise UsageError(
                f"{where}: {key!r} is decided by the fleet command",
                hint="use `kasboot fleet plan` for a dry run and `-o json` for JSON",
            )
        spec = SPECS_BY_NAME.get(field) if field in COMMAND_OPTIONS["bootstrap"] else None
        if spec is None:
            raise UsageError(
                f"{where}: unknown option {key!r}",
                hint="use bootstrap's long flag names, e.g. manifest-path, context, repo",
            )
        if isinstance(value, list):
            if not spec.multiple:
                raise UsageError(f"{where}: {key!r} takes a single value", hint="give one")
            value = tuple(value)
        elif spec.multiple and value is not None:
            value = (value,)
        if value is None or isinstance(value, dict):
            raise UsageError(f"{where}: {key!r} needs a value", hint="a string, number or bool")
        options[field] = value
    return options


def _substitute(value: Any, name: str, agent: str) -> Any:
    if isinstance(value, tuple):
        return tuple(_substitute(item, name, agent) for item in value)
    if isinstance(value, str):
        return value.replace("{name}", name).replace("{agent}", agent)
    if isinstance(value, bool):
        return value
    return str(value)


def _refuse_shared_targets(clusters: list[ClusterSpec], path: Path) -> None:
    """Two clusters bootstrapping one agent, or one cluster twice, would fight over the
    same token and files: refused before anything runs."""
    seen_agents: dict[tuple[str, str], str] = {}
    seen_targets: dict[tuple[str, str], str] = {}
    seen_paths: dict[tuple[str, str], str] = {}
    for cluster in clusters:
        path_key = (str(cluster.options.get("repo", "")), _manifest_dir(cluster))
        if path_key in seen_paths:
            raise UsageError(
                f"{path}: clusters {seen_paths[path_key]!r} and {cluster.name!r} both commit "
                f"their manifests to {path_key[1] or 'the repository root'!r}",
                hint="give each cluster its own manifest-path, e.g. clusters/{name}/gitlab-agent",
            )
        seen_paths[path_key] = cluster.name
        agent_key = (str(cluster.options.get("repo", "")), cluster.agent)
        if agent_key in seen_agents:
            raise UsageError(
                f"{path}: clusters {seen_agents[agent_key]!r} and {cluster.name!r} both "
                f"bootstrap the agent {cluster.agent!r}",
                hint="give each cluster its own agent (`agent:`)",
            )
        seen_agents[agent_key] = cluster.name
        target = (
            str(cluster.options.get("kubeconfig", "")),
            str(cluster.options.get("context", "")),
        )
        if target in seen_targets and any(target):
            raise UsageError(
                f"{path}: clusters {seen_targets[target]!r} and {cluster.name!r} point at the "
                "same kube context",
                hint="one entry per cluster",
            )
        seen_targets[target] = cluster.name


def _manifest_dir(cluster: ClusterSpec) -> str:
    return str(cluster.options.get("manifest_path", "")).strip().strip("/")
