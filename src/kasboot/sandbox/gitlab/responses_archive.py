"""``GET /projects/:id/repository/archive[.format]`` (``lib/api/repositories.rb``): the
repository at ``sha`` (default: the default branch) as an archive, in ONE answer —
limited to a directory with ``path`` (GitLab 14.4+), made by ``git archive`` as Gitaly
does (``.gitattributes`` ``export-ignore`` and ``export-subst`` apply).

The archive's entries sit under one prefix directory,
``<project path>-<ref>[-<path with / as ->]/`` (``Gitlab::Git::Repository#archive_prefix``);
``format`` is the URL suffix or the ``format`` parameter: ``tar.gz`` (default),
``tar.bz2``, ``tbz``, ``tbz2``, ``tb2``, ``bz2``, ``tar``, ``zip``. A ``path`` that is no
directory or file at ``sha``, or an unknown ref, is 404."""

from __future__ import annotations

import bz2
import gzip
import re

from starlette.responses import Response

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.context import RequestContext

FORMATS = {
    "tar.gz": ("tar", "application/x-gzip"),
    "tgz": ("tar", "application/x-gzip"),
    "gz": ("tar", "application/x-gzip"),
    "tar.bz2": ("tar", "application/x-bzip2"),
    "tbz": ("tar", "application/x-bzip2"),
    "tbz2": ("tar", "application/x-bzip2"),
    "tb2": ("tar", "application/x-bzip2"),
    "bz2": ("tar", "application/x-bzip2"),
    "tar": ("tar", "application/x-tar"),
    "zip": ("zip", "application/zip"),
}
ARCHIVE_SUFFIXES = sorted(FORMATS)


def _prefix(project_path: str, ref: str, path: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", ref)
    prefix = f"{project_path}-{clean}"
    if path:
        prefix += "-" + path.strip("/").replace("/", "-")
    return prefix


def archive(ctx: RequestContext) -> Response:
    project, principal = ctx.project()
    repo = ctx.backend.repository._readable(project, principal)
    suffix = ctx.path.get("format") or str(ctx.param("format") or "tar.gz")
    if suffix not in FORMATS:
        raise err.not_found()
    ref = str(ctx.param("sha") or project["default_branch"])
    commit = None if repo.is_empty() else repo.resolve(ref)
    if commit is None:
        raise err.not_found("Commit")
    path = str(ctx.param("path") or "").strip("/")
    if path and repo.entry(commit, path) is None:
        raise err.not_found("File")
    kind, content_type = FORMATS[suffix]
    prefix = _prefix(str(project["path"]), ref, path)
    args = ["archive", f"--format={kind}", f"--prefix={prefix}/", commit]
    if path:
        args += ["--", path]
    data = repo.git(*args)
    if content_type == "application/x-gzip":
        data = gzip.compress(data, mtime=0)
    elif content_type == "application/x-bzip2":
        data = bz2.compress(data)
    name = f"{prefix}.{suffix}"
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Transfer-Encoding": "binary",
        },
    )
