"""GitLab's side: reachable and its version, the token (valid, scope `api`, expiry),
the project and branch (and the caller's role), KAS. Each check learns what the next
one needs and the next is skipped, not failed, when it cannot be asked."""

from __future__ import annotations

from datetime import date, timedelta

from kasboot.doctor.context import DoctorContext
from kasboot.doctor.model import Check, failed, failed_with, passed, skipped, warned
from kasboot.errors import ExitCode, GitLabError
from kasboot.project_lookup import read_project

REQUIRED_SCOPE = "api"
MAINTAINER = 40
EXPIRY_WARNING_DAYS = 7
_ROLES = {10: "Guest", 20: "Reporter", 30: "Developer", 40: "Maintainer", 50: "Owner"}


def check_gitlab(ctx: DoctorContext) -> Check:
    title = "GitLab"
    if ctx.gitlab is None:
        assert ctx.gitlab_error is not None
        return failed_with("gitlab", title, ctx.gitlab_error)
    try:
        ctx.metadata = ctx.gitlab.metadata_once()
    except GitLabError as error:
        if error.status in (401, 403):
            # It answered: reachable. What the token may do is the next line's business.
            ctx.gitlab_answers = True
            return passed(
                "gitlab", title, f"{ctx.gitlab.url} answers (version hidden: {error.status})"
            )
        return failed_with("gitlab", title, error)
    ctx.gitlab_answers = True
    version = ctx.metadata.get("version", "?")
    return passed("gitlab", title, f"{ctx.gitlab.url} answers, GitLab {version}")


def check_token(ctx: DoctorContext) -> Check:
    title = "Token"
    if ctx.gitlab is None or not ctx.gitlab_answers:
        return skipped("token", title, "GitLab did not answer")
    try:
        user = ctx.gitlab.current_user()
        info = ctx.gitlab.token_self()
    except GitLabError as error:
        return failed_with("token", title, error)
    ctx.token_valid = True
    ctx.user = user
    who = f"valid for {user.get('username', '?')}"
    if info is None:
        return warned(
            "token",
            title,
            f"{who}; its scopes are unknown (GitLab shows them only for a personal, "
            "project or group access token, not an OAuth token)",
            f"make sure the token has the '{REQUIRED_SCOPE}' scope",
        )
    scopes = sorted(str(scope) for scope in info.get("scopes") or [])
    expiry = _expiry(info.get("expires_at"), ctx.now.date())
    summary = f"{who}, scopes {', '.join(scopes) or 'none'}, {expiry[0]}"
    if REQUIRED_SCOPE not in scopes:
        ctx.token_valid = False
        return failed(
            "token",
            title,
            f"{summary}: bootstrap needs the '{REQUIRED_SCOPE}' scope",
            f"create a personal access token with the '{REQUIRED_SCOPE}' scope and set "
            "GITLAB_TOKEN to it",
            # bootstrap refuses such a token in pre-flight (3), before GitLab's 403 (4)
            ExitCode.PREFLIGHT,
        )
    if expiry[1]:
        return warned("token", title, summary, "create a new token before this one expires")
    return passed("token", title, summary)


def _expiry(expires_at: object, today: date) -> tuple[str, bool]:
    """(how to say it, whether it is soon)."""
    if not expires_at:
        return "no expiry", False
    try:
        day = date.fromisoformat(str(expires_at)[:10])
    except ValueError:
        return f"expires {expires_at}", False
    left = (day - today).days
    return f"expires {day.isoformat()} (in {left} days)", day - today <= timedelta(
        days=EXPIRY_WARNING_DAYS
    )


def check_project(ctx: DoctorContext) -> Check:
    title = "Project"
    if ctx.project_error is not None:
        return failed_with("project", title, ctx.project_error)
    if ctx.gitlab is None or not ctx.token_valid or ctx.project_path is None:
        return skipped("project", title, "needs GitLab and a valid token")
    try:
        ctx.project = read_project(ctx.gitlab, ctx.project_path, ctx.user)
        ctx.branch = ctx.settings.manifest_branch or ctx.project.default_branch
        branch = ctx.gitlab.branch(ctx.project.path, ctx.branch)
        head = branch.head if branch else None
        level = ctx.gitlab.project_access_level(ctx.project.path)
    except GitLabError as error:
        ctx.project = None
        return failed_with("project", title, error)
    summary = f"{ctx.project.path}, default branch {ctx.project.default_branch}"
    if head is None:
        return failed(
            "project",
            title,
            f"{summary}; branch {ctx.branch!r} does not exist",
            "create it first, or pass --manifest-branch with an existing branch",
            ExitCode.PREFLIGHT,
        )
    if ctx.branch != ctx.project.default_branch:
        summary += f", manifests go to {ctx.branch}"
    if branch is not None and not branch.can_push and ctx.settings.commit_via != "local":
        return failed(
            "project",
            title,
            f"{summary}; the token may not push to branch {ctx.branch!r}",
            "pass --manifest-branch with a branch you may push to, let your role push in "
            "Settings > Repository > Protected branches, or use --commit-via local",
            ExitCode.PREFLIGHT,
        )
    if level is None or level < MAINTAINER:
        # GitLab's permissions leave out roles from group shares and admin rights, so a
        # low (or missing) level is a hint, not a proof: warn, do not fail.
        role = _ROLES.get(level, str(level)) if level else "not shown"
        return warned(
            "project",
            title,
            f"{summary}; your role as GitLab shows it: {role}",
            "registering agents and minting their tokens needs the Maintainer role (a role "
            "through a group share or admin rights is not shown here)",
        )
    return passed("project", title, f"{summary}, role {_ROLES.get(level, str(level))}")


def check_kas(ctx: DoctorContext) -> Check:
    title = "KAS"
    if not ctx.metadata:
        return skipped("kas", title, "GitLab's /metadata could not be read")
    kas = ctx.kas
    if not kas.get("enabled") or not kas.get("externalUrl"):
        return failed(
            "kas",
            title,
            "KAS is not configured in this GitLab instance, so an agent has nowhere to connect",
            "ask your GitLab administrator to enable the agent server (KAS)",
            ExitCode.PREFLIGHT,
        )
    return passed(
        "kas", title, f"enabled at {kas['externalUrl']}, version {kas.get('version') or '?'}"
    )
