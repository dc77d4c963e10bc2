"""Seam: the cluster, in kasboot's words (namespaces, the token Secret, Flux objects,
reconcile requests and watches). Every request is plain JSON through the official
kubernetes client's ApiClient (kube_http.py: its connection pool, TLS, credentials and
User-Agent — never its generated typed APIs or models), with per-request timeouts, a
bounded total and urllib3's Retry for transient answers (cluster_transport.py). Errors
come out as ClusterError (exit 5) carrying the API server's message, or the transport
failure in words (cluster_errors.py); nothing here prints.

The calls live in mixins by subject: cluster_flux.py (Flux's CRDs and objects, the
watch), cluster_secrets.py (namespaces, the token Secret), cluster_workloads.py
(Deployments, Events, the server version), cluster_lease.py, cluster_cleanup.py,
cluster_logs.py (agentk's pods and their logs, for doctor)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kasboot import __version__
from kasboot.cluster_cleanup import CleanupSeam
from kasboot.cluster_errors import translated
from kasboot.cluster_flux import FluxSeam
from kasboot.cluster_kinds import (
    AGENT_ANNOTATION,
    FLUX_KINDS,
    MANAGED_BY_LABEL,
    REPLACED_TOKEN,
    REQUESTED_AT,
    RESTARTED_AT,
    SOURCE_KINDS,
    STARTED_WITH_TOKEN,
    TOKEN_ID_ANNOTATION,
    FluxKind,
)
from kasboot.cluster_lease import LeaseSeam, LeaseTaken
from kasboot.cluster_logs import LogSeam
from kasboot.cluster_rest import RestSeam
from kasboot.cluster_secrets import SecretSeam
from kasboot.cluster_transport import DIAGNOSIS_GRACE, Deadline, retry_policy
from kasboot.cluster_workloads import WorkloadSeam
from kasboot.errors import ClusterError

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from kubernetes.client import ApiClient

USER_AGENT = f"kasboot/{__version__}"
__all__ = [
    "AGENT_ANNOTATION",
    "FLUX_KINDS",
    "MANAGED_BY_LABEL",
    "REPLACED_TOKEN",
    "REQUESTED_AT",
    "RESTARTED_AT",
    "SOURCE_KINDS",
    "STARTED_WITH_TOKEN",
    "TOKEN_ID_ANNOTATION",
    "Cluster",
    "FluxKind",
    "LeaseTaken",
]


class Cluster(RestSeam, FluxSeam, SecretSeam, WorkloadSeam, LeaseSeam, CleanupSeam, LogSeam):
    def __init__(
        self, kubeconfig: Path | None = None, context: str | None = None, *, connect: bool = True
    ) -> None:
        """Check the kubeconfig (exit 2 for a mistake, no request) and, unless ``connect``
        is False, load it into the client: bootstrap connects once GitLab's first reads
        are on their way, so the client's import overlaps their round trips."""
        from kasboot.kubeconfig_checks import check_kube_config

        check_kube_config(kubeconfig, context)  # exit 2 for a kubeconfig mistake, no request
        self._kubeconfig, self._context_name = kubeconfig, context
        self.timeout: float | None = None  # the run's --timeout, once bound_run() set it
        self.deadline = Deadline(None)
        self._known_namespaces: set[str] = set()
        self._labelled_crds: dict[str, dict[str, Any] | None] | str | None = None
        self._discovered: dict[str, list[str] | None] = {}
        if connect:
            self.connect()

    def connect(self) -> None:
        """Load the kubeconfig (or the in-cluster configuration) into an ApiClient."""
        # The client's package modules, not its generated APIs: kubernetes.client imports
        # those lazily (v36+), and kasboot never touches them (kube_http.py).
        from kubernetes import config
        from kubernetes.client.api_client import ApiClient
        from kubernetes.client.configuration import Configuration

        kubeconfig, context = self._kubeconfig, self._context_name
        configuration = Configuration()
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
        configuration.retries = retry_policy(self.deadline)
        self.server = str(configuration.host)
        self._api: ApiClient = ApiClient(configuration)
        self._api.user_agent = USER_AGENT

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

    def _errors(self, doing: str) -> AbstractContextManager[None]:
        """Every failure inside becomes a ClusterError naming ``doing``."""
        return translated(doing, self.server, self.timeout)


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
