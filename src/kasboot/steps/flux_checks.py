"""Pre-flight: does this cluster's Flux serve the API versions kasboot writes and reads?

kasboot commits `helm.toolkit.fluxcd.io/v2` HelmRelease and
`source.toolkit.fluxcd.io/v1` HelmRepository (what `flux create … --export` writes
since Flux 2.3): HelmRelease v2 is served from helm-controller v1.0 (Flux 2.3),
HelmRepository and HelmChart v1 from source-controller v1.3 (Flux 2.3), OCIRepository
v1 from source-controller v1.6 (Flux 2.6). On an older Flux the commit would land and
the Kustomization could never apply it, so refuse (exit 3) before any write."""

from __future__ import annotations

from kasboot.cluster import FLUX_KINDS, SOURCE_KINDS
from kasboot.errors import PreflightError
from kasboot.steps.context import BootstrapContext

# kind -> the Flux release that first served the version kasboot uses
SINCE = {
    "HelmRelease": "2.3",
    "HelmRepository": "2.3",
    "HelmChart": "2.3",
    "Kustomization": "2.0",
    "GitRepository": "2.0",
    "OCIRepository": "2.6",
}


def needed_kinds(ctx: BootstrapContext) -> list[str]:
    source = SOURCE_KINDS[ctx.settings.flux_source_type]
    return ["HelmRelease", "HelmRepository", "HelmChart", "Kustomization", source]


def check_flux_api_versions(ctx: BootstrapContext) -> None:
    """Refuse a Flux whose CRDs do not serve the versions kasboot uses (only when Flux
    is installed: its absence is reported elsewhere)."""
    if ctx.flux_version is None:
        return
    missing = []
    for kind in dict.fromkeys(needed_kinds(ctx)):
        wanted = FLUX_KINDS[kind]
        served = ctx.cluster.served_versions(kind)
        if served is not None and wanted.version not in served:
            missing.append((kind, wanted, served))
    if not missing:
        return
    kind, wanted, served = missing[0]
    since = max(SINCE[k] for k, _, _ in missing)
    others = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    raise PreflightError(
        f"Flux {ctx.flux_version} is too old: its {kind} CRD serves "
        f"{', '.join(served) or 'no version'}, but kasboot writes {wanted.api_version}"
        f"{others}, served since Flux {since}",
        hint=f"upgrade Flux to {since} or later (`flux install` or re-run `flux bootstrap`), "
        "then run kasboot again",
    )
