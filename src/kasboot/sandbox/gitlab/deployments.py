"""Deployments (doc/api/deployments.md), as far as the sandbox needs them: a CI job (or
a script) records one with ``POST /projects/:id/deployments``, which creates the
environment when it does not exist (``find_or_create_by_name``); ``GET`` lists them,
``?environment=NAME`` filtering. Deleting an environment deletes its deployments (the
foreign key cascades), which is how a test sees that an environment survived.

After gitlabhq/gitlabhq lib/api/deployments.rb (create, list, the environment filter)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.context import RequestContext, json_response
from kasboot.sandbox.gitlab.store import Row, now_iso

if TYPE_CHECKING:
    from kasboot.sandbox.gitlab.store import Store

DEVELOPER = 30
STATUSES = ("running", "success", "failed", "canceled")
SCHEMA = """
CREATE TABLE IF NOT EXISTS deployments (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, environment_id INTEGER NOT NULL,
    ref TEXT NOT NULL, sha TEXT NOT NULL, tag INTEGER NOT NULL, status TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL)
"""


def _ensure_table(store: Store) -> None:
    store.execute(SCHEMA)


def _entity(row: Row, environment: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "iid": row["id"],
        "ref": row["ref"],
        "sha": row["sha"],
        "tag": bool(row["tag"]),
        "status": row["status"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "environment": {"id": environment["id"], "name": environment["name"]},
    }


def create_deployment(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    backend = ctx.backend
    backend.require_access(project, principal, DEVELOPER)
    for name in ("environment", "sha", "ref", "tag", "status"):
        if ctx.param(name) in (None, ""):
            raise err.missing_param(name)
    status = str(ctx.param("status"))
    if status not in STATUSES:
        raise err.invalid_param("status", "does not have a valid value")
    store = backend.store
    _ensure_table(store)
    name = str(ctx.param("environment"))
    with store.transaction():
        environment = store.one(
            "SELECT * FROM environments WHERE project_id = ? AND name = ?", (project["id"], name)
        )
        if environment is None:
            environment = backend.environments.create(project, principal, {"name": name})
        stamp = now_iso()
        deployment_id = store.execute(
            "INSERT INTO deployments (project_id, environment_id, ref, sha, tag, status, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                project["id"],
                environment["id"],
                str(ctx.param("ref")),
                str(ctx.param("sha")),
                1 if ctx.flag("tag") else 0,
                status,
                stamp,
                stamp,
            ),
        )
        row = store.one("SELECT * FROM deployments WHERE id = ?", (deployment_id,))
    assert row is not None
    return json_response(_entity(row, environment), 201)


def list_deployments(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    backend = ctx.backend
    backend.require_access(project, principal, DEVELOPER)
    store = backend.store
    _ensure_table(store)
    sql = (
        "SELECT d.*, e.name AS environment_name FROM deployments d JOIN environments e "
        "ON e.id = d.environment_id WHERE d.project_id = ?"
    )
    params: list[Any] = [project["id"]]
    if ctx.param("environment"):
        sql += " AND e.name = ?"
        params.append(str(ctx.param("environment")))
    rows = store.all(sql + " ORDER BY d.id", tuple(params))
    items = [
        _entity(row, {"id": row["environment_id"], "name": row["environment_name"]}) for row in rows
    ]
    from kasboot.sandbox.gitlab.responses import paginated

    return paginated(ctx, items)


def delete_for_environment(store: Store, environment_id: int) -> None:
    """The cascade of an environment's deletion."""
    _ensure_table(store)
    store.execute("DELETE FROM deployments WHERE environment_id = ?", (environment_id,))
