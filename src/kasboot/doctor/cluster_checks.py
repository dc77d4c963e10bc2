"""The cluster's side: reachable (context, server version); Flux installed the way
`flux check` decides it (the CRDs, the controller Deployments labelled
`app.kubernetes.io/part-of: flux`, their versions); the Flux source and the
Kustomizations built from it; the running agentk's version against GitLab's; and the
topology guard, with the very code bootstrap's pre-flight runs."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from kasboot.advice import FLUX_MISSING_HINT
from kasboot.cluster import SOURCE_KINDS
from kasboot.doctor.context import DoctorContext
from kasboot.doctor.flux_scoped import UNKNOWN_VERSION, ScopedView, is_forbidden, scoped_view
from kasboot.doctor.model import Check, failed, failed_with, passed, skipped, warned
from kasboot.doctor.versions import Compatibility, agent_compatibility, image_tag, parse_version
from kasboot.errors import ClusterError, ExitCode, KasbootError
from kasboot.flux.diagnose import diagnose
from kasboot.flux.health import Phase, assess

if TYPE_CHECKING:
    from kasboot.cluster import Cluster
    from kasboot.steps.context import BootstrapContext

# What kasboot needs of Flux: the kinds it reads and writes, and their controllers.
REQUIRED_CRDS = (
    "gitrepositories.source.toolkit.fluxcd.io",
    "helmrepositories.source.toolkit.fluxcd.io",
    "helmcharts.source.toolkit.fluxcd.io",
    "kustomizations.kustomize.toolkit.fluxcd.io",
    "helmreleases.helm.toolkit.fluxcd.io",
)
REQUIRED_CONTROLLERS = ("source-controller", "kustomize-controller", "helm-controller")
FLUX_INSTALL_FIX = FLUX_MISSING_HINT


def check_cluster(ctx: DoctorContext) -> Check:
    title = "Cluster"
    if ctx.cluster is None:
        assert ctx.cluster_error is not None
        return failed_with("cluster", title, ctx.cluster_error)
    try:
        version = ctx.cluster.server_version()
    except ClusterError as error:
        return failed_with("cluster", title, error)
    ctx.cluster_answers = True
    return passed(
        "cluster",
        title,
        f"context {ctx.cluster.context}, {ctx.cluster.server}, Kubernetes {version}",
    )


def _available(deployment: dict[str, Any]) -> tuple[int, int]:
    wanted = int((deployment.get("spec") or {}).get("replicas", 1) or 0)
    available = int((deployment.get("status") or {}).get("availableReplicas") or 0)
    return available, wanted


def _controller_name(deployment: dict[str, Any]) -> str:
    return str(deployment["metadata"]["name"])


def _containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    template = (deployment.get("spec") or {}).get("template") or {}
    return list((template.get("spec") or {}).get("containers") or [])


def check_flux(ctx: DoctorContext) -> Check:
    title = "Flux"
    if ctx.cluster is None or not ctx.cluster_answers:
        return skipped("flux", title, "the cluster did not answer")
    # Without reconciling, bootstrap does not need Flux: a missing Flux is then a warning.
    missing_is = ExitCode.OK if ctx.settings.no_reconcile else ExitCode.PREFLIGHT
    partial: ScopedView | None = None
    try:
        try:
            found_crds = ctx.cluster.flux_crds()
            crds = {str(crd["metadata"]["name"]) for crd in found_crds}
            ctx.flux_version = flux_version_of(found_crds)
            controllers = ctx.cluster.list_deployments(None, "app.kubernetes.io/part-of=flux")
        except ClusterError as error:
            if not is_forbidden(error):
                raise
            # A namespace-scoped operator: look where it may (see flux_scoped).
            partial = scoped_view(ctx.cluster, ctx.settings.flux_source_namespace)
            crds = partial.crds
            ctx.flux_version = UNKNOWN_VERSION if crds else None
            controllers = partial.controllers
    except ClusterError as error:
        return failed_with("flux", title, error)
    problems: list[str] = []
    if not crds:
        problems.append("no Flux CRDs (Flux is not installed)")
    else:
        absent = [name for name in REQUIRED_CRDS if name not in crds]
        if absent:
            problems.append(f"missing CRDs {', '.join(absent)}")
    found = {_controller_name(d): d for d in controllers}
    versions = []
    for name in REQUIRED_CONTROLLERS:
        deployment = found.get(name)
        if deployment is None:
            if crds and not (partial and partial.unreadable):
                problems.append(f"no {name} Deployment")
            continue
        available, wanted = _available(deployment)
        images = [str(c.get("image") or "") for c in _containers(deployment)]
        tag = next((image_tag(image) for image in images if image_tag(image)), None)
        versions.append(f"{name} {tag or '?'}")
        if available < wanted or wanted == 0:
            problems.append(f"{name} not ready ({available}/{wanted} available)")
    if problems:
        summary = "; ".join(problems) + (f" ({partial.note()})" if partial else "")
        if missing_is is ExitCode.OK:
            return warned("flux", title, summary + " (--no-reconcile: not needed)")
        return failed("flux", title, summary, FLUX_INSTALL_FIX, missing_is)
    where = ", ".join(sorted({d["metadata"]["namespace"] for d in controllers})) or "?"
    ready = f", {', '.join(versions)} ready" if versions else ""
    summary = f"Flux {ctx.flux_version or '?'} in {where}: {len(crds)} CRDs{ready}"
    if partial:
        return warned("flux", title, f"{summary}; {partial.note()}", partial.fix())
    return passed("flux", title, summary)


def flux_version_of(crds: list[dict[str, Any]]) -> str | None:
    """Flux's version as `flux check` reads it: the GitRepository CRD's version label
    (None when Flux is not installed)."""
    for crd in crds:
        if crd["metadata"]["name"] == "gitrepositories.source.toolkit.fluxcd.io":
            labels = crd["metadata"].get("labels") or {}
            return str(labels.get("app.kubernetes.io/version", "unknown"))
    return "unknown" if crds else None


def _health_line(cluster: Cluster, kind: str, obj: dict[str, Any]) -> Check | None:
    """None when Ready; otherwise the line saying what is wrong and how to fix it (its
    events are read only then)."""
    meta = obj["metadata"]
    ref = f"{kind} {meta['namespace']}/{meta['name']}"
    health = assess(obj)
    if health.phase is Phase.READY:
        return None
    if health.phase is Phase.PROGRESSING:
        return warned("", "", f"{ref} is reconciling: {health.message or health.reason}")
    events = cluster.events_for(kind, meta["namespace"], meta["name"])
    found = diagnose(kind, obj, events)
    if found is not None:
        return failed("", "", f"{ref}: {found.cause}", found.fix, ExitCode.FLUX)
    fix = (
        f"resume it: flux resume {kind.lower()} -n {meta['namespace']} {meta['name']}"
        if health.phase is Phase.SUSPENDED
        else f"see `flux get {kind.lower()}s -A` and `kubectl describe` for {ref}"
    )
    return failed("", "", f"{ref}: {health.reason}: {health.message}", fix, ExitCode.FLUX)


def check_flux_source(ctx: DoctorContext) -> Check:
    """The source bootstrap's --flux-source-* names, and every Kustomization using it."""
    title = "Flux source"
    if ctx.cluster is None or ctx.flux_version is None:
        return skipped("flux-source", title, "Flux is not installed")
    from kasboot.steps.guard import source_kustomizations

    settings = ctx.settings
    kind = SOURCE_KINDS[settings.flux_source_type]
    ref = f"{kind} {settings.flux_source_namespace}/{settings.flux_source_name}"
    try:
        source = ctx.cluster.get_object(
            kind, settings.flux_source_namespace, settings.flux_source_name
        )
        if source is None:
            return failed(
                "flux-source",
                title,
                f"{ref} not found",
                "pass --flux-source-type/--flux-source-namespace/--flux-source-name naming "
                "the source that syncs this project",
                ExitCode.PREFLIGHT,
            )
        lines = [(kind, source)]
        if kind != "HelmRepository":
            for found in source_kustomizations(_reader(ctx)):
                obj = ctx.cluster.get_object("Kustomization", found.namespace, found.name)
                if obj is not None:
                    lines.append(("Kustomization", obj))
        for line_kind, obj in lines:
            problem = _health_line(ctx.cluster, line_kind, obj)
            if problem is not None:
                return dataclasses.replace(problem, id="flux-source", title=title)
    except KasbootError as error:
        return failed_with("flux-source", title, error)
    revision = ((source.get("status") or {}).get("artifact") or {}).get("revision", "?")
    names = ", ".join(f"{o['metadata']['namespace']}/{o['metadata']['name']}" for k, o in lines[1:])
    applied = f"; Kustomization(s) {names} Ready" if names else ""
    return passed("flux-source", title, f"{ref} Ready at {revision}{applied}")


