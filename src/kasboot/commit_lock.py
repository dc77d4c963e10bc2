"""One commit at a time among the runs that share a lock file (``KASBOOT_COMMIT_LOCK``):
`kasboot fleet apply` gives the bootstraps of clusters that commit to one project and
branch the same file. The lock is held from the manifests step (which reads the files
and their last commit ids) to the end of the commit step, so each run plans its commit
on the branch as the previous run left it. An OS file lock (flock): a run that dies
releases it with its process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from kasboot.pipeline import Change, Step

COMMIT_LOCK_VARIABLE = "KASBOOT_COMMIT_LOCK"
FIRST_STEP, LAST_STEP = "manifests", "commit"


class CommitLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None

    def acquire(self) -> None:
        if self._file is not None:
            return
        import fcntl

        handle = self.path.open("a", encoding="utf-8")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # waits while another run commits
        self._file = handle

    def release(self) -> None:
        if self._file is None:
            return
        import fcntl

        fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        self._file.close()
        self._file = None


class _Held:
    """A step that runs with the lock held: taken before it, let go after the last."""

    def __init__(self, inner: Any, lock: CommitLock, last: bool) -> None:
        self.inner = inner
        self.lock = lock
        self.last = last
        self.name: str = inner.name
        self.title: str = inner.title

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def skipped(self, ctx: Any) -> str | None:
        reason: str | None = self.inner.skipped(ctx)
        if reason is not None and self.last:
            self.lock.release()
        return reason

    def plan(self, ctx: Any) -> list[Change]:
        self.lock.acquire()
        try:
            changes: list[Change] = self.inner.plan(ctx)
        except BaseException:
            self.lock.release()
            raise
        if self.last and (not changes or getattr(ctx, "dry_run", False)):
            self.lock.release()
        return changes

    def apply(self, ctx: Any, changes: list[Change]) -> None:
        try:
            self.inner.apply(ctx, changes)
        except BaseException:
            self.lock.release()
            raise
        if self.last:
            self.lock.release()

    def summary(self, ctx: Any) -> str:
        return str(self.inner.summary(ctx))


def serialised_commits(steps: list[Step[Any]], env: Mapping[str, str]) -> list[Step[Any]]:
    """``steps`` with the manifests and commit steps under the lock named in ``env``."""
    raw = env.get(COMMIT_LOCK_VARIABLE, "").strip()
    names = [step.name for step in steps]
    if not raw or os.name != "posix" or FIRST_STEP not in names or LAST_STEP not in names:
        return steps
    lock = CommitLock(Path(raw))
    held: list[Step[Any]] = []
    for step in steps:
        if step.name in (FIRST_STEP, LAST_STEP):
            held.append(_Held(step, lock, last=step.name == LAST_STEP))
        else:
            held.append(step)
    return held
