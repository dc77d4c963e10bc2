"""Which API versions each Flux release served (`kasboot sandbox up --flux-version`).

Read from the CRDs of the controller versions flux2's manifests pin per release
(config/crd/bases in source-, kustomize- and helm-controller at those tags):

| kind | version | served from (Flux / controller) | removed in |
|---|---|---|---|
| GitRepository, Kustomization | v1 | 2.0 (source/kustomize v1.0) | — |
| GitRepository, Kustomization | v1beta2 | 0.x | 2.8 |
| HelmRepository, HelmChart | v1 | 2.3 (source-controller v1.3) | — |
| HelmRepository, HelmChart | v1beta2 | 0.x | 2.8 |
| OCIRepository | v1 | 2.6 (source-controller v1.6) | — |
| OCIRepository | v1beta2 | 2.0 | 2.8 |
| HelmRelease | v2 | 2.3 (helm-controller v1.0) | — |
| HelmRelease | v2beta2 | 2.2 (helm-controller v0.37) | 2.8 |
| HelmRelease | v2beta1 | 0.x | 2.7 |

The newest version a release served is its storage version. The simulator's
controllers speak only the newest versions (v1/v2): on an older Flux nothing they
own reconciles, like a cluster whose Flux cannot apply what kasboot would commit —
which is why kasboot's pre-flight refuses it."""

from __future__ import annotations

import copy
from typing import Any

NEWEST = "2.9.4"

# kind -> [(version, first Flux release serving it, first release no longer serving it)]
SERVED: dict[str, list[tuple[str, tuple[int, int], tuple[int, int] | None]]] = {
    "GitRepository": [("v1", (2, 0), None), ("v1beta2", (0, 0), (2, 8))],
    "Kustomization": [("v1", (2, 0), None), ("v1beta2", (0, 0), (2, 8))],
    "HelmRepository": [("v1", (2, 3), None), ("v1beta2", (0, 0), (2, 8))],
    "HelmChart": [("v1", (2, 3), None), ("v1beta2", (0, 0), (2, 8))],
    "OCIRepository": [("v1", (2, 6), None), ("v1beta2", (2, 0), (2, 8))],
    "HelmRelease": [
        ("v2", (2, 3), None),
        ("v2beta2", (2, 2), (2, 8)),
        ("v2beta1", (0, 0), (2, 7)),
    ],
}


def parse_release(version: str) -> tuple[int, int]:
    """``2.2.0`` / ``v2.2.0`` → (2, 2)."""
    parts = version.strip().lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1] if len(parts) > 1 else 0)
    except ValueError:
        raise ValueError(f"not a Flux version: {version!r} (want X.Y.Z, e.g. 2.2.0)") from None


def served_versions(kind: str, release: tuple[int, int]) -> list[str]:
    """The versions of ``kind`` that Flux ``release`` served, newest first."""
    return [
        name
        for name, since, until in SERVED.get(kind, [])
        if since <= release and (until is None or release < until)
    ]


def crds_for(crds: list[dict[str, Any]], flux_version: str) -> list[dict[str, Any]]:
    """Flux's CRDs as the release ``flux_version`` installed them: only the versions it
    served (each with the schema of the newest one), the newest as storage, labelled
    with the release."""
    release = parse_release(flux_version or NEWEST)
    label = "v" + (flux_version or NEWEST).lstrip("v")
    result = []
    for crd in crds:
        crd = copy.deepcopy(crd)
        crd["metadata"].setdefault("labels", {})["app.kubernetes.io/version"] = label
        names = served_versions(crd["spec"]["names"]["kind"], release)
        template = crd["spec"]["versions"][0]
        if names:
            crd["spec"]["versions"] = [
                {**copy.deepcopy(template), "name": name, "served": True, "storage": index == 0}
                for index, name in enumerate(names)
            ]
            result.append(crd)
    return result
