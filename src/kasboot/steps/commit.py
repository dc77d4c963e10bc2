"""Step 7: ONE commit for every staged file (config.yaml, the manifests, any --fix
file), through the GitLab commits API — or, with --commit-via local, in the local
clone, pushed. Each updated file carries its last_commit_id, so a concurrent change
makes GitLab refuse the commit instead of it being overwritten."""

from __future__ import annotations

from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext


def commit_message(ctx: BootstrapContext) -> str:
    lines = [f"Bootstrap GitLab agent {ctx.settings.agent}", ""]
    lines += [f"- {staged.action().action} {path}" for path, staged in sorted(ctx.staged.items())]
    return "\n".join(lines) + "\n"


class CommitFiles:
    name = "commit"
    title = "Syncing Flux Helm resources (one commit)"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        if not ctx.staged:
            return []
        files = ", ".join(sorted(ctx.staged))
        return [Change("commit", f"branch {ctx.branch}", f"{len(ctx.staged)} file(s): {files}")]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        settings = ctx.settings
        author_name, author_email = settings.author_name, settings.author_email
        if settings.use_api_commit_author and settings.commit_via != "local":
            # No author fields, as glab sends: GitLab then writes the user's chosen commit
            # email, not the (maybe private) primary email /user shows.
            author_name = author_email = None
        elif settings.use_api_commit_author:
            author_name = ctx.user.get("name") or ctx.user.get("username")
            author_email = ctx.user.get("commit_email") or ctx.user.get("public_email") or None
        if settings.commit_via == "local":
            from pathlib import Path

            from kasboot.localrepo import LocalClone

            clone = LocalClone(Path.cwd(), ctx.project_path)
            ctx.commit_sha = clone.commit_and_push(
                {path: staged.content for path, staged in ctx.staged.items()},
                message=commit_message(ctx),
                branch=ctx.branch,
                author_name=author_name,
                author_email=author_email,
                parent=ctx.branch_head,  # refuse when the branch moved since pre-flight
            )
            return
        ctx.commit_sha = ctx.gitlab.commit(
            ctx.project_path,
            branch=ctx.branch,
            message=commit_message(ctx),
            actions=[staged.action() for staged in ctx.staged.values()],
            author_name=author_name,
            author_email=author_email,
            expected_head=ctx.branch_head,
        )

    def summary(self, ctx: BootstrapContext) -> str:
        if ctx.commit_sha:
            return f"commit {ctx.commit_sha[:12]} ({len(ctx.staged)} files)"
        if ctx.dry_run and ctx.staged:
            return f"would commit {len(ctx.staged)} file(s) in one commit"
        return "nothing to commit"
