"""The steps of `kasboot uninstall` after its pre-flight: each acts only on what the
pre-flight's survey (steps/uninstall_survey.py) found to be this agent's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kasboot.errors import FluxError
from kasboot.gitlab_api import CommitAction
from kasboot.pipeline import Change
from kasboot.steps.agent_config import text_diff
from kasboot.steps.context import BootstrapContext
from kasboot.steps.reconcile import ReconcileFlux, kustomizations_for, request_token
from kasboot.steps.uninstall_survey import Inventory, uninstall_context

POLL_SECONDS = 0.5  # no watch for "every Deployment with these labels is gone"


def inventory_of(ctx: BootstrapContext) -> Inventory:
    return uninstall_context(ctx).inventory


class RemoveFiles:
    name = "files"
    title = "Removing the Flux Helm resources from the repository"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None if ctx.branch_head else f"branch {ctx.branch} does not exist"

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        inventory = inventory_of(ctx)
        changes = []
        for path in sorted(inventory.removals):
            existing = ctx.gitlab.get_file(ctx.project_path, path, ctx.branch)
            text = existing.text if existing else ""
            changes.append(Change("delete", path, text_diff(path, text, "")))
        for path in sorted(inventory.writes):
            changes.append(Change("create", path, "so the Kustomization prunes: resources: []"))
        return changes

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        """Nothing to write now: the commit step removes every file at once."""

    def summary(self, ctx: BootstrapContext) -> str:
        inventory = inventory_of(ctx)
        staged = sorted(inventory.removals)
        if not staged:
            return "no file of this agent left"
        extra = f"; adds {', '.join(sorted(inventory.writes))}" if inventory.writes else ""
        return f"staged removal of {', '.join(staged)}{extra}"


class CommitRemoval:
    """ONE commit deleting every staged file; each deletion carries its last_commit_id,
    so a concurrent change makes GitLab refuse instead of losing it."""

    name = "commit"
    title = "Committing the removal (one commit)"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        removals = inventory_of(ctx).removals
        if not removals:
            return []
        files = ", ".join(sorted(removals))
        return [
            Change("commit", f"branch {ctx.branch}", f"delete {len(removals)} file(s): {files}")
        ]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        inventory = inventory_of(ctx)
        removals, writes = inventory.removals, inventory.writes
        settings = ctx.settings
        message = f"Uninstall GitLab agent {settings.agent}\n\n" + "".join(
            f"- delete {path}\n" for path in sorted(removals)
        )
        message += "".join(f"- create {path}\n" for path in sorted(writes))
        author_name, author_email = settings.author_name, settings.author_email
        if settings.use_api_commit_author:
            author_name = ctx.user.get("name") or ctx.user.get("username")
            author_email = ctx.user.get("email") or ctx.user.get("public_email") or None
        if settings.commit_via == "local":
            from kasboot.localrepo import LocalClone

            clone = LocalClone(Path.cwd(), ctx.project_path)
            contents: dict[str, str | None] = dict.fromkeys(removals)  # None deletes the file
            contents.update({path: text for path, (text, _) in writes.items()})
            ctx.commit_sha = clone.commit_and_push(
                contents,
                message=message,
                branch=ctx.branch,
                author_name=author_name,
                author_email=author_email,
                parent=ctx.branch_head,
            )
            return
        actions = [
            CommitAction("delete", path, last_commit_id=last)
            for path, last in sorted(removals.items())
        ]
        actions += [
            CommitAction("create", path, content=text) for path, (text, _) in sorted(writes.items())
        ]
        ctx.commit_sha = ctx.gitlab.commit(
            ctx.project_path,
            branch=ctx.branch,
            message=message,
            actions=actions,
            author_name=author_name,
            author_email=author_email,
        )

    def summary(self, ctx: BootstrapContext) -> str:
        if ctx.commit_sha:
            return f"commit {ctx.commit_sha[:12]} ({len(inventory_of(ctx).removals)} files)"
        return "nothing to commit"


class PruneFlux(ReconcileFlux):
    """Reconcile the source and the Kustomization(s) at the removal commit so Flux
    prunes the HelmRelease and HelmRepository; watch until both are gone. Nothing
    committed: nothing to wait for (never a wait that cannot end)."""

    title = "Reconciling Flux so it prunes the agent"

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        settings = ctx.settings
        if not inventory_of(ctx).removals:
            ctx.flux_state = "nothing to prune"
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
        gone = []
        removals = inventory_of(ctx).removals
        if settings.helm_release_path in removals:
            gone.append(
                ("HelmRelease", settings.helm_release_namespace, settings.helm_release_name)
            )
        if settings.helm_repository_path in removals:
            gone.append(
                (
                    "HelmRepository",
                    settings.helm_repository_namespace,
                    settings.helm_repository_name,
                )
            )
        for gone_kind, namespace, name in gone:
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
        if settings.helm_release_path in removals:
            self._wait_agentk_gone(ctx, deadline)
        ctx.flux_state = "HelmRelease pruned"

    def _wait_agentk_gone(self, ctx: BootstrapContext, deadline: float) -> None:
        """helm-controller uninstalls the release (agentk's Deployment) under the
        HelmRelease's finalizer; wait until it did, so nothing of agentk is left."""
        settings = ctx.settings
        while self.agent_deployments(ctx) or ctx.cluster.helm_release_records(
            settings.helm_release_target_namespace, settings.helm_release_name
        ):
            if time.monotonic() >= deadline:
                raise FluxError(
                    "the HelmRelease is gone but agentk's Deployment is still in "
                    f"{ctx.settings.helm_release_target_namespace}",
                    hint="check helm-controller's logs (flux logs --kind=HelmRelease)",
                )
            time.sleep(POLL_SECONDS)

    def summary(self, ctx: BootstrapContext) -> str:
        return ctx.flux_state or "Flux will prune the agent"


class DeleteTokenSecret:
    name = "secret"
    title = "Deleting the token Secret"

    def __init__(self) -> None:
        self.deleted = False

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        secret = ctx.token_secret
        if secret is None or not inventory_of(ctx).secret_is_ours:
            return []
        meta = secret["metadata"]
        return [Change("delete", f"Secret {meta['namespace']}/{meta['name']}")]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        assert ctx.token_secret is not None
        meta = ctx.token_secret["metadata"]
        ctx.cluster.delete_secret(meta["namespace"], meta["name"])
        # The token lease beside it (left when a run died holding it): this agent's too.
        ctx.cluster.delete_lease(meta["namespace"], f"kasboot-token-{meta['name']}"[:253])
        self.deleted = True
        uninstall_context(ctx).secret_deleted = True

    def summary(self, ctx: BootstrapContext) -> str:
        settings = ctx.settings
        name = f"Secret {settings.helm_release_target_namespace}/"
        name += settings.gitlab_agent_token_secret_name
        if self.deleted:
            return f"{name} deleted"
        return f"{name} {inventory_of(ctx).secret_kept_reason or 'absent'}"


class RevokeTokens:
    name = "tokens"
    title = "Revoking the agent's tokens"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None if ctx.agent else "the agent is not registered"

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        return [Change("revoke", f"agent token {t}") for t in inventory_of(ctx).revoke]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        for token_id in inventory_of(ctx).revoke:
            ctx.gitlab.revoke_token(ctx.project_path, ctx.agent_id, token_id)
            ctx.revoked_token_ids.append(token_id)

    def summary(self, ctx: BootstrapContext) -> str:
        kept = inventory_of(ctx).kept_tokens
        left = f"; left {', '.join(kept)} (not minted by kasboot)" if kept else ""
        if ctx.revoked_token_ids:
            return f"revoked {', '.join(map(str, ctx.revoked_token_ids))}{left}"
        return f"no token of this cluster or of kasboot{left}"


class RemoveEnvironments:
    """Environments kasboot created for this agent: stopped with force=true (no on_stop
    job of anyone's runs), then deleted. Those it only linked: unlinked, or given back
    to the agent that created them. The others: left."""

    name = "environments"
    title = "Removing the agent's environments"

    def __init__(self) -> None:
        self.done: list[str] = []

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None if ctx.agent else "the agent is not registered"

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        return [
            Change(
                plan.action,
                f"environment {plan.name}",
                plan.detail or f"id {plan.environment['id']}, stopped first",
            )
            for plan in inventory_of(ctx).environments
        ]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        for plan in inventory_of(ctx).environments:
            environment_id = int(plan.environment["id"])
            if plan.action == "delete":
                if plan.environment.get("state") != "stopped":
                    ctx.gitlab.stop_environment(ctx.project_path, environment_id)
                ctx.gitlab.delete_environment(ctx.project_path, environment_id)
                uninstall_context(ctx).deleted_environments.append(plan.name)
            else:
                fields: dict[str, Any] = {"cluster_agent_id": plan.relink_to}
                if plan.relink_to is None:
                    # GitLab refuses a namespace (and a Flux path, which needs one) on an
                    # environment without an agent: unlinking clears all three.
                    fields.update(kubernetes_namespace=None, flux_resource_path=None)
                ctx.gitlab.update_environment(ctx.project_path, environment_id, fields)
                uninstall_context(ctx).unlinked_environments.append(plan.name)
            self.done.append(f"{plan.action} {plan.name}")

    def summary(self, ctx: BootstrapContext) -> str:
        kept = inventory_of(ctx).kept_environments
        left = f"; left {', '.join(kept)}" if kept else ""
        return (", ".join(self.done) or "no environment of this agent") + left


class DeleteAgent:
    name = "agent"
    title = "Deleting the agent registration"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None if uninstall_context(ctx).delete_agent else "kept (pass --delete-agent)"

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        if ctx.agent is None:
            return []
        return [Change("delete", f"agent {ctx.agent['name']}", f"id {ctx.agent['id']}")]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        ctx.gitlab.delete_agent(ctx.project_path, ctx.agent_id)
        uninstall_context(ctx).agent_deleted = True

    def summary(self, ctx: BootstrapContext) -> str:
        return f"agent {ctx.settings.agent} " + (
            "deleted" if uninstall_context(ctx).agent_deleted else "not registered"
        )


class DeleteNamespace:
    """With --delete-agent: the target namespace kasboot created for this agent (its
    kasboot/agent annotation names the agent), once nothing but Kubernetes' own
    defaults is left in it. A namespace someone else created, or one still holding
    anything, stays."""

    name = "namespace"
    title = "Deleting the agent's namespace"

    def __init__(self) -> None:
        self._kept = ""
        self._deleted = False

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None if uninstall_context(ctx).delete_agent else "kept (pass --delete-agent)"

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        from kasboot.ownership import secret_owner

        namespace = ctx.settings.helm_release_target_namespace
        found = ctx.cluster.read_namespace(namespace)
        if found is None:
            return []
        if secret_owner(found) != ctx.agent_identity:
            self._kept = f"namespace {namespace} kept: kasboot did not create it for this agent"
            return []
        left = ctx.cluster.namespace_contents(namespace)
        if left:
            self._kept = f"namespace {namespace} kept: it holds {', '.join(sorted(left)[:5])}"
            return []
        return [Change("delete", f"namespace {namespace}", "created by kasboot, now empty")]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        ctx.cluster.delete_namespace(ctx.settings.helm_release_target_namespace)
        self._deleted = True

    def summary(self, ctx: BootstrapContext) -> str:
        if self._deleted:
            return f"namespace {ctx.settings.helm_release_target_namespace} deleted"
        return self._kept or "no namespace left"
