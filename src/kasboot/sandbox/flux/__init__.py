"""The Flux simulator: source-, kustomize- and helm-controller stand-ins that talk to
the Kubernetes emulator over HTTP, each with its own User-Agent, and behave as the
real controllers document (conditions, reasons, messages, revisions, events).

    sim = FluxSimulator(kube_url, state_dir, latency={"kustomize-controller": 0.2})
    sim.start() … sim.stop()
"""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kasboot.sandbox.flux.agentk import connect_to_kas
from kasboot.sandbox.flux.charts import ChartCatalog
from kasboot.sandbox.flux.generator import GeneratorWording
from kasboot.sandbox.flux.helm import HelmReconciler
from kasboot.sandbox.flux.kubeapi import KubeApi
from kasboot.sandbox.flux.kustomize import KustomizeReconciler
from kasboot.sandbox.flux.notification import PushReceiver
from kasboot.sandbox.flux.runtime import ControllerLoop, Reconciler
from kasboot.sandbox.flux.source import SourceReconciler
from kasboot.sandbox.flux.storage import ArtifactStorage

SOURCE_CONTROLLER = "source-controller/v1.9.4"
KUSTOMIZE_CONTROLLER = "kustomize-controller/v1.9.4"
HELM_CONTROLLER = "helm-controller/v1.6.4"
FLUX_VERSION = "v2.9.4"

__all__ = [
    "FLUX_VERSION",
    "HELM_CONTROLLER",
    "KUSTOMIZE_CONTROLLER",
    "SOURCE_CONTROLLER",
    "AgentConnection",
    "FluxSimulator",
]


@dataclass
class AgentConnection:
    kas_address: str
    namespace: str
    accepted: bool


@dataclass
class FluxSimulator:
    """``latency`` (seconds before each reconcile) per controller name or for all;
    ``generator_flux_minor`` picks the generator's error wording (≤ 8: `` <nil>`` suffix)."""

    kube_url: str
    state_dir: Path | None = None
    latency: float | Mapping[str, float] = 0.0
    generator_flux_minor: int = 8
    latest_agent_chart: str = "2.11.0"
    # the first N loads of each new chart revision find no artifact (ArtifactFailed)
    artifact_fetch_failures: int = 0
    # the latest agentk connection attempts (bounded: agentk retries forever)
    connections: deque[AgentConnection] = field(default_factory=lambda: deque(maxlen=256))

    def __post_init__(self) -> None:
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        if self.state_dir is None:
            self._temp = tempfile.TemporaryDirectory(prefix="flux-sim-")
            self.state_dir = Path(self._temp.name)
        self.storage = ArtifactStorage(Path(self.state_dir) / "artifacts")
        self.loops: list[ControllerLoop] = []
        self.receiver: PushReceiver | None = None

    def _latency(self, component: str) -> float:
        if isinstance(self.latency, Mapping):
            return float(self.latency.get(component, 0.0))
        return float(self.latency)

    def _connect(
        self, kas_address: str, token: str, namespace: str, ca_cert: str | None = None
    ) -> str | None:
        """None when KAS accepted the agent, else agentk's error."""
        error = connect_to_kas(kas_address, token, ca_cert=ca_cert)
        self.connections.append(AgentConnection(kas_address, namespace, error is None))
        return error

    def start(self) -> FluxSimulator:
        source_api = KubeApi(self.kube_url, SOURCE_CONTROLLER)
        kustomize_api = KubeApi(self.kube_url, KUSTOMIZE_CONTROLLER)
        helm_api = KubeApi(self.kube_url, HELM_CONTROLLER)
        controllers: list[tuple[Reconciler, KubeApi]] = [
            (
                SourceReconciler(source_api, self.storage, ChartCatalog(self.latest_agent_chart)),
                source_api,
            ),
            (
                KustomizeReconciler(
                    kustomize_api, self.storage, GeneratorWording(self.generator_flux_minor)
                ),
                kustomize_api,
            ),
            (
                HelmReconciler(
                    helm_api, self._connect, artifact_fetch_failures=self.artifact_fetch_failures
                ),
                helm_api,
            ),
        ]
        for reconciler, api in controllers:
            loop = ControllerLoop(reconciler, api, self._latency(reconciler.component))
            self.loops.append(loop)
            loop.start()
        return self

    def start_receiver(self, bare: Path, branch: str, delay: float | None = None) -> PushReceiver:
        """A notification-controller Receiver for GitLab push events on ``branch`` of the
        bare repository ``bare``, annotating GitRepository flux-system/flux-system."""
        receiver = PushReceiver(self.kube_url, bare, branch)
        if delay is not None:
            receiver.delay = delay
        self.receiver = receiver.start()
        return self.receiver

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None
        for loop in self.loops:
            loop.stop()
            loop.api.close()
        self.loops.clear()
        if self._temp is not None:
            self._temp.cleanup()
            self._temp = None
