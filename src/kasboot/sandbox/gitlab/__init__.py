"""GitLab emulator: REST API ``/api/v4`` + git smart HTTP + a KAS stand-in, on loopback.

Shaped like moto: ``backend`` holds state and rules (SQLite + real bare repositories
under ``state_dir``), ``responses*`` map HTTP to it, ``urls`` is the route table and
``exceptions`` render as GitLab's own errors."""

from __future__ import annotations

from pathlib import Path

from kasboot.sandbox.common import (
    FaultInjector,
    RequestLog,
    SandboxMiddleware,
    ServerThread,
    free_port,
)
from kasboot.sandbox.gitlab.app import GitLabApp
from kasboot.sandbox.gitlab.backend import GitLabBackend
from kasboot.sandbox.gitlab.exceptions import status_line_body
from kasboot.sandbox.gitlab.versions import DEFAULT_GITLAB_VERSION

__all__ = ["GitLabBackend", "GitLabEmulator"]


class GitLabEmulator:
    def __init__(
        self,
        state_dir: Path,
        *,
        port: int = 0,
        kas_enabled: bool = True,
        kas_version: str | None = None,
        gitlab_version: str = DEFAULT_GITLAB_VERSION,
        external_url: str | None = None,
        fault_seed: int | None = None,
    ) -> None:
        """``kas_version`` None: KAS runs the same release as GitLab; ``"null"``: GitLab
        cannot ask KAS. ``external_url``: where GitLab believes it is reached (its links
        point there), default the listening address. ``fault_seed``: the fault draws'
        seed (None: a random one, reported by GET /-/sandbox/faults)."""
        self.state_dir = Path(state_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backend = GitLabBackend(
            self.state_dir,
            base_url=self.url,
            kas_enabled=kas_enabled,
            kas_version=gitlab_version if kas_version is None else kas_version,
            gitlab_version=gitlab_version,
            external_url=external_url,
        )
        self.request_log = RequestLog()
        self.faults = FaultInjector(fault_seed)
        self.app = SandboxMiddleware(
            GitLabApp(self.backend), self.request_log, self.faults, status_line_body
        )
        self._server: ServerThread | None = None

    def start(self) -> GitLabEmulator:
        from kasboot.sandbox.gitlab.graphql_api import warm

        warm(self.backend.release)  # before the first request, as a booted GitLab is
        self._server = ServerThread(self.app, port=self.port).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.backend.store.close()
