"""Seam: the few GitLab calls kasboot makes, in kasboot's words.

python-gitlab underneath (imported lazily: it is heavy). Reads use its retry of
429/5xx (honouring Retry-After); writes that are not idempotent are sent once and, when
the answer is unclear (5xx, a dropped connection, a timeout), GitLab is read again
before anything is decided. Errors come out as GitLabError carrying GitLab's own
message and exit code 4; nothing here prints."""

from __future__ import annotations

from urllib.parse import quote

from kasboot.gitlab_api.client import USER_AGENT, GitLabAPI
from kasboot.gitlab_api.model import (
    BranchInfo,
    CommitAction,
    NewToken,
    ProjectInfo,
    RepoFile,
    RequestLogger,
)

__all__ = [
    "USER_AGENT",
    "BranchInfo",
    "CommitAction",
    "GitLabAPI",
    "NewToken",
    "ProjectInfo",
    "RepoFile",
    "RequestLogger",
    "quote_path",
]


def quote_path(path: str) -> str:
    return quote(path, safe="")
