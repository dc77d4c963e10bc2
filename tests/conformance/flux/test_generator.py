"""The generator's rules on plain directories (no cluster): what decodes, what fails
and how the failure reads per Flux version; the build runs the real kustomize."""

from __future__ import annotations

from pathlib import Path

import pytest

from kasboot.sandbox.flux.generator import (
    BuildError,
    GeneratorWording,
    build,
    generate_kustomization,
    kubernetes_decode_error,
)


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("", None),
        ("---\n# only a comment\n---\n", None),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n", None),
        ("user_access:\n  access_as:\n    agent: {}\n", "missing Resource metadata"),
        ("apiVersion: v1\nmetadata:\n  name: a\n", "missing kind in object"),
        ("apiVersion: v1\nkind: ConfigMap\n", "missing metadata.name in object"),
        ("apiVersion: v1\nkind: ConfigMapList\nitems: []\n", None),
    ],
)
def test_decode_rules(text: str, cause: str | None) -> None:
    found = kubernetes_decode_error(text)
    if cause is None:
        assert found is None
    else:
        assert found is not None and found.startswith(cause)


def test_wording_per_flux_version() -> None:
    path = "/tmp/kustomization-1/.gitlab/agents/a/config.yaml"
    legacy = GeneratorWording(flux_minor=8).decode_failure(path, "missing Resource metadata")
    current = GeneratorWording(flux_minor=9).decode_failure(path, "missing Resource metadata")
    assert (
        legacy == f"failed to decode Kubernetes YAML from {path}: missing Resource metadata <nil>"
    )
    assert current == f"failed to decode Kubernetes YAML from {path}: missing Resource metadata"


def test_walk_lists_yaml_and_yml_and_stops_at_nested_kustomizations(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("")
    (tmp_path / "b.yml").write_text("")
    (tmp_path / "c.json").write_text("{}")
    (tmp_path / "C.YAML").write_text("not: k8s\n")  # the extension check is case-sensitive
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "kustomization.yaml").write_text("resources: []\n")
    (tmp_path / "sub" / "broken.yaml").write_text("not: k8s\n")
    resources = generate_kustomization(tmp_path, GeneratorWording())
    assert resources == ["./a.yaml", "./b.yml", "./sub"]


def test_first_bad_file_aborts_with_its_absolute_path(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "z.yaml").write_text("kind: x\nmetadata: {name: z}\napiVersion: v1\n")
    (tmp_path / "apps" / "values.yaml").write_text("replicas: 2\n")
    with pytest.raises(BuildError) as failure:
        build(tmp_path, "./apps", GeneratorWording(flux_minor=9))
    assert str(failure.value) == (
        f"failed to decode Kubernetes YAML from {tmp_path}/apps/values.yaml: "
        "missing Resource metadata"
    )


def test_empty_path_builds_to_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("")
    assert build(tmp_path, "./", GeneratorWording()) == []
