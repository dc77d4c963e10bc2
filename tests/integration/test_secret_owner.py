"""kasboot writes only a token Secret that is this agent's. An existing Secret of the
target name that kasboot does not manage for this agent — Flux's own Git credentials
above all — is refused in pre-flight (exit 3), nothing written, with what it looks like
and how to fix it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from kasboot.cluster import AGENT_ANNOTATION, MANAGED_BY_LABEL, TOKEN_ID_ANNOTATION
from tests.integration.bootstrap_helpers import agent_args, kasboot_writes, run_kasboot

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def core(sandbox: Any) -> Iterator[Any]:
    api_client = config.new_client_from_config(str(sandbox.kubeconfig))
    yield client.CoreV1Api(api_client)
    api_client.close()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def ensure_namespace(core: Any, name: str) -> None:
    if name not in {n.metadata.name for n in core.list_namespace().items}:
        core.create_namespace({"metadata": {"name": name}})


def test_flux_git_credentials_are_refused_and_left_alone(sandbox: Any, core: Any) -> None:
    before = core.read_namespaced_secret("flux-system", "flux-system")
    sandbox.clear_logs()
    result = run_kasboot(
        sandbox,
        *agent_args("fluxclash", "--no-reconcile"),
        "--helm-release-target-namespace",
        "flux-system",
        "--gitlab-agent-token-secret-name",
        "flux-system",
    )
    assert result.code == 3, result.stderr
    assert "Secret flux-system/flux-system exists and is not managed by kasboot" in result.stderr
    assert "Flux's credentials (GitRepository flux-system/flux-system" in result.stderr
    assert "--gitlab-agent-token-secret-name" in result.stderr
    assert "kubectl label" not in result.stderr  # never offer to adopt Flux's Secret
    assert "Traceback" not in result.stderr
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    assert kasboot_writes(sandbox.kube_requests()) == []
    after = core.read_namespaced_secret("flux-system", "flux-system")
    assert after.data == before.data
    assert after.metadata.resource_version == before.metadata.resource_version


def test_a_hand_made_token_secret_is_refused_until_marked_as_the_agents(
    sandbox: Any, core: Any
) -> None:
    ensure_namespace(core, "handmade")
    core.create_namespaced_secret(
        "handmade",
        {"metadata": {"name": "gitlab-agent-token"}, "data": {"token": b64("glagent-hand")}},
    )
    sandbox.clear_logs()
    refused = run_kasboot(sandbox, *agent_args("handmade", "--no-reconcile"))
    assert refused.code == 3, refused.stderr
    assert "an agent token Secret written by hand or by another tool" in refused.stderr
    assert kasboot_writes(sandbox.kube_requests()) == []
    assert kasboot_writes(sandbox.gitlab_requests()) == []
    # the hint's way to adopt it deliberately
    identity = f"{sandbox.project}/handmade"
    assert f"{AGENT_ANNOTATION}={identity}" in refused.stderr
    core.patch_namespaced_secret(
        "gitlab-agent-token",
        "handmade",
        {
            "metadata": {
                "labels": dict([MANAGED_BY_LABEL]),
                "annotations": {AGENT_ANNOTATION: identity},
            }
        },
    )
    adopted = run_kasboot(sandbox, *agent_args("handmade", "--no-reconcile"))
    assert adopted.code == 0, adopted.stderr
    stored = core.read_namespaced_secret("gitlab-agent-token", "handmade")
    token = base64.b64decode(stored.data["token"])
    assert token.startswith(b"glagent-") and token != b"glagent-hand"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            {
                "type": "kubernetes.io/tls",
                "data": {"tls.crt": b64("cert"), "tls.key": b64("key")},
            },
            "a TLS certificate and key",
        ),
        (
            {
                "metadata": {
                    "labels": {MANAGED_BY_LABEL[0]: "Helm"},
                    "annotations": {"meta.helm.sh/release-name": "billing"},
                },
                "data": {"password": b64("p")},
            },
            "part of Helm release billing",
        ),
        ({"data": {"username": b64("u"), "password": b64("p")}}, "Git credentials"),
    ],
    ids=["tls", "helm", "git"],
)
def test_whose_the_refused_secret_looks_like(
    sandbox: Any, core: Any, body: dict[str, Any], words: str
) -> None:
    namespace = "foreign-" + words.split()[-1].lower()
    ensure_namespace(core, namespace)
    metadata = {"name": "gitlab-agent-token", **(body.get("metadata") or {})}
    core.create_namespaced_secret(namespace, {**body, "metadata": metadata})
    result = run_kasboot(
        sandbox,
        *agent_args("foreigner", "--no-reconcile"),
        "--helm-release-target-namespace",
        namespace,
    )
    assert result.code == 3, result.stderr
    assert f"it looks like {words}" in result.stderr


def test_a_glab_written_secret_of_this_agent_is_taken_over(sandbox: Any, core: Any) -> None:
    """glab's bootstrap writes a Secret with only the token-id annotation: it is the
    agent's when GitLab lists that token for the agent; another agent's is refused."""
    assert run_kasboot(sandbox, *agent_args("glabbed", "--no-reconcile")).code == 0
    secret = core.read_namespaced_secret("gitlab-agent-token", "glabbed")
    token_id = secret.metadata.annotations[TOKEN_ID_ANNOTATION]
    glab_style = {
        "metadata": {
            "name": "gitlab-agent-token",
            "annotations": {TOKEN_ID_ANNOTATION: token_id},
        },
        "type": "Opaque",
        "data": {"token": secret.data["token"]},
    }
    core.delete_namespaced_secret("gitlab-agent-token", "glabbed")
    core.create_namespaced_secret("glabbed", glab_style)
    sandbox.clear_logs()
    other = run_kasboot(
        sandbox,
        *agent_args("glabbed-other", "--no-reconcile"),
        "--helm-release-target-namespace",
        "glabbed",
    )
    assert other.code == 3, other.stderr
    assert kasboot_writes(sandbox.kube_requests()) == []
    again = run_kasboot(sandbox, *agent_args("glabbed", "--no-reconcile"))
    assert again.code == 0, again.stderr
    annotations = core.read_namespaced_secret("gitlab-agent-token", "glabbed").metadata.annotations
    assert annotations[AGENT_ANNOTATION] == f"{sandbox.project}/glabbed"
    assert annotations[TOKEN_ID_ANNOTATION] == token_id  # the held token was kept
