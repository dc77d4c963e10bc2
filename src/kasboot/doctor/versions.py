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
