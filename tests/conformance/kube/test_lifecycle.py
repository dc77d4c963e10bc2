"""CRDs coming and going, discovery, persistence across restarts, and fault injection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from urllib3.util.retry import Retry

from kasboot.sandbox.kube import KubeEmulator, flux_crds

from .conftest import KubectlRunner

FLUX_PLURALS = {
    "gitrepositories",
    "ocirepositories",
    "helmrepositories",
    "helmcharts",
    "kustomizations",
    "helmreleases",
}


def _client(emu: KubeEmulator, tmp_path: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(emu.write_kubeconfig(tmp_path / "kc")))


def test_flux_crds_data() -> None:
    crds = flux_crds()
    assert {c["spec"]["names"]["plural"] for c in crds} == FLUX_PLURALS
    for crd in crds:
        labels = crd["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "flux"
        assert labels["app.kubernetes.io/instance"] == "flux-system"
        assert labels["app.kubernetes.io/version"] == "v2.9.4"
    crds[0]["metadata"]["name"] = "mutated"
    assert flux_crds()[0]["metadata"]["name"] != "mutated"  # callers get fresh copies


def test_crd_lifecycle_serves_kinds(tmp_path: Path) -> None:
    with KubeEmulator() as emu:
        api = _client(emu, tmp_path)
        extensions, custom, core = (
            client.ApiextensionsV1Api(api),
            client.CustomObjectsApi(api),
            client.CoreV1Api(api),
        )
        groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
        assert "source.toolkit.fluxcd.io" not in groups  # "Flux not installed" is a real state
        with pytest.raises(ApiException) as missing:
            custom.list_cluster_custom_object("helm.toolkit.fluxcd.io", "v2", "helmreleases")
        assert missing.value.status == 404
        for crd in flux_crds():
            created = extensions.create_custom_resource_definition(crd)
            established = {c.type: c.status for c in created.status.conditions}
            assert established["Established"] == "True"
        resources = client.CustomObjectsApi(api).api_client.call_api(
            "GET", f"{emu.url}/apis/helm.toolkit.fluxcd.io/v2"
        )
        resources.read()
        listing = json.loads(resources.data)
        entries = {r["name"]: r for r in listing["resources"]}
        assert entries["helmreleases"]["shortNames"] == ["hr"]
        assert entries["helmreleases"]["categories"] == ["all", "fluxcd", "fluxcd-appliers"]
        assert entries["helmreleases"]["singularName"] == "helmrelease"
        assert entries["helmreleases/status"]["verbs"] == ["get", "patch", "update"]
        core.create_namespace({"metadata": {"name": "flux-system"}})
        body = {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "agent"},
            "spec": {"interval": "1h", "chart": {"spec": {"chart": "gitlab-agent"}}},
        }
        args = ("helm.toolkit.fluxcd.io", "v2", "flux-system", "helmreleases")
        created = custom.create_namespaced_custom_object(*args, body)
        assert created["metadata"]["generation"] == 1
        # Unconditional updates of custom resources are refused, stale ones conflict.
        with pytest.raises(ApiException) as blind:
            custom.replace_namespaced_custom_object(*args, "agent", body)
        assert blind.value.status == 422
        fresh = custom.get_namespaced_custom_object(*args, "agent")
        fresh["spec"]["interval"] = "2h"
        updated = custom.replace_namespaced_custom_object(*args, "agent", fresh)
        assert updated["metadata"]["generation"] == 2
        with pytest.raises(ApiException) as stale:
            custom.replace_namespaced_custom_object(*args, "agent", fresh)
        assert stale.value.status == 409
        assert json.loads(stale.value.body)["message"].startswith(
            'Operation cannot be fulfilled on helmreleases.helm.toolkit.fluxcd.io "agent"'
        )
        # Status writes leave spec and generation; main writes leave status.
        status = {
            "status": {"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "True"}]}
        }
        after_status = custom.patch_namespaced_custom_object_status(*args, "agent", status)
        assert after_status["metadata"]["generation"] == 2
        ignored = custom.patch_namespaced_custom_object(
            *args, "agent", {"status": {"observedGeneration": 9}}
        )
        assert ignored["status"]["observedGeneration"] == 2
        # Deleting the CRD removes its objects and stops serving the kind.
        extensions.delete_custom_resource_definition("helmreleases.helm.toolkit.fluxcd.io")
        with pytest.raises(ApiException) as gone:
            custom.get_namespaced_custom_object(*args, "agent")
        assert gone.value.status == 404
        versions = {g.name for g in client.ApisApi(api).get_api_versions().groups}
        assert "helm.toolkit.fluxcd.io" not in versions
        assert "source.toolkit.fluxcd.io" in versions
        api.close()


def test_state_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    emu = KubeEmulator(state).start()
    api = _client(emu, tmp_path)
    core = client.CoreV1Api(api)
    extensions = client.ApiextensionsV1Api(api)
    core.create_namespace({"metadata": {"name": "kept"}})
    core.create_namespaced_secret("kept", {"metadata": {"name": "s"}, "stringData": {"a": "b"}})
    for crd in flux_crds():
        extensions.create_custom_resource_definition(crd)
    before = core.list_namespaced_secret("kept").metadata.resource_version
    emu.stop()
    emu.start()  # the same emulator, restarted
    assert core.read_namespaced_secret("s", "kept").data == {"a": "Yg=="}
    emu.close()
    api.close()

    reborn = KubeEmulator(state).start()  # a new process's view of the same directory
    api = _client(reborn, tmp_path)
    core = client.CoreV1Api(api)
    assert core.read_namespaced_secret("s", "kept").data == {"a": "Yg=="}
    created = core.create_namespaced_config_map("kept", {"metadata": {"name": "c"}})
    assert int(created.metadata.resource_version) > int(before)  # the counter persisted
    custom = client.CustomObjectsApi(api)
    assert (
        custom.list_namespaced_custom_object(
            "source.toolkit.fluxcd.io", "v1", "kept", "gitrepositories"
        )["items"]
        == []
    )
    reborn.close()
    api.close()


def test_injected_503_is_a_status_and_retry_recovers(tmp_path: Path) -> None:
    with KubeEmulator() as emu:
        http = urllib3.PoolManager()
        rule = {"path": r"^/api/v1/namespaces$", "method": "GET", "status": 503, "times": 1}
        http.request("PUT", f"{emu.url}/-/sandbox/faults", body=json.dumps({"rules": [rule]}))
        plain = client.CoreV1Api(_client(emu, tmp_path))
        with pytest.raises(ApiException) as caught:
            plain.list_namespace()
        assert caught.value.status == 503
        status = json.loads(caught.value.body)
        assert status["kind"] == "Status" and status["code"] == 503

        http.request("PUT", f"{emu.url}/-/sandbox/faults", body=json.dumps({"rules": [rule]}))
        configuration = client.Configuration(host=emu.url)
        configuration.retries = Retry(
            total=3, status_forcelist=[503], backoff_factor=0, allowed_methods=None
        )
        retrying = client.CoreV1Api(client.ApiClient(configuration))
        # The rule answered once with 503; the client retried and got the list.
        assert {n.metadata.name for n in retrying.list_namespace().items} == {
            "default",
            "kube-system",
            "kube-public",
            "kube-node-lease",
        }
        assert emu.faults.rules[0].hits == 1


def test_kubectl_sees_no_flux_until_crds_exist(tmp_path: Path, kubectl: KubectlRunner) -> None:
    # kubectl against a separate, empty emulator: an unknown resource type, as on a bare cluster.
    with KubeEmulator() as emu:
        kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig")
        result = kubectl("--kubeconfig", str(kubeconfig), "get", "helmreleases", check=False)
        assert result.returncode != 0
        assert 'the server doesn\'t have a resource type "helmreleases"' in result.stderr
