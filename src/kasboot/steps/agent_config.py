"""Step 2: the agent's .gitlab/agents/<agent>/config.yaml, created or merged (comments,
ordering and other keys kept); staged for the single commit, not written here."""

from __future__ import annotations

import difflib

from kasboot.agent_config import merge_agent_config
from kasboot.gitlab_api import RepoFile
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext, StagedFile
from kasboot.steps.gitlab_survey import branch_file


def text_diff(path: str, before: str | None, after: str) -> str:
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}" if before is not None else "/dev/null",
        tofile=f"b/{path}",
    )
    return "".join(lines)


def stage_file(
    ctx: BootstrapContext, path: str, wanted: str, existing: RepoFile | None
) -> list[Change]:
    """Stage ``wanted`` at ``path`` for the commit unless the branch already has exactly it."""
    before = existing.text if existing is not None else None
    if before == wanted:
        ctx.staged.pop(path, None)
        return []
    last_commit_id = existing.last_commit_id if existing is not None else None
    ctx.staged[path] = StagedFile(path, wanted, before, last_commit_id)
    action = "create" if before is None else "update"
    return [Change(action, path, text_diff(path, before, wanted))]


def planned_agent_config(ctx: BootstrapContext) -> tuple[RepoFile | None, bool, str]:
    """(the file on the branch, whether it is already as wanted, the text wanted). A
    file whose blob id is that of a fresh config (what a first run writes) is not
    fetched: merging into it changes nothing."""
    path = ctx.settings.agent_config_path
    fresh = merge_agent_config(None, ctx.project_path)
    existing, same = branch_file(ctx, path, fresh)
    if same:
        return None, True, fresh
    wanted = merge_agent_config(existing.text if existing else None, ctx.project_path)
    return existing, existing is not None and existing.text == wanted, wanted


class ConfigureAgent:
    name = "agent-config"
    title = "Configuring agent"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        existing, same, wanted = planned_agent_config(ctx)
        if same:
            ctx.staged.pop(ctx.settings.agent_config_path, None)
            return []
        return stage_file(ctx, ctx.settings.agent_config_path, wanted, existing)

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        """Nothing to write now: the commit step writes every staged file at once."""

    def summary(self, ctx: BootstrapContext) -> str:
        path = ctx.settings.agent_config_path
        return f"{path} staged for the commit" if path in ctx.staged else f"{path} up to date"
