"""The doctor's report: one line per check — ✔ pass, ✖ fail, ⚠ warn, - skipped — each
with what was found and, when it is not a pass, the fix. A failing line carries the
exit code of its cause (the DESIGN.md contract), and the report exits with the first
failure's code once every line is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from kasboot.errors import ExitCode, KasbootError


class Outcome(Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"

    @property
    def mark(self) -> str:
        return {"pass": "✔", "fail": "✖", "warn": "⚠", "skip": "-"}[self.value]


@dataclass(frozen=True)
class Check:
    id: str  # stable, for scripts: "gitlab", "token", "kas", …
    title: str
    outcome: Outcome
    summary: str  # one line: what was found
    fix: str | None = None
    exit_code: ExitCode = ExitCode.OK  # for FAIL: the DESIGN.md code of the cause

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.outcome.value,
            "summary": self.summary,
            "fix": self.fix,
            "exit_code": int(self.exit_code) if self.outcome is Outcome.FAIL else 0,
        }


def passed(id: str, title: str, summary: str) -> Check:
    return Check(id, title, Outcome.PASS, summary)


def warned(id: str, title: str, summary: str, fix: str | None = None) -> Check:
    return Check(id, title, Outcome.WARN, summary, fix)


def skipped(id: str, title: str, why: str) -> Check:
    return Check(id, title, Outcome.SKIP, why)


def failed(id: str, title: str, summary: str, fix: str | None, code: ExitCode) -> Check:
    return Check(id, title, Outcome.FAIL, summary, fix, code)


def failed_with(id: str, title: str, error: KasbootError) -> Check:
    """A check that failed because a seam raised: its message, hint and exit code."""
    return Check(id, title, Outcome.FAIL, error.message, error.hint, error.exit_code)


@dataclass
class Report:
    project: str | None = None
    agent: str | None = None
    checks: list[Check] = field(default_factory=list)

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.outcome is Outcome.FAIL]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> ExitCode:
        failures = self.failures
        return failures[0].exit_code if failures else ExitCode.OK

    def counts(self) -> dict[str, int]:
        return {
            outcome.value: sum(c.outcome is outcome for c in self.checks) for outcome in Outcome
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "command": "doctor",
            "ok": self.ok,
            "exit_code": int(self.exit_code),
            "project": self.project,
            "agent": self.agent,
            "counts": self.counts(),
            "checks": [check.as_json() for check in self.checks],
        }
