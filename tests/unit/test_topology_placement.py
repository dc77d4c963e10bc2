"""Where kustomize puts an object: namespace/prefix/suffix layers, Flux's overlay over
the kustomization at spec.path, and patches that rename."""

from __future__ import annotations

import json

from kasboot.flux.placement import Layer, place


def patch(target: dict[str, str], ops: str) -> str:
    return json.dumps({"target": target, "patch": ops}, sort_keys=True)


def test_outer_namespace_wins_and_prefixes_stack() -> None:
    inner = Layer("inner", namespace="a", name_prefix="in-", name_suffix="-in")
    outer = Layer("outer", namespace="b", name_prefix="out-", name_suffix="-out")
    placed = place("x.yaml", "HelmRelease", "flux-system", "agent", [inner, outer])
    assert (placed.namespace, placed.name) == ("b", "out-in-agent-in-out")
    assert placed.moved


def test_flux_overlay_replaces_the_files_own_fields() -> None:
    file_layer = Layer("kustomization.yaml", namespace="elsewhere", name_prefix="p-")
    overlay = Layer("Kustomization flux-system/apps", namespace="apps", name_prefix="")
    placed = place("x.yaml", "HelmRepository", "flux-system", "gitlab", [file_layer.under(overlay)])
    assert (placed.namespace, placed.name) == ("apps", "gitlab")


def test_cluster_scoped_kinds_keep_no_namespace() -> None:
    placed = place("ns.yaml", "Namespace", "", "apps", [Layer("k", namespace="other")])
    assert (placed.namespace, placed.name) == ("", "apps")


def test_json6902_rename_is_followed_and_remove_is_not() -> None:
    rename = patch(
        {"kind": "HelmRelease", "name": "gitlab-.*"},
        "- op: replace\n  path: /metadata/name\n  value: edge\n",
    )
    placed = place(
        "r.yaml", "HelmRelease", "flux-system", "gitlab-agent", [Layer("k", patches=(rename,))]
    )
    assert (placed.name, placed.unfollowable) == ("edge", "")
    other = patch({"kind": "HelmRepository"}, "- op: replace\n  path: /metadata/name\n  value: x\n")
    untouched = place(
        "r.yaml", "HelmRelease", "flux-system", "gitlab-agent", [Layer("k", patches=(other,))]
    )
    assert untouched.name == "gitlab-agent"
    remove = patch({"kind": "HelmRelease"}, "- op: remove\n  path: /metadata/namespace\n")
    lost = place(
        "r.yaml", "HelmRelease", "flux-system", "gitlab-agent", [Layer("k", patches=(remove,))]
    )
    assert lost.unfollowable
