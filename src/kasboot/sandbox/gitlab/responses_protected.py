"""HTTP → backend for ``/projects/:id/protected_branches`` (Maintainers only), after
gitlabhq/gitlabhq ``lib/api/protected_branches.rb``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.backend import Principal
from kasboot.sandbox.gitlab.context import RequestContext, json_response, no_content
from kasboot.sandbox.gitlab.protected import LEVELS, MAINTAINER
from kasboot.sandbox.gitlab.responses import paginated
from kasboot.sandbox.gitlab.store import Row


def _entity(row: Row) -> dict[str, Any]:
    def levels(value: int, offset: int) -> list[dict[str, Any]]:
        return [
            {
                "id": int(row["id"]) * 2 + offset,
                "access_level": value,
                "access_level_description": LEVELS.get(value, str(value)),
                "user_id": None,
                "group_id": None,
            }
        ]

    return {
        "id": row["id"],
        "name": row["name"],
        "push_access_levels": levels(int(row["push_access_level"]), 0),
        "merge_access_levels": levels(int(row["merge_access_level"]), 1),
        "allow_force_push": bool(row["allow_force_push"]),
        "code_owner_approval_required": False,
    }


def _level_param(ctx: RequestContext, name: str) -> int:
    raw = ctx.param(name)
    if raw in (None, ""):
        return MAINTAINER
    try:
        value = int(str(raw))
    except ValueError as error:
        raise err.invalid_param(name, "does not have a valid value") from error
    if value not in LEVELS:
        raise err.invalid_param(name, "does not have a valid value")
    return value


def _maintainer(ctx: RequestContext) -> tuple[Row, Principal]:
    project, principal = ctx.project()
    ctx.backend.require_access(project, principal, MAINTAINER)
    return project, principal


def list_protected(ctx: RequestContext) -> Response:
    project, _ = _maintainer(ctx)
    return paginated(ctx, [_entity(row) for row in ctx.backend.protected.all(project)])


def get_protected(ctx: RequestContext) -> Response:
    project, _ = _maintainer(ctx)
    return json_response(_entity(ctx.backend.protected.find(project, ctx.path["name"])))


def create_protected(ctx: RequestContext) -> Response:
    project, _ = _maintainer(ctx)
    name = ctx.param("name")
    if not name:
        raise err.missing_param("name")
    row = ctx.backend.protected.protect(
        project,
        str(name),
        _level_param(ctx, "push_access_level"),
        _level_param(ctx, "merge_access_level"),
    )
    if ctx.flag("allow_force_push"):
        ctx.backend.store.execute(
            "UPDATE protected_branches SET allow_force_push = 1 WHERE id = ?", (row["id"],)
        )
        row = ctx.backend.protected.find(project, str(name))
    return json_response(_entity(row), 201)


def delete_protected(ctx: RequestContext) -> Response:
    project, _ = _maintainer(ctx)
    ctx.backend.protected.unprotect(project, ctx.path["name"])
    return no_content()
