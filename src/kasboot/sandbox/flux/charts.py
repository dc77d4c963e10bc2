"""The charts the simulated Helm repository knows: the GitLab agent chart, whose
versions track GitLab's (chart 1.x = GitLab 16.x, 2.x = 17.x, 3.x = 18.x, the minor
version shared), so a pinned ``image.tag`` and the chart's appVersion line up."""

from __future__ import annotations

import re
from dataclasses import dataclass

AGENT_CHART = "gitlab-agent"


class ChartNotFound(Exception):
    pass


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    app_version: str


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class ChartCatalog:
    def __init__(self, latest_agent_chart: str = "2.11.0") -> None:
        self.versions: dict[str, str] = {}
        for chart_major, gitlab_major in ((1, 16), (2, 17), (3, 18)):
            for minor in range(12):
                for patch in range(3):
                    self.versions[f"{chart_major}.{minor}.{patch}"] = (
                        f"v{gitlab_major}.{minor}.{patch}"
                    )
        self.latest = latest_agent_chart

    def resolve(self, name: str, constraint: str | None) -> Chart:
        """The newest version (up to ``latest``) matching ``constraint`` (``*``, exact,
        ``2.x``, ``2.11.x``, ``>=2.10.0``)."""
        if name != AGENT_CHART:
            raise ChartNotFound(
                "failed to get chart version for remote reference: no chart name found"
            )
        wanted = (constraint or "*").strip()
        candidates = sorted(
            (v for v in self.versions if _version_key(v) <= _version_key(self.latest)),
            key=_version_key,
            reverse=True,
        )
        for version in candidates:
            if _matches(version, wanted):
                return Chart(name, version, self.versions[version])
        raise ChartNotFound(
            "failed to get chart version for remote reference: "
            f"no '{name}' chart with version matching '{wanted}' found"
        )


def _matches(version: str, constraint: str) -> bool:
    if constraint in ("*", ""):
        return True
    if constraint.startswith(">="):
        return _version_key(version) >= _version_key(constraint[2:].strip().lstrip("v"))
    pattern = re.escape(constraint.lstrip("v")).replace(r"\*", r"\d+").replace("x", r"\d+")
    return (
        re.fullmatch(pattern + r"(\.\d+)*" if constraint.count(".") < 2 else pattern, version)
        is not None
    )
