"""`sandbox up --fault-seed N` seeds both emulators' fault draws, and the same rules put
again with the same seed fault the same requests (docs/sandbox.md, "Fault rules")."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.reliability.conftest import FAULT_SEED
from tests.reliability.helpers import clear_faults, set_faults

pytestmark = pytest.mark.sandbox


def _faults(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/-/sandbox/faults", timeout=10) as answer:
        return dict(json.loads(answer.read()))


def _status(url: str, user_agent: str) -> int:
    request = urllib.request.Request(f"{url}/version", headers={"User-Agent": user_agent})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_sandbox_up_seeds_both_emulators(sandbox: Any) -> None:
    # The session's other tests put seeds of their own; a fresh PUT without one keeps it.
    for url in (sandbox.gitlab_url, sandbox.kube_url):
        assert isinstance(_faults(url)["seed"], int)
    log = (sandbox.dir / "world.log").read_text(encoding="utf-8")
    assert f"fault seeds: GitLab {FAULT_SEED}, Kubernetes {FAULT_SEED}" in log


def test_the_same_seed_replays_the_same_faults(sandbox: Any) -> None:
    rule = {"path": "^/version$", "user_agent": "^replay-probe/", "status": 500, "rate": 0.5}
    try:
        runs = []
        for _ in range(2):
            set_faults(sandbox.kube_url, [rule], seed=99)
            runs.append([_status(sandbox.kube_url, "replay-probe/1") for _ in range(16)])
            # Another client in between: not matched, so it draws nothing.
            assert _status(sandbox.kube_url, "kubectl/v1.33") == 200
        assert runs[0] == runs[1]
        assert set(runs[0]) == {200, 500}
        assert _faults(sandbox.kube_url)["seed"] == 99
    finally:
        clear_faults(sandbox)
