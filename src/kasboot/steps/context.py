"""What the bootstrap steps share: the settings, the seams, and what earlier steps
learnt or decided. Steps read and fill it; nothing in it is ever printed whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kasboot.gitlab_api import CommitAction, NewToken, ProjectInfo

if TYPE_CHECKING:
    from kasboot.cluster import Cluster
    from kasboot.gitlab_api import GitLabAPI
    from kasboot.settings import Settings


@dataclass
class StagedFile:
    """A file the single commit will write. ``previous`` is None for a new file."""

    path: str
    content: str
    previous: str | None
    last_commit_id: str | None

    def action(self) -> CommitAction:
        return CommitAction(
            action="create" if self.previous is None else "update",
            path=self.path,
            content=self.content,
            last_commit_id=self.last_commit_id,
        )


@dataclass
class BootstrapContext:
    settings: Settings
    gitlab: GitLabAPI
    cluster: Cluster
    project_path: str
    dry_run: bool = False

    # learnt in pre-flight
    project: ProjectInfo | None = None
    branch: str = ""
    branch_head: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    user: dict[str, Any] = field(default_factory=dict)
    flux_version: str | None = None
    token_secret: dict[str, Any] | None = None  # the token Secret as pre-flight found it
    token_secret_read: bool = False  # token_secret is what the cluster answered
    flux_source: dict[str, Any] | None = None  # the Flux source pre-flight read
    # "namespace/name" of the Kustomizations the guard found applying the manifests
    reconciled_by: list[str] = field(default_factory=list)
    # what Flux's source revision puts before "@sha1:" ("" = the branch; a
    # GitRepository with spec.ref.name says "refs/heads/<branch>")
    flux_revision_prefix: str = ""
    # where Flux really applies the HelmRelease when kustomize moves it (targetNamespace,
    # a renaming patch), as the guard predicted; None = where the manifest says
    helm_release_at: tuple[str, str] | None = None
    # the namespace Kustomizations are listed in when the user may not list them
    # cluster-wide (403); None = all namespaces. Set by the guard, read by reconcile.
    kustomization_scope: str | None = None
    # "namespace/name" of the Kustomizations pre-flight listed in the cluster (None: not
    # listed): reconcile watches those a new source revision triggers, with no request
    listed_kustomizations: frozenset[str] | None = None
    guard_partial: str = ""  # why the guard could see only part of Flux ("" = all of it)
    gitlab_survey: Any = None  # pre-flight's one-request GitLab survey (steps/gitlab_survey.py)
    # pre-flight's reads, started when the seams opened (steps/preflight_reads.py
    # StartedReads); pre-flight takes them, or starts them itself when None
    started_reads: Any = None
    # decided by the steps
    agent: dict[str, Any] | None = None
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    held_token_id: int | None = None  # the token id the cluster's Secret holds today
    token: NewToken | None = None  # minted in this run (secret in memory only)
    token_id: int | None = None  # the token the Secret holds after this run
    revoked_token_ids: list[int] = field(default_factory=list)
    secret_changed: bool = False
    staged: dict[str, StagedFile] = field(default_factory=dict)
    extra_files: dict[str, str] = field(default_factory=dict)  # written by --fix
    commit_sha: str | None = None
    flux_state: str = ""
    # this run's commit added the HelmRelease's file: Flux installs it now (new objects:
    # reconcile watches the HelmChart and the HelmRelease without annotating them)
    helm_release_new: bool = False
    token_lease: Any = None  # the Lease this run holds while it stores a token
    receptive_public_key: str | None = None  # the agent's URL configuration's (--receptive)
    receptive_record: dict[str, Any] | None = None  # the URL configuration kasboot made
    seed_notes: list[str] = field(default_factory=list)  # said by pre-flight's summary

    @property
    def agent_id(self) -> int:
        assert self.agent is not None, "the agent step runs first"
        return int(self.agent["id"])

    @property
    def helm_release_key(self) -> tuple[str, str]:
        """(namespace, name) of the HelmRelease in the cluster, once Flux applied it."""
        settings = self.settings
        return self.helm_release_at or (settings.helm_release_namespace, settings.helm_release_name)

    @property
    def agent_identity(self) -> str:
        """What the token Secret's kasboot/agent annotation says for this agent."""
        return f"{self.project_path}/{self.settings.agent}"

    @property
    def kas(self) -> dict[str, Any]:
        kas = self.metadata.get("kas") or {}
        return dict(kas)
