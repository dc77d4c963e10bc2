"""Which GitLab release the emulator plays, and what that release does differently.

Everything kasboot touches that changed between 15.x and 18.x is one flag here, read
from GitLab's own sources and changelogs:

- ``GET /metadata`` exists since 15.2 (``lib/api/metadata.rb``); before, 404.
- ``GET /version`` mirrors ``/metadata`` since 15.5; before, only version + revision.
- ``kas.externalK8sProxyUrl`` appears in the metadata in 17.6.
- The agent token list (``lib/api/clusters/agent_tokens.rb``) returns only active
  tokens since 16.0; before, revoked ones are listed too (with ``status: revoked``).
- The limit of two active tokens per agent is enforced since 16.2.
- ``POST``/``PUT /environments`` declare ``cluster_agent_id``, ``kubernetes_namespace``
  and ``flux_resource_path`` (and the entity exposes them) since 17.5; before, Grape
  drops the undeclared parameters silently and the answer has no such keys.
- ``GET /personal_access_tokens/self`` exists since 15.5.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_GITLAB_VERSION = "18.2.0"
_VERSION = re.compile(r"\A(\d+)\.(\d+)\.(\d+)")


def parse(version: str) -> tuple[int, int, int]:
    match = _VERSION.match(version.strip())
    if match is None:
        raise ValueError(f"not a GitLab version: {version!r} (use X.Y.Z, e.g. 16.11.0)")
    return int(match[1]), int(match[2]), int(match[3])


@dataclass(frozen=True)
class Release:
    """One GitLab version and the behaviours that depend on it."""

    version: str

    @property
    def number(self) -> tuple[int, int, int]:
        return parse(self.version)

    def at_least(self, major: int, minor: int) -> bool:
        return self.number[:2] >= (major, minor)

    @property
    def has_metadata_api(self) -> bool:
        return self.at_least(15, 2)

    @property
    def version_api_mirrors_metadata(self) -> bool:
        return self.at_least(15, 5)

    @property
    def metadata_has_k8s_proxy_url(self) -> bool:
        return self.at_least(17, 6)

    @property
    def token_list_active_only(self) -> bool:
        return self.at_least(16, 0)

    @property
    def enforces_token_limit(self) -> bool:
        return self.at_least(16, 2)

    @property
    def environments_take_agent_fields(self) -> bool:
        return self.at_least(17, 5)

    @property
    def has_token_self_api(self) -> bool:
        return self.at_least(15, 5)


def normalise_kas_version(value: str | None) -> str | None:
    """``--kas-version`` as GitLab would report it: ``null`` (or empty) means KAS could not
    be asked; anything else is passed through verbatim (``17.4.0-rc1+6a02…``)."""
    if value is None:
        return None
    text = value.strip()
    return None if text in ("", "null", "none") else text
