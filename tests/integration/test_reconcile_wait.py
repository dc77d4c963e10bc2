"""kasboot's reconcile wait (steps/reconcile.py over the cluster seam) against the
Kubernetes emulator, with the test playing the controllers: it writes exactly the
status sequences the real controllers write, in order, so every rule is held
deterministically (no controller timing involved).

- a Receiver annotating after kasboot: handled = lastHandledReconcileAt CHANGED;
- helm-controller's transient states (SourceNotReady, HealthCheckCanceled, ArtifactFailed
  "Retrying in" with Reconciling=True) are waited through;
- a stale failure (an older generation's) is not final;
- a Stalled HelmRelease is asked to reset and force, with requestedAt's value.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes import client

from kasboot.cluster import FLUX_KINDS, Cluster
from kasboot.errors import FluxError
from kasboot.sandbox.kube import KubeEmulator, flux_crds
from kasboot.steps.reconcile import ReconcileFlux

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
REVISION = "main@sha1:" + "ab12" * 10
NAMESPACE = "waits"
_names = itertools.count(1)


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeEmulator]:
    emulator = KubeEmulator(tmp_path_factory.mktemp("kube-wait")).start()
    configuration = client.Configuration()
    configuration.host = emulator.url
    api = client.ApiextensionsV1Api(client.ApiClient(configuration))
    for crd in flux_crds():
        api.create_custom_resource_definition(crd)
    client.CoreV1Api(api.api_client).create_namespace({"metadata": {"name": NAMESPACE}})
    yield emulator
    emulator.close()


@pytest.fixture(scope="module")
def cluster(kube: KubeEmulator, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    kubeconfig = kube.write_kubeconfig(tmp_path_factory.mktemp("cfg") / "kubeconfig")
    return Cluster(Path(kubeconfig))


@pytest.fixture(scope="module")
def custom(kube: KubeEmulator) -> client.CustomObjectsApi:
    configuration = client.Configuration()
    configuration.host = kube.url
    return client.CustomObjectsApi(client.ApiClient(configuration))


class Controller:
    """The test in the role of a Flux controller (and of a Receiver) for one object."""

    def __init__(self, custom: client.CustomObjectsApi, kind: str, name: str) -> None:
        self.custom = custom
        self.kind = FLUX_KINDS[kind]
        self.name = name
        self.namespace = NAMESPACE

    def _args(self) -> tuple[str, str, str, str]:
        return (self.kind.group, self.kind.version, self.namespace, self.kind.plural)

    def create(self, spec: dict[str, Any], status: dict[str, Any] | None = None) -> None:
        body = {
            "apiVersion": self.kind.api_version,
            "kind": self.kind.kind,
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": spec,
        }
        self.custom.create_namespaced_custom_object(*self._args(), body)
        if status is not None:
            self.status(status)

    def get(self) -> dict[str, Any]:
        return dict(self.custom.get_namespaced_custom_object(*self._args(), self.name))

    def annotations(self) -> dict[str, str]:
        return dict(self.get()["metadata"].get("annotations") or {})

    def annotate(self, value: str) -> None:
        body = {"metadata": {"annotations": {REQUESTED_AT: value}}}
        self.custom.patch_namespaced_custom_object(*self._args(), self.name, body)

    def status(self, status: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object_status(
            *self._args(), self.name, {"status": status}
        )

    def wait_annotated(self, previous: str | None = None) -> str:
        deadline = time.monotonic() + 120  # only bounds a hang
        while time.monotonic() < deadline:
            value = self.annotations().get(REQUESTED_AT)
            if value is not None and value != previous:
                return value
            time.sleep(0.02)
        raise AssertionError("kasboot never annotated")


def _ready(reason: str = "Succeeded", message: str = "ok") -> dict[str, Any]:
    return {"type": "Ready", "status": "True", "reason": reason, "message": message}


def _condition(kind: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": reason, "message": message}


def run_wait(
    cluster: Cluster, kind: str, name: str, revision: str | None, timeout: float = 20
) -> tuple[threading.Thread, list[BaseException]]:
    """kasboot's `_reconcile` for one object, in a thread; errors collected."""
    ctx: Any = SimpleNamespace(cluster=cluster, settings=SimpleNamespace(timeout=timeout))
    errors: list[BaseException] = []

    def target() -> None:
        try:
            ReconcileFlux()._reconcile(
                ctx, kind, NAMESPACE, name, "kasboot-token", revision, time.monotonic() + timeout
            )
        except BaseException as error:  # handed to the test thread
            errors.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def finish(thread: threading.Thread, errors: list[BaseException]) -> None:
    thread.join(timeout=30)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


