"""Running a fleet: every cluster's bootstrap (or its dry run) as its own
`kasboot bootstrap … -o json` process, at most ``parallel`` at once.

A process per cluster keeps clusters apart — a crash, a hang or a Ctrl-C in one run is
that run's alone — and reuses everything `kasboot bootstrap` guarantees (validation
before writes, idempotence, the token's only home being the cluster Secret). The parent
reads each child's step events from a pipe (``KASBOOT_EVENTS_FD``) for the live table,
and its JSON document at the end. Children that commit to one project and branch share
a commit lock (``KASBOOT_COMMIT_LOCK``), so their commits go one at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kasboot.fleet.spec import ClusterSpec, FleetSpec

STOP_GRACE_SECONDS = 30.0  # a child told to stop gets this long to finish its step


@dataclass
class ClusterRun:
    spec: ClusterSpec
    state: str = "waiting"  # waiting | running | done | failed
    steps: dict[str, str] = field(default_factory=dict)  # step -> "running" or its result
    exit_code: int | None = None
    document: dict[str, Any] | None = None
    error: str | None = None
    started: float | None = None
    elapsed: float = 0.0

    @property
    def verdict(self) -> str:
        """changed / unchanged / pending (dry run found changes) / failed / waiting."""
        if self.state in ("waiting", "running"):
            return self.state
        if self.exit_code != 0:
            return "failed"
        results = set(self.steps.values())
        if "CHANGED" in results:
            return "changed"
        if "PLANNED" in results:
            return "pending"
        return "unchanged"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "agent": self.spec.agent,
            "ok": self.exit_code == 0,
            "exit_code": self.exit_code,
            "verdict": self.verdict,
            "error": self.error,
            "elapsed_seconds": round(self.elapsed, 3),
            "steps": [{"name": name, "result": result} for name, result in self.steps.items()],
            "report": self.document,
        }


Listener = Callable[[ClusterRun], None]


class FleetRunner:
    def __init__(
        self,
        fleet: FleetSpec,
        *,
        dry_run: bool,
        parallel: int,
        listener: Listener,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.fleet = fleet
        self.dry_run = dry_run
        self.parallel = max(1, parallel)
        self.listener = listener
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.runs = [ClusterRun(spec) for spec in fleet.clusters]
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._stopping = False

    def run(self) -> list[ClusterRun]:
        with tempfile.TemporaryDirectory(prefix="kasboot-fleet-") as scratch:
            self.scratch = Path(scratch)
            pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="fleet")
            futures = [pool.submit(self._run_one, run) for run in self.runs]
            try:
                for future in futures:
                    while not future.done():
                        time.sleep(0.05)  # keeps the main thread open to signals
                    future.result()
            except KeyboardInterrupt as interrupt:
                self._stop_children(interrupt)
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
        return self.runs

    def _stop_children(self, interrupt: KeyboardInterrupt) -> None:
        """Ctrl-C reached the children with the terminal's process group; a SIGTERM to
        this process did not, so pass it on. Each child ends its step (exit 130/143,
        resumable by a re-run); a child that does not end in time is killed."""
        from kasboot.cli import Terminated

        with self._lock:
            self._stopping = True
            children = list(self._children.values())
        sig = signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT
        for child in children:
            if child.poll() is None:
                child.send_signal(sig)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()

    def _command(self, spec: ClusterSpec) -> list[str]:
        argv = [sys.executable, "-m", "kasboot", "bootstrap", spec.agent, *spec.flags()]
        argv += ["--output", "json"]
        if self.dry_run:
            argv.append("--dry-run")
        return argv

    def _lock_file(self, spec: ClusterSpec) -> Path:
        digest = hashlib.sha256(spec.lock_key.encode()).hexdigest()[:16]
        return self.scratch / f"commit-{digest}.lock"

    def _run_one(self, run: ClusterRun) -> None:
        with self._lock:
            if self._stopping:
                return
        run.state, run.started = "running", time.monotonic()
        self.listener(run)
        read_end, write_end = os.pipe()
        out_path = self.scratch / f"{run.spec.name}.out"
        err_path = self.scratch / f"{run.spec.name}.err"
        env = {
            **self.env,
            "KASBOOT_EVENTS_FD": str(write_end),
            "KASBOOT_COMMIT_LOCK": str(self._lock_file(run.spec)),
            "CI": self.env.get("CI", "true"),  # never a prompt in a child
        }
        try:
            with out_path.open("wb") as out, err_path.open("wb") as err:
                child = subprocess.Popen(
                    self._command(run.spec),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=env,
                    cwd=self.cwd,
                    pass_fds=(write_end,),
                )
        except OSError as failure:
            os.close(read_end)
            os.close(write_end)
            self._finished(run, 1, None, f"cannot start kasboot: {failure.strerror}")
            return
        os.close(write_end)
        with self._lock:
            self._children[run.spec.name] = child
        with os.fdopen(read_end, "r", encoding="utf-8", errors="replace") as events:
            for line in events:
                self._event(run, line)
        code = child.wait()
        with self._lock:
            self._children.pop(run.spec.name, None)
        document = _document(out_path.read_text(encoding="utf-8", errors="replace"))
        error = None if code == 0 else _error_line(document, err_path)
        self._finished(run, code, document, error)

    def _event(self, run: ClusterRun, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return
        step = str(event.get("step", ""))
        if event.get("event") == "started":
            run.steps[step] = "running"
        elif event.get("event") == "finished":
            run.steps[step] = str(event.get("result", ""))
        run.elapsed = time.monotonic() - (run.started or time.monotonic())
        self.listener(run)

    def _finished(
        self, run: ClusterRun, code: int, document: dict[str, Any] | None, error: str | None
    ) -> None:
        run.exit_code, run.document, run.error = code, document, error
        run.state = "done" if code == 0 else "failed"
        run.elapsed = time.monotonic() - (run.started or time.monotonic())
        self.listener(run)


def _document(text: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _error_line(document: dict[str, Any] | None, err_path: Path) -> str:
    """The child's one-line error: from its JSON document, else its last stderr line."""
    error = (document or {}).get("error")
    if isinstance(error, dict) and error.get("message"):
        hint = error.get("hint")
        return f"{error['message']} — {hint}" if hint else str(error["message"])
    lines = [ln for ln in err_path.read_text(encoding="utf-8", errors="replace").splitlines() if ln]
    return lines[-1].removeprefix("Error: ") if lines else "kasboot ended without a report"


def fleet_exit_code(runs: list[ClusterRun]) -> int:
    """0 when every cluster succeeded; else an interruption's code, else the first failed
    cluster's (in the fleet file's order)."""
    codes = [run.exit_code for run in runs if run.exit_code not in (0, None)]
    for interrupted in (143, 130):
        if interrupted in codes:
            return interrupted
    if any(run.exit_code is None for run in runs):
        return 130
    return codes[0] if codes else 0
