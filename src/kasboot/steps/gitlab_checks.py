"""Pre-flight checks of what GitLab will allow, so that a refusal comes before the first
write instead of at the commit step, after the agent, environments, token and Secret."""

from __future__ import annotations

from kasboot.doctor.versions import parse_version
from kasboot.errors import GitLabError, PreflightError
from kasboot.gitlab_api import BranchInfo
from kasboot.steps.context import BootstrapContext


def check_branch(ctx: BootstrapContext, read: list[BranchInfo | None] | None = None) -> None:
    """The branch exists and the token may push to it (GitLab's ``can_push``). ``read``:
    the branch as already read (one element), else it is read now."""
    found = read[0] if read else ctx.gitlab.branch(ctx.project_path, ctx.branch)
    if found is None:
        raise PreflightError(
            f"branch {ctx.branch!r} does not exist in {ctx.project_path}",
            hint="create it first, or pass --manifest-branch with an existing branch",
        )
    ctx.branch_head = found.head
    if found.can_push or ctx.settings.commit_via == "local":
        return  # a local push uses the clone's own git credentials, not this token
    protected = " (a protected branch)" if found.protected else ""
    raise PreflightError(
        f"the GitLab token may not push to branch {ctx.branch!r}{protected} of "
        f"{ctx.project_path}, so the commit would be refused after everything else was "
        "written",
        hint="pass --manifest-branch with a branch you may push to, let your role push in "
        "Settings > Repository > Protected branches, or commit with --commit-via local",
    )


OLDEST_SUPPORTED = "15.2"  # GET /metadata (KAS address and version) appeared in 15.2


def read_metadata(ctx: BootstrapContext) -> None:
    """GitLab's /metadata (or what the survey's GraphQL metadata said); a GitLab without
    it (before 15.2) is refused, exit 3."""
    if ctx.gitlab_survey is not None:
        ctx.metadata = dict(ctx.gitlab_survey.metadata)
        version = parse_version(str(ctx.metadata.get("version") or ""))
        if version is not None and (version.major, version.minor) < (15, 2):
            raise PreflightError(
                f"GitLab at {ctx.gitlab.url} is {version.major}.{version.minor}, older than "
                f"{OLDEST_SUPPORTED}, the oldest GitLab kasboot supports (no /metadata API)",
                hint=f"upgrade GitLab to {OLDEST_SUPPORTED} or later (16.x or newer advised)",
            )
        return
    try:
        ctx.metadata = ctx.gitlab.metadata()
    except GitLabError as error:
        if error.status != 404:
            raise
        raise PreflightError(
            f"GitLab at {ctx.gitlab.url} has no /metadata API, so it is older than "
            f"{OLDEST_SUPPORTED}, the oldest GitLab kasboot supports",
            hint=f"upgrade GitLab to {OLDEST_SUPPORTED} or later (16.x or newer advised)",
        ) from None
