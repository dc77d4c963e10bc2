"""The Flux topology guard inside pre-flight: read the Flux source and every
Kustomization that uses it, read the repository where their builds reach
(steps/guard_files.py), and predict Flux's build on the tree as it will be after
bootstrap. With --fix, add the files that make it pass (re-checked before anything is written)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kasboot.cluster import SOURCE_KINDS
from kasboot.errors import PreflightError
from kasboot.flux.clash_advice import own_names_fix
from kasboot.flux.gitsource import FluxSource, following
from kasboot.flux.manifests import DecodeError, decode_manifests
from kasboot.flux.topology import (
    FluxKustomization,
    TopologyVerdict,
    check_topology,
    fix_add_kustomization,
    fix_sourceignore,
)
from kasboot.settings import Settings
from kasboot.steps.context import BootstrapContext
from kasboot.steps.guard_files import guard_files
from kasboot.steps.kustomization_reads import kustomization_objects

FIX_ADD_KUSTOMIZATION = "add-kustomization"
FIX_SOURCEIGNORE = "sourceignore"


def source_kustomizations(
    ctx: BootstrapContext, listed: list[dict[str, Any]] | None = None
) -> list[FluxKustomization]:
    """The Kustomizations building from the Flux source, of ``listed`` (what pre-flight
    listed) or of a list made now."""
    settings = ctx.settings
    kind = SOURCE_KINDS[settings.flux_source_type]
    source = (kind, settings.flux_source_namespace, settings.flux_source_name)
    found = []
    for item in kustomization_objects(ctx) if listed is None else listed:
        meta, spec = item["metadata"], item.get("spec") or {}
        ref = spec.get("sourceRef") or {}
        namespace = ref.get("namespace") or meta["namespace"]
        if (ref.get("kind"), namespace, ref.get("name")) == source:
            found.append(FluxKustomization.from_object(item, source))
    return found


def _trap_fixes(ctx: BootstrapContext, kustomization: FluxKustomization) -> list[str]:
    """The root-path trap's fixes, in order of preference."""
    return [
        "(1) point Flux at a sub-directory (e.g. `flux bootstrap gitlab --path clusters/<name>`) "
        "and put --manifest-path under it",
        f"(2) --fix {FIX_ADD_KUSTOMIZATION}: commit a kustomization.yaml at "
        f"./{kustomization.repo_path} listing what Flux applies today",
        f"(3) --fix {FIX_SOURCEIGNORE}: commit a root .sourceignore excluding /.gitlab/",
    ]


def refusal(ctx: BootstrapContext, verdict: TopologyVerdict) -> PreflightError:
    problems = "; ".join(problem.message for problem in verdict.problems)
    trap = next(
        (
            p
            for p in verdict.problems
            if p.kustomization is not None and any(f.startswith(".gitlab/") for f in p.files)
        ),
        None,
    )
    if trap is not None and trap.kustomization is not None:
        files = ", ".join(trap.files)
        message = (
            f"Flux would fail to reconcile the GitLab agent: {problems} "
            f"(offending file(s): {files})"
        )
        fixes = _trap_fixes(ctx, trap.kustomization)
    else:
        message = f"Flux would not apply the agent's manifests: {problems}"
        found = list(verdict.fixes)
        own_names = own_names_fix(
            problems,
            ctx.settings.agent,
            ctx.settings.helm_release_target_namespace == Settings.helm_release_target_namespace,
        )
        if own_names is not None:
            # Two agents under one Flux path with the same object names: kustomize refuses.
            # The other fixes would have the user edit or drop files of the build.
            found = [own_names, "put this agent's manifests under another Flux path"]
        fixes = [f"({n}) {fix}" for n, fix in enumerate(found, 1)]
    if ctx.guard_partial:
        message += f" (topology guard {ctx.guard_partial})"
    return PreflightError(message, hint="fixes: " + " | ".join(fixes))


