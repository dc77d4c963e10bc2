"""Repository endpoints' rules: files, tree, commits and branches over the bare repository."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.commits import CommitRequest, validate_shape, write_commit
from kasboot.sandbox.gitlab.gitrepo import BareRepository, CommitInfo, Signature, TreeEntry
from kasboot.sandbox.gitlab.store import Row

if TYPE_CHECKING:
    from kasboot.sandbox.gitlab.backend import GitLabBackend, Principal

REPORTER, DEVELOPER, MAINTAINER = 20, 30, 40
_FILE_STALE = {
    "update": "You are attempting to update a file that has changed since you started editing it.",
    "delete": "You are attempting to delete a file that has been previously updated.",
}


class RepositoryBackend:
    def __init__(self, core: GitLabBackend) -> None:
        self.core = core

    def _readable(self, project: Row, principal: Principal) -> BareRepository:
        self.core.require_access(project, principal, REPORTER)
        return self.core.repo(project)

    def _commit_for(self, repo: BareRepository, ref: str, missing: str = "Commit") -> str:
        sha = repo.resolve(ref)
        if sha is None:
            raise err.not_found(missing)
        return sha

    def require_push(self, project: Row, principal: Principal, branch: str) -> None:
        """Developer at least, and allowed by the branch's protections (protected.py)."""
        level = self.core.access_level(project, principal.user_id)
        if level < DEVELOPER:
            raise err.forbidden()
        if not self.core.protected.can_push(project, principal.user_id, branch):
            raise err.forbidden("You are not allowed to push into this branch")

    # -- files ---------------------------------------------------------------
    def file(self, project: Row, principal: Principal, file_path: str, ref: str) -> dict[str, Any]:
        """File metadata and content (bytes under ``raw``) at ``ref``."""
        repo = self._readable(project, principal)
        commit = self._commit_for(repo, ref)
        entry = repo.entry(commit, file_path.strip("/"))
        if entry is None or entry.type != "blob":
            raise err.not_found("File")
        content = repo.blob(entry.id)
        return {
            "file_name": entry.name,
            "file_path": entry.path,
            "size": len(content),
            "encoding": "base64",
            "content_sha256": hashlib.sha256(content).hexdigest(),
            "ref": ref,
            "blob_id": entry.id,
            "commit_id": commit,
            "last_commit_id": repo.last_commit_touching(commit, entry.path),
            "execute_filemode": entry.mode == "100755",
            "raw": content,
        }

    def write_file(
        self,
        project: Row,
        principal: Principal,
        action: str,
        file_path: str,
        params: dict[str, Any],
    ) -> str:
        """One files-API write (create/update/delete) as one commit; returns its sha."""
        for name in ("branch", "commit_message") + (("content",) if action != "delete" else ()):
            if params.get(name) is None:
                raise err.missing_param(name)
        branch = str(params["branch"])
        self.require_push(project, principal, branch)
        entry = {
            "action": action,
            "file_path": file_path,
            "content": params.get("content"),
            "encoding": params.get("encoding"),
            "last_commit_id": params.get("last_commit_id"),
            "execute_filemode": params.get("execute_filemode"),
        }
        request = self._request(project, principal, params, [entry])
        request.stale_messages = _FILE_STALE
        return write_commit(self.core.repo(project), request)

    # -- commits -------------------------------------------------------------
    def _request(
        self,
        project: Row,
        principal: Principal,
        params: dict[str, Any],
        actions: list[dict[str, Any]],
    ) -> CommitRequest:
        user = principal.user
        author = Signature(
            str(params.get("author_name") or user["name"]),
            # Without author fields GitLab writes the user's chosen commit email.
            str(params.get("author_email") or user.get("commit_email") or user["email"]),
        )
        return CommitRequest(
            branch=str(params["branch"]),
            message=str(params["commit_message"]),
            actions=actions,
            author=author,
            committer=Signature(user["name"], user["email"]),
            start_branch=params.get("start_branch") or None,
            start_sha=params.get("start_sha") or None,
            force=str(params.get("force", "")).lower() in ("true", "1"),
        )

    def create_commit(
        self, project: Row, principal: Principal, params: dict[str, Any]
    ) -> tuple[BareRepository, str]:
        for name in ("branch", "commit_message", "actions"):
            if params.get(name) is None:
                raise err.missing_param(name)
        actions = validate_shape(params["actions"])
        self.require_push(project, principal, str(params["branch"]))
        repo = self.core.repo(project)
        return repo, write_commit(repo, self._request(project, principal, params, actions))

    def commits(
        self, project: Row, principal: Principal, ref_name: str | None, path: str | None
    ) -> list[CommitInfo]:
        repo = self._readable(project, principal)
        if repo.is_empty():
            return []
        ref = ref_name or project["default_branch"]
        commit = repo.resolve(ref)
        if commit is None:
            raise err.not_found("Commit")  # GitLab: 404 for an unknown ref_name
        return repo.log(commit, path=path or None)

    def commit(
        self, project: Row, principal: Principal, sha: str
    ) -> tuple[BareRepository, CommitInfo]:
        repo = self._readable(project, principal)
        info = repo.commit_info(sha) if repo.resolve(sha) else None
        if info is None:
            raise err.not_found("Commit")
        return repo, info

    # -- tree ----------------------------------------------------------------
    def tree(
        self, project: Row, principal: Principal, path: str | None, ref: str | None, recursive: bool
    ) -> list[TreeEntry]:
        repo = self._readable(project, principal)
        if repo.is_empty():
            return []
        commit = repo.resolve(ref or project["default_branch"])
        if commit is None:
            raise err.not_found("Tree")
        entries = repo.tree_entries(commit, path or "", recursive)
        if entries is None:
            raise err.not_found("Tree")
        if not recursive:  # GitLab lists trees before blobs in a flat listing
            entries.sort(key=lambda entry: entry.type != "tree")
        return entries

    # -- branches ------------------------------------------------------------
    def branches(
        self, project: Row, principal: Principal, search: str | None = None
    ) -> list[tuple[str, CommitInfo]]:
        repo = self._readable(project, principal)
        found = []
        for name, sha in sorted(repo.branches().items()):
            if search and search.lower() not in name.lower():
                continue
            found.append((name, repo.tip_info(sha)))
        return found

    def branch(self, project: Row, principal: Principal, name: str) -> tuple[str, CommitInfo]:
        repo = self._readable(project, principal)
        sha = repo.branches().get(name)
        if not sha:
            raise err.not_found("Branch")
        return name, repo.tip_info(sha)

    def delete_branch(self, project: Row, principal: Principal, name: str) -> None:
        """``DELETE …/repository/branches/:branch`` (lib/api/branches.rb, then
        DeleteBranchService): 404 for a missing branch, 405 for the default one."""
        repo = self._readable(project, principal)
        if name not in repo.branches():
            raise err.not_found("Branch")
        if name == project["default_branch"]:
            raise err.api_error("Cannot remove HEAD branch", 405)
        self.require_push(project, principal, name)
        with repo.lock:
            repo.git("update-ref", "-d", f"refs/heads/{name}")

    def create_branch(
        self, project: Row, principal: Principal, name: Any, ref: Any
    ) -> tuple[str, CommitInfo]:
        if name is None:
            raise err.missing_param("branch")
        if ref is None:
            raise err.missing_param("ref")
        self.require_push(project, principal, str(name))
        repo = self.core.repo(project)
        with repo.lock:
            if str(name) in repo.branches():
                raise err.api_error("Branch already exists", 400)
            if not repo.valid_branch_name(str(name)):
                raise err.api_error("Branch name is invalid", 400)
            sha = repo.resolve(str(ref))
            if sha is None:
                raise err.api_error("Invalid reference name: " + str(ref), 400)
            repo.create_branch(str(name), sha)
        info = repo.commit_info(sha)
        assert info is not None
        return str(name), info
