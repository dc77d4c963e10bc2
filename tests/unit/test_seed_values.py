"""The seed options (proxy, RBAC, replicas, receptive) as chart values, and their
refusals: what `kasboot render`/`plan` show and bootstrap commits."""

from __future__ import annotations

from typing import Any

import pytest
from ruamel.yaml import YAML

from kasboot.errors import UsageError
from kasboot.flux.render import render_helm_release
from kasboot.seed_options import (
    RBAC_WARNING,
    check_no_proxy_against_kas,
    rbac_warning,
    seed_summary,
)
from kasboot.settings import build_settings


def release_spec(**options: Any) -> dict[str, Any]:
    rendered = render_helm_release(
        build_settings(agent="a", **options), kas_address="wss://kas.example.com", image_tag=None
    )
    return dict(YAML(typ="safe").load(rendered)["spec"])


def test_proxy_flags_become_extra_env() -> None:
    spec = release_spec(
        https_proxy="http://proxy.example.com:3128",
        http_proxy="http://proxy.example.com:3128",
        no_proxy="10.0.0.0/8, .cluster.local",
    )
    assert spec["values"]["extraEnv"] == [
        {"name": "HTTPS_PROXY", "value": "http://proxy.example.com:3128"},
        {"name": "HTTP_PROXY", "value": "http://proxy.example.com:3128"},
        {"name": "NO_PROXY", "value": "10.0.0.0/8,.cluster.local"},
    ]


def test_a_proxy_with_credentials_is_a_secret_reference_never_a_value() -> None:
    spec = release_spec(https_proxy="http://user:s3cret@proxy.example.com:3128")
    assert "s3cret" not in str(spec)
    assert spec["values"]["extraEnv"] == [
        {
            "name": "HTTPS_PROXY",
            "valueFrom": {
                "secretKeyRef": {"name": "gitlab-agent-token-proxy", "key": "HTTPS_PROXY"}
            },
        }
    ]
    summary = seed_summary(build_settings(agent="a", https_proxy="http://u:s3cret@p:3128"))
    assert summary == ["HTTPS_PROXY=http://***@p:3128 (from Secret gitlab-agent-token-proxy)"]


@pytest.mark.parametrize("entry", ["kas.example.com", ".example.com", "example.com", "*"])
def test_the_kas_host_is_never_bypassed_by_accident(entry: str) -> None:
    settings = build_settings(agent="a", https_proxy="http://p:3128", no_proxy=f"10.0.0.1,{entry}")
    with pytest.raises(UsageError, match=r"matches the KAS host kas\.example\.com"):
        check_no_proxy_against_kas(settings, "wss://kas.example.com/-/kubernetes-agent/")
    if entry != "*":
        check_no_proxy_against_kas(settings, "wss://gitlab.other.org")  # another host: fine


def test_rbac_and_service_account_values() -> None:
    spec = release_spec(
        service_account_name="agentk", create_service_account=False, rbac_role="gitlab-agent-view"
    )
    assert spec["values"]["serviceAccount"] == {"create": False, "name": "agentk"}
    assert spec["values"]["rbac"] == {"useExistingRole": "gitlab-agent-view"}
    assert release_spec(rbac=False)["values"]["rbac"] == {"create": False}
    assert release_spec(replicas="3")["values"]["replicas"] == 3
    assert "rbac" not in release_spec()["values"]


def test_the_cluster_admin_warning_only_without_rbac_options() -> None:
    assert rbac_warning(build_settings(agent="a")) == RBAC_WARNING
    assert "cluster-admin" in RBAC_WARNING
    for options in ({"rbac_role": "view"}, {"rbac": False}, {"service_account_name": "sa"}):
        assert rbac_warning(build_settings(agent="a", **options)) is None


def test_receptive_values_keep_the_token_secret_out_of_helms_hands() -> None:
    spec = release_spec(receptive=True, receptive_url="grpcs://agent.example.com:8082")
    config = spec["values"]["config"]
    assert "kasAddress" not in config
    assert config["receptive"] == {"enabled": True}
    assert config["secretName"] == "gitlab-agent-token-receptive"  # never the token Secret
    assert (
        spec["values"]
        and build_settings(
            agent="a", receptive=True, receptive_url="grpcs://a:1"
        ).helm_release_namespace
        == "gitlab-agent"
    )  # valuesFrom reads the token Secret there
    assert spec["valuesFrom"] == [
        {
            "kind": "Secret",
            "name": "gitlab-agent-token",
            "valuesKey": "token",
            "targetPath": "config.token",
        }
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"create_service_account": False}, "needs --service-account-name"),
        ({"rbac_role": "view", "rbac": False}, "cannot be combined with --no-rbac"),
        ({"replicas": "0"}, "invalid --replicas"),
        ({"replicas": "two"}, "invalid --replicas"),
        ({"https_proxy": "ftp://p"}, "invalid --https-proxy"),
        ({"receptive": True}, "needs --receptive-url"),
        ({"receptive_url": "grpcs://a:1"}, "needs --receptive"),
        ({"receptive": True, "receptive_url": "https://a"}, "invalid --receptive-url"),
        ({"flux_environment_agent": "steal"}, "invalid --flux-environment-agent"),
        (
            {"receptive": True, "receptive_url": "grpcs://a:1", "helm_release_namespace": "x"},
            "needs the HelmRelease in the agent's namespace",
        ),
    ],
)
def test_refusals(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build_settings(agent="a", **options)
