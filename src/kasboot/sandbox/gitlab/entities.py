"""JSON shapes of GitLab's API entities (``API::Entities::*``), built from backend rows."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kasboot.sandbox.gitlab.gitrepo import CommitInfo, TreeEntry
from kasboot.sandbox.gitlab.store import Row

if TYPE_CHECKING:
    from kasboot.sandbox.gitlab.backend import GitLabBackend

_ACCESS_NAMES = {10: "guest", 20: "reporter", 30: "developer", 40: "maintainer", 50: "owner"}


def git_time(value: str) -> str:
    """git's ``2024-05-01T10:00:00+00:00`` in GitLab's shape ``…T10:00:00.000+00:00``."""
    if len(value) >= 25 and value[19] in "+-":
        return f"{value[:19]}.000{value[19:]}"
    if value.endswith("Z"):
        return f"{value[:19]}.000Z"
    return value


class Entities:
    def __init__(self, backend: GitLabBackend) -> None:
        self.backend = backend

    @property
    def base(self) -> str:
        return self.backend.base_url

    def user(self, row: Row, *, private: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": row["id"],
            "username": row["username"],
            "name": row["name"],
            "state": "active",
            "locked": False,
            "avatar_url": None,
            "web_url": f"{self.base}/{row['username']}",
            "created_at": row["created_at"],
            "public_email": row["email"],
        }
        if private:
            data.update(
                email=row["email"],
                commit_email=row.get("commit_email") or row["email"],
                is_admin=False,
                bot=False,
                two_factor_enabled=False,
                can_create_project=True,
                can_create_group=True,
            )
        return data

    @staticmethod
    def personal_access_token(row: Row) -> dict[str, Any]:
        """``API::Entities::PersonalAccessToken`` (the secret itself is never shown)."""
        revoked = bool(row["revoked"])
        return {
            "id": row["id"],
            "name": row["name"],
            "revoked": revoked,
            "created_at": row["created_at"],
            "description": None,
            "scopes": json.loads(row["scopes"]),
            "user_id": row["user_id"],
            "last_used_at": row["last_used_at"],
            "active": not revoked,
            "expires_at": row.get("expires_at"),
        }

    def namespace(self, row: Row) -> dict[str, Any]:
        prefix = "" if row["kind"] == "user" else "groups/"
        return {
            "id": row["id"],
            "name": row["name"],
            "path": row["path"],
            "kind": row["kind"],
            "full_path": row["full_path"],
            "parent_id": row["parent_id"],
            "avatar_url": None,
            "web_url": f"{self.base}/{prefix}{row['full_path']}",
        }

    def _names(self, project: Row) -> tuple[Row, str, str]:
        namespace = self.backend.namespace(int(project["namespace_id"]))
        assert namespace is not None
        full_path = f"{namespace['full_path']}/{project['path']}"
        parts: list[str] = []
        current: Row | None = namespace
        while current is not None:
            parts.insert(0, current["name"])
            parent = current["parent_id"]
            current = self.backend.namespace(int(parent)) if parent else None
        return namespace, full_path, " / ".join([*parts, project["name"]])

    def project_basic(self, project: Row) -> dict[str, Any]:
        _, full_path, full_name = self._names(project)
        return {
            "id": project["id"],
            "description": project["description"],
            "name": project["name"],
            "name_with_namespace": full_name,
            "path": project["path"],
            "path_with_namespace": full_path,
            "created_at": project["created_at"],
        }

    def project(self, project: Row, user_id: int | None = None) -> dict[str, Any]:
        namespace, full_path, _ = self._names(project)
        repo = self.backend.repo(project)
        empty = repo.is_empty()
        host = self.base.split("://", 1)[1].split(":")[0]
        data = {
            **self.project_basic(project),
            "default_branch": None if empty else project["default_branch"],
            "tag_list": [],
            "topics": [],
            "ssh_url_to_repo": f"git@{host}:{full_path}.git",
            "http_url_to_repo": f"{self.base}/{full_path}.git",
            "web_url": f"{self.base}/{full_path}",
            "readme_url": None
            if empty
            else f"{self.base}/{full_path}/-/blob/{project['default_branch']}/README.md",
            "avatar_url": None,
            "forks_count": 0,
            "star_count": 0,
            "last_activity_at": project["created_at"],
            "namespace": self.namespace(namespace),
            "visibility": project["visibility"],
            "empty_repo": empty,
            "archived": False,
            "creator_id": project["creator_id"],
            "open_issues_count": 0,
            "_links": {"self": f"{self.base}/api/v4/projects/{project['id']}"},
        }
        if user_id is not None:
            # GitLab shows the direct project membership and the group's membership;
            # a role through a group share or admin rights appears in neither.
            direct, group = self.backend.membership_levels(project, user_id)
            data["permissions"] = {
                "project_access": {"access_level": direct, "notification_level": 3}
                if direct
                else None,
                "group_access": {"access_level": group, "notification_level": 3} if group else None,
            }
        return data

    def agent(self, agent: Row) -> dict[str, Any]:
        project = self.backend.project_by_id(int(agent["project_id"]))
        assert project is not None
        return {
            "id": agent["id"],
            "name": agent["name"],
            "config_project": self.project_basic(project),
            "created_at": agent["created_at"],
            "created_by_user_id": agent["created_by_user_id"],
            "is_receptive": bool(agent["is_receptive"]),
        }

    @staticmethod
    def agent_token(
        token: Row, *, with_last_used: bool = True, secret: bool = False
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": token["id"],
            "name": token["name"],
            "description": token["description"],
            "agent_id": token["agent_id"],
            "status": token["status"],
            "created_at": token["created_at"],
            "created_by_user_id": token["created_by_user_id"],
        }
        if with_last_used:
            data["last_used_at"] = token["last_used_at"]
        if secret:
            data["token"] = token["token"]
        return data

    def environment(self, row: Row) -> dict[str, Any]:
        agent = (
            self.backend.agents.agent_by_id(int(row["cluster_agent_id"]))
            if row["cluster_agent_id"]
            else None
        )
        data: dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "slug": row["slug"],
            "description": row["description"],
            "external_url": row["external_url"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "tier": row["tier"],
            "state": row["state"],
            "auto_stop_at": None,
            "auto_stop_setting": "always",
        }
        # Exposed only since 17.5, and only when an agent the caller can read is linked:
        # otherwise the keys are absent, not null.
        if agent and self.backend.release.environments_take_agent_fields:
            data["cluster_agent"] = self.agent(agent)
            data["kubernetes_namespace"] = row["kubernetes_namespace"]
            data["flux_resource_path"] = row["flux_resource_path"]
        return data

    def commit(self, info: CommitInfo, project: Row) -> dict[str, Any]:
        _, full_path, _ = self._names(project)
        return {
            "id": info.id,
            "short_id": info.id[:8],
            "created_at": git_time(info.committed_date),
            "parent_ids": info.parent_ids,
            "title": info.title,
            "message": info.message,
            "author_name": info.author_name,
            "author_email": info.author_email,
            "authored_date": git_time(info.authored_date),
            "committer_name": info.committer_name,
            "committer_email": info.committer_email,
            "committed_date": git_time(info.committed_date),
            "trailers": {},
            "extended_trailers": {},
            "web_url": f"{self.base}/{full_path}/-/commit/{info.id}",
        }

    def commit_detail(
        self, info: CommitInfo, project: Row, stats: tuple[int, int]
    ) -> dict[str, Any]:
        return {
            **self.commit(info, project),
            "stats": {"additions": stats[0], "deletions": stats[1], "total": sum(stats)},
            "status": None,
            "project_id": project["id"],
            "last_pipeline": None,
        }

    def branch(self, name: str, info: CommitInfo, project: Row, user_id: int) -> dict[str, Any]:
        _, full_path, _ = self._names(project)
        default = name == project["default_branch"]
        return {
            "name": name,
            "commit": self.commit(info, project),
            "merged": False,
            **self.backend.protected.describe(project, name),
            "can_push": self.backend.protected.can_push(project, user_id, name),
            "default": default,
            "web_url": f"{self.base}/{full_path}/-/tree/{name}",
        }

    @staticmethod
    def tree_entry(entry: TreeEntry) -> dict[str, Any]:
        return {
            "id": entry.id,
            "name": entry.name,
            "type": entry.type,
            "path": entry.path,
            "mode": entry.mode,
        }

    @staticmethod
    def access_name(level: int) -> str:
        return _ACCESS_NAMES.get(level, "none")
