"""Pre-flight checks of local state: everything --commit-via local relies on, checked
before the first write, so that a run which cannot commit stops with nothing written
(before, a run outside a clone registered the agent, minted a token and stored the
Secret, then failed at the commit).

The commit is built on a private index on top of the fetched remote branch, so the
user's working tree, index and checked-out branch do not matter: an unclean or
detached checkout is fine and is not checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kasboot.errors import GitLabError, PreflightError

if TYPE_CHECKING:
    from kasboot.steps.context import BootstrapContext


def check_local_commit(ctx: BootstrapContext, cwd: Path | None = None) -> None:
    """With --commit-via local: the clone, its remote, that the remote is this project,
    and that its branch can be fetched and is where GitLab says it is."""
    if ctx.settings.commit_via != "local":
        return
    from kasboot.localrepo import LocalClone

    # UsageError (exit 2): not a clone, no such remote, a clone of another project.
    clone = LocalClone(cwd or Path.cwd(), ctx.project_path)
    try:
        tip = clone.fetch(ctx.branch)
    except GitLabError as error:
        raise PreflightError(error.message, hint=error.hint) from None
    if ctx.branch_head is not None and tip != ctx.branch_head:
        raise PreflightError(
            f"the clone's remote {clone.remote_name!r} has {ctx.branch} at {tip[:12]}, "
            f"GitLab has it at {ctx.branch_head[:12]}",
            hint=f"point {clone.remote_name!r} at {ctx.project_path} on this GitLab, or use "
            "--commit-via api",
        )
