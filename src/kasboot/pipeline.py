"""Steps and the runner that drives them.

A step is small and idempotent: ``plan`` reads the world and says what would change
(nothing, when the world is already as wanted); ``apply`` makes exactly those changes.
Steps never print: the runner emits events and a reporter (rich console, JSON, or a
test) turns them into output. ``--dry-run`` runs every ``plan`` and no ``apply``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from kasboot.errors import KasbootError


class Result(str, Enum):
    OK = "OK"  # a check or read that passed
    CHANGED = "CHANGED"
    UNCHANGED = "UNCHANGED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
    PLANNED = "PLANNED"  # dry run: changes were found and not applied


@dataclass(frozen=True)
class Change:
    """One write a step would make, described for humans and for JSON."""

    action: str  # e.g. "create", "update", "revoke", "commit", "annotate"
    target: str  # what it acts on, e.g. "environment flux-system/gitlab-agent"
    detail: str = ""  # a diff or a one-line summary; never a secret


@dataclass
class StepReport:
    name: str
    title: str
    result: Result
    elapsed: float
    changes: list[Change] = field(default_factory=list)
    summary: str = ""
    error: KasbootError | None = None


CtxT = TypeVar("CtxT")
CtxT_contra = TypeVar("CtxT_contra", contravariant=True)


class Step(Protocol[CtxT_contra]):
    name: str  # machine name, e.g. "agent"
    title: str  # human title, e.g. "Registering agent"

    def plan(self, ctx: CtxT_contra) -> list[Change]:
        """Read the world and return the changes to make; [] when nothing differs."""
        ...

    def apply(self, ctx: CtxT_contra, changes: list[Change]) -> None:
        """Make the planned changes (called only when ``plan`` found some)."""
        ...

    def summary(self, ctx: CtxT_contra) -> str:
        """One line on the outcome (ids, names), shown after the step; never a secret."""
        ...

    def skipped(self, ctx: CtxT_contra) -> str | None:
        """A reason to skip this step entirely, or None."""
        ...


class Listener(Protocol):
    def step_started(self, name: str, title: str) -> None: ...

    def step_finished(self, report: StepReport) -> None: ...


@dataclass
class Runner(Generic[CtxT]):
    steps: Sequence[Step[CtxT]]
    listener: Listener
    dry_run: bool = False
    clock: Callable[[], float] = time.perf_counter
    reports: list[StepReport] = field(default_factory=list)

    def run(self, ctx: CtxT) -> list[StepReport]:
        for step in self.steps:
            self.listener.step_started(step.name, step.title)
            started = self.clock()
            report = self._run_one(step, ctx, started)
            self.reports.append(report)
            self.listener.step_finished(report)
            if report.error is not None:
                raise report.error
        return self.reports

    def _run_one(self, step: Step[CtxT], ctx: CtxT, started: float) -> StepReport:
        def report(result: Result, **kwargs: Any) -> StepReport:
            return StepReport(step.name, step.title, result, self.clock() - started, **kwargs)

        try:
            reason = step.skipped(ctx)
            if reason is not None:
                return report(Result.SKIPPED, summary=reason)
            changes = step.plan(ctx)
            if not changes:
                # A check that finds nothing to change passed; a step that finds the
                # world as wanted is unchanged.
                passed = Result.OK if getattr(step, "is_check", False) else Result.UNCHANGED
                return report(passed, summary=step.summary(ctx))
            if self.dry_run:
                return report(Result.PLANNED, changes=changes, summary=step.summary(ctx))
            step.apply(ctx, changes)
            return report(Result.CHANGED, changes=changes, summary=step.summary(ctx))
        except KasbootError as error:
            return report(Result.FAILED, summary=error.message, error=error)
