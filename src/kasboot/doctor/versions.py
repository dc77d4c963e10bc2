"""GitLab's version rule for the agent (seeds 001/004, "update and version
compatibility"): agentk should match GitLab's major.minor; one minor older or newer is
supported too (GitLab 14.9 → agentk 14.9.x ideal, 14.8.x or 14.10.x supported).

Across a major release the neighbouring minor cannot be told from the numbers alone
(16.11 precedes 17.0, but 13.12 preceded 14.0), so N.0 against (N-1).x is reported as
possibly supported rather than guessed either way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

_VERSION = re.compile(r"^v?(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?(?P<rest>\S*)$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def major_minor(self) -> str:
        return f"{self.major}.{self.minor}"


def parse_version(text: str | None) -> Version | None:
    """``17.11.0``, ``v17.11.0``, ``17.11.0-ee``, ``v17.11.0-rc1``, ``17.11`` → Version."""
    if not text:
        return None
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    return Version(int(match["major"]), int(match["minor"]), int(match["patch"] or 0))


class Compatibility(Enum):
    IDEAL = "ideal"  # same major.minor
    SUPPORTED = "supported"  # one minor apart
    UNCERTAIN = "uncertain"  # N.0 against (N-1).x: adjacent only if (N-1).x was the last minor
    UNSUPPORTED = "unsupported"


def agent_compatibility(gitlab: Version, agent: Version) -> Compatibility:
    if (gitlab.major, gitlab.minor) == (agent.major, agent.minor):
        return Compatibility.IDEAL
    if gitlab.major == agent.major:
        if abs(gitlab.minor - agent.minor) == 1:
            return Compatibility.SUPPORTED
        return Compatibility.UNSUPPORTED
    newer, older = (gitlab, agent) if gitlab.major > agent.major else (agent, gitlab)
    if newer.major == older.major + 1 and newer.minor == 0:
        return Compatibility.UNCERTAIN
    return Compatibility.UNSUPPORTED


def image_tag(image: str) -> str | None:
    """The tag of an image reference (``registry:5000/agentk:v17.11.0@sha256:…`` →
    ``v17.11.0``); None when it has no tag."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    return last.rsplit(":", 1)[1] or None


# The OCI distribution spec's tag grammar (what a container runtime accepts after ':').
IMAGE_TAG = re.compile(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_CLEAN_VERSION = re.compile(r"\A(\d+)\.(\d+)\.(\d+)\Z")


def is_valid_image_tag(tag: str) -> bool:
    return IMAGE_TAG.match(tag) is not None


@dataclass(frozen=True)
class TagChoice:
    """agentk's image tag (None: the chart's default) and why, for the step summary."""

    tag: str | None
    why: str


def install_tag(kas_version: str | None, gitlab_url: str | None = None) -> TagChoice:
    """The tag GitLab's own install command would pin (``Gitlab::Kas.install_version_info``:
    the KAS version without its patch, ``vX.Y.0``) — but only from a clean ``X.Y.Z``.

    A KAS that reports a commit (``17.4.0-rc1+6a02…``, as GitLab.com does) runs a build
    no agentk release tag matches, and ``+`` is not even legal in an image tag; a KAS
    that reports nothing (``null``) gives nothing to derive. Both leave the chart's
    default, which tracks the latest agentk release."""
    host = (gitlab_url or "").split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    if host in ("gitlab.com", "www.gitlab.com"):
        return TagChoice(None, "chart default image tag (GitLab.com runs KAS ahead of releases)")
    text = (kas_version or "").strip()
    if not text:
        return TagChoice(None, "chart default image tag (GitLab reports no KAS version)")
    match = _CLEAN_VERSION.match(text)
    if match is None:
        return TagChoice(
            None, f"chart default image tag (KAS {text} is not a release version to pin)"
        )
    tag = f"v{int(match[1])}.{int(match[2])}.0"
    return TagChoice(tag, f"image tag {tag} (KAS {text})")
