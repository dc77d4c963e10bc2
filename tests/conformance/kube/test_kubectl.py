"""The real kubectl against the emulator, configured by the written kubeconfig."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap

import pytest

from .conftest import KUBECTL, KubectlRunner, kubectl_json

MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: {ns}
  labels: {{app: demo}}
stringData:
  token: {token}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {ns}
  labels: {{app: demo}}
data:
  mode: {mode}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: robot
  namespace: {ns}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {ns}
  labels: {{app: demo}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: {image}
        env: [{{name: MODE, value: {mode}}}]
"""

FLUX_MANIFESTS = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {{name: agent, namespace: {ns}}}
spec: {{url: "https://charts.gitlab.io", interval: {interval}}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: agent, namespace: {ns}}}
spec:
  interval: {interval}
  chart:
    spec:
      chart: gitlab-agent
      sourceRef: {{kind: HelmRepository, name: agent}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps, namespace: {ns}}}
spec:
  interval: {interval}
  path: ./apps
  prune: true
  sourceRef: {{kind: GitRepository, name: flux-system}}
"""


def _apply(kubectl: KubectlRunner, manifests: str) -> str:
    return kubectl("apply", "-f", "-", stdin=manifests).stdout


def test_apply_creates_then_merges_updates(kubectl: KubectlRunner) -> None:
    ns = "kubectl-apply"
    first = _apply(kubectl, MANIFESTS.format(ns=ns, token="one", mode="a", image="nginx:1"))
    assert "deployment.apps/web created" in first and "secret/creds created" in first
    kubectl("-n", ns, "annotate", "deployment", "web", "keep.me/please=yes")
    second = _apply(kubectl, MANIFESTS.format(ns=ns, token="two", mode="b", image="nginx:2"))
    assert "deployment.apps/web configured" in second and "serviceaccount/robot unchanged" in second
    deployment = kubectl_json(kubectl, "-n", ns, "get", "deployment", "web")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:2" and container["env"] == [{"name": "MODE", "value": "b"}]
    annotations = deployment["metadata"]["annotations"]
    assert annotations["keep.me/please"] == "yes"  # merged, not replaced
    last_applied = json.loads(annotations["kubectl.kubernetes.io/last-applied-configuration"])
    assert last_applied["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert deployment["metadata"]["generation"] == 2
    secret = kubectl_json(kubectl, "-n", ns, "get", "secret", "creds")
    assert secret["data"] == {"token": "dHdv"} and "stringData" not in secret


def test_get_tables(kubectl: KubectlRunner) -> None:
    ns = "kubectl-get"
    _apply(kubectl, MANIFESTS.format(ns=ns, token="t", mode="a", image="nginx:1"))
    deployments = kubectl("-n", ns, "get", "deployments").stdout.splitlines()
    assert deployments[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deployments[1].split()[:4] == ["web", "2/2", "2", "2"]
    secrets = kubectl("-n", ns, "get", "secrets").stdout.splitlines()
    assert secrets[0].split() == ["NAME", "TYPE", "DATA", "AGE"]
    assert secrets[1].split()[:3] == ["creds", "Opaque", "1"]
    configmaps = kubectl("-n", ns, "get", "cm").stdout.splitlines()
    assert configmaps[0].split() == ["NAME", "DATA", "AGE"]
    namespaces = kubectl("get", "ns", ns).stdout.splitlines()
    assert namespaces[1].split()[:2] == [ns, "Active"]
    assert kubectl("-n", ns, "get", "sa", "robot", "--no-headers").stdout.split()[0] == "robot"


def test_get_with_selectors_and_all_namespaces(kubectl: KubectlRunner) -> None:
    for ns in ("kubectl-sel-a", "kubectl-sel-b"):
        _apply(kubectl, MANIFESTS.format(ns=ns, token="t", mode="a", image="nginx:1"))
    listed = kubectl_json(kubectl, "get", "secrets,configmaps", "-A", "-l", "app=demo")
    found = {(i["kind"], i["metadata"]["namespace"]) for i in listed["items"]}
    assert {("Secret", "kubectl-sel-a"), ("ConfigMap", "kubectl-sel-b")} <= found
    table = kubectl("get", "deploy", "-A", "-l", "app=demo").stdout
    assert table.splitlines()[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert "kubectl-sel-a" in table and "kubectl-sel-b" in table
    assert kubectl("-n", "kubectl-sel-a", "get", "cm", "-l", "app=nothing").stderr.startswith(
        "No resources found"
    )


def test_describe(kubectl: KubectlRunner) -> None:
    ns = "kubectl-describe"
    _apply(kubectl, MANIFESTS.format(ns=ns, token="t", mode="a", image="nginx:1"))
    described = kubectl("-n", ns, "describe", "deployment", "web").stdout
    assert "Replicas:" in described and "2 desired | 2 updated | 2 total | 2 available" in described
    assert re.search(r"Available\s+True\s+MinimumReplicasAvailable", described)
    secret = kubectl("-n", ns, "describe", "secret", "creds").stdout
    assert "token:  1 bytes" in secret
    assert re.search(r"Status:\s+Active", kubectl("describe", "namespace", ns).stdout)


def test_annotate_and_overwrite(kubectl: KubectlRunner) -> None:
    ns = "kubectl-annotate"
    _apply(kubectl, MANIFESTS.format(ns=ns, token="t", mode="a", image="nginx:1"))
    kubectl("-n", ns, "annotate", "cm", "settings", "owner=alice")
    refused = kubectl("-n", ns, "annotate", "cm", "settings", "owner=bob", check=False)
    assert refused.returncode != 0 and "--overwrite is false" in refused.stderr
    kubectl("-n", ns, "annotate", "cm", "settings", "owner=bob", "--overwrite")
    stored = kubectl_json(kubectl, "-n", ns, "get", "cm", "settings")
    assert stored["metadata"]["annotations"]["owner"] == "bob"


def test_errors_as_kubectl_prints_them(kubectl: KubectlRunner) -> None:
    missing = kubectl("-n", "default", "get", "secret", "nope", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): secrets "nope" not found'
    no_ns = kubectl(
        "-n",
        "absent",
        "apply",
        "-f",
        "-",
        check=False,
        stdin=textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c}
        """),
    )
    assert 'namespaces "absent" not found' in no_ns.stderr


