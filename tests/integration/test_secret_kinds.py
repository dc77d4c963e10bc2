"""The agent's token Secret as it may really be found: of a type other than Opaque
(immutable in type: the API server answers 422 to a PUT changing it), with
ownerReferences, finalizers and keys besides `token`, or `immutable: true`. kasboot
keeps what it does not own, never fails the same way on every run, and refuses (exit 3,
nothing written) only what it cannot write."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from kasboot.cluster import AGENT_ANNOTATION, TOKEN_ID_ANNOTATION
from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot

pytestmark = pytest.mark.sandbox
SECRET = "gitlab-agent-token"
HOLD = "example.com/hold"


@pytest.fixture(scope="module")
def core(sandbox: Any) -> Iterator[Any]:
    api_client = config.new_client_from_config(str(sandbox.kubeconfig))
    yield client.CoreV1Api(api_client)
    api_client.close()


def remake(core: Any, namespace: str, **changes: Any) -> Any:
    """Delete the Secret kasboot wrote and create it again as a user or another tool
    would, keeping kasboot's label, annotations and the token."""
    secret = core.read_namespaced_secret(SECRET, namespace)
    metadata = {
        "name": SECRET,
        "labels": secret.metadata.labels,
        "annotations": secret.metadata.annotations,
        **changes.pop("metadata", {}),
    }
    data = {"token": secret.data["token"], **changes.pop("data", {})}
    core.delete_namespaced_secret(SECRET, namespace)
    return core.create_namespaced_secret(namespace, {"metadata": metadata, "data": data, **changes})


def token_of(secret: Any) -> bytes:
    return base64.b64decode(secret.data["token"])


def release_hold(core: Any, namespace: str) -> None:
    core.patch_namespaced_secret(SECRET, namespace, {"metadata": {"finalizers": None}})


def test_a_typed_secret_keeps_its_type_owners_finalizers_and_keys(sandbox: Any, core: Any) -> None:
    assert run_kasboot(sandbox, *agent_args("typed", "--no-reconcile")).code == 0
    owner = core.create_namespaced_config_map("typed", {"metadata": {"name": "owner"}})
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner.metadata.uid,
    }
    before = remake(
        core,
        "typed",
        type="kubernetes.io/basic-auth",
        metadata={"ownerReferences": [reference], "finalizers": [HOLD]},
        data={"username": base64.b64encode(b"agent").decode()},
    )
    try:
        sandbox.clear_logs()
        rerun = run_kasboot(sandbox, *agent_args("typed", "--no-reconcile"))
        assert rerun.code == 0, rerun.stderr
        assert all("secrets" not in path for _, path in kasboot_writes(sandbox.kube_requests()))
        rotated = run_kasboot(sandbox, *agent_args("typed", "--no-reconcile", "--rotate-token"))
        assert rotated.code == 0, rotated.stderr
        after = core.read_namespaced_secret(SECRET, "typed")
        assert after.type == "kubernetes.io/basic-auth"
        assert after.metadata.uid == before.metadata.uid  # replaced in place, one call
        assert token_of(after) != token_of(before)
        assert after.data["username"] == before.data["username"]
        assert after.metadata.finalizers == [HOLD]
        assert [r.uid for r in after.metadata.owner_references] == [owner.metadata.uid]
        assert (
            after.metadata.annotations[TOKEN_ID_ANNOTATION]
            != (before.metadata.annotations[TOKEN_ID_ANNOTATION])
        )
    finally:
        release_hold(core, "typed")


def test_an_immutable_secret_is_recreated_for_a_new_token(sandbox: Any, core: Any) -> None:
    assert run_kasboot(sandbox, *agent_args("frozen", "--no-reconcile")).code == 0
    before = remake(core, "frozen", immutable=True)
    unchanged = run_kasboot(sandbox, *agent_args("frozen", "--no-reconcile"))
    assert unchanged.code == 0, unchanged.stderr
    assert core.read_namespaced_secret(SECRET, "frozen").metadata.uid == before.metadata.uid
    rotated = run_kasboot(sandbox, *agent_args("frozen", "--no-reconcile", "--rotate-token"))
    assert rotated.code == 0, rotated.stderr
    after = core.read_namespaced_secret(SECRET, "frozen")
    assert after.immutable is True
    assert after.metadata.uid != before.metadata.uid
    assert token_of(after) != token_of(before)
    assert after.metadata.annotations[AGENT_ANNOTATION] == f"{sandbox.project}/frozen"
    again = run_kasboot(sandbox, *agent_args("frozen", "--no-reconcile"))
    assert again.code == 0, again.stderr  # the re-created Secret is the agent's: no change
    assert core.read_namespaced_secret(SECRET, "frozen").metadata.uid == after.metadata.uid


def test_secrets_kasboot_cannot_write_are_refused_before_any_write(sandbox: Any, core: Any) -> None:
    assert run_kasboot(sandbox, *agent_args("stuck", "--no-reconcile")).code == 0
    remake(core, "stuck", immutable=True, metadata={"finalizers": [HOLD]})
    try:
        sandbox.clear_logs()
        refused = run_kasboot(sandbox, *agent_args("stuck", "--no-reconcile", "--rotate-token"))
        assert refused.code == 3, refused.stderr
        assert "is immutable" in refused.stderr and HOLD in refused.stderr
        assert kasboot_writes(sandbox.gitlab_requests()) == []
        assert kasboot_writes(sandbox.kube_requests()) == []
    finally:
        release_hold(core, "stuck")
    core.create_namespaced_service_account("stuck", {"metadata": {"name": "agent"}})
    remake(
        core,
        "stuck",
        type="kubernetes.io/service-account-token",
        metadata={
            "annotations": {
                **core.read_namespaced_secret(SECRET, "stuck").metadata.annotations,
                "kubernetes.io/service-account.name": "agent",
            }
        },
    )
    sandbox.clear_logs()
    refused = run_kasboot(sandbox, *agent_args("stuck", "--no-reconcile"))
    assert refused.code == 3, refused.stderr
    assert "kubernetes.io/service-account-token" in refused.stderr
    assert kasboot_writes(sandbox.kube_requests()) == []
