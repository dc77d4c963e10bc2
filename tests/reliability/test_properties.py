"""The guard's build prediction (kasboot.flux.build, pure Python) held against the
Flux simulator's build (Flux's generator + the real kustomize, ``kubectl kustomize``
from the venv) on generated small repository trees: the same verdict, and when the
build passes, the same objects. Also the slow variant of the config.yaml merge's
properties (tests/unit/test_properties_pure.py)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kasboot.flux.build import FluxKustomization, predict_build
from kasboot.sandbox.flux.generator import BuildError, GeneratorWording, build, kubectl_binary
from tests.unit.test_properties_pure import PROJECTS, check_merge, config_files

try:
    kubectl_binary()
    HAVE_KUBECTL = True
except BuildError:
    HAVE_KUBECTL = False
needs_kubectl = pytest.mark.skipif(not HAVE_KUBECTL, reason="kubectl with kustomize not found")


def configmap(name: str) -> bytes:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n".encode()


CONTENTS = st.sampled_from(
    [
        "configmap",
        "configmap-pair",
        "agent-config",  # not a Kubernetes object: the generator fails on it
        "empty",
        "comments",
        "no-kind",
    ]
)
DIRS = st.sampled_from(["", "apps", "apps/web", "infra", ".gitlab/agents/a"])
FILE_NAMES = st.sampled_from(["a.yaml", "b.yml", "c.yaml", "notes.txt"])


def content(kind: str, name: str) -> bytes:
    if kind == "configmap":
        return configmap(name)
    if kind == "configmap-pair":
        return configmap(name) + b"---\n" + configmap(name + "-b")
    if kind == "agent-config":
        return b"user_access:\n  projects:\n  - id: demo/fleet\n"
    if kind == "empty":
        return b""
    if kind == "comments":
        return b"# nothing\n---\n"
    return b"apiVersion: v1\nmetadata:\n  name: x\n"


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    """(repository files, spec.path): a few manifests in a few directories, some with a
    kustomization.yaml listing entries that may or may not exist, and the
    Kustomization's targetNamespace / namePrefix / nameSuffix."""
    files: dict[str, bytes] = {}
    for index in range(draw(st.integers(1, 6))):
        directory, file_name = draw(DIRS), draw(FILE_NAMES)
        path = f"{directory}/{file_name}" if directory else file_name
        # names unique per file, so two files never clash on one object
        files[path] = content(draw(CONTENTS), f"cm-{index}")
    for directory in draw(st.lists(DIRS, max_size=2, unique=True)):
        prefix = f"{directory}/" if directory else ""
        choices = sorted({p[len(prefix) :] for p in files if p.startswith(prefix)})
        choices += ["missing.yaml", "web"]
        entries = draw(st.lists(st.sampled_from(choices), max_size=3, unique=True))
        files[f"{prefix}kustomization.yaml"] = (
            b"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
            + b"".join(f"- {e}\n".encode() for e in entries)
            if entries
            else b"resources: []\n"
        )
    spec_path = draw(st.sampled_from(["./", "./apps", "apps/web", "./infra", "./nowhere"]))
    return files, spec_path, draw(OVERLAYS)


# the Kustomization's own fields that kustomize-controller writes over spec.path's file
OVERLAYS = st.fixed_dictionaries(
    {},
    optional={
        "targetNamespace": st.sampled_from(["apps", "other"]),
        "namePrefix": st.sampled_from(["p-", "x-"]),
        "nameSuffix": st.sampled_from(["-s"]),
    },
)
Tree = tuple[dict[str, bytes], str, dict[str, str]]


def simulator_verdict(
    files: dict[str, bytes], spec_path: str, overlay: dict[str, str]
) -> tuple[bool, set[str]]:
    work = Path(tempfile.mkdtemp(prefix="kustomization-"))
    try:
        for path, data in files.items():
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        try:
            objects = build(work, spec_path, GeneratorWording(), overlay)
        except BuildError:
            return False, set()
        return True, {
            f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
            for o in objects
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_prediction(tree: Tree) -> None:
    files, spec_path, overlay = tree
    kustomization = FluxKustomization(
        "flux-system",
        "ks",
        spec_path,
        target_namespace=overlay.get("targetNamespace"),
        name_prefix=overlay.get("namePrefix"),
        name_suffix=overlay.get("nameSuffix"),
    )
    prediction = predict_build(files, kustomization)
    built, objects = simulator_verdict(files, spec_path, overlay)
    assert prediction.ok is built, (files, spec_path, prediction.message)
    if built:
        predicted = {f"{p.kind}/{p.namespace}/{p.name}" for p in prediction.placements}
        assert predicted == objects, (files, spec_path)


@needs_kubectl
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(trees())
def test_prediction_agrees_with_the_real_kustomize(tree: Tree) -> None:
    check_prediction(tree)


@needs_kubectl
@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(trees())
def test_prediction_agrees_on_many_more_trees(tree: Tree) -> None:
    check_prediction(tree)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(config_files(), PROJECTS)
def test_merge_properties_on_many_more_files(config: tuple[str, list[str]], project: str) -> None:
    check_merge(config, project)  # tests/unit/test_properties_pure.py: 100 by default
