"""What the kubelet makes of a container image, for the emulator's Deployment status: an
image reference that does not follow the Docker reference grammar never starts
(``InvalidImageName``), one the (simulated) registry does not have never pulls
(``ErrImagePull`` / ``ImagePullBackOff``). The API server itself accepts any non-empty
image string, as the real one does; only the pods fail.

The grammar is github.com/distribution/reference's (reference.go, regexp.go); the
waiting reasons are kubernetes/kubernetes pkg/kubelet/images' (types.go)::

    reference   := name [ ":" tag ] [ "@" digest ]
    name        := [domain "/"] path-component ["/" path-component]*
    domain      := domain-component ["." domain-component]* [":" port]
    path-component := [a-z0-9]+ (separator [a-z0-9]+)*   separator := [_.] | "__" | "-"+
    tag         := [\\w][\\w.-]{0,127}
    digest      := algorithm ":" hex{32,}

so ``v17.4.0-rc1+6a02…`` (a semver build suffix) is not a tag: ``+`` is not allowed."""

from __future__ import annotations

import fnmatch
import re
import threading
from dataclasses import dataclass

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[_.]|__|[-]+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
NAME_TOTAL_LENGTH_MAX = 255


def reference_error(image: str) -> str | None:
    """Why the kubelet cannot parse ``image`` (its words), or None when it can."""
    match = _REFERENCE.match(image)
    if match is None:
        if _REFERENCE.match(image.lower()) is not None:
            return "repository name must be lowercase"
        return "invalid reference format"
    if len(match.group("name")) > NAME_TOTAL_LENGTH_MAX:
        return f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
    return None


@dataclass(frozen=True)
class PodTrouble:
    """Why a Deployment's pods never become ready: the kubelet's waiting reason."""

    reason: str  # InvalidImageName | ErrImagePull
    message: str


class ImageRegistry:
    """The registries as the emulated kubelet sees them: every well-formed reference
    pulls, except those matching an ``unpullable`` pattern (fnmatch, e.g.
    ``registry.gitlab.com/*:v99.*``), set over ``PUT /-/sandbox/images``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._unpullable: tuple[str, ...] = ()

    @property
    def unpullable(self) -> tuple[str, ...]:
        with self._lock:
            return self._unpullable

    def set_unpullable(self, patterns: list[str]) -> None:
        if not all(isinstance(p, str) and p for p in patterns):
            raise ValueError("unpullable must be a list of non-empty strings")
        with self._lock:
            self._unpullable = tuple(patterns)

    def trouble(self, image: str) -> PodTrouble | None:
        """None when a pod with this image starts."""
        if not image.strip():
            return PodTrouble("InvalidImageName", "image is empty")
        error = reference_error(image)
        if error is not None:
            return PodTrouble(
                "InvalidImageName",
                f'Failed to apply default image tag "{image}": couldn\'t parse image name '
                f'"{image}": {error}',
            )
        if any(fnmatch.fnmatchcase(image, pattern) for pattern in self.unpullable):
            return PodTrouble(
                "ErrImagePull",
                f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to '
                f'pull and unpack image "{image}": failed to resolve reference "{image}": '
                "not found",
            )
        return None