def _reader(ctx: DoctorContext) -> BootstrapContext:
    """source_kustomizations reads only the settings and the cluster of its context."""
    return cast("BootstrapContext", SimpleNamespace(settings=ctx.settings, cluster=ctx.cluster))


def find_agentk(deployments: list[dict[str, Any]], release: str) -> tuple[str, str] | None:
    """(Deployment name, image) of the agentk in a namespace, the release's first."""
    candidates = []
    for deployment in deployments:
        for container in _containers(deployment):
            image = str(container.get("image") or "")
            if "agentk" in image.split("@", 1)[0].rsplit("/", 1)[-1]:
                labels = deployment["metadata"].get("labels") or {}
                ours = labels.get("app.kubernetes.io/instance") == release
                candidates.append((not ours, _controller_name(deployment), image))
    if not candidates:
        return None
    _, name, image = sorted(candidates)[0]
    return name, image


def check_agent_version(ctx: DoctorContext) -> Check:
    title = "agentk version"
    namespace, release = ctx.agentk_at or (
        ctx.settings.helm_release_target_namespace,
        ctx.settings.helm_release_name,
    )
    gitlab_version = parse_version(ctx.metadata.get("version"))
    if ctx.cluster is None or not ctx.cluster_answers or gitlab_version is None:
        return skipped("agent-version", title, "needs GitLab's version and the cluster")
    try:
        found = find_agentk(ctx.cluster.list_deployments(namespace), release)
    except ClusterError as error:
        return failed_with("agent-version", title, error)
    if found is None:
        return skipped("agent-version", title, f"no agentk Deployment in namespace {namespace}")
    name, image = found
    tag = image_tag(image)
    agent_version = parse_version(tag)
    where = f"{namespace}/{name} runs agentk {tag or '(no tag)'}"
    ideal = f"v{gitlab_version.major_minor}.x"
    fix = (
        f"run agentk {ideal} (GitLab {gitlab_version}): re-run bootstrap (it pins image.tag "
        "to the KAS version) or pass --agent-version"
    )
    if agent_version is None:
        return warned("agent-version", title, f"{where}: cannot tell its version", fix)
    verdict = agent_compatibility(gitlab_version, agent_version)
    summary = f"{where}, GitLab {gitlab_version}"
    if verdict is Compatibility.IDEAL:
        return passed("agent-version", title, f"{summary}: same major.minor")
    if verdict is Compatibility.SUPPORTED:
        return warned("agent-version", title, f"{summary}: one minor apart (supported)", fix)
    if verdict is Compatibility.UNCERTAIN:
        return warned("agent-version", title, f"{summary}: supported only if one minor apart", fix)
    return failed(
        "agent-version",
        title,
        f"{summary}: unsupported (GitLab supports the same major.minor, or one minor apart)",
        fix,
        ExitCode.PREFLIGHT,
    )
