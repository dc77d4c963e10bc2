"""``GET /projects/:id/members/all/:user_id``: a user's effective role on a project —
its highest membership over the project and its ancestor groups (GitLab's API also
counts invited groups; the emulator has no group shares). 404 ``Not found`` when the user
has no membership, which is also what an administrator who is no member gets.

Follows gitlab-org/gitlab lib/api/members.rb (``get ":id/members/all/:user_id"``) and
doc/api/members.md ("Get a member of a group or project, including inherited and invited
members")."""

from __future__ import annotations

from starlette.responses import Response

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.context import RequestContext, json_response


def get_member_all(ctx: RequestContext) -> Response:
    project, _ = ctx.project()
    try:
        user_id = int(ctx.path["user_id"])
    except ValueError:
        raise err.not_found() from None
    user = ctx.backend.user_by_id(user_id)
    level = ctx.backend.access_level(project, user_id) if user is not None else 0
    if user is None or level <= 0:
        raise err.not_found()
    return json_response(
        {
            **ctx.entities.user(user),
            "access_level": level,
            "expires_at": None,
            "membership_state": "active",
        }
    )
