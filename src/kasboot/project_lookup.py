"""Reading the GitLab project a run works on, with a 404 put in the user's words:
GitLab answers 404 both for a project that does not exist and for one the token's user
may not see, so the error names the project, the GitLab, the user, and where the
project name came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kasboot.errors import GitLabError

if TYPE_CHECKING:
    from kasboot.gitlab_api import GitLabAPI
    from kasboot.gitlab_api.model import ProjectInfo


def project_not_found(path: str, gitlab_url: str, user: dict[str, Any] | None) -> GitLabError:
    username = (user or {}).get("username")
    who = f"the token's user {username!r}" if username else "the token's user"
    return GitLabError(
        f"project {path} not found on {gitlab_url}, or {who} may not see it "
        "(GitLab answers 404 for both)",
        hint=f"check the project path (-R, or see docs/troubleshooting.md for where it comes "
        f"from) and GITLAB_HOST, and that {username or 'the user'} is a member of {path} "
        "(Maintainer to bootstrap)",
        status=404,
    )


def read_project(gitlab: GitLabAPI, path: str, user: dict[str, Any] | None) -> ProjectInfo:
    try:
        return gitlab.project(path)
    except GitLabError as error:
        if error.status == 404:
            raise project_not_found(path, gitlab.url, user) from None
        raise
