"""Writing commits the way GitLab's ``Files::MultiService`` does: validate every action
against the parent tree, then write all of them as one commit, or none."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.gitrepo import (
    BareRepository,
    GitCommandError,
    IndexChange,
    Signature,
)

ACTIONS = ("create", "update", "delete", "move", "chmod")
FILE_EXISTS = "A file with this name already exists"
FILE_MISSING = "A file with this name doesn't exist"
NOT_ON_BRANCH = "You can only create or edit files when you are on a branch"


@dataclass
class CommitRequest:
    branch: str
    message: str
    actions: list[dict[str, Any]]
    author: Signature
    committer: Signature
    start_branch: str | None = None
    start_sha: str | None = None
    force: bool = False
    # Messages the files API uses instead of the commits API's for a stale last_commit_id.
    stale_messages: dict[str, str] = field(default_factory=dict)


def decode_content(action: dict[str, Any], where: str) -> bytes | None:
    content = action.get("content")
    if content is None:
        return None
    encoding = action.get("encoding") or "text"
    if encoding == "text":
        return str(content).encode()
    if encoding == "base64":
        try:
            return base64.b64decode(str(content), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise err.api_error(f"{where} is not valid base64", 400) from exc
    raise err.invalid_param(f"{where}encoding", "does not have a valid value")


def validate_shape(actions: Any) -> list[dict[str, Any]]:
    """Grape's parameter checks on ``actions`` (missing/invalid values → ``{"error": …}``)."""
    if not isinstance(actions, list) or not actions:
        raise err.missing_param("actions")
    for index, action in enumerate(actions):
        where = f"actions[{index}]"
        if not isinstance(action, dict):
            raise err.invalid_param(where)
        if action.get("action") is None:
            raise err.missing_param(f"{where}[action]")
        if action["action"] not in ACTIONS:
            raise err.invalid_param(f"{where}[action]", "does not have a valid value")
        if not action.get("file_path"):
            raise err.missing_param(f"{where}[file_path]")
        if action["action"] == "move" and not action.get("previous_path"):
            raise err.missing_param(f"{where}[previous_path]")
    return actions


def _clean_path(path: str) -> str:
    cleaned = path.strip("/")
    parts = cleaned.split("/")
    if not cleaned or any(part in ("", ".", "..", ".git") for part in parts):
        raise err.api_error(
            "Your changes could not be committed, because the file path is invalid", 400
        )
    return cleaned


def write_commit(repo: BareRepository, request: CommitRequest) -> str:
    """Validates and writes ``request``; returns the new commit's sha."""
    with repo.lock:
        branches = repo.branches()
        current = branches.get(request.branch)
        base: str | None = None
        if request.start_sha:
            base = repo.resolve(request.start_sha)
            if base is None:
                raise err.api_error(f"Cannot find start_sha '{request.start_sha}'", 400)
        elif request.start_branch:
            base = branches.get(request.start_branch)
            if base is None:
                raise err.api_error(f"Invalid start branch name '{request.start_branch}'", 400)
        starts_elsewhere = bool(request.start_sha) or (
            bool(request.start_branch) and request.start_branch != request.branch
        )
        parent: str | None
        if current is not None:
            if starts_elsewhere and not request.force:
                raise err.api_error(
                    f"A branch called '{request.branch}' already exists. "
                    "Switch to that branch in order to make changes",
                    400,
                )
            parent = base if starts_elsewhere else current
        elif base is not None:
            parent = base
        elif branches:
            raise err.api_error(NOT_ON_BRANCH, 400)
        else:
            parent = None  # the first commit of an empty repository
        if current is None and not repo.valid_branch_name(request.branch):
            raise err.api_error(f"Branch name is invalid: {request.branch}", 400)
        changes = _plan_changes(repo, parent, request)
        try:
            return repo.commit_changes(
                branch=request.branch,
                parent=parent,
                changes=changes,
                message=request.message,
                author=request.author,
                committer=request.committer,
                expected_old=current,
            )
        except GitCommandError as exc:
            if "update-ref" in str(exc):
                raise err.api_error(
                    f"Could not update branch {request.branch}. Try again.", 400
                ) from exc
            raise err.api_error(
                f"Your changes could not be committed: {exc.stderr.strip()}"
            ) from exc


def _plan_changes(
    repo: BareRepository, parent: str | None, request: CommitRequest
) -> list[IndexChange]:
    """The index changes for every action, checked in order against the evolving tree."""
    # path → (mode, blob id) in the parent tree; a new content's blob is written with
    # the commit (gitrepo.commit_changes), so it is held as (mode, None, content).
    files: dict[str, tuple[str, str | None, bytes | None]] = {}
    if parent is not None:
        for entry in repo.blob_entries(parent):
            files[entry.path] = (entry.mode, entry.id, None)
    changes: list[IndexChange] = []
    for index, action in enumerate(request.actions):
        kind = action["action"]
        path = _clean_path(str(action["file_path"]))
        content = decode_content(action, f"actions[{index}][content]")
        if kind != "create" and action.get("last_commit_id") and parent is not None:
            source = path if kind != "move" else _clean_path(str(action["previous_path"]))
            last = repo.last_commit_touching(parent, source)
            if last != action["last_commit_id"]:
                raise err.api_error(
                    request.stale_messages.get(
                        kind, f"The file has changed since you started editing it: {path}"
                    ),
                    400,
                )
        if kind == "create":
            if path in files:
                raise err.api_error(FILE_EXISTS, 400)
            mode = "100755" if action.get("execute_filemode") else "100644"
            files[path] = (mode, None, content or b"")
            changes.append(IndexChange(path=path, content=content or b"", mode=mode))
        elif kind in ("update", "chmod", "delete"):
            if path not in files:
                raise err.api_error(FILE_MISSING, 400)
            mode, blob, data = files[path]
            if kind == "delete":
                del files[path]
                changes.append(IndexChange(path=path))
                continue
            if kind == "update":
                blob, data = None, content or b""
            if action.get("execute_filemode") is not None:
                mode = "100755" if action["execute_filemode"] else "100644"
            files[path] = (mode, blob, data)
            changes.append(_staged(path, mode, blob, data))
        else:  # move
            previous = _clean_path(str(action["previous_path"]))
            if previous not in files:
                raise err.api_error(FILE_MISSING, 400)
            if path in files and path != previous:
                raise err.api_error(FILE_EXISTS, 400)
            mode, blob, data = files.pop(previous)
            if content is not None:
                blob, data = None, content
            files[path] = (mode, blob, data)
            changes.append(IndexChange(path=previous))
            changes.append(_staged(path, mode, blob, data))
    return changes


def _staged(path: str, mode: str, blob: str | None, data: bytes | None) -> IndexChange:
    """A path set to an existing blob, or to a content written with the commit."""
    if blob is not None:
        return IndexChange(path=path, mode=mode, blob_id=blob)
    return IndexChange(path=path, content=data or b"", mode=mode)
