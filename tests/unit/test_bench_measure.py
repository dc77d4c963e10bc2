"""bench/measure.py on hand-made request logs: what counts as kasboot's, as a write and a
commit, the dependency chain (parallel requests share one place), the Flux wait, and
when the HelmRelease became Ready."""

from __future__ import annotations

from typing import Any

from bench import measure

HR = "/apis/helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases"


def _r(
    start: float,
    end: float,
    method: str = "GET",
    path: str = "/api/v4/x",
    query: str = "",
    agent: str = "kasboot/0.1.0",
) -> dict[str, Any]:
    return {
        "method": method,
        "path": path,
        "query": query,
        "status": 200,
        "user_agent": agent,
        "ms": (end - start) * 1000,
        "at": end,
    }


def test_counts_only_kasboot_and_tells_writes_and_commits() -> None:
    records = [
        _r(0, 1),
        _r(0, 1, "POST", "/api/v4/projects/1/repository/commits"),
        _r(0, 1, "PUT", "/api/v4/projects/1/repository/files/a.yaml"),
        _r(0, 1, "POST", "/demo/fleet.git/git-upload-pack"),
        _r(0, 1, "PATCH", "/x/status", agent="helm-controller/v1"),
        _r(0, 1, agent="kasboot-bench-seed/1"),
    ]
    assert measure.Counts.of(records) == measure.Counts(requests=4, writes=2, commits=2)


def test_chain_counts_parallel_requests_once() -> None:
    records = [
        _r(0.0, 0.05),
        _r(0.06, 0.11),  # these two overlap: sent in parallel
        _r(0.06, 0.12),
        _r(0.13, 0.18),
        _r(0.2, 5.0, query="watch=true&timeoutSeconds=60"),  # a watch: Flux's time
    ]
    assert len(measure.chain(records)) == 3


def test_flux_wait_ends_at_the_answering_write_and_skips_other_requests() -> None:
    records = [
        _r(1.0, 3.0, path=f"{HR}", query="fieldSelector=x&watch=true"),
        _r(1.5, 1.6),  # kasboot's own request meanwhile: in the chain, not in the wait
        _r(2.49, 2.5, "PATCH", f"{HR}/gitlab-agent/status", agent="helm-controller/v1"),
    ]
    assert abs(measure.flux_wait(records) - 1.4) < 1e-9
    floor = measure.floor(records, 0.05)
    assert floor.chain == 1
    assert abs(floor.seconds - (0.05 + 1.4)) < 1e-9


def test_ready_is_the_last_helm_controller_write_kasboot_waited_for() -> None:
    records = [
        _r(1.0, 2.0, path=HR, query="watch=true"),
        _r(1.2, 1.3, "PATCH", f"{HR}/gitlab-agent/status", agent="helm-controller/v1"),
        _r(1.8, 1.9, "PATCH", f"{HR}/gitlab-agent/status", agent="helm-controller/v1"),
        _r(2.5, 2.6, "PATCH", f"{HR}/gitlab-agent/status", agent="helm-controller/v1"),
    ]
    assert measure.ready_at(records) == 1.9


def test_growth_leaves_out_the_reads_of_the_flux_wait() -> None:
    ks = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations"
    records = [
        _r(0.0, 0.1, path=ks),  # pre-flight read: counted
        _r(0.2, 0.3, "PATCH", f"{ks}/flux-system"),  # the trigger: a write, counted
        _r(0.4, 0.5, path=ks, query="fieldSelector=x"),  # waiting: left out
        _r(0.6, 0.7, path=HR, query="watch=true"),  # waiting: left out
        _r(0.8, 0.9, path="/apis/apps/v1/namespaces/a/deployments"),  # counted
    ]
    assert len(measure.outside_flux_wait(records)) == 3


def test_requests_of_unknown_clients_are_found() -> None:
    records = [
        _r(0, 1),
        _r(0, 1, agent="helm-controller/v1"),
        _r(0, 1, agent="kasboot-bench-seed/1"),
        _r(0, 1, agent="python-httpx/0.27"),
        _r(0, 1, agent=""),
    ]
    assert [r["user_agent"] for r in measure.unattributed(records)] == ["python-httpx/0.27", ""]
