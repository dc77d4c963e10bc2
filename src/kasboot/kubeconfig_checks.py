"""The kubeconfig, checked before any request and without the kubernetes client (which
costs a second to import): the files exist, parse, and name the context to use, its
cluster (with a server) and its user. Mistakes are usage errors (exit 2), like a
missing --kubeconfig: the cluster was never asked anything.

Files and merging follow kubectl (client-go's loading rules): --kubeconfig FILE alone;
else every file KUBECONFIG lists (missing ones skipped, the first to define a name
wins, the first current-context set wins); else ~/.kube/config; and with none of
these but KUBERNETES_SERVICE_HOST set, the in-cluster configuration (not checked here).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kasboot.errors import UsageError
from kasboot.yaml_file import read_yaml

_LISTED = 8  # contexts named in a hint before "…"


@dataclass
class _Merged:
    files: list[Path]
    current: str | None = None
    contexts: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    clusters: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    users: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return ", ".join(str(path) for path in self.files)


def kubeconfig_files(kubeconfig: Path | None, env: Mapping[str, str]) -> list[Path] | None:
    """The files kubectl would read, or None for the in-cluster configuration."""
    if kubeconfig is not None:
        return [kubeconfig]
    listed = env.get("KUBECONFIG", "")
    if listed:
        names = [Path(part).expanduser() for part in listed.split(os.pathsep) if part]
        existing = [path for path in names if path.is_file()]
        if not existing:
            shown = ", ".join(str(path) for path in names)
            raise UsageError(
                f"the kubeconfig file KUBECONFIG names does not exist: {shown}",
                hint="fix KUBECONFIG (or unset it), or pass --kubeconfig FILE",
            )
        return existing
    home = Path(env.get("HOME") or str(Path.home()))
    default = home / ".kube" / "config"
    if default.is_file():
        return [default]
    if env.get("KUBERNETES_SERVICE_HOST"):
        return None
    raise UsageError(
        f"no Kubernetes configuration: KUBECONFIG is not set and {default} does not exist",
        hint="set KUBECONFIG or pass --kubeconfig FILE (and --context NAME)",
    )


def _load(path: Path) -> Mapping[str, Any]:
    data = read_yaml(
        path,
        "kubeconfig",
        read_hint="check the path",
        yaml_hint="check it with `kubectl config view --kubeconfig FILE`",
        text_hint="check the file",
    )
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(
            f"kubeconfig {path} is not a kubeconfig (not a YAML map)",
            hint="give the file `kubectl config view --raw` prints",
        )
    return data


def _named(entries: Any, key: str) -> list[tuple[str, Mapping[str, Any]]]:
    found: list[tuple[str, Mapping[str, Any]]] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("name") is not None:
            body = entry.get(key)
            found.append((str(entry["name"]), body if isinstance(body, dict) else {}))
    return found


def _merge(files: list[Path]) -> _Merged:
    merged = _Merged(files)
    for path in files:
        data = _load(path)
        if merged.current is None and data.get("current-context"):
            merged.current = str(data["current-context"])
        for section, key, target in (
            ("contexts", "context", merged.contexts),
            ("clusters", "cluster", merged.clusters),
            ("users", "user", merged.users),
        ):
            for name, body in _named(data.get(section), key):
                target.setdefault(name, body)
    return merged


def _choices(merged: _Merged) -> str:
    names = sorted(merged.contexts)
    if not names:
        return f"{merged.where} defines no context at all"
    listed = ", ".join(names[:_LISTED]) + (", …" if len(names) > _LISTED else "")
    return f"choose one of: {listed} (see `kubectl config get-contexts`)"


def check_kube_config(
    kubeconfig: Path | None, context: str | None, env: Mapping[str, str] | None = None
) -> None:
    """UsageError unless the kubeconfig names a context with a cluster, a server, a user."""
    files = kubeconfig_files(kubeconfig, os.environ if env is None else env)
    if files is None:
        return
    merged = _merge(files)
    name = context or merged.current
    if not name:
        raise UsageError(
            f"{merged.where} sets no current-context and no --context was given",
            hint="pass --context NAME: " + _choices(merged),
        )
    if name not in merged.contexts:
        raise UsageError(
            f'context "{name}" does not exist in {merged.where}', hint=_choices(merged)
        )
    body = merged.contexts[name]
    cluster = str(body.get("cluster") or "")
    if cluster not in merged.clusters:
        raise UsageError(
            f'context "{name}" names cluster "{cluster}", which {merged.where} does not define',
            hint="fix the kubeconfig (`kubectl config set-context`) or pick another --context",
        )
    if not merged.clusters[cluster].get("server"):
        raise UsageError(
            f'cluster "{cluster}" in {merged.where} has no server',
            hint="set it with `kubectl config set-cluster NAME --server URL`",
        )
    user = body.get("user")
    if user and str(user) not in merged.users:
        raise UsageError(
            f'context "{name}" names user "{user}", which {merged.where} does not define',
            hint="fix the kubeconfig (`kubectl config set-credentials`) or pick another --context",
        )
