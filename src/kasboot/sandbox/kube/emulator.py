"""KubeEmulator: the Kubernetes API emulator as one object to start, stop and point
clients at (via a written kubeconfig)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..common import FaultInjector, RequestLog, SandboxMiddleware, ServerThread, free_port
from .app import KubeHttpApi, status_for_fault
from .backend import KubeBackend
from .registry import Registry
from .store import DEFAULT_HISTORY, Store

SANDBOX_TOKEN = "kasboot-sandbox-token"


class KubeEmulator:
    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        port: int = 0,
        server_version: str = "v1.33.2",
        watch_history: int = DEFAULT_HISTORY,
        fault_seed: int | None = None,
    ) -> None:
        """``watch_history`` bounds the events kept for watch resumption (older → 410);
        ``fault_seed`` seeds the fault draws (None: a random one, reported by GET
        /-/sandbox/faults)."""
        self.state_dir = state_dir
        self.port = port or free_port()
        self.server_version = server_version
        self.store = Store(state_dir, watch_history)
        self.registry = Registry()
        self.backend = KubeBackend(self.store, self.registry)
        self.http = KubeHttpApi(self.backend, server_version)
        self.request_log = RequestLog(state_dir / "kube-requests.jsonl" if state_dir else None)
        self.faults = FaultInjector(fault_seed)
        self.app = SandboxMiddleware(self.http.app, self.request_log, self.faults, status_for_fault)
        self._server: ServerThread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> KubeEmulator:
        if self._server is None:
            self._server = ServerThread(self.app, port=self.port).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def close(self) -> None:
        """Stop serving and release the state database."""
        self.stop()
        self.store.close()

    def __enter__(self) -> KubeEmulator:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def write_kubeconfig(
        self, path: Path, *, context: str = "sandbox", namespace: str = "default"
    ) -> Path:
        """A kubeconfig for kubectl and ``kubernetes.config``: this server, a bearer token."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": f"{context}-user", "user": {"token": SANDBOX_TOKEN}}],
            "contexts": [
                {
                    "name": context,
                    "context": {
                        "cluster": context,
                        "user": f"{context}-user",
                        "namespace": namespace,
                    },
                }
            ],
            "current-context": context,
            "preferences": {},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        path.chmod(0o600)
        return path
