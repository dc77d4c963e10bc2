"""HTTP → backend for repository files, tree, commits and branches."""

from __future__ import annotations

import base64
from typing import Any

from starlette.responses import Response

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.context import RequestContext, json_response, no_content
from kasboot.sandbox.gitlab.pagination import keyset_page, offset_page
from kasboot.sandbox.gitlab.responses import paginated


def _file_headers(meta: dict[str, Any]) -> dict[str, str]:
    """The ``X-Gitlab-*`` headers GitLab sends with a file (the whole answer to HEAD)."""
    return {
        "X-Gitlab-Blob-Id": meta["blob_id"],
        "X-Gitlab-Commit-Id": meta["commit_id"],
        "X-Gitlab-Content-Sha256": meta["content_sha256"],
        "X-Gitlab-Encoding": meta["encoding"],
        "X-Gitlab-File-Name": meta["file_name"],
        "X-Gitlab-File-Path": meta["file_path"],
        "X-Gitlab-Last-Commit-Id": meta["last_commit_id"] or "",
        "X-Gitlab-Ref": meta["ref"],
        "X-Gitlab-Size": str(meta["size"]),
        "X-Gitlab-Execute-Filemode": str(meta["execute_filemode"]).lower(),
    }


def _file(ctx: RequestContext, *, ref_required: bool = True) -> dict[str, Any]:
    project, principal = ctx.project()
    ref = ctx.param("ref")
    if ref in (None, ""):
        if ref_required:
            raise err.missing_param("ref")
        ref = project["default_branch"]
    return ctx.backend.repository.file(project, principal, ctx.path["file_path"], str(ref))


def get_file(ctx: RequestContext) -> Response:
    meta = _file(ctx)
    body = {k: v for k, v in meta.items() if k != "raw"}
    body["content"] = base64.b64encode(meta["raw"]).decode()
    return json_response(body, headers=_file_headers(meta))


def head_file(ctx: RequestContext) -> Response:
    meta = _file(ctx)
    return Response(status_code=200, headers=_file_headers(meta))


def raw_file(ctx: RequestContext) -> Response:
    meta = _file(ctx, ref_required=False)
    return Response(
        meta["raw"], media_type="text/plain; charset=utf-8", headers=_file_headers(meta)
    )


def _write_file(ctx: RequestContext, action: str) -> tuple[str, str]:
    project, principal = ctx.project()
    file_path = ctx.path["file_path"]
    ctx.backend.repository.write_file(project, principal, action, file_path, ctx.params)
    return file_path, str(ctx.params["branch"])


def create_file(ctx: RequestContext) -> Response:
    file_path, branch = _write_file(ctx, "create")
    return json_response({"file_path": file_path, "branch": branch}, 201)


def update_file(ctx: RequestContext) -> Response:
    file_path, branch = _write_file(ctx, "update")
    return json_response({"file_path": file_path, "branch": branch}, 200)


def delete_file(ctx: RequestContext) -> Response:
    _write_file(ctx, "delete")
    return no_content()


def tree(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    entries = ctx.backend.repository.tree(
        project, principal, ctx.param("path"), ctx.param("ref"), ctx.flag("recursive")
    )
    shaped = [ctx.entities.tree_entry(entry) for entry in entries]
    if ctx.param("pagination") == "keyset":
        page, headers = keyset_page(shaped, ctx.params, ctx.url, lambda item: str(item["id"]))
    else:
        page, headers = offset_page(shaped, ctx.params, ctx.url)
    return json_response(list(page), headers=headers)


def create_commit(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    repo, sha = ctx.backend.repository.create_commit(project, principal, ctx.params)
    info, stats = repo.commit_with_stats(sha)  # the commit just written: one git show
    return json_response(ctx.entities.commit_detail(info, project, stats), 201)


def list_commits(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    commits = ctx.backend.repository.commits(
        project, principal, ctx.param("ref_name"), ctx.param("path")
    )
    return paginated(ctx, [ctx.entities.commit(info, project) for info in commits])


def get_commit(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    repo, info = ctx.backend.repository.commit(project, principal, ctx.path["sha"])
    return json_response(ctx.entities.commit_detail(info, project, repo.diff_stats(info.id)))


def list_branches(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    found = ctx.backend.repository.branches(project, principal, ctx.param("search"))
    shaped = [ctx.entities.branch(n, info, project, principal.user_id) for n, info in found]
    return paginated(ctx, shaped)


def get_branch(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    name, info = ctx.backend.repository.branch(project, principal, ctx.path["branch"])
    return json_response(ctx.entities.branch(name, info, project, principal.user_id))


def create_branch(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    name, info = ctx.backend.repository.create_branch(
        project, principal, ctx.param("branch"), ctx.param("ref")
    )
    return json_response(ctx.entities.branch(name, info, project, principal.user_id), 201)


def delete_branch(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    ctx.backend.repository.delete_branch(project, principal, ctx.path["branch"])
    return no_content()
