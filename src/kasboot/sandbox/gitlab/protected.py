"""Protected branches (``lib/api/protected_branches.rb``): who may push and merge.

A project's default branch is protected on creation (GitLab's default branch protection:
Maintainers push and merge). Every push — the commits API, the files API, git over
HTTP — is checked against the protections whose name (or wildcard) matches the branch:
one access level of any of them allowing the user is enough, as in
``ProtectedBranch.protected_ref_accessible_to?``."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.store import Row, now_iso

if TYPE_CHECKING:
    from kasboot.sandbox.gitlab.backend import GitLabBackend

NO_ONE, DEVELOPER, MAINTAINER, ADMIN = 0, 30, 40, 60
LEVELS = {NO_ONE: "No one", DEVELOPER: "Developers + Maintainers", MAINTAINER: "Maintainers"}
LEVELS[ADMIN] = "Admins"


class ProtectedBranches:
    def __init__(self, core: GitLabBackend) -> None:
        self.core = core
        self.store = core.store

    def protect(
        self, project: Row, name: str, push: int = MAINTAINER, merge: int = MAINTAINER
    ) -> Row:
        with self.store.transaction():
            if self.store.one(
                "SELECT id FROM protected_branches WHERE project_id = ? AND name = ?",
                (project["id"], name),
            ):
                raise err.api_error(f"Protected branch '{name}' already exists", 409)
            row_id = self.store.execute(
                "INSERT INTO protected_branches (project_id, name, push_access_level, "
                "merge_access_level, allow_force_push, created_at) VALUES (?, ?, ?, ?, 0, ?)",
                (project["id"], name, push, merge, now_iso()),
            )
        row = self.store.one("SELECT * FROM protected_branches WHERE id = ?", (row_id,))
        assert row is not None
        return row

    def unprotect(self, project: Row, name: str) -> None:
        row = self.find(project, name)
        self.store.execute("DELETE FROM protected_branches WHERE id = ?", (row["id"],))

    def find(self, project: Row, name: str) -> Row:
        row = self.store.one(
            "SELECT * FROM protected_branches WHERE project_id = ? AND name = ?",
            (project["id"], name),
        )
        if row is None:
            raise err.not_found()
        return row

    def all(self, project: Row) -> list[Row]:
        return self.store.all(
            "SELECT * FROM protected_branches WHERE project_id = ? ORDER BY id", (project["id"],)
        )

    def matching(self, project: Row, branch: str) -> list[Row]:
        return [row for row in self.all(project) if fnmatch.fnmatchcase(branch, row["name"])]

    def can_push(self, project: Row, user_id: int, branch: str) -> bool:
        level = self.core.access_level(project, user_id)
        if level < DEVELOPER:
            return False
        protections = self.matching(project, branch)
        if not protections:
            return True
        return any(_allows(int(row["push_access_level"]), level) for row in protections)

    def describe(self, project: Row, branch: str) -> dict[str, bool]:
        """The protection fields of the branch entity (``API::Entities::Branch``)."""
        protections = self.matching(project, branch)
        return {
            "protected": bool(protections),
            "developers_can_push": any(
                int(row["push_access_level"]) == DEVELOPER for row in protections
            ),
            "developers_can_merge": any(
                int(row["merge_access_level"]) == DEVELOPER for row in protections
            ),
        }


def _allows(required: int, level: int) -> bool:
    if required == NO_ONE:
        return False
    return level >= required
