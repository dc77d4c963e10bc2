"""Doctor's Flux check for credentials that may not look cluster-wide (a namespace-scoped
operator: a RoleBinding in the Flux namespace, nothing at the cluster scope). Listing
CustomResourceDefinitions or Deployments across namespaces answers 403 there, although
Flux may be perfectly installed. Fall back the way bootstrap does:

- the served versions of Flux's kinds from API discovery (``GET /apis/<group>``, open to
  every authenticated user through ``system:discovery``; Cluster.served_versions reads
  the CRD first and falls back to it);
- the controllers' Deployments in the Flux source's namespace only.

The result is a warning saying the view is partial and how to see one's own rights
(``kubectl auth can-i --list``), never the raw 403 and never "Flux is not installed"
for what merely could not be read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kasboot.cluster import Cluster
from kasboot.errors import ClusterError

# REQUIRED_CRDS (cluster_checks) by kind: what discovery is asked for.
REQUIRED_KINDS = {
    "gitrepositories.source.toolkit.fluxcd.io": "GitRepository",
    "helmrepositories.source.toolkit.fluxcd.io": "HelmRepository",
    "helmcharts.source.toolkit.fluxcd.io": "HelmChart",
    "kustomizations.kustomize.toolkit.fluxcd.io": "Kustomization",
    "helmreleases.helm.toolkit.fluxcd.io": "HelmRelease",
}
# What Cluster.flux_version says when the GitRepository CRD (its version label) is unreadable.
UNKNOWN_VERSION = "unknown (CRDs not readable)"
RIGHTS_FIX = (
    "see what these credentials may do: `kubectl auth can-i --list -n {namespace}`; for a "
    "full check run doctor with credentials that may list CustomResourceDefinitions and "
    "Deployments cluster-wide"
)


@dataclass
class ScopedView:
    """What a namespace-scoped user could see of Flux."""

    namespace: str
    served: dict[str, list[str]] = field(default_factory=dict)  # CRD name → versions
    controllers: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # what even the fallback could not read

    @property
    def crds(self) -> set[str]:
        """The CRD names whose kinds the API server serves."""
        return {name for name, versions in self.served.items() if versions}

    def note(self) -> str:
        seen = f"checked API discovery and namespace {self.namespace} only"
        if self.unreadable:
            seen += f"; could not read {', '.join(self.unreadable)}"
        return (
            "partial: may not list CustomResourceDefinitions or Deployments cluster-wide "
            f"(403), {seen}"
        )

    def fix(self) -> str:
        return RIGHTS_FIX.format(namespace=self.namespace)


def is_forbidden(error: ClusterError) -> bool:
    return error.status == 403


def scoped_view(cluster: Cluster, namespace: str) -> ScopedView:
    """Flux as discovery and the Flux namespace show it. Raises ClusterError for anything
    but 403 (an unreachable cluster stays a failure)."""
    view = ScopedView(namespace)
    for crd, kind in REQUIRED_KINDS.items():
        versions = cluster.served_versions(kind)
        if versions:
            view.served[crd] = versions
    try:
        view.controllers = cluster.list_deployments(namespace, "app.kubernetes.io/part-of=flux")
    except ClusterError as error:
        if not is_forbidden(error):
            raise
        view.unreadable.append(f"Deployments in namespace {namespace}")
    return view