def test_a_receiver_annotating_after_kasboot_still_counts_as_handled(
    cluster: Cluster, custom: client.CustomObjectsApi
) -> None:
    name = f"repo-{next(_names)}"
    source = Controller(custom, "GitRepository", name)
    source.create(
        {"interval": "1m0s", "url": "http://example/x.git", "ref": {"branch": "main"}},
        {"lastHandledReconcileAt": "earlier", "conditions": [_ready()]},
    )
    thread, errors = run_wait(cluster, "GitRepository", name, REVISION)
    source.wait_annotated()
    # The push webhook's Receiver writes its own value after kasboot's, and the
    # controller handles that, the newest request.
    receiver = "2026-12-01 08:57:03.123456789 +0000 UTC m=+12.345678901"
    source.annotate(receiver)
    generation = source.get()["metadata"]["generation"]
    source.status(
        {
            "lastHandledReconcileAt": receiver,
            "observedGeneration": generation,
            "artifact": {"revision": REVISION},
            "conditions": [_ready(message=f"stored artifact for revision '{REVISION}'")],
        }
    )
    finish(thread, errors)


def _release_spec() -> dict[str, Any]:
    return {
        "interval": "1m0s",
        "chart": {
            "spec": {"chart": "gitlab-agent", "sourceRef": {"kind": "HelmRepository", "name": "g"}}
        },
    }


def test_helm_controllers_transient_states_are_waited_through(
    cluster: Cluster, custom: client.CustomObjectsApi
) -> None:
    name = f"hr-{next(_names)}"
    release = Controller(custom, "HelmRelease", name)
    release.create(_release_spec())
    generation = release.get()["metadata"]["generation"]
    thread, errors = run_wait(cluster, "HelmRelease", name, None)
    token = release.wait_annotated()
    reconciling = _condition("Reconciling", "True", "Progressing", "Fulfilling prerequisites")
    sequence: list[dict[str, Any]] = [
        # first pass: only the finalizer (no conditions, no observedGeneration)
        {"lastHandledReconcileAt": token},
        {
            "lastHandledReconcileAt": token,
            "conditions": [
                _condition(
                    "Ready",
                    "False",
                    "SourceNotReady",
                    f"HelmChart '{NAMESPACE}/{NAMESPACE}-{name}' is not ready: "
                    "latest generation of object has not been reconciled",
                ),
                reconciling,
            ],
        },
        {
            "lastHandledReconcileAt": token,
            "conditions": [
                _condition(
                    "Ready",
                    "False",
                    "ArtifactFailed",
                    "Source not ready: artifact not found. Retrying in 5s",
                ),
                reconciling,
            ],
        },
        {
            "lastHandledReconcileAt": token,
            "conditions": [
                _condition(
                    "Ready",
                    "False",
                    "HealthCheckCanceled",
                    f"New reconciliation triggered by HelmRelease/{NAMESPACE}/{name}",
                ),
                reconciling,
            ],
        },
        {
            "lastHandledReconcileAt": token,
            "observedGeneration": generation,
            "lastAttemptedGeneration": generation,
            "conditions": [_ready("InstallSucceeded", "Helm install succeeded")],
        },
    ]
    for status in sequence:
        release.status(status)
        time.sleep(0.05)  # distinct watch events, in order
    finish(thread, errors)


