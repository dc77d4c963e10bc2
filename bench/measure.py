"""What one kasboot run cost, read from the emulators' request logs (pure functions).

A log record is ``{method, path, query, status, user_agent, ms, at}``: ``at`` is the
Unix time the emulator finished the request, ``ms`` how long it took (injected latency
included), so each request is the interval ``[at - ms/1000, at]`` on one clock (both
emulators run in one process). Only kasboot's own requests count (its user agent is
``kasboot/<version>``); the Flux simulator's controllers, the seeding and bench's own
probes carry other agents.

The floor of a run with latency L on every route (docs/performance.md explains it):

    floor = L x chain + flux_wait

- ``chain``: the longest sequence of kasboot's requests (watches left out) in which each
  one starts after the one before it ended — the requests kasboot had to wait for one
  after another. Requests that overlap (reads sent in parallel) share one place in it.
- ``flux_wait``: the time kasboot spends in watches waiting for Flux, up to the Flux
  controller write that ended each wait, minus the time covered by kasboot's other
  requests (those are already in the chain).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KASBOOT_AGENT = "kasboot/"
FLUX_AGENTS = ("source-controller/", "kustomize-controller/", "helm-controller/")
# Every other client of the sandbox: the rest of the simulated cluster and bench's seeding.
KNOWN_AGENTS = (
    KASBOOT_AGENT,
    *FLUX_AGENTS,
    "notification-controller/",
    "flux/",
    "gitlab-agent/",
    "kasboot-bench-seed/",
)
# git smart HTTP fetches are POSTs that only read.
READ_POSTS = ("/git-upload-pack",)
# Requests that make a commit on the GitLab side.
COMMIT_ROUTES = ("/repository/commits", "/git-receive-pack")
# Two requests whose intervals overlap by less than this are taken as one after the other
# (the two logs' timestamps are taken in different threads of one process).
TOLERANCE_S = 0.002

Record = dict[str, Any]


def ours(records: Iterable[Record]) -> list[Record]:
    return [r for r in records if str(r.get("user_agent", "")).startswith(KASBOOT_AGENT)]


def unattributed(records: Iterable[Record]) -> list[Record]:
    """Requests no known client sent: a kasboot request without kasboot's user agent
    (a new HTTP client that forgot to set it) would escape every count."""
    return [r for r in records if not str(r.get("user_agent", "")).startswith(KNOWN_AGENTS)]


def is_write(record: Record) -> bool:
    return record["method"] in WRITES and not str(record["path"]).endswith(READ_POSTS)


def is_commit(record: Record) -> bool:
    path = str(record["path"])
    if record["method"] == "POST" and path.endswith(COMMIT_ROUTES):
        return True
    # The single-file API commits too (create, update, delete of one file).
    return record["method"] in WRITES and "/repository/files/" in path


def is_watch(record: Record) -> bool:
    query = str(record.get("query", ""))
    return any(part in ("watch=true", "watch=1", "watch=True") for part in query.split("&"))


@dataclass(frozen=True)
class Counts:
    requests: int
    writes: int
    commits: int

    @classmethod
    def of(cls, records: Iterable[Record]) -> Counts:
        mine = ours(records)
        return cls(
            requests=len(mine),
            writes=sum(1 for r in mine if is_write(r)),
            commits=sum(1 for r in mine if is_commit(r)),
        )


def interval(record: Record) -> tuple[float, float]:
    end = float(record["at"])
    return end - float(record["ms"]) / 1000.0, end


def chain(records: Sequence[Record]) -> list[Record]:
    """The longest run of kasboot's non-watch requests, each starting after the one before
    it ended (the dependency chain as kasboot ran it), in order."""
    requests = sorted((r for r in ours(records) if not is_watch(r)), key=lambda r: interval(r)[1])
    best: list[int] = []  # length of the longest chain ending at each request
    before: list[int] = []  # the request before it on that chain (-1: none)
    for index, record in enumerate(requests):
        start, _ = interval(record)
        length, previous = 1, -1
        for earlier in range(index):
            if interval(requests[earlier])[1] <= start + TOLERANCE_S and best[earlier] + 1 > length:
                length, previous = best[earlier] + 1, earlier
        best.append(length)
        before.append(previous)
    if not requests:
        return []
    position = max(range(len(requests)), key=lambda i: best[i])
    path: list[Record] = []
    while position != -1:
        path.append(requests[position])
        position = before[position]
    return list(reversed(path))


def _union(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _length(spans: Iterable[tuple[float, float]]) -> float:
    return sum(end - start for start, end in spans)


def _subtract(
    spans: list[tuple[float, float]], holes: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    left: list[tuple[float, float]] = []
    for start, end in spans:
        pieces = [(start, end)]
        for hole_start, hole_end in holes:
            cut: list[tuple[float, float]] = []
            for a, b in pieces:
                if hole_end <= a or hole_start >= b:
                    cut.append((a, b))
                    continue
                if a < hole_start:
                    cut.append((a, hole_start))
                if hole_end < b:
                    cut.append((hole_end, b))
            pieces = cut
        left.extend(pieces)
    return left


def flux_writes(records: Iterable[Record]) -> list[Record]:
    return [
        r
        for r in records
        if str(r.get("user_agent", "")).startswith(FLUX_AGENTS) and r["method"] in WRITES
    ]


def flux_wait(records: Sequence[Record]) -> float:
    """Seconds kasboot waited on Flux alone: each watch up to the last Flux controller
    write inside it (the event that answered it), minus kasboot's other requests."""
    answers = sorted(float(r["at"]) for r in flux_writes(records))
    waits = []
    for record in ours(records):
        if not is_watch(record):
            continue
        start, end = interval(record)
        inside = [t for t in answers if start <= t <= end + TOLERANCE_S]
        waits.append((start, min(end, inside[-1]) if inside else end))
    others = _union(interval(r) for r in ours(records) if not is_watch(r))
    return _length(_subtract(_union(waits), others))


