"""Repository-relative paths as Flux sees them.

Every path inside the guard is a normalized, repository-relative POSIX path: no
leading "./" or "/", no trailing "/", no "." or ".." segments, and "" for the
repository root. Flux's `spec.path` ("./", ".", "./clusters/prod/") and the
entries of kustomization files are normalized once, at the edge.
"""

from __future__ import annotations

import posixpath


def normalize_repo_path(path: str) -> str:
    """Normalize `path` relative to the repository root; "" is the root.

    Raises ValueError when the path climbs above the root ("../x"), because
    source-controller's artifact has nothing there.
    """
    parts: list[str] = []
    for segment in path.replace("\\", "/").split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not parts:
                raise ValueError(f"path {path!r} escapes the repository root")
            parts.pop()
            continue
        parts.append(segment)
    return "/".join(parts)


def join_repo_path(base: str, relative: str) -> str:
    """Resolve `relative` (as written in a kustomization file under `base`)."""
    return normalize_repo_path(posixpath.join(base, relative) if base else relative)


def is_within(path: str, ancestor: str) -> bool:
    """True when normalized `path` is `ancestor` or lies below it (root holds all)."""
    if ancestor == "":
        return True
    return path == ancestor or path.startswith(ancestor + "/")


def parent_of(path: str) -> str:
    """The directory holding `path` ("" for top-level entries)."""
    return path.rpartition("/")[0]


def relative_to(path: str, start: str) -> str:
    """`path` written relative to directory `start` (both normalized)."""
    return posixpath.relpath(path or ".", start or ".")


def ancestors(path: str) -> list[str]:
    """The directories above `path`, nearest first, ending with the root ""."""
    result: list[str] = []
    current = path
    while current:
        current = parent_of(current)
        result.append(current)
    return result


def secure_join(path: str) -> str:
    """Flux's `securejoin.SecureJoin(root, spec.path)`: ".." never climbs above the root."""
    parts: list[str] = []
    for segment in path.replace("\\", "/").split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if parts:
                parts.pop()
            continue
        parts.append(segment)
    return "/".join(parts)
