"""Issue 15 items 1 and 2 end to end, in a sandbox with slow controllers:

- a Flux webhook Receiver (`sandbox up --flux-receiver`) annotates the GitRepository
  with its own value after every push — kasboot's commit included — so the
  controller's lastHandledReconcileAt is the Receiver's, never kasboot's. With a slow
  source-controller (its reconcile starts after the Receiver's annotation landed), a
  waiter that insists on "equals my token" hangs until --timeout; kasboot must end
  Ready;
- a slow helm-controller makes the HelmChart only on its second pass over the new
  HelmRelease, and reports SourceNotReady (Reconciling=True) while the chart is
  fetched: kasboot waits for the chart and through that state."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.bootstrap_helpers import agent_args, run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def receiver_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("receiver")
    with pytest.MonkeyPatch.context() as patch:
        # source-controller starts each reconcile 2.5 s after the event: the Receiver's
        # annotation (1 s after the push) is then the newest request it handles.
        patch.setenv("KASBOOT_SANDBOX_FLUX_LATENCY", "source-controller=2.5,helm-controller=1.5")
        world = sandbox_up(directory, "--flux-receiver")
    try:
        yield world
    finally:
        sandbox_down(directory)


def _git_repository(sandbox: Sandbox) -> dict[str, Any]:
    url = (
        f"{sandbox.kube_url}/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/"
        "gitrepositories/flux-system"
    )
    request = urllib.request.Request(url, headers={"Authorization": "Bearer sandbox"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def test_bootstrap_ends_ready_although_a_receiver_annotates_after_kasboot(
    receiver_sandbox: Sandbox, tmp_path: Path
) -> None:
    args = agent_args("recv-agent")
    args[args.index("--timeout") + 1] = "90s"
    result = run_kasboot(receiver_sandbox, *args, "--output", "json", timeout=150)
    assert result.code == 0, result.stderr
    source = _git_repository(receiver_sandbox)
    handled = source["status"]["lastHandledReconcileAt"]
    # The Receiver's value (metav1.Now().String()), not kasboot's RFC 3339 token.
    assert " UTC m=+" in handled
    receiver_patches = [
        r
        for r in receiver_sandbox.kube_requests()
        if r["method"] == "PATCH" and r["user_agent"].startswith("notification-controller/")
    ]
    assert receiver_patches


def test_bootstrap_waits_for_the_helmchart_and_through_source_not_ready(
    receiver_sandbox: Sandbox,
) -> None:
    args = agent_args("slow-helm-agent")
    args[args.index("--timeout") + 1] = "90s"
    result = run_kasboot(receiver_sandbox, *args, timeout=150)
    assert result.code == 0, result.stderr
    url = (
        f"{receiver_sandbox.kube_url}/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/"
        "helmcharts/flux-system-slow-helm-agent"
    )
    with urllib.request.urlopen(url, timeout=10) as response:
        chart = json.loads(response.read())
    # kasboot waited for the HelmChart (new with the release: watched, not annotated —
    # source-controller reconciles a new object by itself) until it was Ready
    assert "reconcile.fluxcd.io/requestedAt" not in chart["metadata"].get("annotations", {})
    ready = [c for c in chart["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True", chart["status"]
    watched = [
        r
        for r in receiver_sandbox.kube_requests()
        if r["user_agent"].startswith("kasboot/")
        and r["path"].endswith("/helmcharts")
        and "flux-system-slow-helm-agent" in r.get("query", "")
        and "watch=true" in r.get("query", "")
    ]
    assert watched