def check_namespaces(
    ctx: BootstrapContext,
    verdict: TopologyVerdict,
    files: Mapping[str, bytes],
    added: Mapping[str, bytes],
) -> None:
    """Flux applies the HelmRepository and HelmRelease into their namespaces: refuse when
    such a namespace neither exists nor is created by the same Flux build (the apply
    would fail with `namespaces "<ns>" not found` after the commit). The agent's own
    namespace is no such case: the Secret step creates it before the commit (a receptive
    agent's HelmRelease lives there, next to the token Secret its valuesFrom reads)."""
    settings = ctx.settings
    wanted = {
        verdict.placed("HelmRepository", *_repository(settings))[0],
        verdict.placed("HelmRelease", *_release(settings))[0],
    } - {settings.helm_release_target_namespace}
    missing = {namespace for namespace in wanted if not ctx.cluster.namespace_exists(namespace)}
    if not missing:
        return
    applied: set[str] = set()
    for prediction in verdict.predictions:
        if prediction.kustomization in verdict.manifest_reconciled_by:
            applied |= prediction.applied_files
    for path in applied:
        data = added[path] if path in added else files[path]
        try:
            objects = decode_manifests(data)
        except DecodeError:
            continue
        missing -= {obj.name for obj in objects if obj.kind == "Namespace"}
    if missing:
        names = ", ".join(sorted(missing))
        raise PreflightError(
            f"namespace {names} does not exist and nothing Flux applies creates it: Flux "
            f'would fail to apply the manifests (namespaces "{sorted(missing)[0]}" not found)',
            hint="create it first (e.g. commit a Namespace manifest under the Flux path), or "
            "use --helm-release-namespace/--helm-repository-namespace flux-system",
        )


def _repository(settings: Settings) -> tuple[str, str]:
    return settings.helm_repository_namespace, settings.helm_repository_name


def _release(settings: Settings) -> tuple[str, str]:
    return settings.helm_release_namespace, settings.helm_release_name


def _follow(ctx: BootstrapContext, verdict: TopologyVerdict) -> TopologyVerdict:
    """Remember where Flux puts the HelmRelease, so the reconcile waits there."""
    for note in verdict.partial_notes:
        ctx.guard_partial += f"; {note}"
    written = _release(ctx.settings)
    placed = verdict.placed("HelmRelease", *written)
    ctx.helm_release_at = placed if placed != written else None
    return verdict


def run_guard(
    ctx: BootstrapContext,
    planned: Mapping[str, str],
    source: dict[str, Any] | None = None,
    kustomizations: list[FluxKustomization] | None = None,
) -> TopologyVerdict | None:
    """Check the topology; with --fix, put the fix files in ctx.extra_files. Returns the
    final verdict, or None when there is no Flux to predict. ``source`` and
    ``kustomizations``: as pre-flight already read them (read here when not given)."""
    settings = ctx.settings
    kind = SOURCE_KINDS[settings.flux_source_type]
    if kind == "HelmRepository" or ctx.flux_version is None:
        return None
    if source is None:
        source = ctx.flux_source or ctx.cluster.get_object(
            kind, settings.flux_source_namespace, settings.flux_source_name
        )
    if source is None:
        return None
    flux_source = FluxSource.from_object({**source, "kind": kind})
    spec_ignore = flux_source.ignore
    project = ctx.project
    project_urls = [u for u in (project.http_url, project.ssh_url) if u] if project else []
    if kind == "GitRepository":
        ctx.flux_revision_prefix = following(flux_source).revision_prefix
    if kustomizations is None:
        kustomizations = source_kustomizations(ctx)
    files = guard_files(ctx, kustomizations)  # steps/guard_files.py: archives, not file GETs
    added = {path: text.encode() for path, text in planned.items()}
    manifest_files = [settings.helm_repository_path, settings.helm_release_path]

    def check(extra: Mapping[str, bytes]) -> TopologyVerdict:
        return check_topology(
            files=files,
            added={**added, **extra},
            kustomizations=kustomizations,
            manifest_files=manifest_files,
            spec_ignore=spec_ignore,
            manifest_branch=ctx.branch,
            source=flux_source,
            project_urls=project_urls,
            scope=ctx.kustomization_scope,
        )

    verdict = check({})
    if verdict.ok or not settings.fix:
        if not verdict.ok:
            raise refusal(ctx, verdict)
        check_namespaces(ctx, verdict, files, added)
        return _follow(ctx, verdict)
    extra: dict[str, bytes] = {}
    if FIX_SOURCEIGNORE in settings.fix:
        extra.update(fix_sourceignore(files, {**added, **extra}, spec_ignore))
    if FIX_ADD_KUSTOMIZATION in settings.fix:
        for problem in verdict.problems:
            if problem.kustomization is not None:
                extra.update(
                    fix_add_kustomization(
                        files,
                        {**added, **extra},
                        problem.kustomization,
                        manifest_files,
                        spec_ignore,
                    )
                )
    fixed = check(extra)
    if not fixed.ok:
        raise refusal(ctx, fixed)
    check_namespaces(ctx, fixed, files, {**added, **extra})
    ctx.extra_files = {path: data.decode() for path, data in extra.items()}
    return _follow(ctx, fixed)
