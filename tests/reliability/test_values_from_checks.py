"""Issue 21 item 14: a --helm-release-values-from target that helm-controller cannot
read (missing, no values.yaml key, not a map) is refused in pre-flight, exit 3 with
nothing written — instead of everything written and then Flux failing InitFailed."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from tests.integration.bootstrap_helpers import agent_args
from tests.reliability.helpers import run_watched

pytestmark = pytest.mark.sandbox
NAMESPACE = "flux-system"  # the HelmRelease's namespace: where helm-controller looks


@pytest.fixture
def core(sandbox: Any) -> Iterator[Any]:
    api = config.new_client_from_config(config_file=str(sandbox.kubeconfig))
    yield client.CoreV1Api(api)
    api.close()


def _config_map(core: Any, name: str, data: dict[str, str]) -> None:
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data)
    core.create_namespaced_config_map(NAMESPACE, body)


def _secret(core: Any, name: str, data: dict[str, str]) -> None:
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    body = client.V1Secret(metadata=client.V1ObjectMeta(name=name), data=encoded)
    core.create_namespaced_secret(NAMESPACE, body)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("ConfigMap/absent-values", "ConfigMap flux-system/absent-values, named by "
         "--helm-release-values-from, does not exist"),
        ("Secret/absent-values", "Secret flux-system/absent-values, named by "
         "--helm-release-values-from, does not exist"),
    ],
)  # fmt: skip
def test_a_missing_target_is_exit_3_and_nothing_written(
    sandbox: Any, reference: str, message: str
) -> None:
    watched = run_watched(
        sandbox, *agent_args("valuesless", "--helm-release-values-from", reference)
    )
    assert watched.result.code == 3, watched.result.stderr
    assert message in watched.result.stderr
    assert "Traceback" not in watched.result.stderr
    assert watched.writes == []


def test_a_target_without_the_values_key_is_exit_3(sandbox: Any, core: Any) -> None:
    _config_map(core, "keyless-values", {"other.yaml": "a: 1\n"})
    watched = run_watched(
        sandbox,
        *agent_args("keyless", "--helm-release-values-from", "ConfigMap/keyless-values"),
    )
    assert watched.result.code == 3, watched.result.stderr
    assert "has no key 'values.yaml'" in watched.result.stderr
    assert watched.writes == []


def test_a_target_holding_no_map_is_exit_3(sandbox: Any, core: Any) -> None:
    _secret(core, "listed-values", {"values.yaml": "- a\n- b\n"})
    watched = run_watched(
        sandbox,
        *agent_args("listed", "--helm-release-values-from", "Secret/listed-values"),
    )
    assert watched.result.code == 3, watched.result.stderr
    assert "is not a YAML map" in watched.result.stderr
    assert watched.writes == []


def test_readable_targets_pass_preflight(sandbox: Any, core: Any) -> None:
    _config_map(core, "good-values", {"values.yaml": "replicas: 1\n"})
    _secret(core, "good-secret-values", {"values.yaml": "config:\n  observability: {}\n"})
    watched = run_watched(
        sandbox,
        "plan",
        *agent_args("valued")[1:],
        "--helm-release-values-from",
        "ConfigMap/good-values,Secret/good-secret-values",
    )
    assert watched.result.code == 0, watched.result.stderr


def test_skip_preflight_skips_the_check(sandbox: Any) -> None:
    watched = run_watched(
        sandbox,
        "plan",
        *agent_args("later-values")[1:],
        "--helm-release-values-from",
        "ConfigMap/created-by-the-same-sync",
        "--skip-preflight",
    )
    assert watched.result.code == 0, watched.result.stderr
