"""`kasboot uninstall`: the bootstrap in reverse, each step idempotent (a second run
finds nothing to do and writes nothing). ONE commit removes the Flux manifests (and
the agent's config.yaml with --delete-agent); Flux is reconciled so it prunes the
HelmRelease (and with it agentk); then the token Secret goes (only when it is this
agent's), the agent's tokens are revoked, the environments bootstrap made for it are
stopped and deleted, and with --delete-agent the registration goes too."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kasboot.bootstrap import BootstrapRun, open_context
from kasboot.cluster import AGENT_ANNOTATION
from kasboot.errors import FluxError, KasbootError
from kasboot.gitlab_api import CommitAction, RequestLogger
from kasboot.pipeline import Change, Listener, Runner, Step
from kasboot.settings import Settings
from kasboot.steps.agent_config import text_diff
from kasboot.steps.context import BootstrapContext
from kasboot.steps.preflight import Preflight
from kasboot.steps.reconcile import ReconcileFlux, kustomizations_for, request_token
from kasboot.steps.rotate import widen
from kasboot.steps.token import held_token_id


@dataclass
class UninstallContext(BootstrapContext):
    delete_agent: bool = False
    removals: dict[str, str] = field(default_factory=dict)  # path -> its last commit id
    secret_deleted: bool = False
    secret_kept_reason: str = ""
    deleted_environments: list[str] = field(default_factory=list)
    agent_deleted: bool = False


def _uninstall(ctx: BootstrapContext) -> UninstallContext:
    assert isinstance(ctx, UninstallContext)
    return ctx


class UninstallPreflight(Preflight):
    """Reads only: the token, project and branch, the cluster, Flux (when it will be
    reconciled), the token Secret and the agent. No topology guard: nothing is added."""

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        settings = ctx.settings
        ctx.user = ctx.gitlab.current_user()
        ctx.project = ctx.gitlab.project(ctx.project_path)
        ctx.project_path = ctx.project.path
        ctx.branch = settings.manifest_branch or ctx.project.default_branch
        ctx.branch_head = ctx.gitlab.branch_head(ctx.project_path, ctx.branch)
        ctx.cluster.server_version()
        ctx.token_secret = ctx.cluster.get_secret(
            settings.helm_release_target_namespace, settings.gitlab_agent_token_secret_name
        )
        ctx.flux_version = ctx.cluster.flux_version()
        if not settings.no_reconcile:
            self._check_flux(ctx)
        ctx.agent = ctx.gitlab.find_agent(ctx.project_path, settings.agent)
        return []

    def summary(self, ctx: BootstrapContext) -> str:
        agent = f"agent {ctx.agent['name']} (id {ctx.agent['id']})" if ctx.agent else "no agent"
        flux = f"Flux {ctx.flux_version}" if ctx.flux_version else "no Flux"
        return f"{ctx.project_path}@{ctx.branch}, {ctx.cluster.context}, {flux}; {agent}"


class RemoveFiles:
    name = "files"
    title = "Removing the Flux Helm resources from the repository"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None if ctx.branch_head else f"branch {ctx.branch} does not exist"

    def _paths(self, ctx: UninstallContext) -> list[str]:
        settings = ctx.settings
        paths = [settings.helm_repository_path, settings.helm_release_path]
        return [*paths, settings.agent_config_path] if ctx.delete_agent else paths

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        ctx = _uninstall(ctx)
        changes = []
        ctx.removals.clear()
        for path in self._paths(ctx):
            existing = ctx.gitlab.get_file(ctx.project_path, path, ctx.branch)
            if existing is not None:
                ctx.removals[path] = existing.last_commit_id
                changes.append(Change("delete", path, text_diff(path, existing.text, "")))
        return changes

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        """Nothing to write now: the commit step removes every file at once."""

    def summary(self, ctx: BootstrapContext) -> str:
        removals = _uninstall(ctx).removals
        return f"staged removal of {', '.join(sorted(removals))}" if removals else "no files left"


class CommitRemoval:
    """ONE commit deleting every staged file; each deletion carries its last_commit_id,
    so a concurrent change makes GitLab refuse instead of losing it."""

    name = "commit"
    title = "Committing the removal (one commit)"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        removals = _uninstall(ctx).removals
        if not removals:
            return []
        files = ", ".join(sorted(removals))
        return [
            Change("commit", f"branch {ctx.branch}", f"delete {len(removals)} file(s): {files}")
        ]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        removals = _uninstall(ctx).removals
        settings = ctx.settings
        message = f"Uninstall GitLab agent {settings.agent}\n\n" + "".join(
            f"- delete {path}\n" for path in sorted(removals)
        )
        author_name, author_email = settings.author_name, settings.author_email
        if settings.use_api_commit_author:
            author_name = ctx.user.get("name") or ctx.user.get("username")
            author_email = ctx.user.get("email") or ctx.user.get("public_email") or None
        if settings.commit_via == "local":
            from kasboot.localrepo import LocalClone

            clone = LocalClone(Path.cwd(), ctx.project_path)
            ctx.commit_sha = clone.commit_and_push(
                dict.fromkeys(removals),  # None deletes the file
                message=message,
                branch=ctx.branch,
                author_name=author_name,
                author_email=author_email,
                parent=ctx.branch_head,
            )
            return
        ctx.commit_sha = ctx.gitlab.commit(
            ctx.project_path,
            branch=ctx.branch,
            message=message,
            actions=[
                CommitAction("delete", path, last_commit_id=last)
                for path, last in sorted(removals.items())
            ],
            author_name=author_name,
            author_email=author_email,
        )

    def summary(self, ctx: BootstrapContext) -> str:
        if ctx.commit_sha:
            return f"commit {ctx.commit_sha[:12]} ({len(_uninstall(ctx).removals)} files)"
        return "nothing to commit"


class PruneFlux(ReconcileFlux):
    """Reconcile the source and the Kustomization(s) at the removal commit so Flux
    prunes the HelmRelease and HelmRepository; watch until both are gone."""

    title = "Reconciling Flux so it prunes the agent"

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        settings = ctx.settings
        release = self._helm_release(ctx)
        if release is None and not _uninstall(ctx).removals:
            ctx.flux_state = "HelmRelease absent"
            return []
        changes = [
            Change(
                "annotate", f"Kustomization {k['metadata']['namespace']}/{k['metadata']['name']}"
            )
            for k in kustomizations_for(ctx)
        ]
        name = f"{settings.helm_release_namespace}/{settings.helm_release_name}"
        return [*changes, Change("prune", f"HelmRelease {name}", "wait until Flux deleted it")]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        settings = ctx.settings
        deadline = time.monotonic() + settings.timeout
        self.reconcile_source_and_kustomizations(ctx, request_token(), deadline)
        for gone_kind, namespace, name in (
            ("HelmRelease", settings.helm_release_namespace, settings.helm_release_name),
            ("HelmRepository", settings.helm_repository_namespace, settings.helm_repository_name),
        ):
            left = ctx.cluster.watch_object(
                gone_kind,
                namespace,
                name,
                lambda obj: obj is None,
                max(0.0, deadline - time.monotonic()),
            )
            if left is not None:
                raise FluxError(
                    f"{gone_kind} {namespace}/{name} is still in the cluster",
                    hint="check that the Kustomization applying it has `prune: true`, or "
                    f"delete it: kubectl delete {gone_kind.lower()} -n {namespace} {name}",
                )
        ctx.flux_state = "HelmRelease pruned"

    def summary(self, ctx: BootstrapContext) -> str:
        return ctx.flux_state or "Flux will prune the agent"


class DeleteTokenSecret:
    name = "secret"
    title = "Deleting the token Secret"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def _is_agents(self, ctx: BootstrapContext, secret: dict[str, Any]) -> bool:
        annotations = (secret.get("metadata") or {}).get("annotations") or {}
        if annotations.get(AGENT_ANNOTATION):
            return bool(annotations[AGENT_ANNOTATION] == ctx.agent_identity)
        held = held_token_id(secret)
        if held is None or ctx.agent is None:
            return False
        return ctx.gitlab.get_token(ctx.project_path, ctx.agent_id, held) is not None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        secret = ctx.token_secret
        if secret is None:
            return []
        if not self._is_agents(ctx, secret):
            _uninstall(ctx).secret_kept_reason = "kept: it holds no token of this agent"
            return []
        meta = secret["metadata"]
        return [Change("delete", f"Secret {meta['namespace']}/{meta['name']}")]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        settings = ctx.settings
        ctx.cluster.delete_secret(
            settings.helm_release_target_namespace, settings.gitlab_agent_token_secret_name
        )
        _uninstall(ctx).secret_deleted = True

    def summary(self, ctx: BootstrapContext) -> str:
        settings = ctx.settings
        name = f"Secret {settings.helm_release_target_namespace}/"
        name += settings.gitlab_agent_token_secret_name
        state = _uninstall(ctx)
        if state.secret_deleted:
            return f"{name} deleted"
        return f"{name} {state.secret_kept_reason or 'absent'}"


class RevokeTokens:
    name = "tokens"
    title = "Revoking the agent's tokens"

    def __init__(self) -> None:
        self._active: list[int] = []

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None if ctx.agent else "the agent is not registered"

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        active = ctx.gitlab.active_tokens(ctx.project_path, ctx.agent_id)
        self._active = [int(token["id"]) for token in active]
        return [Change("revoke", f"agent token {token_id}") for token_id in self._active]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        for token_id in self._active:
            ctx.gitlab.revoke_token(ctx.project_path, ctx.agent_id, token_id)
            ctx.revoked_token_ids.append(token_id)

    def summary(self, ctx: BootstrapContext) -> str:
        if ctx.revoked_token_ids:
            return f"revoked {', '.join(map(str, ctx.revoked_token_ids))}"
        return "no active token"


class RemoveEnvironments:
    """Stop, then delete (GitLab deletes only stopped environments) the environments
    bootstrap created — only those still pointing at this agent."""

    name = "environments"
    title = "Deleting the agent's environments"

    def __init__(self) -> None:
        self._found: list[dict[str, Any]] = []

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None if ctx.agent else "the agent is not registered"

    def _names(self, ctx: BootstrapContext) -> list[str]:
        settings = ctx.settings
        names = [settings.env_name] if settings.create_environment else []
        return names + ([settings.flux_env_name] if settings.create_flux_environment else [])

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        self._found = []
        for name in self._names(ctx):
            found = ctx.gitlab.find_environment(ctx.project_path, name)
            if found and (found.get("cluster_agent") or {}).get("id") == ctx.agent_id:
                self._found.append(found)
        return [
            Change("delete", f"environment {env['name']}", f"id {env['id']}, stopped first")
            for env in self._found
        ]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        for environment in self._found:
            if environment.get("state") != "stopped":
                ctx.gitlab.stop_environment(ctx.project_path, int(environment["id"]))
            ctx.gitlab.delete_environment(ctx.project_path, int(environment["id"]))
            _uninstall(ctx).deleted_environments.append(str(environment["name"]))

    def summary(self, ctx: BootstrapContext) -> str:
        deleted = _uninstall(ctx).deleted_environments
        return f"deleted {', '.join(deleted)}" if deleted else "no environment of this agent"


class DeleteAgent:
    name = "agent"
    title = "Deleting the agent registration"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None if _uninstall(ctx).delete_agent else "kept (pass --delete-agent)"

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        if ctx.agent is None:
            return []
        return [Change("delete", f"agent {ctx.agent['name']}", f"id {ctx.agent['id']}")]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        ctx.gitlab.delete_agent(ctx.project_path, ctx.agent_id)
        _uninstall(ctx).agent_deleted = True

    def summary(self, ctx: BootstrapContext) -> str:
        return f"agent {ctx.settings.agent} " + (
            "deleted" if _uninstall(ctx).agent_deleted else "not registered"
        )


def uninstall_steps() -> list[Step[BootstrapContext]]:
    return [
        UninstallPreflight(),
        RemoveFiles(),
        CommitRemoval(),
        PruneFlux(),
        DeleteTokenSecret(),
        RevokeTokens(),
        RemoveEnvironments(),
        DeleteAgent(),
    ]


def uninstall_outcome(run: BootstrapRun) -> dict[str, Any]:
    ctx = run.context
    if not isinstance(ctx, UninstallContext):
        return {}
    settings = ctx.settings
    return {
        "project": ctx.project_path,
        "branch": ctx.branch,
        "agent": {"id": ctx.agent.get("id"), "name": ctx.agent.get("name")} if ctx.agent else None,
        "agent_deleted": ctx.agent_deleted,
        "commit": ctx.commit_sha,
        "files": sorted(ctx.removals),
        "secret": f"{settings.helm_release_target_namespace}/"
        f"{settings.gitlab_agent_token_secret_name}",
        "secret_deleted": ctx.secret_deleted,
        "revoked_token_ids": ctx.revoked_token_ids,
        "deleted_environments": ctx.deleted_environments,
        "flux": ctx.flux_state or None,
    }


def run_uninstall(
    settings: Settings,
    listener: Listener,
    *,
    delete_agent: bool,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    request_logger: RequestLogger | None = None,
) -> BootstrapRun:
    run = BootstrapRun()
    runner: Runner[BootstrapContext] = Runner(uninstall_steps(), listener, dry_run=settings.dry_run)
    try:
        base = open_context(settings, cwd=cwd, env=env, request_logger=request_logger)
        run.context = widen(base, UninstallContext, delete_agent=delete_agent)
        runner.run(run.context)
    except KasbootError as error:
        run.error = error
    run.reports = runner.reports
    return run
