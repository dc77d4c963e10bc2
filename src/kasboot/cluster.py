"""Seam: the cluster, in kasboot's words (namespaces, the token Secret, Flux objects,
reconcile requests and watches). The official kubernetes client underneath, imported
lazily, with per-request timeouts, a bounded total and urllib3's Retry for transient
answers (cluster_transport.py). Errors come out as ClusterError (exit 5) carrying the
API server's message, or the transport failure in words; nothing here prints."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kasboot import __version__
from kasboot.cluster_cleanup import CleanupSeam
from kasboot.cluster_lease import LeaseSeam, LeaseTaken
from kasboot.cluster_transport import (
    DIAGNOSIS_GRACE,
    Deadline,
    DeadlinePassed,
    GaveUp,
    TimedApi,
    request_timeout,
    retry_policy,
    transport_failure,
    with_retries,
)
from kasboot.cluster_watch import watch_until
from kasboot.cluster_writes import settled_secret_write
from kasboot.errors import ClusterError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

USER_AGENT = f"kasboot/{__version__}"
TOKEN_ID_ANNOTATION = "gitlab.com/agent-token-id"  # the annotation glab writes, kept compatible
MANAGED_BY_LABEL = ("app.kubernetes.io/managed-by", "kasboot")
AGENT_ANNOTATION = "kasboot/agent"  # "<project path>/<agent name>": whose token a Secret holds
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
STARTED_WITH_TOKEN = "kasboot.dev/token-id"  # pod template: the token agentk started with


@dataclass(frozen=True)
class FluxKind:
    kind: str
    group: str
    version: str
    plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


FLUX_KINDS: dict[str, FluxKind] = {
    kind.kind: kind
    for kind in (
        FluxKind("GitRepository", "source.toolkit.fluxcd.io", "v1", "gitrepositories"),
        FluxKind("OCIRepository", "source.toolkit.fluxcd.io", "v1", "ocirepositories"),
        FluxKind("HelmRepository", "source.toolkit.fluxcd.io", "v1", "helmrepositories"),
        FluxKind("HelmChart", "source.toolkit.fluxcd.io", "v1", "helmcharts"),
        FluxKind("Kustomization", "kustomize.toolkit.fluxcd.io", "v1", "kustomizations"),
        FluxKind("HelmRelease", "helm.toolkit.fluxcd.io", "v2", "helmreleases"),
    )
}
__all__ = ["Cluster", "LeaseTaken"]
SOURCE_KINDS = {"git": "GitRepository", "oci": "OCIRepository", "helm": "HelmRepository"}


class Cluster(LeaseSeam, CleanupSeam):
    def __init__(self, kubeconfig: Path | None = None, context: str | None = None) -> None:
        from kasboot.kubeconfig_checks import check_kube_config

        check_kube_config(kubeconfig, context)  # exit 2 for a kubeconfig mistake, no request
        from kubernetes import client, config

        configuration = client.Configuration()
        try:
            if kubeconfig is None and not os.environ.get("KUBECONFIG") and _in_cluster():
                config.load_incluster_config(client_configuration=configuration)
                self.context = "in-cluster"
            else:
                config.load_kube_config(
                    config_file=str(kubeconfig) if kubeconfig else None,
                    context=context,
                    client_configuration=configuration,
                )
                self.context = context or _current_context(kubeconfig)
        except (config.ConfigException, OSError, TypeError) as error:
            raise ClusterError(
                f"cannot load the Kubernetes configuration: {error}",
                hint="set KUBECONFIG or pass --kubeconfig/--context",
            ) from error
        self.timeout: float | None = None  # the run's --timeout, once bound_run() set it
        self.deadline = Deadline(None)
        configuration.retries = retry_policy(self.deadline)
        self.server = str(configuration.host)
        self._api: ApiClient = client.ApiClient(configuration)
        self._api.user_agent = USER_AGENT

    # -- the client's API groups, built on first use: each imports its generated
    # models, which costs up to a second of start-up (typed as Any: every object is
    # turned into a plain dict at the seam) ------------------------------------

    @cached_property
    def _core(self) -> Any:
        from kubernetes import client

        return TimedApi(client.CoreV1Api(self._api), self.deadline)

    @cached_property
    def _custom(self) -> Any:
        from kasboot.kube_http import custom_objects  # the same calls on every client

        return TimedApi(custom_objects(self._api), self.deadline)

    @cached_property
    def _extensions(self) -> Any:
        from kubernetes import client

        return TimedApi(client.ApiextensionsV1Api(self._api), self.deadline)

    @cached_property
    def _apps(self) -> Any:
        from kubernetes import client

        return TimedApi(client.AppsV1Api(self._api), self.deadline)

    def bound_run(self, seconds: float) -> None:
        """Bound the cluster side of the whole run by --timeout: no request is sent
        after it (plus a short grace for the diagnosis of a failed wait), and no
        single request waits longer than what is left."""
        self.timeout = seconds
        self.deadline.start(seconds + DIAGNOSIS_GRACE)

    def wait_deadline(self, seconds: float) -> float:
        """When a wait of ``seconds`` starting now must end (monotonic clock): never past
        the run's --timeout, so the diagnosis after it still gets its grace."""
        end = time.monotonic() + seconds
        if self.deadline.at is not None:
            end = min(end, self.deadline.at - DIAGNOSIS_GRACE)
        return end

    # -- error translation ---------------------------------------------------

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            yield
        except ApiException as error:
            if not error.status and error.reason:  # raised by the client, not an answer
                raise ClusterError(
                    f"cannot reach the cluster at {self.server} while {doing}: {error.reason}",
                    hint="check KUBECONFIG / --context and that the API server is up",
                ) from error
            gave_up = getattr(error, "gave_up", "")
            raise ClusterError(
                f"the cluster said {error.status} while {doing}: {_status_message(error)}"
                + (f" ({gave_up})" if gave_up else ""),
                status=error.status,
            ) from error
        except GaveUp as error:
            raise ClusterError(
                f"the cluster kept failing while {doing}: {error}",
                hint="check that the API server and the network to it are healthy, then run "
                "the same command again (it finishes the job)",
            ) from error
        except DeadlinePassed as error:
            raise ClusterError(
                f"the cluster did not finish within --timeout ({self.timeout:g}s) while {doing}",
                hint="check that the API server answers (kubectl get --raw /version), "
                "or raise --timeout",
            ) from error
        except (HTTPError, OSError) as error:
            raise ClusterError(
                f"cannot reach the cluster at {self.server} while {doing}: "
                f"{transport_failure(error)}",
                hint="check KUBECONFIG / --context and that the API server is up",
            ) from error

    def _plain(self, obj: Any) -> dict[str, Any]:
        return dict(self._api.sanitize_for_serialization(obj))

    # -- reads ---------------------------------------------------------------

    def server_version(self) -> str:
        from kubernetes import client

        with self._errors("reading the server version"):
            version = TimedApi(client.VersionApi(self._api), self.deadline)
            return str(version.get_code().git_version)

    def flux_version(self) -> str | None:
        """Flux's version from its GitRepository CRD label, like `flux check`; None if absent."""
        from kubernetes.client.exceptions import ApiException

        with self._errors("looking for Flux"):
            try:
                crd = self._extensions.read_custom_resource_definition(
                    "gitrepositories.source.toolkit.fluxcd.io"
                )
            except ApiException as error:
                if error.status == 404:
                    return None
                if error.status == 403:  # a namespace-scoped user: Flux may well be there
                    return "unknown (CRDs not readable)"
                raise
            labels = crd.metadata.labels or {}
            return str(labels.get("app.kubernetes.io/version", "unknown"))

    def flux_controllers(self, namespace: str = "flux-system") -> list[dict[str, Any]]:
        with self._errors("listing Flux controllers"):
            found = self._apps.list_namespaced_deployment(
                namespace, label_selector="app.kubernetes.io/part-of=flux"
            )
            return [self._plain(item) for item in found.items]

    def namespace_exists(self, name: str) -> bool:
        from kubernetes.client.exceptions import ApiException

        with self._errors(f"reading namespace {name}"):
            try:
                self._core.read_namespace(name)
                return True
            except ApiException as error:
                if error.status == 404:
                    return False
                if error.status == 403:
                    # Namespaces are cluster-scoped: a namespace-scoped user may not read
                    # (nor create) them. Assume it exists; a write into it says otherwise.
                    return True
                raise

    def read_config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._errors(f"reading ConfigMap {namespace}/{name}"):
            return self._core_json(f"/api/v1/namespaces/{namespace}/configmaps/{name}")

    def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        with self._errors(f"reading Secret {namespace}/{name}"):
            try:
                return self._plain(self._core.read_namespaced_secret(name, namespace))
            except ApiException as error:
                if error.status == 404:
                    return None
                raise

    def read_service_account(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._errors(f"reading ServiceAccount {namespace}/{name}"):
            return self._core_json(f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}")

    def read_cluster_role(self, name: str) -> dict[str, Any] | None:
        with self._errors(f"reading ClusterRole {name}"):
            return self._core_json(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}")

    def get_object(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        spec = FLUX_KINDS[kind]
        with self._errors(f"reading {kind} {namespace}/{name}"):
            try:
                found = self._custom.get_namespaced_custom_object(
                    spec.group, spec.version, namespace, spec.plural, name
                )
            except ApiException as error:
                if error.status == 404:
                    return None
                raise
            return dict(found)

    def list_objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every object of a Flux kind in every namespace (or in `namespace`); [] when the
        kind is not served. A user without cluster-wide list gets ClusterError 403."""
        from kubernetes.client.exceptions import ApiException

        spec = FLUX_KINDS[kind]
        with self._errors(f"listing {kind}s"):
            try:
                if namespace is not None:
                    found = self._custom.list_namespaced_custom_object(
                        spec.group, spec.version, namespace, spec.plural
                    )
                else:
                    found = self._custom.list_cluster_custom_object(
                        spec.group, spec.version, spec.plural
                    )
            except ApiException as error:
                if error.status == 404:
                    return []
                raise
            return [dict(item) for item in found.get("items", [])]

    # -- writes --------------------------------------------------------------

    def create_namespace(self, name: str, owner: str | None = None) -> None:
        """Create a namespace; one that exists already (a retried create whose first
        answer was lost, or a concurrent run) is done. ``owner`` ("<project>/<agent>") is
        recorded as the kasboot/agent annotation: uninstall --delete-agent removes the
        namespace only when it is that agent's."""
        from kubernetes.client.exceptions import ApiException

        metadata: dict[str, Any] = {"name": name, "labels": dict([MANAGED_BY_LABEL])}
        if owner:
            metadata["annotations"] = {AGENT_ANNOTATION: owner}
        with self._errors(f"creating namespace {name}"):
            try:
                self._core.create_namespace({"metadata": metadata})
            except ApiException as error:
                if error.status != 409:
                    raise

    def put_secret(self, namespace: str, body: dict[str, Any], resource_version: str | None) -> str:
        """Create the Secret, or replace it in ONE call (PUT with the resourceVersion read
        before: a concurrent change fails with 409 instead of being lost). There is never
        a moment without a credential, unlike delete-then-create. Returns the new
        resourceVersion."""
        name = body["metadata"]["name"]
        with self._errors(f"writing Secret {namespace}/{name}"):
            if resource_version is None:
                created = self._core.create_namespaced_secret(namespace, body)
                return str(created.metadata.resource_version)
            body["metadata"]["resourceVersion"] = resource_version
            replaced = self._core.replace_namespaced_secret(name, namespace, body)
            return str(replaced.metadata.resource_version)

    def recreate_secret(
        self, namespace: str, body: dict[str, Any], uid: str, resource_version: str
    ) -> str:
        """Replace an ``immutable: true`` Secret, whose data no write may change: delete
        exactly the object that was read (preconditions uid and resourceVersion: a
        Secret changed or re-created meanwhile answers 409 and is left alone), then
        create ``body``. Returns the new resourceVersion."""
        from kubernetes import client

        name = body["metadata"]["name"]
        with self._errors(f"re-creating immutable Secret {namespace}/{name}"):
            self._core.delete_namespaced_secret(
                name,
                namespace,
                body=client.V1DeleteOptions(
                    preconditions=client.V1Preconditions(uid=uid, resource_version=resource_version)
                ),
            )
            created = self._core.create_namespaced_secret(namespace, body)
            return str(created.metadata.resource_version)

    def request_reconcile(self, kind: str, namespace: str, name: str, token: str) -> dict[str, Any]:
        """Annotate with reconcile.fluxcd.io/requestedAt, as `flux reconcile` does."""
        return self.request_reconcile_with(kind, namespace, name, token)

    # The Secret write (put_secret above) settles a 409 by reading back (see
    # settled_secret_write), kept apart from the write itself.
    put_secret = settled_secret_write(put_secret)

    # -- watch ---------------------------------------------------------------

    def watch_object(
        self,
        kind: str,
        namespace: str,
        name: str,
        done: Callable[[dict[str, Any] | None], bool],
        timeout: float,
    ) -> dict[str, Any] | None:
        """Watch one object until ``done(obj)`` is true (obj is None while it does not
        exist) or ``timeout`` seconds pass; returns the last state seen. Streams that end
        or are cut are listed and watched again (cluster_watch.py)."""
        spec = FLUX_KINDS[kind]
        left = self.deadline.remaining()
        if left is not None:  # a wait ends within the run's --timeout, as a wait (exit 6)
            timeout = min(timeout, max(0.0, left - DIAGNOSIS_GRACE))
        with self._errors(f"watching {kind} {namespace}/{name}"):
            return watch_until(
                self._custom,
                (spec.group, spec.version, spec.plural),
                namespace,
                name,
                done,
                timeout,
            )

    def request_reconcile_with(
        self, kind: str, namespace: str, name: str, token: str, also: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """request_reconcile, with the annotations in ``also`` (HelmRelease resetAt /
        forceAt) carrying the same value, as `flux reconcile hr --reset --force` sets
        them; returns the object as the PATCH left it."""
        spec = FLUX_KINDS[kind]
        patch = {"metadata": {"annotations": dict.fromkeys((REQUESTED_AT, *also), token)}}
        with self._errors(f"annotating {kind} {namespace}/{name}"):
            return dict(
                self._custom.patch_namespaced_custom_object(
                    spec.group,
                    spec.version,
                    namespace,
                    spec.plural,
                    name,
                    patch,
                    _content_type="application/merge-patch+json",
                )
            )

    # -- doctor and status ---------------------------------------------------

    def flux_crds(self) -> list[dict[str, Any]]:
        """The CustomResourceDefinitions of Flux's API groups (``*.toolkit.fluxcd.io``).
        Read as plain JSON through the generic client: turning CRDs (large schemas) into
        the client's model objects and back costs a second for nothing."""
        with self._errors("listing CustomResourceDefinitions"):
            found = self._custom.list_cluster_custom_object(
                "apiextensions.k8s.io", "v1", "customresourcedefinitions"
            )
            return [
                dict(crd)
                for crd in found.get("items", [])
                if str((crd.get("spec") or {}).get("group", "")).endswith(".toolkit.fluxcd.io")
            ]

    def served_versions(self, kind: str) -> list[str] | None:
        """The versions the API server serves of a Flux kind, from its CRD (None when the
        CRD is absent). Read as plain JSON (see flux_crds)."""
        from kubernetes.client.exceptions import ApiException

        spec = FLUX_KINDS[kind]
        with self._errors(f"reading the {kind} CustomResourceDefinition"):
            try:
                crd = self._custom.get_cluster_custom_object(
                    "apiextensions.k8s.io",
                    "v1",
                    "customresourcedefinitions",
                    f"{spec.plural}.{spec.group}",
                )
            except ApiException as error:
                if error.status == 404:
                    return None
                if error.status != 403:
                    raise
                # A namespace-scoped operator may not read CRDs; API discovery is open to
                # every authenticated user (system:discovery) and lists the same versions.
                return self._discovered_versions(spec.group)
        versions = (crd.get("spec") or {}).get("versions") or []
        return [str(v["name"]) for v in versions if v.get("served")]

    def _discovered_versions(self, group: str) -> list[str] | None:
        found = self._core_json(f"/apis/{group}")
        if not found:
            return None
        return [str(v.get("version")) for v in found.get("versions") or [] if v.get("version")]

    def list_deployments(
        self, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Deployments in one namespace, or in all when ``namespace`` is None (plain JSON,
        through the generic client: no apps/v1 models to import)."""
        selector = {"label_selector": label_selector} if label_selector else {}
        with self._errors("listing Deployments"):
            if namespace is None:
                found = self._custom.list_cluster_custom_object(
                    "apps", "v1", "deployments", **selector
                )
            else:
                found = self._custom.list_namespaced_custom_object(
                    "apps", "v1", namespace, "deployments", **selector
                )
            return [dict(item) for item in found.get("items", [])]

    def events_for(self, kind: str, namespace: str, name: str) -> list[dict[str, Any]]:
        """The core/v1 Events about one object (what `kubectl describe` shows)."""
        selector = f"involvedObject.kind={kind},involvedObject.name={name}"
        with self._errors(f"listing events of {kind} {namespace}/{name}"):
            found = self._core_json(
                f"/api/v1/namespaces/{namespace}/events", [("fieldSelector", selector)]
            )
            return [dict(item) for item in (found or {}).get("items", [])]

    def read_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        """One Secret as plain JSON, None when absent (it or its namespace). Read without
        CoreV1Api (see _core_json); the data stays in memory and is never printed."""
        with self._errors(f"reading Secret {namespace}/{name}"):
            return self._core_json(f"/api/v1/namespaces/{namespace}/secrets/{name}")

    def list_managed_secrets(self) -> list[dict[str, Any]] | None:
        """Every Secret kasboot manages (its managed-by label), in every namespace, as
        metadata only: the token data is dropped here and never leaves the seam. None
        when the credentials may not list Secrets cluster-wide (403)."""
        from kubernetes.client.exceptions import ApiException

        selector = f"{MANAGED_BY_LABEL[0]}={MANAGED_BY_LABEL[1]}"
        with self._errors("listing kasboot's Secrets"):
            try:
                found = self._core_json("/api/v1/secrets", [("labelSelector", selector)])
            except ApiException as error:
                if error.status == 403:
                    return None
                raise
            return [
                {"metadata": dict(item.get("metadata") or {}), "type": item.get("type")}
                for item in (found or {}).get("items", [])
            ]

    def _core_json(self, path: str, query: list[tuple[str, str]] | None = None) -> Any:
        """GET a core/v1 path as plain JSON through the client's own machinery
        (authentication, TLS, retries; kube_http.py, for every client version allowed);
        None on 404. Importing the client's CoreV1Api costs over a second of start-up,
        which `doctor` and `status` are spared."""
        from kasboot.kube_http import get_json

        return with_retries(
            lambda: get_json(self._api, path, query, timeout=request_timeout(self.deadline)),
            self.deadline,
        )

    # -- token rotation and uninstall ----------------------------------------

    def delete_secret(self, namespace: str, name: str) -> bool:
        """Delete a Secret; False when it was already gone."""
        from kubernetes.client.exceptions import ApiException

        with self._errors(f"deleting Secret {namespace}/{name}"):
            try:
                self._core.delete_namespaced_secret(name, namespace)
                return True
            except ApiException as error:
                if error.status == 404:
                    return False
                raise

    def annotate_deployment(self, namespace: str, name: str, annotations: dict[str, str]) -> None:
        """Annotate the Deployment object itself (its pods are not replaced)."""
        patch = {"metadata": {"annotations": annotations}}
        with self._errors(f"annotating Deployment {namespace}/{name}"):
            self._custom.patch_namespaced_custom_object(
                "apps",
                "v1",
                namespace,
                "deployments",
                name,
                patch,
                _content_type="application/merge-patch+json",
            )

    def restart_deployment(
        self, namespace: str, name: str, stamp: str, token_id: int | None = None
    ) -> None:
        """What `kubectl rollout restart` does: stamp the pod template, so the pods are
        replaced one by one and re-read their mounted Secrets (agentk reads its token
        file only when it starts). ``token_id`` is recorded beside the stamp: the token
        the new pods start with, so a later run can tell a restart is still pending."""
        annotations = {RESTARTED_AT: stamp}
        if token_id is not None:
            annotations[STARTED_WITH_TOKEN] = str(token_id)
        patch = {"spec": {"template": {"metadata": {"annotations": annotations}}}}
        with self._errors(f"restarting Deployment {namespace}/{name}"):
            self._custom.patch_namespaced_custom_object(
                "apps",
                "v1",
                namespace,
                "deployments",
                name,
                patch,
                _content_type="application/merge-patch+json",
            )


def _in_cluster() -> bool:
    return (
        bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        and not (Path.home() / ".kube" / "config").exists()
    )


def _current_context(kubeconfig: Path | None) -> str:
    from kubernetes import config

    try:
        _, active = config.list_kube_config_contexts(str(kubeconfig) if kubeconfig else None)
        return str(active["name"])
    except Exception:  # the context is informational only
        return "unknown"


def _status_message(error: Any) -> str:

    try:
        return str(json.loads(error.body).get("message") or error.reason)
    except (TypeError, ValueError, AttributeError):
        return str(error.reason)
