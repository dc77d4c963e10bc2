"""The Flux source as the guard needs it: which repository, which branch it follows
(and so whether kasboot's commit ever reaches the artifact), what it filters out.

source-controller (fluxcd/pkg gogit ``Client.clone``) takes ``spec.ref.commit``, then
``name``, ``tag``, ``semver`` and last ``branch``, which defaults to ``master`` — also
when there is no ``ref`` at all. Only a branch picks up new commits. The revision is
named ``<branch>@sha1:<sha>``, or ``<ref name>@sha1:<sha>`` when ``spec.ref.name`` is
used (``commitReference`` keeps the full name then).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DEFAULT_BRANCH = "master"  # fluxcd/pkg git.DefaultBranch
_HEADS = "refs/heads/"


@dataclass(frozen=True)
class FluxSource:
    kind: str
    namespace: str
    name: str
    url: str = ""
    ref: tuple[tuple[str, str], ...] = ()  # spec.ref, as sorted (key, value) pairs
    ignore: str | None = None
    sparse_checkout: tuple[str, ...] | None = None

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> FluxSource:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        raw_ref = spec.get("ref")
        ref: dict[str, Any] = raw_ref if isinstance(raw_ref, dict) else {}
        sparse = spec.get("sparseCheckout")
        return cls(
            kind=str(obj.get("kind") or "GitRepository"),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name") or ""),
            url=str(spec.get("url") or ""),
            ref=tuple(sorted((str(k), str(v)) for k, v in ref.items() if v)),
            ignore=spec.get("ignore"),
            sparse_checkout=tuple(str(d) for d in sparse) if isinstance(sparse, list) else None,
        )

    @property
    def ref_of(self) -> dict[str, str]:
        return dict(self.ref)

    @property
    def display(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class Following:
    """What the source tracks: a branch (``branch`` set), or a fixed point (``pinned``)."""

    branch: str | None
    revision_prefix: str  # what comes before "@sha1:" in status.artifact.revision
    pinned: str = ""  # e.g. "spec.ref.tag 'v1.2.0'" when it never moves
    defaulted: bool = False  # no branch named: source-controller's "master"


def following(source: FluxSource) -> Following:
    ref = source.ref_of
    for field in ("commit", "name", "tag", "semver"):
        value = ref.get(field)
        if not value:
            continue
        if field == "name" and value.startswith(_HEADS):
            branch = value[len(_HEADS) :]
            return Following(branch, value)
        return Following(None, "", pinned=f"spec.ref.{field} {value!r}")
    branch = ref.get("branch") or ""
    return Following(branch or DEFAULT_BRANCH, branch or DEFAULT_BRANCH, defaulted=not branch)


def _repository_key(url: str) -> tuple[str, str] | None:
    """(host, path) of a git URL, spelt however: https/http/ssh URLs and scp-like
    ``git@host:group/project``; scheme, user, port, ``.git`` and case do not matter."""
    text = url.strip()
    if not text:
        return None
    if "://" in text:
        parts = urlsplit(text)
        host, path = parts.hostname or "", parts.path
    elif ":" in text and not text.startswith("/"):
        authority, _, path = text.partition(":")
        host = authority.rpartition("@")[2]
    else:
        return None
    path = path.strip("/").removesuffix(".git").strip("/")
    return (host.lower(), path.lower()) if host and path else None


def same_repository(url: str, *project_urls: str) -> bool:
    """Does ``url`` name the project any of ``project_urls`` name (HTTP or SSH)?

    GitLab may serve HTTP under a relative root (``/gitlab/group/project``) while SSH
    has none, so a path that ends with the other's path after a "/" also counts."""
    key = _repository_key(url)
    if key is None:
        return True  # nothing to compare: do not refuse on a guess
    for other in project_urls:
        candidate = _repository_key(other)
        if candidate is None:
            continue
        (host, path), (other_host, other_path) = key, candidate
        if host != other_host:
            continue
        if path == other_path or path.endswith("/" + other_path) or other_path.endswith("/" + path):
            return True
    return not any(_repository_key(other) for other in project_urls)