def test_a_stalled_release_is_reset_and_forced_with_the_request_value(
    cluster: Cluster, custom: client.CustomObjectsApi
) -> None:
    name = f"hr-{next(_names)}"
    release = Controller(custom, "HelmRelease", name)
    release.create(_release_spec())
    generation = release.get()["metadata"]["generation"]
    failed = "Helm install failed: secret not found"
    release.status(
        {
            "lastHandledReconcileAt": "earlier",
            "observedGeneration": generation,
            "lastAttemptedGeneration": generation,
            "installFailures": 1,
            "conditions": [
                _condition("Ready", "False", "InstallFailed", failed),
                _condition(
                    "Stalled", "True", "RetriesExceeded", "Failed to install after 1 attempt(s)"
                ),
            ],
        }
    )
    thread, errors = run_wait(cluster, "HelmRelease", name, None)
    token = release.wait_annotated()
    annotations = release.annotations()
    assert annotations["reconcile.fluxcd.io/resetAt"] == token
    assert annotations["reconcile.fluxcd.io/forceAt"] == token
    release.status(
        {
            "lastHandledReconcileAt": token,
            "lastHandledResetAt": token,
            "lastHandledForceAt": token,
            "installFailures": 0,
            "conditions": [_ready("InstallSucceeded", "Helm install succeeded")],
        }
    )
    finish(thread, errors)


def test_a_failure_of_the_awaited_generation_is_final_at_once(
    cluster: Cluster, custom: client.CustomObjectsApi
) -> None:
    name = f"hr-{next(_names)}"
    release = Controller(custom, "HelmRelease", name)
    release.create(_release_spec())
    generation = release.get()["metadata"]["generation"]
    thread, errors = run_wait(cluster, "HelmRelease", name, None, timeout=600)
    token = release.wait_annotated()
    release.status(
        {
            "lastHandledReconcileAt": token,
            "observedGeneration": generation,
            "lastAttemptedGeneration": generation,
            "conditions": [
                _condition("Ready", "False", "InstallFailed", "Helm install failed: boom"),
                _condition(
                    "Stalled", "True", "RetriesExceeded", "Failed to install after 1 attempt(s)"
                ),
            ],
        }
    )
    thread.join(timeout=30)
    assert not thread.is_alive(), "a Stalled release must end the wait, not the timeout"
    assert errors and isinstance(errors[0], FluxError)
    assert "InstallFailed" in str(errors[0])


def test_an_oci_helm_repository_is_ready_for_doctor_and_never_awaited() -> None:
    from kasboot.flux.health import Phase, assess, is_static

    oci = {
        "kind": "HelmRepository",
        "metadata": {"name": "gitlab", "generation": 1},
        "spec": {"type": "oci", "url": "oci://registry.gitlab.com/gitlab-org/charts"},
        "status": {},
    }
    assert is_static(oci)
    assert assess(oci).phase is Phase.READY
    assert not is_static({**oci, "spec": {"url": "https://charts.gitlab.io"}})


def test_a_watch_stream_cut_mid_way_is_listed_and_watched_again(
    kube: KubeEmulator, cluster: Cluster, custom: client.CustomObjectsApi
) -> None:
    """A load balancer resetting the watch after each event (the fault hook's `cut`):
    kasboot lists and watches again and still sees the object become Ready."""
    name = f"repo-{next(_names)}"
    source = Controller(custom, "GitRepository", name)
    source.create(
        {"interval": "1m0s", "url": "http://example/x.git", "ref": {"branch": "main"}},
        {"lastHandledReconcileAt": "earlier", "conditions": [_ready()]},
    )
    collection = f"/namespaces/{NAMESPACE}/gitrepositories$"
    kube.faults.replace(
        [{"path": collection, "method": "GET", "mode": "cut", "cut_after_chunks": 1, "times": 8}]
    )
    try:
        thread, errors = run_wait(cluster, "GitRepository", name, REVISION)
        token = source.wait_annotated()
        generation = source.get()["metadata"]["generation"]
        for step in range(4):  # each status write is one watch event; every other is cut
            source.status({"lastHandledReconcileAt": "earlier", "step": str(step)})
            time.sleep(0.05)
        source.status(
            {
                "lastHandledReconcileAt": token,
                "observedGeneration": generation,
                "artifact": {"revision": REVISION},
                "conditions": [_ready()],
            }
        )
        finish(thread, errors)
        assert kube.faults.rules[0].hits >= 2  # the streams really were cut
    finally:
        kube.faults.replace([])


