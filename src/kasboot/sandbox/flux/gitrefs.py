"""Which commit source-controller checks out for a GitRepository's ``spec.ref``, and how
it names it in ``status.artifact.revision`` (fluxcd/pkg ``git/gogit`` Client.clone,
``git.Commit.String``/``AbsoluteReference``; source-controller ``commitReference``).

Precedence, as in ``Client.clone``: ``commit``, then ``name``, ``tag``, ``semver``, and
last ``branch`` — ``master`` when empty or when there is no ``ref`` at all
(``git.DefaultBranch``). Only a branch moves with new commits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_BRANCH = "master"
_HEADS = "refs/heads/"
_TAGS = "refs/tags/"


class RefResolutionError(Exception):
    """``str()`` is go-git's/pkg's cause (source-controller puts its prefix in front)."""


@dataclass(frozen=True)
class GitTarget:
    """The commit to check out, and the reference the revision is named after."""

    reference: str  # full ref name ("refs/heads/main"); "" for a bare commit
    sha: str
    absolute: bool = False  # spec.ref.name: the revision keeps the full ref name

    @property
    def revision(self) -> str:
        if not self.reference:
            return f"sha1:{self.sha}"
        if self.absolute:
            return f"{self.reference}@sha1:{self.sha}"
        parts = self.reference.split("/", 2)
        return f"{parts[2]}@sha1:{self.sha}" if len(parts) == 3 else f"sha1:{self.sha}"

    @property
    def branch(self) -> str | None:
        return self.reference[len(_HEADS) :] if self.reference.startswith(_HEADS) else None

    @property
    def tag(self) -> str | None:
        return self.reference[len(_TAGS) :] if self.reference.startswith(_TAGS) else None


def parse_ls_remote(listing: str) -> dict[str, str]:
    """ref -> commit sha; annotated tags are peeled (``^{}`` lines win)."""
    refs: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in listing.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.endswith("^{}"):
            peeled[ref[:-3]] = sha
        elif ref:
            refs[ref] = sha
    refs.update(peeled)
    return refs


def resolve_reference(ref: Mapping[str, Any] | None, refs: Mapping[str, str]) -> GitTarget:
    """The target of ``spec.ref`` given the remote's refs (``git ls-remote``)."""
    ref = ref or {}
    branch = str(ref.get("branch") or "")
    if ref.get("commit"):
        commit = str(ref["commit"])
        return GitTarget(_HEADS + branch if branch else "", commit)
    if ref.get("name"):
        name = str(ref["name"])
        if name not in refs:
            raise RefResolutionError(f"unable to resolve ref '{name}' to a specific commit")
        return GitTarget(name, refs[name], absolute=True)
    if ref.get("tag"):
        tag = _TAGS + str(ref["tag"])
        if tag not in refs:
            raise RefResolutionError(f'couldn\'t find remote ref "{tag}"')
        return GitTarget(tag, refs[tag])
    if ref.get("semver"):
        return _semver_target(str(ref["semver"]), refs)
    head = _HEADS + (branch or DEFAULT_BRANCH)
    if head not in refs:
        raise RefResolutionError(f'couldn\'t find remote ref "{head}"')
    return GitTarget(head, refs[head])


# -- semver (a subset of Masterminds/semver constraints: enough for the sandbox) --------

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?$")
_COMPARATOR = re.compile(r"^(>=|<=|!=|=|>|<|~|\^)?\s*(v?[0-9][0-9A-Za-z.\-]*)$")


def _version(text: str) -> tuple[int, int, int, bool] | None:
    match = _VERSION.match(text.strip())
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    return int(major), int(minor or 0), int(patch or 0), pre is None


def _satisfies(version: tuple[int, int, int, bool], comparator: str) -> bool:
    match = _COMPARATOR.match(comparator.strip())
    bound = _version(match.group(2)) if match else None
    if match is None or bound is None:
        raise RefResolutionError(f"semver parse error: improper constraint: {comparator}")
    op = match.group(1) or "="
    key, limit = version[:3], bound[:3]
    if op == "=":
        return key == limit
    if op == "!=":
        return key != limit
    if op == ">":
        return key > limit
    if op == ">=":
        return key >= limit
    if op == "<":
        return key < limit
    if op == "<=":
        return key <= limit
    if op == "~":  # same major.minor, at least the bound
        return key >= limit and key[:2] == limit[:2]
    return key >= limit and key[0] == limit[0]  # "^": same major


def _semver_target(constraint: str, refs: Mapping[str, str]) -> GitTarget:
    alternatives = [part.strip() for part in constraint.split("||")]
    best: tuple[tuple[int, int, int, bool], str] | None = None
    for ref in refs:
        if not ref.startswith(_TAGS):
            continue
        version = _version(ref[len(_TAGS) :])
        if version is None or not version[3]:  # pre-releases only when asked; never here
            continue
        for alternative in alternatives:
            comparators = [c for c in re.split(r"[,\s]+(?=[<>=!~^v0-9])", alternative) if c]
            if all(_satisfies(version, c) for c in comparators):
                if best is None or version > best[0]:
                    best = (version, ref)
                break
    if best is None:
        raise RefResolutionError(f"no match found for semver: {constraint}")
    return GitTarget(best[1], refs[best[1]])
