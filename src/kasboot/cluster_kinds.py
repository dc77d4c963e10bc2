"""The names the cluster seam speaks in: Flux's kinds and where they are served, and
the labels and annotations kasboot writes (re-exported by kasboot.cluster)."""

from __future__ import annotations

from dataclasses import dataclass

TOKEN_ID_ANNOTATION = "gitlab.com/agent-token-id"  # the annotation glab writes, kept compatible
MANAGED_BY_LABEL = ("app.kubernetes.io/managed-by", "kasboot")
AGENT_ANNOTATION = "kasboot/agent"  # "<project path>/<agent name>": whose token a Secret holds
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
STARTED_WITH_TOKEN = "kasboot.dev/token-id"  # pod template: the token agentk started with
# token Secret: the token a replace took out — agentk's pods that no restart of kasboot's
# has stamped since may still run on it
REPLACED_TOKEN = "kasboot.dev/replaced-token-id"
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class FluxKind:
    kind: str
    group: str
    version: str
    plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"


FLUX_KINDS: dict[str, FluxKind] = {
    kind.kind: kind
    for kind in (
        FluxKind("GitRepository", "source.toolkit.fluxcd.io", "v1", "gitrepositories"),
        FluxKind("OCIRepository", "source.toolkit.fluxcd.io", "v1", "ocirepositories"),
        FluxKind("HelmRepository", "source.toolkit.fluxcd.io", "v1", "helmrepositories"),
        FluxKind("HelmChart", "source.toolkit.fluxcd.io", "v1", "helmcharts"),
        FluxKind("Kustomization", "kustomize.toolkit.fluxcd.io", "v1", "kustomizations"),
        FluxKind("HelmRelease", "helm.toolkit.fluxcd.io", "v2", "helmreleases"),
    )
}
SOURCE_KINDS = {"git": "GitRepository", "oci": "OCIRepository", "helm": "HelmRepository"}


def resource_path(
    group: str, version: str, plural: str, namespace: str | None = None, name: str | None = None
) -> str:
    """The REST path of a collection or one object (``group`` "" is the core group)."""
    path = "/api/v1" if group == "" else f"/apis/{group}/{version}"
    if namespace is not None:
        path += f"/namespaces/{namespace}"
    path += f"/{plural}"
    return f"{path}/{name}" if name is not None else path


def flux_path(kind: str, namespace: str | None = None, name: str | None = None) -> str:
    spec = FLUX_KINDS[kind]
    return resource_path(spec.group, spec.version, spec.plural, namespace, name)
