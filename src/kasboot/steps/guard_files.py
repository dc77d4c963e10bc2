"""What the topology guard reads of the repository, in as few requests as GitLab allows:
each Kustomization's directory as ONE archive (its files with their content), and the
.sourceignore and .gitattributes of the directories above it (from the pre-flight
survey, or one GraphQL query) — instead of a recursive tree of the whole repository and
one GET per file a build reaches.

A build that may reach outside its directory (a ``..`` in a kustomization file or in
spec.components) or an archive that may differ from git's tree (``export-ignore`` or
``export-subst`` in a .gitattributes) is read the full way: the tree, and each file the
build reaches."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from kasboot.flux.paths import ancestors, is_within
from kasboot.flux.topology import LazyFiles
from kasboot.flux.tree import KUSTOMIZATION_FILE_NAMES
from kasboot.steps.gitlab_survey import FILTER_FILES, surveyed

if TYPE_CHECKING:
    from kasboot.flux.build import FluxKustomization
    from kasboot.steps.context import BootstrapContext

_ARCHIVE_CHANGERS = (b"export-ignore", b"export-subst")


def outermost(paths: Sequence[str]) -> list[str]:
    """The directories not inside another of ``paths`` (root "" holds all)."""
    unique = sorted(set(paths))
    return [p for p in unique if not any(q != p and is_within(p, q) for q in unique)]


def filter_paths_above(roots: Sequence[str]) -> list[str]:
    """The .sourceignore and .gitattributes of the directories strictly above ``roots``."""
    found: list[str] = []
    for root in roots:
        for directory in ancestors(root):
            for name in FILTER_FILES:
                path = f"{directory}/{name}" if directory else name
                if path not in found:
                    found.append(path)
    return found


def needs_full_view(
    files: Mapping[str, bytes], kustomizations: Sequence[FluxKustomization]
) -> bool:
    """True when the archives may not show what Flux's build reaches or sees."""
    for path, data in files.items():
        name = path.rsplit("/", 1)[-1]
        if name in KUSTOMIZATION_FILE_NAMES and b".." in data:
            return True
        if name == ".gitattributes" and any(marker in data for marker in _ARCHIVE_CHANGERS):
            return True
    return any(".." in entry for k in kustomizations for entry in k.components)


def _archives(ctx: BootstrapContext, roots: Sequence[str]) -> dict[str, bytes]:
    """Every root's archive, the requests in parallel."""
    results: dict[str, dict[str, bytes]] = {}
    errors: list[BaseException] = []

    def read(root: str) -> None:
        try:
            results[root] = ctx.gitlab.archive_files(ctx.project_path, ctx.branch, root)
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)

    threads = [threading.Thread(target=read, args=(root,), daemon=True) for root in roots[1:]]
    for thread in threads:
        thread.start()
    if roots:
        read(roots[0])
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    files: dict[str, bytes] = {}
    for root in roots:
        files.update(results.get(root, {}))
    return files


def _filter_files(ctx: BootstrapContext, wanted: Sequence[str]) -> dict[str, bytes]:
    """The filter files above the roots, and (from the survey) those above the files
    bootstrap writes: why a manifest outside every Kustomization's reach is excluded."""
    survey = surveyed(ctx)
    if survey is not None:
        asked = set(survey.asked_texts)
        known = dict(survey.texts)
        missing = [path for path in wanted if path not in asked]
    else:
        known, missing = {}, list(wanted)
    return {**known, **ctx.gitlab.file_texts(ctx.project_path, ctx.branch, missing)}


def full_view(ctx: BootstrapContext) -> LazyFiles:
    """The whole tree's paths, each file's content fetched when a build reaches it."""
    tree = ctx.gitlab.tree(ctx.project_path, ctx.branch)

    def fetch(path: str) -> bytes:
        found = ctx.gitlab.get_file(ctx.project_path, path, ctx.branch)
        return found.content if found is not None else b""

    return LazyFiles(tree, fetch)


def guard_files(
    ctx: BootstrapContext, kustomizations: Sequence[FluxKustomization]
) -> Mapping[str, bytes]:
    """The repository as far as the Kustomizations' builds can reach or be filtered."""
    roots = outermost([k.repo_path for k in kustomizations])
    files = _archives(ctx, roots)
    files.update(_filter_files(ctx, filter_paths_above(roots)))
    if needs_full_view(files, kustomizations):
        return full_view(ctx)
    return files
