"""``GET /projects/:id/repository/merge_base?refs[]=A&refs[]=B``: the common ancestor of
two or more refs, as GitLab's ``API::Repositories`` answers it — the commit entity;
400 ``Provide at least 2 refs``; 400 ``Could not find ref(s): …`` naming the refs that
do not resolve; 404 ``Merge Base Not Found`` when they share no history. ``refs`` also
accepts one comma-separated string (Grape's ``CommaSeparatedToArray``). Comparing the
answer with one of the refs tells whether that ref is an ancestor of the others."""

from __future__ import annotations

from starlette.responses import Response

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.context import RequestContext, json_response

REPORTER = 20


def _refs(value: object) -> list[str]:
    if value is None:
        raise err.missing_param("refs")
    items = value if isinstance(value, list) else [value]
    refs: list[str] = []
    for item in items:
        refs.extend(part for part in str(item).split(",") if part)
    return refs


def merge_base(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    refs = _refs(ctx.param("refs"))
    if len(refs) < 2:
        raise err.api_error("Provide at least 2 refs")
    ctx.backend.require_access(project, principal, REPORTER)
    repo = ctx.backend.repo(project)
    commits = [repo.resolve(ref) for ref in refs]
    unknown = [ref for ref, sha in zip(refs, commits, strict=True) if sha is None]
    if unknown:
        noun = "ref" if len(unknown) == 1 else "refs"
        raise err.api_error(f"Could not find {noun}: {', '.join(unknown)}")
    found = repo.git("merge-base", *[sha for sha in commits if sha], check=False)
    sha = found.decode().strip()
    info = repo.commit_info(sha) if sha else None
    if info is None:
        raise err.not_found("Merge Base")
    return json_response(ctx.entities.commit(info, project))
