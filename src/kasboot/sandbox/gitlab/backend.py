"""The GitLab emulator's state and rules: users, tokens, namespaces, projects, roles, KAS.

Feature areas (agents, environments, repository) live in their own modules and share
this backend's store and access checks; HTTP never reaches here, only Python calls."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.agents import AgentsBackend
from kasboot.sandbox.gitlab.environments import EnvironmentsBackend
from kasboot.sandbox.gitlab.gitrepo import BareRepository, IndexChange, Signature
from kasboot.sandbox.gitlab.identity import Identities, Principal
from kasboot.sandbox.gitlab.protected import ProtectedBranches
from kasboot.sandbox.gitlab.repository import RepositoryBackend
from kasboot.sandbox.gitlab.store import Row, Store, now_iso
from kasboot.sandbox.gitlab.versions import (
    DEFAULT_GITLAB_VERSION,
    Release,
    normalise_kas_version,
)

GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50
READ_SCOPES = ["api", "read_api"]
WRITE_SCOPES = ["api"]
USER_READ_SCOPES = ["api", "read_api", "read_user"]
_PATH_RE = re.compile(r"\A[a-zA-Z0-9_][a-zA-Z0-9_.-]*\Z")


class GitLabBackend(Identities):
    def __init__(
        self,
        state_dir: Path,
        *,
        base_url: str,
        kas_enabled: bool = True,
        kas_version: str | None = DEFAULT_GITLAB_VERSION,
        gitlab_version: str = DEFAULT_GITLAB_VERSION,
        external_url: str | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.base_url = base_url.rstrip("/")
        # The URL GitLab believes it lives at (gitlab.rb's external_url): links it writes
        # (pagination, web_url) use it, whatever address the request came in on.
        self.external_url = (external_url or base_url).rstrip("/")
        self.gitlab_version = gitlab_version
        self.release = Release(gitlab_version)
        self.repositories_root = state_dir / "repositories"
        self.repositories_root.mkdir(parents=True, exist_ok=True)
        self.store = Store(state_dir / "gitlab.sqlite3")
        self._repositories: dict[int, BareRepository] = {}
        self._repositories_lock = threading.Lock()
        # The instance's configuration is given at start; an explicit external URL
        # set earlier through set_kas() is kept.
        kas = self.store.get_setting("kas", {})
        kas.update({"enabled": kas_enabled, "version": normalise_kas_version(kas_version)})
        self.store.put_setting("kas", kas)
        self.agents = AgentsBackend(self)
        # Receptive agents (url_configurations.py): the licence's cluster_receptive_agents
        # (Ultimate) and the instance setting receptive_cluster_agents_enabled.
        self.receptive_licensed = True
        self.receptive_agents_enabled = True
        self.environments = EnvironmentsBackend(self)
        self.repository = RepositoryBackend(self)
        self.protected = ProtectedBranches(self)

    # -- KAS -----------------------------------------------------------------
    def set_kas(
        self,
        enabled: bool,
        version: str | None = None,
        external_url: str | None = None,
        *,
        version_known: bool = True,
    ) -> None:
        """``version`` None keeps the current one; ``"null"`` (or ``version_known=False``)
        makes GitLab report ``kas.version: null`` (KAS could not be asked)."""
        kas = self.store.get_setting("kas", {})
        kas["enabled"] = enabled
        if not version_known:
            kas["version"] = None
        elif version is not None:
            kas["version"] = normalise_kas_version(version)
        if external_url is not None:
            kas["external_url"] = external_url
        self.store.put_setting("kas", kas)

    def metadata(self) -> dict[str, Any]:
        kas = self.store.get_setting("kas", {})
        enabled = bool(kas.get("enabled"))
        host_port = self.base_url.split("://", 1)[1]
        default_external = f"ws://{host_port}/-/kubernetes-agent/"
        described: dict[str, Any] = {
            "enabled": enabled,
            "externalUrl": (kas.get("external_url") or default_external) if enabled else None,
            "version": kas.get("version") if enabled else None,
        }
        if self.release.metadata_has_k8s_proxy_url:
            described["externalK8sProxyUrl"] = (
                f"{self.base_url}/-/kubernetes-agent/k8s-proxy/" if enabled else None
            )
        return {
            "version": self.gitlab_version,
            "revision": "kasboot0",
            "kas": described,
            "enterprise": True,
        }

    # -- namespaces and projects --------------------------------------------
    def namespace(self, namespace_id: int) -> Row | None:
        return self.store.one("SELECT * FROM namespaces WHERE id = ?", (namespace_id,))

    def _ensure_namespace(self, full_path: str, owner: Row) -> Row:
        parent: Row | None = None
        for depth, part in enumerate(full_path.split("/")):
            prefix = "/".join(full_path.split("/")[: depth + 1])
            row = self.store.one("SELECT * FROM namespaces WHERE full_path = ?", (prefix,))
            if row is None:
                namespace_id = self.store.execute(
                    "INSERT INTO namespaces (name, path, kind, full_path, parent_id, owner_id) "
                    "VALUES (?, ?, 'group', ?, ?, NULL)",
                    (part, part, prefix, parent["id"] if parent else None),
                )
                self.store.execute(
                    "INSERT INTO namespace_members (namespace_id, user_id, access_level) "
                    "VALUES (?, ?, ?)",
                    (namespace_id, owner["id"], OWNER),
                )
                row = self.namespace(namespace_id)
            assert row is not None
            parent = row
        assert parent is not None
        return parent

    def ensure_project(
        self, path_with_namespace: str, *, owner: str, default_branch: str = "main"
    ) -> dict[str, Any]:
        namespace_path, _, path = path_with_namespace.strip("/").rpartition("/")
        if not namespace_path:
            raise ValueError("a project path needs a namespace: group/project")
        owner_row = self.find_user(owner)
        if owner_row is None:
            raise ValueError(f"unknown user {owner!r}: call ensure_user first")
        with self.store.transaction():
            existing = self.project_by_path(path_with_namespace)
            if existing is not None:
                return self._described(existing)
            namespace = self._ensure_namespace(namespace_path, owner_row)
            project = self._insert_project(namespace, path, path, owner_row, default_branch)
            self.store.execute(
                "INSERT OR REPLACE INTO project_members (project_id, user_id, access_level) "
                "VALUES (?, ?, ?)",
                (project["id"], owner_row["id"], OWNER),
            )
        self._seed_repository(project, owner_row, with_readme=True)
        return self._described(project)

    def _described(self, project: Row) -> dict[str, Any]:
        """A project row plus the paths callers seeding the sandbox need."""
        full_path = self.full_path(project)
        return {
            **project,
            "path_with_namespace": full_path,
            "http_url_to_repo": f"{self.base_url}/{full_path}.git",
        }

    def _insert_project(
        self, namespace: Row, name: str, path: str, creator: Row, default_branch: str
    ) -> Row:
        project_id = self.store.execute(
            "INSERT INTO projects (name, path, namespace_id, description, visibility, "
            "default_branch, creator_id, created_at) VALUES (?, ?, ?, NULL, 'private', ?, ?, ?)",
            (name, path, namespace["id"], default_branch, creator["id"], now_iso()),
        )
        project = self.project_by_id(project_id)
        assert project is not None
        # GitLab's default branch protection: Maintainers push and merge.
        self.protected.protect(project, default_branch)
        return project

    def _seed_repository(self, project: Row, owner: Row, *, with_readme: bool) -> None:
        repo = self.repo(project)
        if not (repo.path / "HEAD").exists():
            repo.init(project["default_branch"])
        if with_readme and repo.is_empty():
            readme = f"# {project['name']}\n".encode()
            signature = Signature(owner["name"], owner["email"])
            repo.commit_changes(
                branch=project["default_branch"],
                parent=None,
                changes=[IndexChange(path="README.md", content=readme)],
                message="Initial commit",
                author=signature,
                committer=signature,
                expected_old=None,
            )

    def create_project(
        self,
        principal: Principal,
        *,
        name: str | None,
        path: str | None,
        namespace_id: int | None,
        default_branch: str = "main",
        initialize_with_readme: bool = False,
        description: str | None = None,
        visibility: str = "private",
    ) -> Row:
        if not name and not path:
            raise err.api_error("name or path is required", 400)
        path = path or re.sub(r"[^a-zA-Z0-9_.-]+", "-", str(name)).strip("-").lower()
        name = name or path
        if namespace_id is None:
            namespace = self.store.one(
                "SELECT * FROM namespaces WHERE kind = 'user' AND owner_id = ?",
                (principal.user_id,),
            )
        else:
            namespace = self.namespace(namespace_id)
            if namespace is not None and not self._may_create_in(namespace, principal.user_id):
                raise err.api_error("403 Forbidden", 403)
        if namespace is None:
            raise err.not_found("Namespace")
        errors: dict[str, list[str]] = {}
        if not _PATH_RE.match(path) or path.endswith((".git", ".atom")):
            errors.setdefault("path", []).append(
                "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', "
                "end in '.git' or end in '.atom'"
            )
        with self.store.transaction():
            for column, value in (("name", name), ("path", path)):
                taken = self.store.one(
                    f"SELECT id FROM projects WHERE namespace_id = ? AND {column} = ?",
                    (namespace["id"], value),
                )
                if taken:
                    errors.setdefault(column, []).append("has already been taken")
            if errors:
                raise err.validation_error(errors)
            project = self._insert_project(
                namespace, name, path, principal.user, default_branch or "main"
            )
            self.store.execute(
                "UPDATE projects SET description = ?, visibility = ? WHERE id = ?",
                (description, visibility, project["id"]),
            )
            if namespace["kind"] == "user":
                self.store.execute(
                    "INSERT INTO project_members (project_id, user_id, access_level) "
                    "VALUES (?, ?, ?)",
                    (project["id"], principal.user_id, OWNER),
                )
        self._seed_repository(project, principal.user, with_readme=initialize_with_readme)
        refreshed = self.project_by_id(int(project["id"]))
        assert refreshed is not None
        return refreshed

    def _may_create_in(self, namespace: Row, user_id: int) -> bool:
        if namespace["kind"] == "user":
            return bool(namespace["owner_id"] == user_id)
        return self._namespace_access(namespace, user_id) >= MAINTAINER

    def project_by_id(self, project_id: int) -> Row | None:
        return self.store.one("SELECT * FROM projects WHERE id = ?", (project_id,))

    def project_by_path(self, full_path: str) -> Row | None:
        namespace_path, _, path = full_path.strip("/").rpartition("/")
        return self.store.one(
            "SELECT p.* FROM projects p JOIN namespaces n ON n.id = p.namespace_id "
            "WHERE lower(n.full_path) = lower(?) AND lower(p.path) = lower(?)",
            (namespace_path, path),
        )

    def full_path(self, project: Row) -> str:
        namespace = self.namespace(int(project["namespace_id"]))
        assert namespace is not None
        return f"{namespace['full_path']}/{project['path']}"

    def repo(self, project: Row) -> BareRepository:
        project_id = int(project["id"])
        with self._repositories_lock:  # one object, hence one commit lock, per repository
            if project_id not in self._repositories:
                path = self.repositories_root / f"{self.full_path(project)}.git"
                self._repositories[project_id] = BareRepository(path)
            return self._repositories[project_id]

    # -- access --------------------------------------------------------------
    def _namespace_access(self, namespace: Row | None, user_id: int) -> int:
        level = 0
        while namespace is not None:
            if namespace["kind"] == "user" and namespace["owner_id"] == user_id:
                level = max(level, OWNER)
            member = self.store.one(
                "SELECT access_level FROM namespace_members WHERE namespace_id = ? AND user_id = ?",
                (namespace["id"], user_id),
            )
            if member:
                level = max(level, int(member["access_level"]))
            parent_id = namespace["parent_id"]
            namespace = self.namespace(int(parent_id)) if parent_id else None
        return level

    def access_level(self, project: Row, user_id: int) -> int:
        member = self.store.one(
            "SELECT access_level FROM project_members WHERE project_id = ? AND user_id = ?",
            (project["id"], user_id),
        )
        level = int(member["access_level"]) if member else 0
        namespace = self.namespace(int(project["namespace_id"]))
        return max(level, self._namespace_access(namespace, user_id))

    def membership_levels(self, project: Row, user_id: int) -> tuple[int, int]:
        """(direct project membership, membership of the project's group and its
        parents); 0 for none."""
        member = self.store.one(
            "SELECT access_level FROM project_members WHERE project_id = ? AND user_id = ?",
            (project["id"], user_id),
        )
        namespace = self.namespace(int(project["namespace_id"]))
        group = self._namespace_access(namespace, user_id) if namespace else 0
        if namespace is not None and namespace["kind"] == "user":
            group = 0  # a personal namespace is no group
        return (int(member["access_level"]) if member else 0), group

    def add_member(self, project: Row, username: str, access_level: int) -> None:
        user = self.find_user(username)
        if user is None:
            raise ValueError(f"unknown user {username!r}")
        self.store.execute(
            "INSERT OR REPLACE INTO project_members (project_id, user_id, access_level) "
            "VALUES (?, ?, ?)",
            (project["id"], user["id"], access_level),
        )

    def find_project(self, id_or_path: str, principal: Principal) -> Row:
        """The project a request names, if the principal may see it (404 otherwise)."""
        project = (
            self.project_by_id(int(id_or_path))
            if id_or_path.isdigit()
            else self.project_by_path(id_or_path)
        )
        if project is None:
            raise err.not_found("Project")
        if (
            project["visibility"] != "public"
            and self.access_level(project, principal.user_id) < GUEST
        ):
            raise err.not_found("Project")
        return project

    def require_access(self, project: Row, principal: Principal, minimum: int) -> None:
        if self.access_level(project, principal.user_id) < minimum:
            raise err.forbidden()
