"""The topology guard: will Flux apply what bootstrap writes, and will it still build?

Before anything is written, bootstrap asks: with config.yaml and the two manifests
added, (1) does every Kustomization on the Flux source still build (the root-path
trap: a Kustomization at the root, or any ancestor of `.gitlab/agents/<agent>/`,
without a kustomization file, fails on the agent's non-empty config.yaml), and
(2) is each manifest applied by at least one Kustomization that builds?
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from kasboot.flux.build import (
    BuildPrediction,
    FileFailure,
    FluxKustomization,
    kustomization_file_in,
    predict_build,
)
from kasboot.flux.gitsource import FluxSource, following
from kasboot.flux.paths import is_within, normalize_repo_path
from kasboot.flux.placement import Placement
from kasboot.flux.problems import (
    BRANCH_MISMATCH,
    BUILD_FAILS,
    NO_KUSTOMIZATION,
    NOT_RECONCILED,
    OTHER_REPOSITORY,
    REF_PINNED,
    SOURCE_FAILS,
    SOURCE_REF_BROKEN,
    UNFOLLOWABLE,
    Problem,
    placement_problems,
    source_problems,
    sparse_problems,
)
from kasboot.flux.views import FileView, LazyFiles, artifact, in_sparse_checkout, overlay

__all__ = [
    "BRANCH_MISMATCH",
    "BUILD_FAILS",
    "NOT_RECONCILED",
    "OTHER_REPOSITORY",
    "REF_PINNED",
    "SOURCE_FAILS",
    "SOURCE_REF_BROKEN",
    "UNFOLLOWABLE",
    "BuildPrediction",
    "FileFailure",
    "FluxKustomization",
    "FluxSource",
    "LazyFiles",
    "Problem",
    "TopologyVerdict",
    "check_topology",
    "files_to_read",
    "fix_add_kustomization",
    "fix_sourceignore",
    "predict_build",
    "source_problems",
]


PARTIAL_VIEW = "partial view: "


@dataclass(frozen=True)
class TopologyVerdict:
    ok: bool
    predictions: tuple[BuildPrediction, ...]
    manifest_reconciled_by: tuple[FluxKustomization, ...]
    problems: tuple[Problem, ...]
    fixes: tuple[str, ...]
    # Failures that exist today and that bootstrap neither causes nor depends on.
    notes: tuple[str, ...] = ()
    # Where Flux applies each object of the manifests (namespace/name may differ from
    # what is written: targetNamespace, namePrefix/nameSuffix, kustomization files).
    placements: tuple[Placement, ...] = ()
    # Set when only some namespaces' Kustomizations could be read (check_topology's scope).
    partial: str = ""

    @property
    def partial_notes(self) -> tuple[str, ...]:
        """The verdicts a partial view could not make (refusals turned into notes)."""
        return tuple(note for note in self.notes if note.startswith(PARTIAL_VIEW))

    def placed(self, kind: str, namespace: str, name: str) -> tuple[str, str]:
        """Where the object written as kind namespace/name really lands."""
        for placement in self.placements:
            if (placement.kind, placement.written_namespace, placement.written_name) == (
                kind,
                namespace,
                name,
            ):
                return placement.namespace, placement.name
        return namespace, name


def is_agent_config(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 4 and parts[:2] == [".gitlab", "agents"] and parts[3] == "config.yaml"


def _display_path(kustomization: FluxKustomization) -> str:
    return "./" + kustomization.repo_path


def check_topology(
    *,
    files: Mapping[str, bytes],
    added: Mapping[str, bytes],
    kustomizations: Sequence[FluxKustomization],
    manifest_files: Sequence[str],
    spec_ignore: str | None = None,
    source_branch: str | None = None,
    manifest_branch: str | None = None,
    source: FluxSource | None = None,
    project_urls: Sequence[str] = (),
    scope: str | None = None,
) -> TopologyVerdict:
    """Predict every Kustomization on the tree as it will be once `added` is written.

    `files` is the repository today, unfiltered (a `LazyFiles` keeps reads minimal).
    With `source` (the GitRepository as read), its ref, url and ignore rules count
    too: a source that never sees a commit on `manifest_branch` of the project at
    `project_urls` is refused whatever the build.

    `scope` is the namespace `kustomizations` were listed in when the caller may not
    list them cluster-wide (a namespace-scoped operator); None = all of them. With a
    partial view, "no Kustomization applies the manifests" is not known: one in another
    namespace may, so it becomes a note saying so instead of a refusal.
    """
    if source is not None and spec_ignore is None:
        spec_ignore = source.ignore
    sparse = source.sparse_checkout if source is not None else None
    future, future_ignore = artifact(overlay(files, added), spec_ignore, sparse)
    manifests = [normalize_repo_path(path) for path in manifest_files]
    predictions = tuple(predict_build(future, k) for k in kustomizations)
    problems: list[Problem] = []
    notes: list[str] = []
    if not kustomizations:
        problems.append(
            Problem(NO_KUSTOMIZATION, None, "no Flux Kustomization builds from this source")
        )
    unseen: list[Problem] = []  # what only the Kustomizations out of sight could contradict
    today: FileView | None = None
    for prediction in predictions:
        if prediction.ok:
            continue
        failing = tuple(failure.path for failure in prediction.failures)
        # Blocking when bootstrap's files are involved, or when this Kustomization is
        # the one that would have to apply the manifests.
        ours = any(path in added for path in failing) or any(
            path in prediction.reached_files or is_within(path, prediction.kustomization.repo_path)
            for path in manifests
        )
        if not ours:
            today = today or artifact(files, spec_ignore, sparse)[0]
            ours = predict_build(today, prediction.kustomization).ok
        line = f"Kustomization {prediction.kustomization.ref} would fail: {prediction.message}"
        if ours:
            problems.append(Problem(BUILD_FAILS, prediction.kustomization, line, failing))
        else:
            notes.append(f"already failing, unrelated to bootstrap: {line}")
    reconciled_by = tuple(
        p.kustomization
        for p in predictions
        if p.ok and any(m in p.applied_files for m in manifests)
    )
    placements = next(
        (
            tuple(pl for pl in p.placements if pl.path in manifests)
            for p in predictions
            if p.kustomization in reconciled_by
        ),
        (),
    )
    problems += placement_problems(placements, added, reconciled_by)
    unapplied = [
        m
        for m in manifests
        if not any(p.ok and m in p.applied_files for p in predictions)
        and not any(
            not p.ok and (m in p.reached_files or is_within(m, p.kustomization.repo_path))
            for p in predictions
        )
    ]
    if unapplied and kustomizations:
        problem = _not_reconciled(unapplied, future_ignore.excluded, kustomizations, sparse)
        # Never fetched or excluded from the artifact holds for every Kustomization.
        fetched_at_all = in_sparse_checkout(unapplied[0], sparse) and not future_ignore.excluded(
            unapplied[0]
        )
        (unseen if scope is not None and fetched_at_all else problems).append(problem)
    if scope is not None:
        unseen += [p for p in problems if p.code == NO_KUSTOMIZATION]
        problems = [p for p in problems if p.code != NO_KUSTOMIZATION]
        notes += [
            f"{PARTIAL_VIEW}{p.message} in namespace {scope}; a Kustomization in a namespace "
            "these credentials may not list could (not checked)"
            for p in unseen
        ]
    # Whether Flux fetches kasboot's commit at all comes first: it is the root cause.
    fetched: list[Problem] = []
    if source is not None and source.kind == "GitRepository":
        fetched += source_problems(source, manifest_branch, project_urls)
        fetched += sparse_problems(source, overlay(files, added))
        source_branch = following(source).branch
    elif source_branch and manifest_branch and source_branch != manifest_branch:
        fetched.append(
            Problem(
                BRANCH_MISMATCH,
                None,
                f"Flux follows branch {source_branch!r}, "
                f"but the manifests go to {manifest_branch!r}",
            )
        )
    problems = fetched + problems
    return TopologyVerdict(
        ok=not problems,
        predictions=predictions,
        manifest_reconciled_by=reconciled_by,
        problems=tuple(problems),
        fixes=tuple(_fixes(problems, manifests, future, source_branch, source, manifest_branch)),
        notes=tuple(notes),
        placements=placements,
        partial=f"partial: checked the Kustomizations in namespace {scope} only" if scope else "",
    )


def _not_reconciled(
    unapplied: list[str],
    excluded: Callable[[str], bool],
    kustomizations: Sequence[FluxKustomization],
    sparse: Sequence[str] | None = None,
) -> Problem:
    manifest = unapplied[0]
    covering: list[FluxKustomization] = []
    if not in_sparse_checkout(manifest, sparse):
        listed = ", ".join(sparse or ())
        why = f"it is outside the GitRepository's spec.sparseCheckout ({listed}): never fetched"
    elif excluded(manifest):
        why = "it is excluded from the source artifact (.sourceignore or spec.ignore)"
    else:
        covering = [k for k in kustomizations if is_within(manifest, k.repo_path)]
        if covering:
            why = (
                f"it lies under {_display_path(covering[0])} but no kustomization file "
                "on the way lists it"
            )
        else:
            paths = ", ".join(sorted({_display_path(k) for k in kustomizations}))
            why = f"it is outside every Flux path ({paths})"
    target = covering_kustomization(kustomizations, manifest)
    return Problem(
        NOT_RECONCILED,
        target,
        f"no Kustomization would apply {manifest}: {why}",
        tuple(unapplied),
    )


def covering_kustomization(
    kustomizations: Sequence[FluxKustomization], path: str
) -> FluxKustomization | None:
    """The Kustomization whose spec.path is the deepest ancestor of `path`."""
    covering = [k for k in kustomizations if is_within(path, k.repo_path)]
    return max(covering, key=lambda k: len(k.repo_path), default=None)


def _fixes(
    problems: list[Problem],
    manifests: list[str],
    future: Mapping[str, bytes],
    source_branch: str | None,
    source: FluxSource | None = None,
    manifest_branch: str | None = None,
) -> list[str]:
    fixes: list[str] = []
    manifest_dir = manifests[0].rpartition("/")[0] if manifests else ""
    for problem in problems:
        ks = problem.kustomization
        if problem.code == BUILD_FAILS and ks is not None:
            ours = [f for f in problem.files if f.startswith(".gitlab/")]
            stray = [f for f in problem.files if not f.startswith(".gitlab/")]
            if ours:
                fixes.append(
                    "add a root .sourceignore excluding /.gitlab/ (kasboot writes it, keeping "
                    "source-controller's default exclusions)"
                )
                fixes.append(
                    f"add a kustomization.yaml at {_display_path(ks)} listing what Flux should "
                    "apply (kasboot writes it from what builds today)"
                )
                fixes.append(
                    f"set spec.ignore: /.gitlab/ on {ks.source_kind} "
                    f"{ks.source_namespace}/{ks.source_name}"
                )
                fixes.append(
                    "point Flux at a sub-directory (flux bootstrap --path clusters/<cluster>) "
                    "and put --manifest-path under it"
                )
            for path in stray:
                fixes.append(
                    f"fix or remove {path} (Flux cannot build it), or exclude it in .sourceignore"
                )
        elif problem.code == NOT_RECONCILED and not all(
            in_sparse_checkout(path, source.sparse_checkout if source else None)
            for path in problem.files
        ):
            where = source.display if source else "the source"
            fixes.append(
                f"use a --manifest-path inside spec.sparseCheckout of {where}, "
                "or add its directory there"
            )
        elif problem.code == SOURCE_FAILS and source is not None:
            fixes.append(f"fix spec.sparseCheckout of {source.display}: every entry must exist")
        elif problem.code == NOT_RECONCILED:
            if ks is not None and kustomization_file_in(future, ks.repo_path) is None:
                fixes.append(
                    f"use a --manifest-path under {_display_path(ks)}, where Flux generates "
                    "its kustomization"
                )
            elif ks is not None:
                fixes.append(
                    f"list {manifest_dir or '.'} in the kustomization files under "
                    f"{_display_path(ks)} (kasboot can add it)"
                )
            else:
                fixes.append("use a --manifest-path under a path that Flux reconciles")
        elif problem.code == BRANCH_MISMATCH:
            if source is not None and manifest_branch:
                fixes.append(
                    f"set spec.ref.branch: {manifest_branch} on {source.display} "
                    f"(flux bootstrap --branch {manifest_branch})"
                )
            fixes.append(
                f"commit to {source_branch!r}, the branch Flux follows (--manifest-branch)"
            )
        elif problem.code == REF_PINNED and source is not None:
            fixes.append(
                f"make {source.display} follow a branch (spec.ref.branch: "
                f"{manifest_branch or 'main'}), or name the source that does (--flux-source-name)"
            )
        elif problem.code == SOURCE_REF_BROKEN and problem.fix:
            fixes.append(problem.fix)
        elif problem.code == UNFOLLOWABLE:
            fixes.append(
                "put --manifest-path under a Kustomization that does not rename or move "
                "objects (namePrefix/nameSuffix, patches of metadata)"
            )
        elif problem.code == OTHER_REPOSITORY:
            fixes.append(
                "bootstrap the project Flux syncs (-R group/project), or name the source of "
                "this project (--flux-source-namespace/--flux-source-name)"
            )
        elif problem.code == NO_KUSTOMIZATION:
            fixes.append(
                "create a Flux Kustomization for this source (flux bootstrap), or name the "
                "source Flux really uses (--flux-source-*)"
            )
    return list(dict.fromkeys(fixes))


def files_to_read(
    tree: Iterable[str],
    kustomizations: Sequence[FluxKustomization],
    *,
    known: Mapping[str, bytes] | None = None,
    added: Mapping[str, bytes] | None = None,
    spec_ignore: str | None = None,
) -> set[str]:
    """The paths whose content the guard still needs, given what is already `known`.

    Which files a build reaches depends on the kustomization files it meets, so call
    again with the fetched content in `known` until the answer is empty. Files in
    `added` never need fetching.
    """
    known = dict(known or {})
    added = dict(added or {})
    wanted: set[str] = set()

    def read(path: str) -> bytes:
        if path in added:
            return added[path]
        if path in known:
            return known[path]
        wanted.add(path)
        return b""  # unknown for now: reveals no further references

    paths = set(tree)
    for files in (FileView(paths, read), overlay(FileView(paths, read), added)):
        view, _ = artifact(files, spec_ignore)
        for kustomization in kustomizations:
            predict_build(view, kustomization)
    return wanted


# The fixes live in their own module; they are part of this module's API.
from kasboot.flux.fixes import fix_add_kustomization, fix_sourceignore  # noqa: E402
