"""What one bootstrap costs, counted on the sandbox: GitLab requests (and writes),
cluster requests kasboot sends (Flux's own traffic excluded), commits, and wall time —
for a fresh run and for an idempotent re-run. Also the CLI's start-up time.
glab's counted cost of a fresh run, for comparison: ~17 GitLab requests, 3 commits,
8 subprocesses and up to 60 s of fixed sleeps; a re-run rewrites everything again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from kasboot.sandbox.world import parse_env

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _kasboot(*args: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "kasboot", *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    return time.perf_counter() - started, completed.stdout


def _log(url: str, method: str = "GET") -> Any:
    request = urllib.request.Request(f"{url}/-/sandbox/requests", method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _count(records: list[dict[str, Any]]) -> tuple[int, int]:
    ours = [r for r in records if r.get("user_agent", "").startswith("kasboot/")]
    return len(ours), sum(1 for r in ours if r["method"] in WRITES)


def main() -> None:
    startup = min(_kasboot("--help")[0] for _ in range(3))
    with tempfile.TemporaryDirectory(prefix="bench-bootstrap-") as scratch:
        directory = Path(scratch) / "world"
        _, output = _kasboot("sandbox", "up", "--dir", str(directory), "--detach")
        env = {**os.environ, **parse_env(output)}
        state = json.loads((directory / "world.json").read_text())
        gitlab_url = env["GITLAB_HOST"]
        kube_url = f"http://127.0.0.1:{state['kube_port']}"
        rows = []
        try:
            for label in ("fresh", "re-run"):
                _log(gitlab_url, "DELETE")
                _log(kube_url, "DELETE")
                seconds, _ = _kasboot(
                    "bootstrap", "bench", "--manifest-path", "clusters/sandbox/bench", env=env
                )
                gitlab_requests, gitlab_writes = _count(_log(gitlab_url))
                kube_requests, kube_writes = _count(_log(kube_url))
                commits = sum(
                    1
                    for r in _log(gitlab_url)
                    if r["method"] == "POST" and r["path"].endswith("/repository/commits")
                )
                rows.append(
                    (
                        label,
                        seconds,
                        gitlab_requests,
                        gitlab_writes,
                        commits,
                        kube_requests,
                        kube_writes,
                    )
                )
        finally:
            _kasboot("sandbox", "down", "--dir", str(directory))
    print("bootstrap cost (sandbox)")
    print(f"  CLI start-up (kasboot --help, best of 3): {startup:.2f} s")
    print("  run      wall s  gitlab req  writes  commits  cluster req  writes")
    for label, seconds, g_req, g_wr, commits, k_req, k_wr in rows:
        counts = f"{g_req:10d}  {g_wr:6d}  {commits:7d}  {k_req:11d}  {k_wr:6d}"
        print(f"  {label:<8} {seconds:6.2f}  {counts}")


if __name__ == "__main__":
    main()
