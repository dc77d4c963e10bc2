"""Repeated mapping keys: the guard's prediction held against the real kustomize.

kyaml reads such a file without complaint, so Flux's generator lists it; the build
then fails when kustomize decodes the resource into a map (yaml.v3 uniqueKeys).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kasboot.flux.build import FluxKustomization, predict_build
from kasboot.flux.duplicates import duplicate_key_error

KUBECTL = Path(sys.executable).with_name("kubectl")
KUBECTL_PATH = str(KUBECTL) if KUBECTL.exists() else shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL_PATH is None, reason="kubectl with kustomize not found")

HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
CONTENTS = {
    "metadata-name-twice": HEAD + "  name: b\n",
    "top-level-kind-twice": "apiVersion: v1\nkind: ConfigMap\n" + HEAD.partition("\n")[2],
    "data-key-twice-in-second-document": HEAD
    + "---\n# the api's settings\n"
    + HEAD.replace("name: a", "name: api")
    + "data:\n  mode: a\n  mode: b\n",
    "three-times-and-nested": HEAD + "data:\n  k: a\n  k: b\n  k: c\n",
    "outer-repeat-hides-inner": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
    "  labels: {x: 1, x: 2}\nmetadata:\n  name: b\n",
    "in-a-list-item": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n"
    "  template:\n    spec:\n      containers:\n      - name: a\n        image: x\n"
    "        image: y\n",
}
UNIQUE = {"plain": HEAD, "same-key-in-two-maps": HEAD + "data:\n  name: a\n"}


def kustomize(directory: Path) -> subprocess.CompletedProcess[str]:
    assert KUBECTL_PATH is not None
    return subprocess.run(
        [KUBECTL_PATH, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("name", [*CONTENTS, *UNIQUE])
def test_the_guard_words_repeated_keys_like_kustomize(name: str, tmp_path: Path) -> None:
    content = {**CONTENTS, **UNIQUE}[name]
    (tmp_path / "app.yaml").write_text(content)
    (tmp_path / "kustomization.yaml").write_text("resources:\n- app.yaml\n")
    real = kustomize(tmp_path)
    predicted = duplicate_key_error(content.encode())
    if real.returncode == 0:
        assert predicted is None
        return
    assert predicted == real.stderr.strip().removeprefix("error: ")


def test_the_build_fails_on_the_file_that_repeats_a_key() -> None:
    files = {
        "apps/0.yaml": HEAD.replace("name: a", "name: web").encode(),
        "apps/b.yaml": CONTENTS["data-key-twice-in-second-document"].encode(),
    }
    prediction = predict_build(files, FluxKustomization("flux-system", "apps", "./apps"))
    assert not prediction.ok
    assert [failure.path for failure in prediction.failures] == ["apps/b.yaml"]
    assert prediction.message == (
        "kustomize build failed: map[string]interface {}(nil): yaml: unmarshal errors:\n"
        '  line 8: mapping key "mode" already defined at line 7'
    )


def test_an_earlier_accumulation_error_is_what_flux_reports() -> None:
    files = {
        "apps/kustomization.yaml": b"resources:\n- a.yaml\n- missing.yaml\n",
        "apps/a.yaml": CONTENTS["metadata-name-twice"].encode(),
    }
    prediction = predict_build(files, FluxKustomization("flux-system", "apps", "./apps"))
    assert "missing.yaml" in prediction.message
    assert {failure.path for failure in prediction.failures} == {
        "apps/kustomization.yaml",
        "apps/a.yaml",
    }


CONFIGMAP_A = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
ID_CLASHES = {
    "two-files": {
        "kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n",
        "a.yaml": CONFIGMAP_A,
        "b.yaml": CONFIGMAP_A,
    },
    "default-namespace-is-no-namespace": {
        "kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n",
        "a.yaml": CONFIGMAP_A + "  namespace: default\n",
        "b.yaml": CONFIGMAP_A,
    },
    "merged-from-a-sub-directory": {
        "kustomization.yaml": "resources:\n- a.yaml\n- sub\n",
        "a.yaml": CONFIGMAP_A,
        "sub/kustomization.yaml": "resources:\n- a.yaml\n",
        "sub/a.yaml": CONFIGMAP_A,
    },
    "other-namespace-is-another-id": {
        "kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n",
        "a.yaml": CONFIGMAP_A + "  namespace: apps\n",
        "b.yaml": CONFIGMAP_A,
    },
}


@pytest.mark.parametrize("name", list(ID_CLASHES))
def test_resource_id_clashes_predicted_like_kustomize(name: str, tmp_path: Path) -> None:
    tree = ID_CLASHES[name]
    for relative, text in tree.items():
        (tmp_path / "apps" / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "apps" / relative).write_text(text)
    real = kustomize(tmp_path / "apps")
    files = {f"apps/{relative}": text.encode() for relative, text in tree.items()}
    prediction = predict_build(files, FluxKustomization("flux-system", "apps", "./apps"))
    assert prediction.ok is (real.returncode == 0), real.stderr
    if not prediction.ok:
        flux_says = real.stderr.strip().removeprefix("Error: ").removeprefix("error: ")
        expected = flux_says.replace(str(tmp_path), "/tmp/kustomization-<n>")
        assert prediction.message == f"kustomize build failed: {expected}"