@dataclass(frozen=True)
class Floor:
    latency_s: float
    chain: int
    flux_wait_s: float

    @property
    def seconds(self) -> float:
        return self.latency_s * self.chain + self.flux_wait_s


def floor(records: Sequence[Record], latency_s: float) -> Floor:
    return Floor(latency_s, len(chain(records)), flux_wait(records))


def _about_helm_releases(record: Record) -> bool:
    path = str(record["path"])
    return "/helm.toolkit.fluxcd.io/" in path and "/helmreleases" in path


def ready_at(records: Sequence[Record]) -> float | None:
    """When the HelmRelease became Ready for kasboot: the last helm-controller write to
    a HelmRelease before kasboot's last request about HelmReleases ended (the answer its
    watch waited for)."""
    mine = [r for r in ours(records) if _about_helm_releases(r)]
    if not mine:
        return None
    last_look = max(float(r["at"]) for r in mine)
    writes = [
        float(r["at"])
        for r in flux_writes(records)
        if str(r.get("user_agent", "")).startswith("helm-controller/")
        and _about_helm_releases(r)
        and float(r["at"]) <= last_look + TOLERANCE_S
    ]
    return max(writes) if writes else None


def _about_flux_objects(record: Record) -> bool:
    return ".toolkit.fluxcd.io/" in str(record["path"])


def outside_flux_wait(records: Sequence[Record]) -> list[Record]:
    """kasboot's requests without the reads of Flux objects made while it waits for Flux
    (from its first write to a Flux object to its last look at the HelmRelease): how
    many of those it makes depends on how fast the controllers answer, not on the
    project, so the growth figures leave them out."""
    mine = ours(records)
    triggers = [interval(r)[0] for r in mine if _about_flux_objects(r) and is_write(r)]
    looks = [float(r["at"]) for r in mine if _about_helm_releases(r)]
    if not triggers or not looks:
        return mine
    start, end = min(triggers), max(looks)
    return [
        r
        for r in mine
        if is_write(r)
        or not _about_flux_objects(r)
        or not start <= interval(r)[0] <= end + TOLERANCE_S
    ]
