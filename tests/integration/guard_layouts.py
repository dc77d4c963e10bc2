"""Repository layouts for holding the topology guard against the Flux simulator.

A layout is a repository as it is before bootstrap (path -> text), the Flux
Kustomizations that build from its source, and where bootstrap puts the agent's
manifests. `bootstrap_files` renders what kasboot would add with the product's own
renderers; `simulate_flux` runs the Flux simulator's own code on the tree as it
will be: a real git commit and shallow clone (source-controller's fetch), its
ignore rules and artifact storage, then kustomize-controller's build (Flux's
generator + the real kustomize) per Kustomization.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kasboot.agent_config import merge_agent_config
from kasboot.flux.render import render_manifests
from kasboot.sandbox.flux.bootstrap import repository_files
from kasboot.sandbox.flux.generator import BuildError, GeneratorWording, build
from kasboot.sandbox.flux.gitfetch import GitFetchError, checkout, fetch_target
from kasboot.sandbox.flux.ignore import SourceIgnore
from kasboot.sandbox.flux.kustomize import make_work_dir
from kasboot.sandbox.flux.storage import ArtifactStorage
from kasboot.settings import Settings

PROJECT = "demo/fleet"
AGENT = "edge"
KAS_ADDRESS = "wss://kas.gitlab.example.test"
FLUX_NAMESPACE = "flux-system"
# The guard predicts Flux 2.9's generator wording (no trailing " <nil>").
WORDING = GeneratorWording(flux_minor=9)

HELM_VALUES = "replicas: 1\nconfig:\n  kasAddress: wss://kas.gitlab.example.test\n"
AGENT_CONFIG = f"user_access:\n  access_as:\n    agent: {{}}\n  projects:\n  - id: {PROJECT}\n"


def configmap(name: str, namespace: str = "default") -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"
        f"  namespace: {namespace}\ndata:\n  owner: platform\n"
    )


def kustomization(*resources: str) -> str:
    listed = "".join(f"- {entry}\n" for entry in resources)
    return f"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{listed}"


def flux_bootstrapped(path: str) -> dict[str, str]:
    """The three files `flux bootstrap gitlab --path PATH` commits (CRDs left out)."""
    return repository_files([], f"ssh://git@gitlab.example.test/{PROJECT}", "main", path)


PROJECT_URLS = (
    f"https://gitlab.example.test/{PROJECT}.git",
    f"git@gitlab.example.test:{PROJECT}.git",
)
RELEASE_TAG = "v1.0.0"  # tags the commit before bootstrap's


@dataclass(frozen=True)
class Sync:
    """One Flux Kustomization on the layout's source."""

    name: str
    path: str
    source_kind: str = "GitRepository"
    # the Kustomization's fields that move objects (issue 15 item 10)
    spec: Mapping[str, Any] = field(default_factory=dict)
    # the Kustomization's own namespace (its sourceRef then names the source's)
    namespace: str = FLUX_NAMESPACE

    @property
    def object(self) -> dict[str, Any]:
        """The Kustomization as the API would return it."""
        ref = {"kind": self.source_kind, "name": FLUX_NAMESPACE}
        if self.namespace != FLUX_NAMESPACE:
            ref["namespace"] = FLUX_NAMESPACE
        spec = {"path": self.path, "sourceRef": ref, **self.spec}
        return {"metadata": {"namespace": self.namespace, "name": self.name}, "spec": spec}


@dataclass(frozen=True)
class Layout:
    id: str
    tree: Mapping[str, str]
    manifest_path: str
    syncs: tuple[Sync, ...]
    expect_ok: bool
    expect_problem: str = ""  # the guard's problem code when refused
    expect_files: tuple[str, ...] = ()  # files the guard must name
    spec_ignore: str | None = None
    helm_release_filepath: str = "gitlab-agent-helm-release.yaml"
    # the GitRepository: spec.ref, spec.url ("" = this project), spec.sparseCheckout
    ref: Mapping[str, str] | None = field(default_factory=lambda: {"branch": "main"})
    source_url: str = ""
    other_repository: bool = False  # the truth about source_url: it names another project
    sparse_checkout: tuple[str, ...] | None = None
    # tree entries that are not regular files: symlinks (path -> target), submodules
    links: Mapping[str, str] = field(default_factory=dict)
    submodules: tuple[str, ...] = ()

    @property
    def source_object(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"url": self.source_url or PROJECT_URLS[1]}
        if self.ref is not None:
            spec["ref"] = dict(self.ref)
        if self.spec_ignore is not None:
            spec["ignore"] = self.spec_ignore
        if self.sparse_checkout is not None:
            spec["sparseCheckout"] = list(self.sparse_checkout)
        kind = self.syncs[0].source_kind if self.syncs else "GitRepository"
        meta = {"namespace": FLUX_NAMESPACE, "name": FLUX_NAMESPACE}
        return {"kind": kind, "metadata": meta, "spec": spec}

    # further Settings fields (e.g. helm_repository_namespace)
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return Settings(
            agent=AGENT,
            manifest_path=self.manifest_path,
            helm_release_filepath=self.helm_release_filepath,
            **self.options,  # type: ignore[arg-type]
        )

    @property
    def manifest_files(self) -> list[str]:
        return [self.settings.helm_repository_path, self.settings.helm_release_path]


