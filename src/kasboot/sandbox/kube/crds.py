"""Flux's CustomResourceDefinitions, labelled as ``flux install`` labels them."""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

import yaml

FLUX_VERSION = "v2.9.4"
FLUX_CRD_FILES = (
    "source.toolkit.fluxcd.io_gitrepositories.yaml",
    "source.toolkit.fluxcd.io_ocirepositories.yaml",
    "source.toolkit.fluxcd.io_helmrepositories.yaml",
    "source.toolkit.fluxcd.io_helmcharts.yaml",
    "kustomize.toolkit.fluxcd.io_kustomizations.yaml",
    "helm.toolkit.fluxcd.io_helmreleases.yaml",
)
FLUX_LABELS = {
    "app.kubernetes.io/component": "",  # replaced per controller below
    "app.kubernetes.io/instance": "flux-system",
    "app.kubernetes.io/part-of": "flux",
    "app.kubernetes.io/version": FLUX_VERSION,
}
_COMPONENT_BY_GROUP = {
    "source.toolkit.fluxcd.io": "source-controller",
    "kustomize.toolkit.fluxcd.io": "kustomize-controller",
    "helm.toolkit.fluxcd.io": "helm-controller",
}

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader


@functools.lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Any], ...]:
    data = resources.files(__package__).joinpath("data")
    crds = []
    for file_name in FLUX_CRD_FILES:
        crd = yaml.load(data.joinpath(file_name).read_text(encoding="utf-8"), Loader=_Loader)
        labels = crd.setdefault("metadata", {}).setdefault("labels", {})
        labels.update(FLUX_LABELS)
        labels["app.kubernetes.io/component"] = _COMPONENT_BY_GROUP[crd["spec"]["group"]]
        crds.append(crd)
    return tuple(crds)


def flux_crds() -> list[dict[str, Any]]:
    """The six Flux CRDs as dicts, ready to create (fresh copies: callers may mutate)."""
    return copy.deepcopy(list(_load()))
