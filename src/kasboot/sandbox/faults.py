"""Fault rules and their seeded draws, shared by the emulators (see common.py for the
middleware that applies them and docs/sandbox.md, "Fault rules", for the contract).

A rule matches a request on its method, its path and its User-Agent; each of the
last two is a regex searched (``re.search``) in the request's value, so a plain
substring such as ``kasboot/`` works as it is. The User-Agent match is what tells
kasboot's requests from the Flux simulator's controllers, which share the Kubernetes
API server and hit the same routes.

Draws are seeded and keyed, not a shared stream: whether the *n*-th request a rule
matches is faulted depends only on (seed, the rule's position in the list, n). So
the same rules with the same seed fault the same requests of a run that sends its
requests in the same order — whatever other clients (the simulated controllers, a
second emulator) do meanwhile. An injector given no seed picks one at random and
reports it (``GET /-/sandbox/faults``), so any run can be replayed."""

from __future__ import annotations

import hashlib
import random
import re
import threading
from dataclasses import dataclass
from typing import Any

FAULT_MODES = {"reject", "applied_status", "applied_drop", "applied_timeout", "cut", "latency"}
_SEED_LIMIT = 2**31


def _compiled(field_name: str, pattern: str | None) -> None:
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"fault rule {field_name} {pattern!r} is not a regex: {error}") from None


@dataclass
class FaultRule:
    path: str = ".*"
    method: str | None = None
    user_agent: str | None = None  # regex searched in the User-Agent; None: any client
    status: int | None = None
    latency_ms: int = 0
    rate: float = 1.0
    times: int | None = None
    retry_after: int = 1
    mode: str = "reject"
    hold_ms: int = 60_000
    cut_after_chunks: int | None = None
    hits: int = 0

    def __post_init__(self) -> None:
        if self.mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {self.mode!r}: one of {sorted(FAULT_MODES)}")
        _compiled("path", self.path)
        _compiled("user_agent", self.user_agent)
        if self.mode in {"reject", "applied_status"} and not self.status:
            # A rule without a status only adds latency (the original meaning).
            self.mode = "latency"

    def matches(self, method: str, path: str, user_agent: str = "") -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        if self.user_agent is not None and re.search(self.user_agent, user_agent) is None:
            return False
        return re.search(self.path, path) is not None


def draw(seed: int, rule_index: int, nth: int) -> float:
    """A number in [0, 1) fixed by (seed, rule position, n-th match): the same in every
    process and Python version (sha256, not ``hash()``, which is salted per process)."""
    digest = hashlib.sha256(f"{seed}:{rule_index}:{nth}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _seed_value(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < _SEED_LIMIT:
        raise ValueError(f"fault seed must be an integer from 0 to {_SEED_LIMIT - 1}, got {seed!r}")
    return seed


class FaultInjector:
    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = []
        if seed is None:
            seed = random.SystemRandom().randrange(_SEED_LIMIT)
        self.seed = _seed_value(seed)
        # Bumped by every release: a request held (latency, applied_timeout) since before
        # the bump stops waiting (see SandboxMiddleware.hold).
        self.releases = 0
        self._lock = threading.Lock()

    def replace(
        self, rules: list[dict[str, Any]], seed: int | None = None, release: bool = False
    ) -> None:
        """New rules (their hit counts from 0) and, when given, a new seed: the same rules
        and seed replay the same draws. ``release``: then end the wait of every request
        held now, so that a test holds a request exactly as long as it needs to."""
        parsed = [FaultRule(**{k: v for k, v in r.items() if k != "hits"}) for r in rules]
        with self._lock:
            if seed is not None:
                self.seed = _seed_value(seed)
            self.rules = parsed
            if release:
                self.releases += 1

    def pick(self, method: str, path: str, user_agent: str = "") -> tuple[float, FaultRule | None]:
        """Latency to add (seconds) and the rule whose fault answers, if any."""
        latency = 0.0
        chosen: FaultRule | None = None
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not rule.matches(method, path, user_agent):
                    continue
                rule.hits += 1
                latency += rule.latency_ms / 1000
                faults = chosen is None and rule.mode != "latency"
                if faults and draw(self.seed, index, rule.hits) < rule.rate:
                    chosen = rule
        return latency, chosen