def test_delete(kubectl: KubectlRunner) -> None:
    ns = "kubectl-delete"
    _apply(kubectl, MANIFESTS.format(ns=ns, token="t", mode="a", image="nginx:1"))
    assert 'configmap "settings" deleted' in kubectl("-n", ns, "delete", "cm", "settings").stdout
    assert kubectl("-n", ns, "get", "cm", "settings", check=False).returncode == 1
    kubectl("delete", "namespace", ns)
    assert kubectl("-n", ns, "get", "secret", "creds", check=False).returncode == 1


@pytest.mark.usefixtures("flux_installed")
def test_flux_kinds(kubectl: KubectlRunner) -> None:
    ns = "kubectl-flux"
    kubectl(
        "apply", "-f", "-", stdin=f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"
    )
    created = _apply(kubectl, FLUX_MANIFESTS.format(ns=ns, interval="1m"))
    assert "helmrelease.helm.toolkit.fluxcd.io/agent created" in created
    updated = _apply(kubectl, FLUX_MANIFESTS.format(ns=ns, interval="5m"))
    assert "kustomization.kustomize.toolkit.fluxcd.io/apps configured" in updated
    release = kubectl_json(kubectl, "-n", ns, "get", "hr", "agent")
    assert release["spec"]["interval"] == "5m" and release["metadata"]["generation"] == 2
    header = kubectl("-n", ns, "get", "helmreleases.helm.toolkit.fluxcd.io").stdout.splitlines()[0]
    assert header.split() == ["NAME", "AGE", "READY", "STATUS"]
    repos = kubectl("-n", ns, "get", "helmrepo").stdout.splitlines()
    assert repos[0].split() == ["NAME", "URL", "AGE", "READY", "STATUS"]
    assert repos[1].split()[:2] == ["agent", "https://charts.gitlab.io"]
    kubectl("-n", ns, "annotate", "ks", "apps", "reconcile.fluxcd.io/requestedAt=1", "--overwrite")
    assert kubectl_json(kubectl, "-n", ns, "get", "ks", "apps")["metadata"]["generation"] == 2
    assert "Kind:         Kustomization" in kubectl("-n", ns, "describe", "ks", "apps").stdout
    listed = kubectl("get", "fluxcd", "-A").stdout
    assert "helmrelease.helm.toolkit.fluxcd.io/agent" in listed
    kubectl("-n", ns, "delete", "hr", "agent")
    assert kubectl("-n", ns, "get", "hr", check=False).stderr.startswith("No resources found")


def test_get_watch(kubectl: KubectlRunner, kubeconfig: object) -> None:
    ns = "kubectl-watch"
    kubectl(
        "apply", "-f", "-", stdin=f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"
    )
    kubectl(
        "-n",
        ns,
        "apply",
        "-f",
        "-",
        stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: pre}\n",
    )
    assert KUBECTL is not None
    watcher = subprocess.Popen(
        [KUBECTL, "--kubeconfig", str(kubeconfig), "-n", ns, "get", "cm", "-w", "-o", "name"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().strip() == "configmap/pre"  # the initial state
        kubectl(
            "-n",
            ns,
            "apply",
            "-f",
            "-",
            stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: post}\n",
        )
        assert watcher.stdout.readline().strip() == "configmap/post"  # a live event
    finally:
        watcher.terminate()
        watcher.wait()
