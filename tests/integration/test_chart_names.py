"""The gitlab-agent chart's names, as its templates/_helpers.tpl makes them: fullname =
fullnameOverride, else the release name when it contains `gitlab-agent`, else
`<release>-gitlab-agent`; the Deployment `<fullname>-v2`; the Secret `config.secretName`,
else `<fullname>-token` (rendered by the chart itself with `config.token`). Receptive
mode renders a Secret of its own under `config.secretName`, which Helm refuses to take
over from kasboot. The simulator installs so; doctor predicts the same Secret names."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from kubernetes import client

from kasboot.doctor.agent_state import token_secret_name
from kasboot.sandbox.flux.agentk import chart_deployment_name, chart_secret_name
from tests.integration.bootstrap_helpers import run_kasboot
from tests.integration.conftest import Sandbox
from tests.integration.test_chart_runtime import HR, api, eventually, ready_condition

pytestmark = pytest.mark.sandbox
REPOSITORY = "names-charts"


@pytest.mark.parametrize(
    ("release", "values", "secret", "deployment"),
    [
        ("gitlab-agent", {}, "gitlab-agent-token", "gitlab-agent-v2"),
        ("prod", {}, "prod-gitlab-agent-token", "prod-gitlab-agent-v2"),
        ("prod-gitlab-agent-eu", {}, "prod-gitlab-agent-eu-token", "prod-gitlab-agent-eu-v2"),
        ("prod", {"fullnameOverride": "agentk"}, "agentk-token", "agentk-v2"),
        ("prod", {"nameOverride": "kas"}, "prod-kas-token", "prod-kas-v2"),
        ("x" * 70, {}, "x" * 63 + "-token", "x" * 60 + "-v2"),
        ("prod", {"config": {"secretName": "mine"}}, "mine", "prod-gitlab-agent-v2"),
    ],
)
def test_chart_names(release: str, values: dict[str, Any], secret: str, deployment: str) -> None:
    """The simulator's chart and doctor's prediction, two implementations, agree."""
    assert chart_secret_name(release, values) == secret
    assert chart_deployment_name(release, values) == deployment
    assert token_secret_name({"spec": {"values": values}}, release) == secret


def helm_release(name: str, target: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {
            "interval": "1m0s",
            "releaseName": name,
            "targetNamespace": target,
            "install": {"createNamespace": True},
            "chart": {
                "spec": {
                    "chart": "gitlab-agent",
                    "sourceRef": {
                        "kind": "HelmRepository",
                        "name": REPOSITORY,
                        "namespace": "flux-system",
                    },
                }
            },
            "values": values,
        },
    }


@pytest.fixture(scope="module")
def custom(sandbox: Sandbox) -> Any:
    objects = client.CustomObjectsApi(api(sandbox))
    repository = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": REPOSITORY, "namespace": "flux-system"},
        "spec": {"interval": "1m0s", "url": "https://charts.gitlab.io"},
    }
    objects.create_namespaced_custom_object(
        "source.toolkit.fluxcd.io", "v1", "flux-system", "helmrepositories", repository
    )
    return objects


def install(custom: Any, name: str, target: str, values: dict[str, Any]) -> dict[str, Any]:
    custom.create_namespaced_custom_object(
        *HR[:2], "flux-system", HR[2], helm_release(name, target, values)
    )
    return dict(
        eventually(
            lambda: (
                (r := ready_condition(custom, "flux-system", name)).get("reason")
                in ("InstallSucceeded", "InstallFailed")
                and r
            ),
            f"HelmRelease {name} installed or failed",
        )
    )


def test_config_token_makes_the_chart_render_its_own_secret(sandbox: Sandbox, custom: Any) -> None:
    ready = install(custom, "prod", "names-prod", {"config": {"token": "glagent-inline"}})
    assert ready["reason"] == "InstallSucceeded", ready["message"]
    core, apps = client.CoreV1Api(api(sandbox)), client.AppsV1Api(api(sandbox))
    deployment = apps.read_namespaced_deployment("prod-gitlab-agent-v2", "names-prod")
    volume = deployment.spec.template.spec.volumes[0]
    assert volume.secret.secret_name == "prod-gitlab-agent-token"
    assert deployment.spec.template.spec.service_account_name == "prod-gitlab-agent"
    secret = core.read_namespaced_secret("prod-gitlab-agent-token", "names-prod")
    assert base64.b64decode(secret.data["token"]) == b"glagent-inline"
    assert secret.metadata.labels["app.kubernetes.io/managed-by"] == "Helm"


def test_a_release_containing_the_chart_name_is_the_fullname(sandbox: Sandbox, custom: Any) -> None:
    core = client.CoreV1Api(api(sandbox))
    core.create_namespace({"metadata": {"name": "names-edge"}})
    core.create_namespaced_secret(
        "names-edge",
        {"metadata": {"name": "edge-token"}, "data": {"token": "Z2xhZ2VudC14"}},
    )
    ready = install(
        custom, "edge-gitlab-agent", "names-edge", {"config": {"secretName": "edge-token"}}
    )
    assert ready["reason"] == "InstallSucceeded", ready["message"]
    apps = client.AppsV1Api(api(sandbox))
    assert apps.read_namespaced_deployment("edge-gitlab-agent-v2", "names-edge")
    names = {s.metadata.name for s in core.list_namespaced_secret("names-edge").items}
    assert "edge-gitlab-agent-token" not in names  # secretName only: the chart renders none


def test_receptive_mode_cannot_take_over_kasboots_secret(sandbox: Sandbox, custom: Any) -> None:
    core = client.CoreV1Api(api(sandbox))
    core.create_namespace({"metadata": {"name": "names-receptive"}})
    core.create_namespaced_secret(
        "names-receptive",
        {
            "metadata": {
                "name": "gitlab-agent-token",
                "labels": {"app.kubernetes.io/managed-by": "kasboot"},
            },
            "data": {"token": "Z2xhZ2VudC14"},
        },
    )
    values = {
        "config": {
            "secretName": "gitlab-agent-token",
            "receptive": {"enabled": True},
            "api": {"jwtPublicKey": "-----BEGIN PUBLIC KEY-----"},
        }
    }
    ready = install(custom, "receptive", "names-receptive", values)
    assert ready["reason"] == "InstallFailed"
    assert (
        'Secret "gitlab-agent-token" in namespace "names-receptive" exists and cannot be '
        in (ready["message"])
    )
    assert 'missing key "app.kubernetes.io/managed-by": must be set to "Helm"' in ready["message"]
    kept = core.read_namespaced_secret("gitlab-agent-token", "names-receptive")
    assert set(kept.data) == {"token"}  # Helm did not touch it


def test_doctor_sees_the_secret_a_release_without_secret_name_reads(
    sandbox: Sandbox, custom: Any
) -> None:
    """HelmRelease `prod` (config.token, no secretName) owns prod-gitlab-agent-token: an
    agent pointed at that Secret in that namespace collides with it."""
    result = run_kasboot(
        sandbox,
        "doctor",
        "names-collider",
        "--helm-release-target-namespace",
        "names-prod",
        "--gitlab-agent-token-secret-name",
        "prod-gitlab-agent-token",
    )
    assert (
        "HelmRelease flux-system/prod reads the same Secret names-prod/prod-gitlab-agent-token"
        in (result.stdout)
    ), result.stdout + result.stderr
