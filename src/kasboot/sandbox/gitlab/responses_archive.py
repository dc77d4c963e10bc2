"""``GET /projects/:id/repository/archive[.format]`` (``lib/api/repositories.rb``): the
repository at ``sha`` (default: the default branch) as an archive, in ONE answer —
limited to a directory with ``path`` (GitLab 14.4+), made by ``git archive`` as Gitaly
does (``.gitattributes`` ``export-ignore`` and ``export-subst`` apply).

The archive's entries sit under one prefix directory,
``<project path>-<ref>[-<path with / as ->]/`` (``Gitlab::Git::Repository#archive_prefix``);
``format`` is the URL suffix or the ``format`` parameter: ``tar.gz`` (default),
``tar.bz2``, ``tbz``, ``tbz2``, ``tb2``, ``bz2``, ``tar``, ``zip``. A ``path`` that is no
directory or file at ``sha``, or an unknown ref, is 404.

Compression as Gitaly's ``parseArchiveFormat``: ``gzip -c -n`` (level 6, no name or
time) and ``bzip2 -c``. An archive is kept per (repository, commit, path, prefix,
format) — a commit never changes, and GitLab's Workhorse caches archives too — so a
second request for it costs one ref lookup."""

from __future__ import annotations

import bz2
import gzip
import re
import threading
from collections import OrderedDict

from starlette.responses import Response

from kasboot.sandbox.gitlab import exceptions as err
from kasboot.sandbox.gitlab.context import RequestContext
from kasboot.sandbox.gitlab.gitrepo import BareRepository, GitCommandError

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
_GZIP_LEVEL = 6  # gzip's default, as `gzip -c -n`
_MAGIC = re.compile(r"[*?\[\\]|^:")  # what git reads as more than a literal path
_KEPT = 32  # archives kept, the least recently asked dropped first
_kept: OrderedDict[tuple[str, ...], bytes] = OrderedDict()
_kept_lock = threading.Lock()


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
    refs = repo.refs()
    empty = not any(name.startswith("refs/heads/") for name in refs)
    commit = None if empty else repo.branch_tip(ref, refs) or repo.resolve(ref)
    if commit is None:
        raise err.not_found("Commit")
    path = str(ctx.param("path") or "").strip("/")
    kind, content_type = FORMATS[suffix]
    prefix = _prefix(str(project["path"]), ref, path)
    key = (str(repo.path), commit, path, prefix, kind, content_type)
    with _kept_lock:
        data = _kept.get(key)
        if data is not None:
            _kept.move_to_end(key)
    if data is None:
        data = _made(repo, commit, path, prefix, kind, content_type)
        with _kept_lock:
            _kept[key] = data
            while len(_kept) > _KEPT:
                _kept.popitem(last=False)
    name = f"{prefix}.{suffix}"
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Transfer-Encoding": "binary",
        },
    )


def _made(
    repo: BareRepository, commit: str, path: str, prefix: str, kind: str, content_type: str
) -> bytes:
    """The archive; 404 when ``path`` is no entry of the commit's tree. A plain path is
    looked up only when git archive refused it (it matches exactly that entry and what
    is under it); a pathspec with glob magic is looked up first, as it could match more."""
    if path and _MAGIC.search(path) and repo.entry(commit, path) is None:
        raise err.not_found("File")
    args = ["archive", f"--format={kind}", f"--prefix={prefix}/", commit]
    if path:
        args += ["--", path]
    try:
        data = repo.git(*args)
    except GitCommandError:
        if path and repo.entry(commit, path) is None:
            raise err.not_found("File") from None
        raise
    if content_type == "application/x-gzip":
        return gzip.compress(data, compresslevel=_GZIP_LEVEL, mtime=0)
    if content_type == "application/x-bzip2":
        return bz2.compress(data)
    return data
