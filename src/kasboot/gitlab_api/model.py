"""What the GitLab seam hands back: small frozen records in kasboot's words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RequestLogger = Callable[[str, str, int, float], None]


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    path: str
    default_branch: str
    http_url: str
    web_url: str
    ssh_url: str = ""


@dataclass(frozen=True)
class BranchInfo:
    name: str
    head: str
    protected: bool
    can_push: bool  # GitLab's verdict for the caller (``can_push`` of the branch API)


@dataclass(frozen=True)
class RepoFile:
    path: str
    content: bytes
    last_commit_id: str

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")


@dataclass(frozen=True)
class CommitAction:
    action: str  # create | update | delete
    path: str
    content: str | None = None
    last_commit_id: str | None = None

    def as_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"action": self.action, "file_path": self.path}
        if self.content is not None:
            body["content"] = self.content
        if self.last_commit_id:
            body["last_commit_id"] = self.last_commit_id
        return body


@dataclass(frozen=True)
class NewToken:
    id: int
    name: str
    secret: str  # never printed; lives only in memory until it is in the cluster Secret

    def __repr__(self) -> str:
        return f"NewToken(id={self.id}, name={self.name!r}, secret=<redacted>)"