def test_stale_failures_are_not_final() -> None:
    from kasboot.flux.health import Phase, assess

    old = "main@sha1:" + "0" * 40
    kustomization = {
        "kind": "Kustomization",
        "metadata": {"name": "flux-system", "generation": 1},
        "status": {
            "observedGeneration": 1,
            "lastAttemptedRevision": old,
            "lastAppliedRevision": old,
            "conditions": [_condition("Ready", "False", "BuildFailed", "from the old commit")],
        },
    }
    assert assess(kustomization, expected_revision=REVISION).phase is Phase.PROGRESSING
    attempted = {**kustomization["status"], "lastAttemptedRevision": REVISION}
    assert assess({**kustomization, "status": attempted}, expected_revision=REVISION).phase is (
        Phase.FAILED
    )
    release = {
        "kind": "HelmRelease",
        "metadata": {"name": "a", "generation": 3},
        "status": {
            "lastAttemptedGeneration": 2,
            "conditions": [_condition("Ready", "False", "InstallFailed", "older spec")],
        },
    }
    assert assess(release).phase is Phase.PROGRESSING


def test_diagnosis_of_values_error_and_retries_exceeded() -> None:
    from kasboot.flux.diagnose import diagnose

    values = {
        "status": {
            "conditions": [
                _condition(
                    "Ready",
                    "False",
                    "ValuesError",
                    "could not resolve ConfigMap chart values reference 'flux-system/extra' "
                    "with key 'values.yaml': configmaps \"extra\" not found",
                )
            ]
        }
    }
    found = diagnose("HelmRelease", values)
    assert found is not None and found.code == "values-from-missing"
    stalled = {
        "status": {
            "conditions": [
                _condition("Ready", "False", "UpgradeFailed", "Helm upgrade failed: boom"),
                _condition(
                    "Stalled", "True", "RetriesExceeded", "Failed to upgrade after 1 attempt(s)"
                ),
            ]
        }
    }
    found = diagnose("HelmRelease", stalled)
    assert found is not None and found.code == "release-retries-exceeded"
    assert "re-run kasboot bootstrap" in found.fix


def test_a_failure_from_the_api_servers_passing_trouble_is_asked_again(
    cluster: Cluster, custom: client.CustomObjectsApi
) -> None:
    """kustomize-controller's own apply got a 500: the Kustomization fails until its next
    interval. kasboot asks again (a new request), as one would re-run `flux reconcile`."""
    name = f"ks-{next(_names)}"
    ks = Controller(custom, "Kustomization", name)
    ks.create(
        {
            "interval": "10m0s",
            "path": "./",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        },
        {"lastHandledReconcileAt": "earlier"},
    )
    generation = ks.get()["metadata"]["generation"]
    thread, errors = run_wait(cluster, "Kustomization", name, REVISION)
    first = ks.wait_annotated("earlier")
    ks.status(
        {
            "lastHandledReconcileAt": first,
            "lastAttemptedRevision": REVISION,
            "conditions": [
                _condition(
                    "Ready",
                    "False",
                    "ReconciliationFailed",
                    "HelmRelease/flux-system/a dry-run failed (InternalServerError): "
                    "Internal Server Error",
                ),
                _condition("Reconciling", "True", "ProgressingWithRetry", "retrying"),
            ],
        }
    )
    second = ks.wait_annotated(first)
    ks.status(
        {
            "lastHandledReconcileAt": second,
            "observedGeneration": generation,
            "lastAttemptedRevision": REVISION,
            "lastAppliedRevision": REVISION,
            "conditions": [_ready("ReconciliationSucceeded", f"Applied revision: {REVISION}")],
        }
    )
    finish(thread, errors)
