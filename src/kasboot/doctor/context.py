"""What the doctor works with: the settings, each side (GitLab, the cluster) opened on
its own so one that cannot be opened is reported without hiding the other, and what
earlier checks learnt for later ones."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kasboot.errors import KasbootError

if TYPE_CHECKING:
    from kasboot.cluster import Cluster
    from kasboot.gitlab_api import GitLabAPI, ProjectInfo, RequestLogger
    from kasboot.settings import Settings
    from kasboot.steps.context import BootstrapContext

# Used as AGENT when none is given: the topology guard still predicts Flux's build with
# the files a bootstrap would add (a config.yaml under .gitlab/agents/<name>/).
PLACEHOLDER_AGENT = "doctor-probe"
# GitLab's agent list shows "Connected" while the last contact is this recent
# (clusters_list/constants.js ACTIVE_CONNECTION_TIME, 8 minutes).
CONNECTED_WITHIN_SECONDS = 480


@dataclass
class DoctorContext:
    settings: Settings
    now: datetime
    project_path: str | None = None
    project_error: KasbootError | None = None
    gitlab: GitLabAPI | None = None
    gitlab_error: KasbootError | None = None
    cluster: Cluster | None = None
    cluster_error: KasbootError | None = None
    # learnt by the checks, for the checks after them
    gitlab_answers: bool = False
    token_valid: bool = False
    user: dict[str, Any] = field(default_factory=dict)  # the token's user, once checked
    metadata: dict[str, Any] = field(default_factory=dict)
    project: ProjectInfo | None = None
    branch: str = ""
    cluster_answers: bool = False
    flux_version: str | None = None
    agent: dict[str, Any] | None = None
    agentk_at: tuple[str, str] | None = None  # (namespace, release), when found elsewhere

    @property
    def kas(self) -> dict[str, Any]:
        return dict(self.metadata.get("kas") or {})

    def bootstrap_context(self) -> BootstrapContext:
        """The context bootstrap's pre-flight would have at the topology guard (--fix
        dropped: the doctor reports the tree as it is, it writes nothing)."""
        from kasboot.steps.context import BootstrapContext

        assert self.gitlab is not None and self.cluster is not None and self.project is not None
        metadata = dict(self.metadata)
        if not self.kas.get("enabled") or not self.kas.get("externalUrl"):
            # KAS off: render the manifests with a stand-in address so the guard can still
            # predict the build (the address does not change what Flux builds).
            metadata["kas"] = {**self.kas, "enabled": True, "externalUrl": "wss://kas.invalid/"}
        return BootstrapContext(
            settings=dataclasses.replace(self.settings, fix=(), dry_run=True),
            gitlab=self.gitlab,
            cluster=self.cluster,
            project_path=self.project.path,
            dry_run=True,
            project=self.project,
            branch=self.branch,
            metadata=metadata,
            flux_version=self.flux_version,
        )


def open_doctor_context(
    settings: Settings,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    request_logger: RequestLogger | None = None,
    now: datetime | None = None,
) -> DoctorContext:
    """Like bootstrap's open_context (same project resolution, credentials and seams),
    but each part's failure is kept for its check instead of ending the run."""
    from kasboot.cluster import Cluster
    from kasboot.credentials import gitlab_credentials
    from kasboot.gitlab_api import GitLabAPI
    from kasboot.localrepo import resolve_project

    environ = dict(os.environ) if env is None else env
    ctx = DoctorContext(settings=settings, now=now or datetime.now(timezone.utc))
    host: str | None = None
    try:
        ctx.project_path, host = resolve_project(settings.repo, cwd or Path.cwd(), environ)
    except KasbootError as error:
        ctx.project_error = error
    try:
        credentials = gitlab_credentials(host_hint=host, env=environ)
        ctx.gitlab = GitLabAPI.for_credentials(
            credentials, request_logger=request_logger, ca_file=settings.ca_file
        )
    except KasbootError as error:
        ctx.gitlab_error = error
    try:
        ctx.cluster = Cluster(settings.kubeconfig, settings.context)
    except KasbootError as error:
        ctx.cluster_error = error
    return ctx


def parse_gitlab_time(value: Any) -> datetime | None:
    """GitLab's ``2024-05-01T10:00:00.000Z`` (or with an offset) as an aware datetime."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def ago(moment: datetime | None, now: datetime) -> str:
    """``never``, ``12s ago``, ``5m ago``, ``3h ago``, ``2d ago``."""
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"
