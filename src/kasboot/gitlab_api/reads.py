"""The seam's reads: instance, project, branch, files, agents, tokens, environments."""

from __future__ import annotations

import base64
from typing import Any

from kasboot.gitlab_api.base import Client
from kasboot.gitlab_api.model import BranchInfo, ProjectInfo, RepoFile


def is_active(token: dict[str, Any]) -> bool:
    """GitLab before 16.0 lists revoked agent tokens too; only ``active`` ones count."""
    return str(token.get("status") or "active") == "active"


class Reads(Client):
    def current_user(self) -> dict[str, Any]:
        with self._errors("checking the token"):
            self._gl.auth()
            assert self._gl.user is not None
            return dict(self._gl.user.attributes)

    def version(self) -> dict[str, Any]:
        with self._errors("reading GitLab's version"):
            return dict(self._gl.http_get("/version"))  # type: ignore[arg-type]

    def metadata(self) -> dict[str, Any]:
        with self._errors("reading GitLab's metadata"):
            return dict(self._gl.http_get("/metadata"))  # type: ignore[arg-type]

    def metadata_once(self) -> dict[str, Any]:
        """GitLab's /metadata in ONE attempt: a GitLab that is down is reported at once."""
        with self._errors("reading GitLab's metadata"):
            return dict(self._gl.http_get("/metadata", retry_transient_errors=False))  # type: ignore[arg-type]

    def project(self, path: str) -> ProjectInfo:
        if path in self._project_infos:
            return self._project_infos[path]
        project = self._project(path)
        return ProjectInfo(
            id=int(project.id),
            path=str(project.path_with_namespace),
            default_branch=str(project.default_branch or "main"),
            http_url=str(project.http_url_to_repo),
            web_url=str(project.web_url),
            ssh_url=str(getattr(project, "ssh_url_to_repo", "") or ""),
        )

    def branch(self, project: str, branch: str) -> BranchInfo | None:
        """The branch with GitLab's ``can_push`` for the caller; None when it is missing."""
        import gitlab

        with self._errors(f"reading branch {branch}"):
            try:
                found = self._project(project).branches.get(branch)
            except gitlab.exceptions.GitlabGetError as error:
                if error.response_code == 404:
                    return None
                raise
            return BranchInfo(
                name=str(found.name),
                head=str(found.commit["id"]),
                protected=bool(getattr(found, "protected", False)),
                can_push=bool(getattr(found, "can_push", True)),
            )

    def branch_head(self, project: str, branch: str) -> str | None:
        found = self.branch(project, branch)
        return found.head if found else None

    def get_file(self, project: str, path: str, ref: str) -> RepoFile | None:
        key = (project, path, ref)
        if key not in self._files:
            self._files[key] = self._read_file(project, path, ref)
        found: RepoFile | None = self._files[key]
        return found

    def _read_file(self, project: str, path: str, ref: str) -> RepoFile | None:
        import gitlab

        with self._errors(f"reading {path}"):
            try:
                found = self._project(project).files.get(file_path=path, ref=ref)
            except gitlab.exceptions.GitlabGetError as error:
                if error.response_code == 404:
                    return None
                raise
            return RepoFile(path, base64.b64decode(found.content), str(found.last_commit_id))

    def tree(self, project: str, ref: str, path: str = "") -> list[str]:
        """Every file path under ``path`` at ``ref`` (recursive, all pages). Only regular
        files (mode 100644/100755): GitLab lists symlinks (120000) and submodules
        (160000) too, which have no content to read."""
        import gitlab

        with self._errors("reading the repository tree"):
            try:
                entries = self._project(project).repository_tree(
                    path=path, ref=ref, recursive=True, get_all=True, per_page=100
                )
            except gitlab.exceptions.GitlabGetError as error:
                if error.response_code == 404:
                    return []
                raise
            return [
                str(entry["path"])
                for entry in entries
                if entry["type"] == "blob" and str(entry.get("mode", "100644")) != "120000"
            ]

    # -- agents and tokens ---------------------------------------------------

    def find_agent(self, project: str, name: str) -> dict[str, Any] | None:
        # The REST API has no name filter: page through all agents, 100 at a time.
        with self._errors("listing agents"):
            for agent in self._project(project).cluster_agents.list(iterator=True, per_page=100):
                if agent.name == name:
                    return dict(agent.attributes)
        return None

    def list_agents(self, project: str) -> list[dict[str, Any]]:
        """Every agent registered in the project (all pages)."""
        with self._errors("listing agents"):
            return [
                dict(agent.attributes)
                for agent in self._project(project).cluster_agents.list(iterator=True, per_page=100)
            ]

    def _tokens_path(self, project: str, agent_id: int) -> str:
        project_id = self._project(project).id
        return f"/projects/{project_id}/cluster_agents/{agent_id}/tokens"

    def active_tokens(self, project: str, agent_id: int) -> list[dict[str, Any]]:
        with self._errors("listing agent tokens"):
            listed = self._gl.http_list(
                self._tokens_path(project, agent_id), get_all=True, per_page=100
            )
            return [dict(token) for token in listed if is_active(dict(token))]

    def get_token(self, project: str, agent_id: int, token_id: int) -> dict[str, Any] | None:
        """One token with ``last_used_at``; None when revoked (GitLab answers 404, or
        before 16.0 shows it with ``status: revoked``)."""
        import gitlab

        with self._errors("reading an agent token"):
            try:
                found = dict(
                    self._gl.http_get(f"{self._tokens_path(project, agent_id)}/{token_id}")  # type: ignore[arg-type]
                )
            except gitlab.exceptions.GitlabHttpError as error:
                if error.response_code == 404:
                    return None
                raise
            return found if is_active(found) else None

    # -- environments ------------------------------------------------------

    def find_environment(self, project: str, name: str) -> dict[str, Any] | None:
        with self._errors(f"looking up environment {name}"):
            for environment in self._project(project).environments.list(
                name=name, iterator=True, per_page=100
            ):
                if environment.name == name:
                    return dict(environment.attributes)
        return None

    def list_environments(self, project: str) -> list[dict[str, Any]]:
        """Every environment of the project (all pages)."""
        with self._errors("listing environments"):
            return [
                dict(environment.attributes)
                for environment in self._project(project).environments.list(
                    iterator=True, per_page=100
                )
            ]

    # -- doctor and status ---------------------------------------------------

    def token_self(self) -> dict[str, Any] | None:
        """The access token in use (``scopes``, ``expires_at``, ``active``), from ``GET
        /personal_access_tokens/self``; None when GitLab cannot say: a token that is not
        a personal/project/group access token (an OAuth token) is answered 400, an
        older GitLab 404."""
        import gitlab

        with self._errors("reading the token's scopes"):
            try:
                return dict(self._gl.http_get("/personal_access_tokens/self"))  # type: ignore[arg-type]
            except gitlab.exceptions.GitlabHttpError as error:
                if error.response_code in (400, 404):
                    return None
                raise

    def project_access_level(self, project: str) -> int | None:
        """The caller's role on the project (10 guest … 40 maintainer, 50 owner), the
        higher of its project and group membership; None when GitLab does not say.
        GitLab leaves out roles from group shares and admin rights, so a low or missing
        level is a hint, not a proof."""
        permissions = getattr(self._project(project), "permissions", None) or {}
        levels = [
            int(access["access_level"])
            for access in (permissions.get("project_access"), permissions.get("group_access"))
            if isinstance(access, dict) and access.get("access_level") is not None
        ]
        return max(levels) if levels else None

    def effective_access_level(self, project: str, user_id: int) -> int | None:
        """The user's role on the project counting ancestor groups and invited groups
        (``members/all/:user_id``); None when GitLab shows no membership (no member, or
        an administrator who is none)."""
        import gitlab

        path = f"/projects/{self._project(project).id}/members/all/{int(user_id)}"
        with self._errors(f"reading your role on {project}"):
            try:
                member = self._gl.http_get(path)
            except gitlab.exceptions.GitlabHttpError as error:
                if error.response_code == 404:
                    return None
                raise
        level = member.get("access_level") if isinstance(member, dict) else None
        return int(level) if level is not None else None
