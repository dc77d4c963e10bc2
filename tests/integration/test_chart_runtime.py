"""What happens to the agent's release on a cluster as it really is: the namespaces every
cluster has, pods that start only from a valid and pullable image, and helm-controller's
reason for values it cannot compose (ValuesError). The real CLI against the sandbox."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from kasboot.sandbox.kube.images import reference_error
from tests.integration.bootstrap_helpers import agent_args, run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

pytestmark = pytest.mark.sandbox
HR = ("helm.toolkit.fluxcd.io", "v2", "helmreleases")


def api(sandbox: Sandbox) -> client.ApiClient:
    return config.new_client_from_config(str(sandbox.kubeconfig))


def ready_condition(custom: Any, namespace: str, name: str) -> dict[str, Any]:
    obj = custom.get_namespaced_custom_object(HR[0], HR[1], namespace, HR[2], name)
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


def eventually(probe: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    """Poll until ``probe()`` is truthy (a bound on waiting, not on speed)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def set_unpullable(sandbox: Sandbox, patterns: list[str]) -> None:
    request = urllib.request.Request(
        f"{sandbox.kube_url}/-/sandbox/images",
        data=json.dumps({"unpullable": patterns}).encode(),
        method="PUT",
    )
    urllib.request.urlopen(request, timeout=10).close()


def test_a_release_in_the_default_namespace(sandbox: Sandbox) -> None:
    """`default` exists on every cluster: a HelmRelease object there needs no set-up."""
    result = run_kasboot(sandbox, *agent_args("indefault", "--helm-release-namespace", "default"))
    assert result.code == 0, result.stderr
    custom = client.CustomObjectsApi(api(sandbox))
    assert ready_condition(custom, "default", "indefault")["status"] == "True"


def test_an_unpullable_agent_image_fails_the_install_until_it_can_be_pulled(
    sandbox: Sandbox,
) -> None:
    # The tag kasboot pins from the sandbox's KAS (18.2.0 → GitLab's install tag v18.2.0).
    set_unpullable(sandbox, ["*/agentk:v18.2.0"])
    try:
        failed = run_kasboot(sandbox, *agent_args("nopull"))
        assert failed.code == 6, failed.stderr
        custom = client.CustomObjectsApi(api(sandbox))
        ready = ready_condition(custom, "flux-system", "nopull")
        assert ready["reason"] == "InstallFailed"
        assert "resource Deployment/nopull/" in ready["message"]
        assert "not ready. status: InProgress, message: Available: 0/2" in ready["message"]
        events = client.CoreV1Api(api(sandbox)).list_namespaced_event("nopull").items
        assert any("Failed to pull image" in (e.message or "") for e in events)
    finally:
        set_unpullable(sandbox, [])
    again = run_kasboot(sandbox, *agent_args("nopull"))
    assert again.code == 0, again.stderr


def test_values_from_failures_are_values_errors(sandbox: Sandbox) -> None:
    assert run_kasboot(sandbox, *agent_args("valuesfrom")).code == 0
    custom = client.CustomObjectsApi(api(sandbox))
    custom.patch_namespaced_custom_object(
        *HR[:2],
        "flux-system",
        HR[2],
        "valuesfrom",
        {"spec": {"valuesFrom": [{"kind": "Secret", "name": "absent-values"}]}},
    )
    ready = eventually(
        lambda: (
            (r := ready_condition(custom, "flux-system", "valuesfrom")).get("reason")
            == "ValuesError"
            and r
        ),
        "Ready=False ValuesError",
    )
    assert ready["status"] == "False"
    assert (
        "could not resolve Secret chart values reference 'flux-system/absent-values'"
        in (ready["message"])
    )


@pytest.fixture(scope="module")
def build_suffixed_kas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A GitLab whose KAS reports a version with a semver build suffix."""
    directory = tmp_path_factory.mktemp("kas-build")
    world = sandbox_up(Path(directory), "--kas-version", "17.4.0-rc1+6a02f3c1")
    try:
        yield world
    finally:
        sandbox_down(Path(directory))


def test_a_kas_build_suffix_never_reaches_the_image_tag(build_suffixed_kas: Sandbox) -> None:
    """`v17.4.0-rc1+6a02f3c1` is no Docker tag: pods with it never start
    (InvalidImageName) and the install fails; kasboot pins no tag from a pre-release KAS
    version and the chart's own default runs."""
    result = run_kasboot(build_suffixed_kas, *agent_args("suffixed"))
    assert result.code == 0, result.stderr
    assert "chart default image tag" in result.stderr
    apps = client.AppsV1Api(api(build_suffixed_kas))
    deployments = apps.list_namespaced_deployment("suffixed").items
    images = [c.image for d in deployments for c in d.spec.template.spec.containers]
    assert images and all("+" not in image and reference_error(image) is None for image in images)
