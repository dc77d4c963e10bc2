"""Issue 21 items 7, 8 and 17 (first point) against the sandbox's fault hooks: one
transient 5xx on a Kubernetes write does not abort the run (retried with backoff; a
create whose first answer was lost answers AlreadyExists and is done; a Secret replace
that meets its own first attempt is re-read and compared); a cluster that keeps
answering 500 is named by what it answered; a hung API server ends the run at
--timeout with one line (exit 5)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.bootstrap_helpers import agent_args, run_kasboot

pytestmark = pytest.mark.sandbox


def _faults(sandbox: Any, rules: list[dict[str, Any]]) -> None:
    body = json.dumps({"rules": rules}).encode()
    request = urllib.request.Request(
        f"{sandbox.kube_url}/-/sandbox/faults",
        data=body,
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def _rules(sandbox: Any) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{sandbox.kube_url}/-/sandbox/faults", timeout=10) as answer:
        found = json.loads(answer.read())
    return list(found.get("rules", found) if isinstance(found, dict) else found)


@pytest.fixture
def faults(sandbox: Any) -> Iterator[Any]:
    yield lambda rules: _faults(sandbox, rules)
    _faults(sandbox, [])


def _once(path: str, method: str, mode: str = "reject", status: int = 500) -> dict[str, Any]:
    return {"path": path, "method": method, "status": status, "mode": mode, "times": 1}


def test_one_transient_5xx_on_each_write_does_not_abort_the_run(sandbox: Any, faults: Any) -> None:
    name = "flaky-writes"
    faults(
        [
            _once(r"^/api/v1/namespaces$", "POST", "applied_status", 500),  # created, answer lost
            _once(rf"^/api/v1/namespaces/{name}/secrets$", "POST", "applied_status", 502),
            _once(r"/gitrepositories/flux-system$", "PATCH", "reject", 503),
            _once(rf"/helmreleases/{name}$", "PATCH", "applied_status", 500),
        ]
    )
    result = run_kasboot(sandbox, *agent_args(name))
    assert result.code == 0, result.stderr
    assert all(rule["hits"] == 1 for rule in _rules(sandbox)), _rules(sandbox)

    # A replace (PUT with resourceVersion) applied but answered 500: the retry meets a
    # changed resourceVersion (409 Conflict), the Secret is read back and holds the token.
    faults(
        [_once(rf"^/api/v1/namespaces/{name}/secrets/gitlab-agent-token$", "PUT", "applied_status")]
    )
    rotated = run_kasboot(sandbox, *agent_args(name, "--rotate-token"))
    assert rotated.code == 0, rotated.stderr
    assert _rules(sandbox)[0]["hits"] == 1


def test_a_cluster_answering_500s_is_named_by_its_answer(sandbox: Any, faults: Any) -> None:
    # The first cluster request of a bootstrap (pre-flight's read of the token Secret).
    faults(
        [{"path": r"^/api/v1/namespaces/five-hundreds/secrets/", "method": "GET", "status": 500}]
    )
    result = run_kasboot(sandbox, *agent_args("five-hundreds"))
    assert result.code == 5, result.stderr
    assert "MaxRetryError" not in result.stderr
    assert "cannot reach" not in result.stderr
    assert "the cluster said 500" in result.stderr


def test_a_hung_api_server_ends_the_run_at_the_timeout(sandbox: Any, faults: Any) -> None:
    # Every read of the namespaces hangs (no answer for 10 minutes).
    faults([{"path": r"^/api/v1/namespaces/hung-api", "latency_ms": 600_000}])
    args = agent_args("hung-api")
    args[args.index("--timeout") + 1] = "3s"
    result = run_kasboot(sandbox, *args, timeout=90)
    assert result.code == 5, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.stderr
    assert "within --timeout (3s)" in lines[0] or "no answer in time" in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_a_write_whose_connection_drops_after_it_landed_is_done(sandbox: Any, faults: Any) -> None:
    name = "dropped-writes"
    faults(
        [
            {"path": r"^/api/v1/namespaces$", "method": "POST", "mode": "applied_drop", "times": 1},
            {
                "path": rf"^/api/v1/namespaces/{name}/secrets$",
                "method": "POST",
                "mode": "applied_drop",
                "times": 1,
            },
        ]
    )
    result = run_kasboot(sandbox, *agent_args(name))
    assert result.code == 0, result.stderr
    assert all(rule["hits"] == 1 for rule in _rules(sandbox)), _rules(sandbox)
