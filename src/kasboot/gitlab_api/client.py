"""GitLabAPI: the seam's reads and writes on one configured python-gitlab client."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from kasboot.gitlab_api.ancestry import Ancestry
from kasboot.gitlab_api.base import USER_AGENT
from kasboot.gitlab_api.model import RequestLogger
from kasboot.gitlab_api.writes import Writes

if TYPE_CHECKING:
    from kasboot.credentials import GitLabCredentials

__all__ = ["USER_AGENT", "GitLabAPI"]
API = TypeVar("API", bound="GitLabAPI")


class GitLabAPI(Writes, Ancestry):
    """Build with ``GitLabAPI(url, token)`` or, keeping how the token must be sent and
    which CA to trust, ``GitLabAPI.for_credentials(credentials)``."""

    @classmethod
    def for_credentials(
        cls: type[API],
        credentials: GitLabCredentials,
        *,
        request_logger: RequestLogger | None = None,
        ca_file: str | Path | None = None,
    ) -> API:
        return cls(
            credentials.url,
            credentials.token,
            request_logger=request_logger,
            oauth=credentials.kind == "oauth",
            ca_file=ca_file or credentials.ca_file,
            token_source=credentials.source,
        )
