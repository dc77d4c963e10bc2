"""What the guard refuses, and the checks beyond the build itself: a source that
never fetches kasboot's commit (gitsource.py), and objects Flux applies somewhere
else than their references say (placement.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from kasboot.flux.gitsource import FluxSource, following, same_repository
from kasboot.flux.paths import secure_join
from kasboot.flux.placement import Placement
from kasboot.flux.tree import RepoTree

if TYPE_CHECKING:
    from kasboot.flux.build import FluxKustomization

BUILD_FAILS = "build-fails"
NOT_RECONCILED = "not-reconciled"
BRANCH_MISMATCH = "branch-mismatch"
NO_KUSTOMIZATION = "no-kustomization"
SOURCE_FAILS = "source-fails"  # the source cannot fetch at all (e.g. sparse dir missing)
REF_PINNED = "ref-pinned"  # tag/semver/commit: never moves to kasboot's commit
OTHER_REPOSITORY = "other-repository"  # the source syncs another repository
SOURCE_REF_BROKEN = "source-ref-broken"  # Flux moves the HelmRepository from sourceRef
UNFOLLOWABLE = "unfollowable"  # a patch renames or moves the objects


@dataclass(frozen=True)
class Problem:
    code: str  # one of the codes above
    kustomization: FluxKustomization | None
    message: str  # one line
    files: tuple[str, ...] = ()
    fix: str = ""  # a fix specific to this problem, when there is one


def source_problems(
    source: FluxSource, manifest_branch: str | None, project_urls: Sequence[str]
) -> list[Problem]:
    """A GitRepository that never fetches kasboot's commit: pinned, another branch,
    or another repository."""
    problems: list[Problem] = []
    if project_urls and not same_repository(source.url, *project_urls):
        problems.append(
            Problem(
                OTHER_REPOSITORY,
                None,
                f"{source.display} syncs {source.url}, not this project "
                f"({' or '.join(project_urls)}): Flux never sees kasboot's commit",
            )
        )
    tracked = following(source)
    if tracked.pinned:
        problems.append(
            Problem(
                REF_PINNED,
                None,
                f"{source.display} is pinned to {tracked.pinned}: Flux never picks up "
                f"kasboot's commit on {manifest_branch or 'the branch'!r}",
            )
        )
    elif manifest_branch and tracked.branch != manifest_branch:
        why = (
            f"{source.display} has no spec.ref.branch, so source-controller follows its "
            f"default {tracked.branch!r}"
            if tracked.defaulted
            else f"{source.display} follows branch {tracked.branch!r}"
        )
        problems.append(
            Problem(BRANCH_MISMATCH, None, f"{why}, but the manifests go to {manifest_branch!r}")
        )
    return problems


def sparse_problems(source: FluxSource, files: Mapping[str, bytes]) -> list[Problem]:
    """source-controller fails the whole fetch when a sparseCheckout directory is not in
    the commit (validateSparseCheckoutPaths), so nothing new is ever applied."""
    if source.sparse_checkout is None:
        return []
    tree = RepoTree(files)
    missing = [d for d in source.sparse_checkout if secure_join(d) not in tree.dirs | set(files)]
    return [
        Problem(
            SOURCE_FAILS,
            None,
            f"{source.display} cannot fetch: sparse checkout dir {directory!r} does not exist "
            "in repository (source-controller fails the checkout)",
        )
        for directory in missing
    ]


def _source_refs(
    added: Mapping[str, bytes], paths: set[str]
) -> dict[tuple[str, str], tuple[str, str]]:
    """HelmRelease (namespace, name) -> the (namespace, name) its chart's sourceRef names,
    read from the manifests kasboot renders."""
    refs: dict[tuple[str, str], tuple[str, str]] = {}
    for path in paths:
        if path in added:
            refs.update(_release_refs(added[path].decode()))
    return refs


@lru_cache(maxsize=64)
def _release_refs(text: str) -> tuple[tuple[tuple[str, str], tuple[str, str]], ...]:
    """_source_refs of one file, in document order (a later document wins)."""
    if "HelmRelease" not in text and "\\" not in text:
        # Only an escape in a double-quoted scalar makes text that is not in the file,
        # so no document here says kind: HelmRelease; the YAML read is left out.
        return ()
    try:
        documents = list(YAML(typ="safe", pure=True).load_all(text))
    except YAMLError:
        return ()
    found = []
    for doc in documents:
        if not isinstance(doc, dict) or doc.get("kind") != "HelmRelease":
            continue
        meta = doc.get("metadata") or {}
        chart: Any = ((doc.get("spec") or {}).get("chart") or {}).get("spec") or {}
        ref = chart.get("sourceRef") or {}
        namespace = str(meta.get("namespace") or "")
        found.append(
            (
                (namespace, str(meta.get("name") or "")),
                (str(ref.get("namespace") or namespace), str(ref.get("name") or "")),
            )
        )
    return tuple(found)


def placement_problems(
    placements: Sequence[Placement],
    added: Mapping[str, bytes],
    reconciled_by: Sequence[FluxKustomization],
) -> list[Problem]:
    """Flux applies the manifests' objects where kustomize puts them; kustomize does not
    update a HelmRelease's sourceRef. Refuse when the HelmRepository then is not where
    the HelmRelease looks, or when a patch moves them in ways kasboot cannot follow."""
    ks = reconciled_by[0] if reconciled_by else None
    where = f"Kustomization {ks.ref}" if ks else "Flux"
    problems = [
        Problem(UNFOLLOWABLE, ks, f"{p.unfollowable}: kasboot cannot follow it", (p.path,))
        for p in placements
        if p.unfollowable
    ]
    repositories = {
        (p.written_namespace, p.written_name): p for p in placements if p.kind == "HelmRepository"
    }
    for release, wanted in _source_refs(added, {p.path for p in placements}).items():
        repository = repositories.get(wanted)
        if repository is None or (repository.namespace, repository.name) == wanted:
            continue
        fix = ""
        if repository.name == wanted[1]:
            fix = (
                f"pass --helm-repository-namespace {repository.namespace} (and "
                f"--helm-release-namespace {repository.namespace}): then the sourceRef "
                "names where Flux puts the HelmRepository"
            )
        else:
            fix = (
                "put --manifest-path under a Kustomization without namePrefix/nameSuffix: "
                "kustomize renames the HelmRepository but not the HelmRelease's sourceRef"
            )
        problems.append(
            Problem(
                SOURCE_REF_BROKEN,
                ks,
                f"{where} would apply HelmRepository {wanted[0]}/{wanted[1]} as "
                f"{repository.namespace}/{repository.name}, but HelmRelease "
                f"{release[0]}/{release[1]} looks for its chart in {wanted[0]}/{wanted[1]} "
                "(kustomize does not rewrite sourceRef): helm-controller would never find it",
                (repository.path,),
                fix,
            )
        )
    return problems
