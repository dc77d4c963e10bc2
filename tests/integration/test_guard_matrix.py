"""The topology guard held against the Flux simulator, layout by layout.

Each row is a repository, the Flux Kustomizations on its source and where bootstrap
puts the agent's manifests. The guard predicts in pure Python; the simulator builds
the same tree (as it will be after bootstrap) from a real commit with source-
controller's ignore rules, Flux's generator and the real kustomize. Both must agree:
on each Kustomization's pass/fail, on the file to blame, and on whether the agent's
HelmRelease really gets applied.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import gitlab
import kubernetes
import pytest

from kasboot.flux.render import render_manifests
from kasboot.flux.topology import (
    BRANCH_MISMATCH,
    BUILD_FAILS,
    NOT_RECONCILED,
    OTHER_REPOSITORY,
    REF_PINNED,
    SOURCE_FAILS,
    SOURCE_REF_BROKEN,
    FluxKustomization,
    FluxSource,
    TopologyVerdict,
    check_topology,
)
from kasboot.flux.tree import kustomization_file_in
from kasboot.settings import Settings
from tests.integration.bootstrap_helpers import CliResult, kasboot_writes, run_kasboot
from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up
from tests.integration.guard_layouts import (
    AGENT,
    AGENT_CONFIG,
    FLUX_NAMESPACE,
    HELM_VALUES,
    PROJECT_URLS,
    FluxOutcome,
    Layout,
    Sync,
    bootstrap_files,
    configmap,
    flux_bootstrapped,
    kustomization,
    simulate_flux,
)

OUR_CONFIG = ".gitlab/agents/edge/config.yaml"
SOURCE_PROBLEMS = {BRANCH_MISMATCH, REF_PINNED, OTHER_REPOSITORY, SOURCE_FAILS}
PROD = "clusters/prod"
SOPS_CONFIG = "creation_rules:\n- path_regex: .*.yaml\n  age: age1example\n"
# kustomize (yaml.v3) refuses a mapping key given twice; line numbers count per document.
DUPLICATE_KEY = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n---\n"
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api\ndata:\n  mode: a\n  mode: b\n"
)
CI_FILE = "stages:\n- deploy\ndeploy:\n  script: [make deploy]\n"


# An agent bootstrapped earlier with the default HelmRepository/HelmRelease names.
FIRST_AGENT = render_manifests(
    Settings(agent="core", manifest_path=f"{PROD}/core-agent"),
    kas_address="wss://kas.gitlab.example.test",
    image_tag="v18.2.0",
)


def prod(**extra: str) -> dict[str, str]:
    """Flux bootstrapped at ./clusters/prod, one app, plus `extra` (keys use / for .)."""
    return {
        **flux_bootstrapped(PROD),
        f"{PROD}/apps/web.yaml": configmap("web"),
        "README.md": "# fleet\n",
        **extra,
    }


def root(**extra: str) -> dict[str, str]:
    """Flux bootstrapped without --path: the repository root."""
    return {**flux_bootstrapped("./"), "README.md": "# fleet\n", **extra}


ROOT_SYNC = (Sync("flux-system", "./"),)
PROD_SYNC = (Sync("flux-system", f"./{PROD}"),)
MANIFESTS = (
    "agents/edge/gitlab-helm-repository.yaml",
    "agents/edge/gitlab-agent-helm-release.yaml",
)

LAYOUTS = [
    Layout(
        "root-without-kustomization",
        root(),
        "agents/edge",
        ROOT_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(OUR_CONFIG,),
    ),
    Layout(
        "root-kustomization-lists-flux-system-and-manifests",
        root(**{"kustomization.yaml": kustomization("flux-system", *MANIFESTS)}),
        "agents/edge",
        ROOT_SYNC,
        expect_ok=True,
    ),
    Layout(
        "root-kustomization-lists-directory-without-kustomization",
        root(**{"kustomization.yaml": kustomization("flux-system", "agents/edge")}),
        "agents/edge",
        ROOT_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=("kustomization.yaml",),
    ),
    Layout(
        "root-sourceignore-excludes-gitlab",
        root(**{".sourceignore": "# agent configuration\n/.gitlab/\n"}),
        "agents/edge",
        ROOT_SYNC,
        expect_ok=True,
    ),
    Layout(
        "root-empty-config-of-another-agent-passes-ours-fails",
        root(**{".gitlab/agents/archive/config.yaml": ""}),
        "agents/edge",
        ROOT_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(OUR_CONFIG,),
    ),
    Layout(
        "root-existing-config-is-merged-and-still-fails",
        root(**{OUR_CONFIG: "ci_access:\n  projects:\n  - id: demo/apps\n"}),
        "agents/edge",
        ROOT_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(OUR_CONFIG,),
    ),
    Layout(
        "prod-manifest-path-inside",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
    ),
    Layout(
        "prod-manifest-path-outside-is-not-reconciled",
        prod(),
        "infrastructure/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=NOT_RECONCILED,
        expect_files=(
            "infrastructure/gitlab-agent/gitlab-helm-repository.yaml",
            "infrastructure/gitlab-agent/gitlab-agent-helm-release.yaml",
        ),
    ),
    Layout(
        "nested-kustomization-hides-its-unlisted-yaml",
        prod(
            **{
                f"{PROD}/apps/kustomization.yaml": kustomization("web.yaml"),
                f"{PROD}/apps/values.yaml": HELM_VALUES,
            }
        ),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
    ),
    Layout(
        "manifest-path-inside-nested-kustomization-is-not-reconciled",
        prod(**{f"{PROD}/apps/kustomization.yaml": kustomization("web.yaml")}),
        f"{PROD}/apps/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=NOT_RECONCILED,
        expect_files=(f"{PROD}/apps/gitlab-agent/gitlab-agent-helm-release.yaml",),
    ),
    Layout(
        "stray-values-yaml-under-flux-path",
        prod(**{f"{PROD}/monitoring/values.yaml": HELM_VALUES}),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(f"{PROD}/monitoring/values.yaml",),
    ),
    Layout(
        "stray-values-yaml-outside-flux-path",
        prod(**{"charts/monitoring/values.yaml": HELM_VALUES, ".gitlab-ci.yml": CI_FILE}),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
    ),
    Layout(
        "empty-yaml-files-under-flux-path-pass",
        prod(
            **{
                f"{PROD}/placeholder/config.yaml": "",
                f"{PROD}/later.yml": "---\n# filled in later\n",
            }
        ),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
    ),
    Layout(
        "yml-extension-is-decoded-too",
        prod(**{f"{PROD}/settings.yml": "replicas: 3\n"}),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(f"{PROD}/settings.yml",),
    ),
    Layout(
        "other-extensions-are-skipped",
        prod(
            **{
                f"{PROD}/settings.json": '{"replicas": 3}\n',
                f"{PROD}/values.YAML": HELM_VALUES,
                f"{PROD}/values.yaml.orig": HELM_VALUES,
            }
        ),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
    ),
    Layout(
        "yml-manifest-file-name",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
        helm_release_filepath="gitlab-agent-helm-release.yml",
    ),
    Layout(
        "root-spec-ignore-excludes-gitlab",
        root(),
        "agents/edge",
        ROOT_SYNC,
        expect_ok=True,
        spec_ignore="/.gitlab/\n",
    ),
    Layout(
        "root-spec-ignore-drops-default-exclusions",
        root(**{".gitlab-ci.yml": CI_FILE}),
        "agents/edge",
        ROOT_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(".gitlab-ci.yml",),
        spec_ignore="/.gitlab/\n",
    ),
    Layout(
        "duplicate-key-in-a-manifest-under-flux-path",
        prod(**{f"{PROD}/apps/web.yaml": DUPLICATE_KEY}),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(f"{PROD}/apps/web.yaml",),
    ),
    Layout(
        "second-agent-with-default-names-under-flux-path",
        prod(**FIRST_AGENT),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(f"{PROD}/gitlab-agent/gitlab-agent-helm-release.yaml",),
    ),
    Layout(
        "sops-config-under-flux-path-excluded-by-default",
        prod(**{f"{PROD}/.sops.yaml": SOPS_CONFIG}),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
    ),
    Layout(
        "golangci-config-under-flux-path-is-not-excluded",
        prod(**{f"{PROD}/.golangci.yaml": "run:\n  timeout: 5m\n"}),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(f"{PROD}/.golangci.yaml",),
    ),
    Layout(
        "spec-ignore-without-patterns-keeps-default-exclusions",
        prod(**{f"{PROD}/.sops.yaml": SOPS_CONFIG}),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
        spec_ignore="# nothing excluded yet\n",
    ),
    Layout(
        "any-sourceignore-drops-default-exclusions",
        prod(**{f"{PROD}/.sops.yaml": SOPS_CONFIG, "docs/.sourceignore": "*.png\n"}),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(f"{PROD}/.sops.yaml",),
    ),
    Layout(
        "two-kustomizations-one-source",
        prod(**{"apps/api.yaml": configmap("api")}),
        f"{PROD}/gitlab-agent",
        (*PROD_SYNC, Sync("apps", "./apps")),
        expect_ok=True,
    ),
    Layout(
        "two-kustomizations-second-at-root",
        prod(),
        f"{PROD}/gitlab-agent",
        (*PROD_SYNC, Sync("everything", "./")),
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(OUR_CONFIG,),
    ),
    Layout(
        "two-kustomizations-one-already-broken-elsewhere",
        prod(**{"legacy/values.yaml": HELM_VALUES}),
        f"{PROD}/gitlab-agent",
        (*PROD_SYNC, Sync("legacy", "./legacy")),
        expect_ok=True,
    ),
    Layout(
        "oci-repository-at-root",
        root(),
        "agents/edge",
        (Sync("flux-system", "./", "OCIRepository"),),
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(OUR_CONFIG,),
    ),
    Layout(
        "oci-repository-under-clusters",
        prod(),
        f"{PROD}/gitlab-agent",
        (Sync("flux-system", f"./{PROD}", "OCIRepository"),),
        expect_ok=True,
    ),
    # -- symlinks and submodules never reach the artifact (issue 15 item 7) -----------
    Layout(
        "symlinked-values-under-flux-path-are-dropped",
        prod(**{"charts/monitoring/values.yaml": HELM_VALUES}),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
        links={f"{PROD}/monitoring/values.yaml": "../../../charts/monitoring/values.yaml"},
    ),
    Layout(
        "symlinked-directory-under-flux-path-is-dropped",
        prod(**{"charts/monitoring/values.yaml": HELM_VALUES}),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
        links={f"{PROD}/charts": "../../charts"},
    ),
    Layout(
        "submodule-under-flux-path-is-empty",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
        submodules=(f"{PROD}/vendor/platform",),
    ),
    Layout(
        "kustomization-listing-a-symlinked-manifest-fails",
        prod(
            **{
                "shared/web.yaml": configmap("shared-web"),
                f"{PROD}/kustomization.yaml": kustomization(
                    "flux-system",
                    "apps/web.yaml",
                    "shared-web.yaml",
                    *(
                        f"gitlab-agent/{name}"
                        for name in (
                            "gitlab-helm-repository.yaml",
                            "gitlab-agent-helm-release.yaml",
                        )
                    ),
                ),
            }
        ),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=(f"{PROD}/kustomization.yaml",),
        links={f"{PROD}/shared-web.yaml": "../../shared/web.yaml"},
    ),
    # -- spec.sparseCheckout: only those directories reach the artifact (item 8) ------
    Layout(
        "root-sync-with-sparse-checkout-never-sees-gitlab-dir",
        root(),
        "agents/edge",
        ROOT_SYNC,
        expect_ok=True,
        sparse_checkout=("./flux-system", "agents"),
    ),
    Layout(
        "manifest-path-outside-sparse-checkout-is-never-fetched",
        root(),
        "agents/edge",
        ROOT_SYNC,
        expect_ok=False,
        expect_problem=NOT_RECONCILED,
        expect_files=MANIFESTS,
        sparse_checkout=("flux-system",),
    ),
    Layout(
        "sparse-checkout-is-a-string-prefix",
        root(**{"agents-old/values.yaml": HELM_VALUES}),
        "agents/edge",
        ROOT_SYNC,
        expect_ok=False,
        expect_problem=BUILD_FAILS,
        expect_files=("agents-old/values.yaml",),
        sparse_checkout=("flux-system", "agents"),
    ),
    Layout(
        "sparse-checkout-of-a-missing-directory-fails-the-fetch",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=SOURCE_FAILS,
        sparse_checkout=(PROD, "infrastructure"),
    ),
    # -- Kustomization fields that move objects (issue 15 item 10) --------------------
    Layout(
        "target-namespace-moves-the-helm-repository-away-from-the-source-ref",
        prod(),
        "agents/edge",
        (*PROD_SYNC, Sync("agents", "./agents", spec={"targetNamespace": "apps"})),
        expect_ok=False,
        expect_problem=SOURCE_REF_BROKEN,
        expect_files=("agents/edge/gitlab-helm-repository.yaml",),
    ),
    Layout(
        "target-namespace-followed-when-the-repository-namespace-matches",
        prod(),
        "agents/edge",
        (*PROD_SYNC, Sync("agents", "./agents", spec={"targetNamespace": "apps"})),
        expect_ok=True,
        options={"helm_repository_namespace": "apps"},
    ),
    Layout(
        "name-prefix-renames-the-helm-repository",
        prod(),
        "agents/edge",
        (*PROD_SYNC, Sync("agents", "./agents", spec={"namePrefix": "edge-"})),
        expect_ok=False,
        expect_problem=SOURCE_REF_BROKEN,
    ),
    Layout(
        "name-suffix-in-a-kustomization-file-renames-too",
        prod(
            **{
                "agents/kustomization.yaml": kustomization(
                    *(f"edge/{m.rsplit('/', 1)[1]}" for m in MANIFESTS)
                )
                + "nameSuffix: -prod\n"
            }
        ),
        "agents/edge",
        (*PROD_SYNC, Sync("agents", "./agents")),
        expect_ok=False,
        expect_problem=SOURCE_REF_BROKEN,
    ),
    Layout(
        "namespace-in-a-kustomization-file-is-overridden-by-target-namespace",
        prod(
            **{
                "agents/kustomization.yaml": kustomization(
                    *(f"edge/{m.rsplit('/', 1)[1]}" for m in MANIFESTS)
                )
                + "namespace: elsewhere\n"
            }
        ),
        "agents/edge",
        (*PROD_SYNC, Sync("agents", "./agents", spec={"targetNamespace": "flux-system"})),
        expect_ok=True,
    ),
    Layout(
        "patch-renaming-the-helm-release-is-followed",
        prod(),
        "agents/edge",
        (
            *PROD_SYNC,
            Sync(
                "agents",
                "./agents",
                spec={
                    "patches": [
                        {
                            "target": {"kind": "HelmRelease", "name": "gitlab-agent"},
                            "patch": "- op: replace\n  path: /metadata/name\n  value: edge-agent\n",
                        }
                    ]
                },
            ),
        ),
        expect_ok=True,
    ),
    Layout(
        "component-adds-its-objects",
        prod(
            **{
                "components/audit/kustomization.yaml": (
                    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                    "resources:\n- audit.yaml\n"
                ),
                "components/audit/audit.yaml": configmap("audit"),
            }
        ),
        "agents/edge",
        (*PROD_SYNC, Sync("agents", "./agents", spec={"components": ["../components/audit"]})),
        expect_ok=True,
    ),
    Layout(
        "missing-component-fails-the-build",
        prod(),
        "agents/edge",
        (*PROD_SYNC, Sync("agents", "./agents", spec={"components": ["../components/gone"]})),
        expect_ok=False,
        expect_problem=BUILD_FAILS,
    ),
    Layout(
        "missing-component-ignored-when-asked",
        prod(),
        "agents/edge",
        (
            *PROD_SYNC,
            Sync(
                "agents",
                "./agents",
                spec={"components": ["../components/gone"], "ignoreMissingComponents": True},
            ),
        ),
        expect_ok=True,
    ),
    # -- which commit the source fetches (issue 15 item 9) ---------------------------
    Layout(
        "no-ref-follows-master-on-a-main-project",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=BRANCH_MISMATCH,
        ref=None,
    ),
    Layout(
        "ref-branch-other-than-the-manifest-branch",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=BRANCH_MISMATCH,
        ref={"branch": "production"},
    ),
    Layout(
        "ref-name-refs-heads-main-follows-main",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
        ref={"name": "refs/heads/main"},
    ),
    Layout(
        "ref-tag-never-moves",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=REF_PINNED,
        ref={"tag": "v1.0.0"},
    ),
    Layout(
        "ref-semver-never-picks-a-branch-commit",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=REF_PINNED,
        ref={"semver": ">=1.0.0", "branch": "main"},
    ),
    Layout(
        "ref-name-of-a-tag-never-moves",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=REF_PINNED,
        ref={"name": "refs/tags/v1.0.0"},
    ),
    Layout(
        "https-url-with-other-case-and-no-dot-git-is-this-project",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
        source_url="https://GitLab.Example.Test/demo/fleet",
    ),
    Layout(
        "ssh-url-form-is-this-project",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=True,
        source_url="ssh://git@gitlab.example.test:2222/demo/fleet.git",
    ),
    Layout(
        "url-of-another-repository",
        prod(),
        f"{PROD}/gitlab-agent",
        PROD_SYNC,
        expect_ok=False,
        expect_problem=OTHER_REPOSITORY,
        source_url="ssh://git@gitlab.example.test/demo/fleet-mirror.git",
        other_repository=True,
    ),
]


# -- a namespace-scoped operator sees only the Flux namespace's Kustomizations (item 11) --
APPS = "apps"  # a namespace the operator may not list
# Each row: the layout (expect_ok = the full view's verdict) and the partial view's.
PARTIAL_LAYOUTS = [
    (
        Layout(
            "partial-manifests-applied-by-a-kustomization-out-of-sight",
            prod(**{"agents/README.md": "# agents\n"}),
            "agents/edge",
            (*PROD_SYNC, Sync("agents", "./agents", namespace=APPS)),
            expect_ok=True,
        ),
        True,
    ),
    (
        Layout(
            "partial-only-kustomization-is-out-of-sight",
            prod(),
            f"{PROD}/gitlab-agent",
            (Sync("fleet", f"./{PROD}", namespace=APPS),),
            expect_ok=True,
        ),
        True,
    ),
    (
        Layout(
            "partial-visible-kustomization-applies-them",
            prod(**{"legacy/values.yaml": HELM_VALUES}),
            f"{PROD}/gitlab-agent",
            (*PROD_SYNC, Sync("legacy", "./legacy", namespace=APPS)),
            expect_ok=True,
        ),
        True,
    ),
    (
        Layout(
            "partial-visible-root-kustomization-still-refused",
            root(),
            "agents/edge",
            (*ROOT_SYNC, Sync("agents", "./agents", namespace=APPS)),
            expect_ok=False,
            expect_problem=BUILD_FAILS,
            expect_files=(OUR_CONFIG,),
        ),
        False,
    ),
    (
        Layout(
            "partial-outside-sparse-checkout-is-refused-whoever-builds",
            root(),
            "agents/edge",
            (*ROOT_SYNC, Sync("agents", "./agents", namespace=APPS)),
            expect_ok=False,
            # the full view sees ./agents fail: it was never checked out
            expect_problem=BUILD_FAILS,
            sparse_checkout=("flux-system",),
        ),
        False,
    ),
    (
        # What a partial view cannot see: a root Kustomization elsewhere trips on
        # .gitlab/. The full view refuses; the partial one lets it through and says
        # it is partial (bootstrap then fails at the reconcile wait, exit 6).
        Layout(
            "partial-root-kustomization-out-of-sight-is-missed",
            prod(),
            f"{PROD}/gitlab-agent",
            (*PROD_SYNC, Sync("everything", "./", namespace=APPS)),
            expect_ok=False,
            expect_problem=BUILD_FAILS,
            expect_files=(OUR_CONFIG,),
        ),
        True,
    ),
]
LAYOUTS += [layout for layout, _ in PARTIAL_LAYOUTS]


def encoded(tree: Mapping[str, str]) -> dict[str, bytes]:
    return {path: text.encode() for path, text in tree.items()}


def guard_verdict(
    layout: Layout, added: Mapping[str, str], scope: str | None = None
) -> TopologyVerdict:
    """The guard's verdict; with `scope`, as a user who could list the Kustomizations of
    that namespace only sees it."""
    seen = [sync for sync in layout.syncs if scope is None or sync.namespace == scope]
    return check_topology(
        files=encoded(layout.tree),
        added=encoded(added),
        kustomizations=[FluxKustomization.from_object(sync.object) for sync in seen],
        scope=scope,
        manifest_files=layout.manifest_files,
        manifest_branch="main",
        source=FluxSource.from_object(layout.source_object),
        project_urls=PROJECT_URLS,
    )


def blamed_by_guard(path: str, guard_files: list[str], tree: Mapping[str, str]) -> bool:
    """Flux names the file it could not decode, or the directory kustomize could not
    build or merge; the guard names the file to fix: that file, one in the directory,
    or the kustomization listing the directory."""
    if path in guard_files or any(f.startswith(path + "/") for f in guard_files):
        return True
    listing = [f for f in guard_files if kustomization_file_in(tree, f.rpartition("/")[0]) == f]
    return bool(listing) and any(path.startswith(f.rpartition("/")[0]) for f in listing)


def applied_release(outcomes: list[FluxOutcome], layout: Layout) -> tuple[str, str] | None:
    """Where Flux applied the agent's HelmRelease, when its chart source is there too:
    the HelmRepository its sourceRef names (kustomize never rewrites sourceRef) must be
    applied by some Kustomization at exactly that namespace/name."""
    settings = layout.settings
    applied = [obj for outcome in outcomes if outcome.ok for obj in outcome.objects]
    repositories = {
        ((obj.get("metadata") or {}).get("namespace"), (obj.get("metadata") or {}).get("name"))
        for obj in applied
        if obj.get("kind") == "HelmRepository"
    }
    for obj in applied:
        meta = obj.get("metadata") or {}
        # kustomize may rename it; spec.releaseName stays what kasboot wrote
        if obj.get("kind") != "HelmRelease" or obj["spec"].get("releaseName") != (
            settings.helm_release_name
        ):
            continue
        ref = obj["spec"]["chart"]["spec"]["sourceRef"]
        if (ref.get("namespace") or meta.get("namespace"), ref.get("name")) in repositories:
            return meta.get("namespace"), meta.get("name")
    return None


def agent_installed(outcomes: list[FluxOutcome], layout: Layout) -> bool:
    return applied_release(outcomes, layout) is not None


@pytest.mark.parametrize("layout", LAYOUTS, ids=[layout.id for layout in LAYOUTS])
def test_guard_verdict_matches_what_flux_does(layout: Layout, tmp_path: Path) -> None:
    added = bootstrap_files(layout)
    verdict = guard_verdict(layout, added)

    # (a) The guard's verdict, as the row states it.
    codes = {problem.code for problem in verdict.problems}
    named = {path for problem in verdict.problems for path in problem.files}
    assert verdict.ok is layout.expect_ok, [p.message for p in verdict.problems]
    if not layout.expect_ok:
        assert layout.expect_problem in codes, verdict.problems
        assert set(layout.expect_files) <= named, (layout.expect_files, named)

    # (b) What Flux does with the same tree once bootstrap has written.
    after = {**layout.tree, **added}
    outcomes = simulate_flux(after, layout, tmp_path / "after", base=layout.tree)
    for prediction, outcome in zip(verdict.predictions, outcomes, strict=True):
        if not outcome.fetched_tree:
            # Flux never builds the tree bootstrap leaves: the guard must refuse at source.
            assert codes & SOURCE_PROBLEMS, (outcome.message, verdict.problems)
            continue
        assert prediction.ok is outcome.ok, (outcome.sync, outcome.message, prediction.message)
        if outcome.ok:
            continue
        # Same message as the controller's Ready condition, temp dir aside.
        assert prediction.message == outcome.message
        # The file Flux names (kustomize's own build errors may name none) is the
        # guard's too.
        guard_files = [failure.path for failure in prediction.failures]
        for flux_blames in outcome.named_paths()[:1]:
            assert blamed_by_guard(flux_blames, guard_files, after), (flux_blames, guard_files)

    # Bootstrap is safe when the agent gets installed and no Kustomization that builds
    # today starts failing.
    failing = [outcome.sync for outcome in outcomes if not outcome.ok]
    newly_failing = failing
    if failing:
        before = simulate_flux(layout.tree, layout, tmp_path / "before")
        newly_failing = [o.sync for o in before if o.ok and o.sync in failing]
    installed = agent_installed(outcomes, layout)
    assert verdict.ok is (installed and not newly_failing), (installed, newly_failing)
    if installed:
        # The guard knows where Flux puts the HelmRelease (the reconcile waits there).
        settings = layout.settings
        written = (settings.helm_release_namespace, settings.helm_release_name)
        assert verdict.placed("HelmRelease", *written) == applied_release(outcomes, layout)
    if NOT_RECONCILED in codes:
        assert not installed
        assert all(outcome.ok for outcome in outcomes)


def flux_builds_it(layout: Layout, added: Mapping[str, str], workspace: Path) -> bool:
    """The agent gets installed and no Kustomization that builds today starts failing."""
    outcomes = simulate_flux(
        {**layout.tree, **added}, layout, workspace / "after", base=layout.tree
    )
    failing = [outcome.sync for outcome in outcomes if not outcome.ok]
    if failing:
        before = simulate_flux(layout.tree, layout, workspace / "before")
        failing = [o.sync for o in before if o.ok and o.sync in failing]
    return agent_installed(outcomes, layout) and not failing


@pytest.mark.parametrize(
    ("layout", "partial_ok"), PARTIAL_LAYOUTS, ids=[layout.id for layout, _ in PARTIAL_LAYOUTS]
)
def test_partial_guard_never_refuses_what_flux_builds(
    layout: Layout, partial_ok: bool, tmp_path: Path
) -> None:
    added = bootstrap_files(layout)
    verdict = guard_verdict(layout, added, scope=FLUX_NAMESPACE)
    assert verdict.ok is partial_ok, [p.message for p in verdict.problems]
    assert (
        verdict.partial == f"partial: checked the Kustomizations in namespace {FLUX_NAMESPACE} only"
    )
    builds = flux_builds_it(layout, added, tmp_path)
    if builds:
        # Held against the real build: a partial view never refuses what Flux builds.
        assert verdict.ok, [p.message for p in verdict.problems]
    if not partial_ok:
        # ... and what it refuses, Flux really does not build.
        assert not builds
    if verdict.ok and not guard_verdict(layout, added).ok:
        # What only the full view could refuse is not silently passed: it says partial.
        assert verdict.partial


STRAY_VALUES = f"{PROD}/monitoring/values.yaml"


@pytest.fixture(scope="module")
def prod_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """Flux bootstrapped at ./clusters/prod, then someone commits Helm values under it."""
    directory = tmp_path_factory.mktemp("prod-sandbox")
    world = sandbox_up(directory, "--flux-path", f"./{PROD}")
    try:
        project = gitlab.Gitlab(world.gitlab_url, private_token=world.token).projects.get(
            world.project
        )
        project.files.create(
            {
                "file_path": STRAY_VALUES,
                "branch": "main",
                "content": HELM_VALUES,
                "commit_message": "Monitoring chart values",
            }
        )
        yield world
    finally:
        sandbox_down(directory)


def kasboot_bootstrap(world: Sandbox, *extra: str) -> CliResult:
    return run_kasboot(
        world,
        "bootstrap",
        AGENT,
        "--manifest-path",
        f"{PROD}/gitlab-agent",
        "--timeout",
        "120s",
        *extra,
    )


@pytest.mark.sandbox
def test_cli_refuses_then_flux_really_fails_on_a_stray_values_file(prod_world: Sandbox) -> None:
    prod_world.clear_logs()
    refused = kasboot_bootstrap(prod_world)
    assert refused.code == 3, refused.stderr
    assert STRAY_VALUES in refused.stderr
    assert kasboot_writes(prod_world.gitlab_requests()) == []
    assert kasboot_writes(prod_world.kube_requests()) == []

    skipped = kasboot_bootstrap(prod_world, "--skip-preflight")
    assert skipped.code == 6, skipped.stderr
    assert STRAY_VALUES in skipped.stderr

    # What the cluster shows: the Kustomization failed on that file, and the
    # committed HelmRelease was never applied.
    api = kubernetes.client.CustomObjectsApi(
        kubernetes.config.new_client_from_config(str(prod_world.kubeconfig))
    )
    sync = cast(
        dict[str, Any],
        api.get_namespaced_custom_object(
            "kustomize.toolkit.fluxcd.io", "v1", FLUX_NAMESPACE, "kustomizations", "flux-system"
        ),
    )
    ready = next(c for c in sync["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "BuildFailed")
    assert ready["message"].startswith("failed to decode Kubernetes YAML from /tmp/kustomization-")
    assert f"/{STRAY_VALUES}: missing Resource metadata" in ready["message"]
    listed = cast(
        dict[str, Any],
        api.list_namespaced_custom_object(
            "helm.toolkit.fluxcd.io", "v2", FLUX_NAMESPACE, "helmreleases"
        ),
    )
    releases = listed["items"]
    assert [r["metadata"]["name"] for r in releases] == []
    project = gitlab.Gitlab(prod_world.gitlab_url, private_token=prod_world.token).projects.get(
        prod_world.project
    )
    tree = {item["path"] for item in project.repository_tree(recursive=True, get_all=True)}
    assert f"{PROD}/gitlab-agent/gitlab-agent-helm-release.yaml" in tree


def test_the_table_covers_the_issue() -> None:
    assert len(LAYOUTS) >= 12
    assert len({layout.id for layout in LAYOUTS}) == len(LAYOUTS)
    assert {True, False} == {layout.expect_ok for layout in LAYOUTS}
    assert any(s.source_kind == "OCIRepository" for layout in LAYOUTS for s in layout.syncs)
    assert any(len(layout.syncs) > 1 for layout in LAYOUTS)
    assert any(layout.spec_ignore for layout in LAYOUTS)
    assert AGENT_CONFIG.startswith("user_access:")
