"""Advice for two agents under one Flux path whose objects share names: kustomize
refuses the build ("may not add resource with an already registered id"). The cure is
this agent's own names, spelled out; never an edit of the other agent's files, which
would break the agent already running."""

from __future__ import annotations

import re

# kustomize's ResId: Kind.version.group/name.namespace
_CLASHED = re.compile(r"already registered id: (?P<kind>[A-Za-z]+)\.[^/\s']+/(?P<name>[^.\s']+)")


def clashed_kinds(problems: str) -> set[str]:
    return {match.group("kind") for match in _CLASHED.finditer(problems)}


def own_names_fix(problems: str, agent: str, release_is_default_namespace: bool) -> str | None:
    """The flags that give this agent names of its own, or None when no object clashed."""
    kinds = clashed_kinds(problems)
    if not kinds:
        return None
    flags = []
    if "HelmRelease" in kinds:
        flags.append(f"--helm-release-name {agent}")
        if release_is_default_namespace:
            flags.append(f"--helm-release-target-namespace {agent}")
    if "HelmRepository" in kinds:
        flags.append(f"--helm-repository-name gitlab-{agent}")
    if not flags:  # another kind clashed: still this agent's names, not the other's files
        flags = [f"--helm-release-name {agent}", f"--helm-repository-name gitlab-{agent}"]
    clashed = " and ".join(sorted(kinds))
    return (
        f"give this agent its own names: `{' '.join(flags)}` (a {clashed} of that name "
        "already exists under the same Flux path — another agent's: leave its files as "
        "they are)"
    )