def bootstrap_files(layout: Layout) -> dict[str, str]:
    """What bootstrap commits: config.yaml (merged when present) and the two manifests."""
    settings = layout.settings
    existing = layout.tree.get(settings.agent_config_path)
    files = {settings.agent_config_path: merge_agent_config(existing, PROJECT)}
    files.update(render_manifests(settings, kas_address=KAS_ADDRESS, image_tag="v18.2.0"))
    return files


@dataclass
class FluxOutcome:
    """One Kustomization as the simulated kustomize-controller leaves it."""

    sync: Sync
    ok: bool
    message: str = ""  # Ready=False message, the work dir written /tmp/kustomization-<n>
    objects: list[dict[str, Any]] = field(default_factory=list)
    # False when the source never fetched the tree asked for (pinned ref, other
    # repository, missing branch): this build says nothing about that tree
    fetched_tree: bool = True

    def applies(self, kind: str, name: str) -> bool:
        return self.ok and any(
            obj.get("kind") == kind and (obj.get("metadata") or {}).get("name") == name
            for obj in self.objects
        )

    def named_paths(self) -> list[str]:
        """Repository paths Flux's message names, in order (inside its work dir)."""
        found = re.findall(r"/tmp/kustomization-<n>/([^\s:']+)", self.message)
        return list(dict.fromkeys(found))


def _git(cwd: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-c", "user.name=fleet", "-c", "user.email=fleet@example.test", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return completed.stdout.strip()


def _write(directory: Path, tree: Mapping[str, str], links: Mapping[str, str]) -> None:
    for relative, text in tree.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.write_text(text, encoding="utf-8")
    for relative, target in links.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_symlink():
            os.symlink(target, path)


def commit_tree(
    directory: Path,
    tree: Mapping[str, str],
    *,
    base: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
    submodules: tuple[str, ...] = (),
) -> str:
    """A git repository on `main`: `base` (tagged RELEASE_TAG) then `tree` on top (one
    commit when there is no base); the sha of the last commit."""
    directory.mkdir(parents=True)
    _git(directory, "init", "-q", "-b", "main")
    for step, files in enumerate([base, tree] if base is not None else [tree]):
        _write(directory, files or {}, links or {})
        _git(directory, "add", "-A")
        for path in submodules:
            head = "0" * 39 + "1"
            _git(directory, "update-index", "--add", "--cacheinfo", f"160000,{head},{path}")
        _git(directory, "commit", "-q", "--allow-empty", "-m", f"fleet {step}")
        if step == 0:
            _git(directory, "tag", RELEASE_TAG)
    return _git(directory, "rev-parse", "HEAD")


def simulate_flux(
    tree: Mapping[str, str],
    layout: Layout,
    workspace: Path,
    *,
    base: Mapping[str, str] | None = None,
) -> list[FluxOutcome]:
    """Every Kustomization of the layout built by the simulator from a repository whose
    `main` holds `tree` (on top of `base`): source-controller's ref resolution and
    checkout (sparse, symlinks, submodules), its ignore rules and artifact storage,
    then kustomize-controller's build (Flux's generator + the real kustomize)."""
    remote = workspace / "remote"
    wanted = commit_tree(remote, tree, base=base, links=layout.links, submodules=layout.submodules)
    url = str(remote)
    if layout.other_repository:
        other = workspace / "other"
        commit_tree(other, layout.tree)
        url = str(other)
    clone = workspace / "checkout"
    try:
        # An OCIRepository's artifact is what CI pushed from the branch: model it so.
        oci = layout.source_object["kind"] == "OCIRepository"
        target = fetch_target(url, {"branch": "main"} if oci else layout.ref, None, None)
        sha = checkout(url, target, clone, None, None, sparse=layout.sparse_checkout)
    except GitFetchError as error:
        return [FluxOutcome(sync, False, str(error), fetched_tree=False) for sync in layout.syncs]
    shutil.rmtree(clone / ".git")
    kept = SourceIgnore(clone, layout.spec_ignore).included_files(clone)
    storage = ArtifactStorage(workspace / "artifacts")
    outcomes = []
    for sync in layout.syncs:
        artifact = storage.store(
            sync.source_kind, FLUX_NAMESPACE, FLUX_NAMESPACE, target.revision, clone, kept
        )
        stored = storage.locate(artifact)
        assert stored is not None
        work_dir = make_work_dir(workspace)
        try:
            shutil.copytree(stored, work_dir, dirs_exist_ok=True)
            objects = build(work_dir, sync.path, WORDING, sync.object["spec"])
            outcomes.append(FluxOutcome(sync, True, objects=objects, fetched_tree=sha == wanted))
        except BuildError as error:
            message = str(error).replace(str(work_dir), "/tmp/kustomization-<n>")
            outcomes.append(FluxOutcome(sync, False, message, fetched_tree=sha == wanted))
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
    return outcomes
