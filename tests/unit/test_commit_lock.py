"""The commit lock: a second run's manifests step waits until the first run's commit
step is over (two open files, as two processes would hold them)."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from kasboot.commit_lock import COMMIT_LOCK_VARIABLE, serialised_commits
from kasboot.pipeline import Change


class Step:
    def __init__(self, name: str, changes: list[Change]) -> None:
        self.name = name
        self.title = name
        self.changes = changes

    def skipped(self, ctx: Any) -> str | None:
        return None

    def plan(self, ctx: Any) -> list[Change]:
        return self.changes

    def apply(self, ctx: Any, changes: list[Change]) -> None:
        return None

    def summary(self, ctx: Any) -> str:
        return ""


def steps(lock: Path) -> list[Any]:
    change = [Change("commit", "branch main")]
    plain = [Step("preflight", []), Step("manifests", change), Step("commit", change)]
    return serialised_commits(plain, {COMMIT_LOCK_VARIABLE: str(lock)})  # type: ignore[arg-type]


def test_without_the_variable_the_steps_are_untouched() -> None:
    plain = [Step("manifests", []), Step("commit", [])]
    assert serialised_commits(plain, {}) == plain  # type: ignore[arg-type]


def test_the_second_run_waits_for_the_first_commit(tmp_path: Path) -> None:
    lock = tmp_path / "commit.lock"
    first, second = steps(lock), steps(lock)
    first[1].plan(None)  # first run holds the lock from its manifests step on
    entered = threading.Event()

    def second_run() -> None:
        second[1].plan(None)
        entered.set()
        second[2].apply(None, second[2].plan(None))

    worker = threading.Thread(target=second_run)
    worker.start()
    assert not entered.wait(0.3)  # held: the second run is still waiting
    first[2].apply(None, first[2].plan(None))  # first run's commit done: lock released
    assert entered.wait(30)
    worker.join(30)


def test_a_failing_step_releases_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "commit.lock"
    failing = steps(lock)

    def boom(ctx: Any) -> list[Change]:
        raise RuntimeError("boom")

    failing[1].inner.plan = boom
    with contextlib.suppress(RuntimeError):
        failing[1].plan(None)
    other = steps(lock)
    other[1].plan(None)  # would hang if the failed run had kept the lock
    other[2].apply(None, [])
