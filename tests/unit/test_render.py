"""Rendering: byte-identical to `flux create … --export`, valid against the CRDs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from kasboot.errors import UsageError
from kasboot.flux.render import (
    load_values_file,
    render_helm_release,
    render_helm_repository,
    render_manifests,
)
from kasboot.goyaml import go_float, go_sorted_keys, marshal
from kasboot.resources import templates_dir
from kasboot.settings import build_settings

CRDS = Path(__file__).parent / "data" / "flux-crds"
TEMPLATES = templates_dir()

# flux-details §4: `flux create source helm gitlab --export -n=flux-system
# --url=https://charts.gitlab.io`
FLUX_HELM_REPOSITORY = """\
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: gitlab
  namespace: flux-system
spec:
  interval: 1m0s
  url: https://charts.gitlab.io
"""

# `flux create helmrelease gitlab-agent --export -n=flux-system
# --target-namespace=gitlab-agent --create-target-namespace=true
# --source=HelmRepository/gitlab.flux-system --chart=gitlab-agent
# --release-name=gitlab-agent --values=<kasAddress+secretName> --values-from=ConfigMap/agent-config`
FLUX_HELM_RELEASE = """\
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: gitlab-agent
  namespace: flux-system
spec:
  chart:
    spec:
      chart: gitlab-agent
      reconcileStrategy: ChartVersion
      sourceRef:
        kind: HelmRepository
        name: gitlab
        namespace: flux-system
  install:
    createNamespace: true
  interval: 1m0s
  releaseName: gitlab-agent
  storageNamespace: gitlab-agent
  targetNamespace: gitlab-agent
  values:
    config:
      kasAddress: wss://kas.gitlab.example.com
      secretName: gitlab-agent-token
  valuesFrom:
  - kind: ConfigMap
    name: agent-config
"""


def test_helm_repository_matches_flux_export() -> None:
    assert render_helm_repository(build_settings(agent="a")) == FLUX_HELM_REPOSITORY


def test_helm_repository_oci_gets_type() -> None:
    settings = build_settings(agent="a", helm_repository_address="oci://registry.example/charts")
    assert "  type: oci\n  url: oci://registry.example/charts\n" in render_helm_repository(settings)


def test_helm_release_matches_flux_export() -> None:
    settings = build_settings(agent="a", helm_release_values_from=["configmap/agent-config"])
    rendered = render_helm_release(
        settings, kas_address="wss://kas.gitlab.example.com", image_tag=None
    )
    assert rendered == FLUX_HELM_RELEASE


def test_release_follows_names_and_real_secret_name() -> None:
    settings = build_settings(
        agent="a",
        helm_release_name="agentk",
        helm_release_namespace="tools",
        helm_release_target_namespace="agents",
        helm_repository_name="charts",
        helm_repository_namespace="sources",
        gitlab_agent_token_secret_name="my-token",
    )
    release = YAML(typ="safe").load(
        render_helm_release(settings, kas_address="wss://k", image_tag="v18.1.0")
    )
    spec = release["spec"]
    assert release["metadata"] == {"name": "agentk", "namespace": "tools"}
    assert spec["chart"]["spec"]["sourceRef"] == {
        "kind": "HelmRepository",
        "name": "charts",
        "namespace": "sources",
    }
    assert spec["releaseName"] == "agentk"
    assert spec["storageNamespace"] == spec["targetNamespace"] == "agents"
    assert spec["values"]["config"]["secretName"] == "my-token"
    assert spec["values"]["image"] == {"tag": "v18.1.0"}


def test_values_files_merge_in_order_over_kasboot_values(tmp_path: Path) -> None:
    first = tmp_path / "one.yaml"
    first.write_text("config:\n  kasAddress: wss://override\nreplicas: 3\nlist: [a, b]\n")
    second = tmp_path / "two.yaml"
    second.write_text("replicas: 1\nlist: [c]\nrbac:\n  create: no\n")
    settings = build_settings(agent="a", helm_release_values=[f"{first},{second}"])
    rendered = render_helm_release(settings, kas_address="wss://kas", image_tag="v1.0.0")
    values = YAML(typ="safe").load(rendered)["spec"]["values"]
    assert values == {
        "config": {"kasAddress": "wss://override", "secretName": "gitlab-agent-token"},
        "image": {"tag": "v1.0.0"},
        "list": ["c"],
        "rbac": {"create": False},
        "replicas": 1,
    }
    # sorted at every level, lists not indented under their key
    assert "  values:\n    config:\n      kasAddress: wss://override\n" in rendered
    assert "    list:\n    - c\n    rbac:\n" in rendered


def test_ca_cert_and_receptive_key() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    rendered = render_helm_release(
        build_settings(agent="a", receptive=True, receptive_url="grpcs://agent.example:8082"),
        kas_address="wss://kas",
        image_tag=None,
        kas_ca_cert=pem,
        receptive_public_key="KEY",
    )
    assert "kasAddress" not in rendered  # GitLab connects to a receptive agent
    assert (
        "      kasCaCert: |\n        -----BEGIN CERTIFICATE-----\n        MIIB\n"
        "        -----END CERTIFICATE-----\n      receptive:\n        enabled: true\n"
    ) in rendered
    assert "    config:\n      api:\n        jwtPublicKey: KEY\n" in rendered


def test_render_manifests_paths() -> None:
    settings = build_settings(agent="a", manifest_path="./clusters/prod/")
    rendered = render_manifests(settings, kas_address="wss://kas", image_tag=None)
    assert list(rendered) == [
        "clusters/prod/gitlab-helm-repository.yaml",
        "clusters/prod/gitlab-agent-helm-release.yaml",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- a\n- b\n", "is not a YAML map"),
        ("a: [\n", "is not valid YAML"),
        ("a: .nan\n", "JSON cannot carry"),
    ],
)
def test_bad_values_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(content)
    with pytest.raises(UsageError, match=message):
        load_values_file(path)


def test_values_files_read_as_yaml_1_1_like_flux(tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    path.write_text("a: yes\nb: 0777\nc: 2024-01-02\nd: 1:20\ne: ~\nf: 2.0\n")
    assert load_values_file(path) == {
        "a": True,
        "b": 511,
        "c": "2024-01-02",
        "d": "1:20",
        "e": None,
        "f": 2,
    }
    assert load_values_file(_empty(tmp_path)) == {}


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing\n")
    return path


# ---------------------------------------------------------------- go-yaml v2 printing


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("plain", "plain"),
        ("wss://kas.example.com", "wss://kas.example.com"),
        ("v17.5.0", "v17.5.0"),
        ("it's", "it's"),
        ("é", "é"),
        ("", '""'),
        ("true", '"true"'),
        ("yes", '"yes"'),
        ("N", '"N"'),
        ("null", '"null"'),
        ("~", '"~"'),
        ("1.10", '"1.10"'),
        ("123", '"123"'),
        ("0x1F", '"0x1F"'),
        ("1e3", '"1e3"'),
        (".5", '".5"'),
        ("2024-01-01", '"2024-01-01"'),
        ("1:20", '"1:20"'),
        ("*", "'*'"),
        ("a: b", "'a: b'"),
        ("- x", "'- x'"),
        ("#x", "'#x'"),
        ("x #y", "'x #y'"),
        ("'q'", "'''q'''"),
        (" lead", "' lead'"),
        ("trail ", "'trail '"),
        ("tab\there", '"tab\\there"'),
        ("\U0001f600", '"\\U0001F600"'),
        ("line\n", "|\n  line"),
        ("line", "line"),
        ("a\nb", "|-\n  a\n  b"),
        ("a\n\n", "|+\n  a\n"),
        ("a \nb", '"a \\nb"'),
    ],
)
def test_scalar_quoting_matches_go_yaml_v2(value: str, printed: str) -> None:
    assert marshal({"k": value}) == f"k: {printed}\n"


def test_long_plain_scalars_fold_past_column_80() -> None:
    text = " ".join(["word"] * 30)
    printed = marshal({"description": text})
    first, second = printed.splitlines()
    assert len(first) > 80 and first.endswith("word")
    assert second.startswith("  word")
    assert YAML(typ="safe").load(printed) == {"description": text}


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (1.5, "1.5"),
        (0.1, "0.1"),
        (123456.5, "123456.5"),
        (1234567.5, "1.2345675e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (1e21, "1e+21"),
        (-2.5, "-2.5"),
    ],
)
def test_floats_print_like_go(value: float, printed: str) -> None:
    assert go_float(value) == printed


def test_keys_sort_like_go_yaml() -> None:
    keys = {"a10": 0, "a2": 0, "B": 0, "_x": 0, "a": 0, "b": 0}
    assert go_sorted_keys(keys) == ["_x", "B", "a", "a2", "a10", "b"]


def test_nested_collections() -> None:
    data = {"m": {"e": {}, "l": [], "n": None, "s": [[1, 2], {"b": 1, "a": [True]}]}}
    assert marshal(data) == (
        'm:\n  e: {}\n  l: []\n  "n": null\n  s:\n  - - 1\n    - 2\n  - a:\n    - true\n    b: 1\n'
    )


# ---------------------------------------------------------------- CRD schemas


def _schema(file_name: str, version: str) -> dict[str, Any]:
    crd = YAML(typ="safe").load((CRDS / file_name).read_text())
    for served in crd["spec"]["versions"]:
        if served["name"] == version:
            return dict(served["schema"]["openAPIV3Schema"])
    raise AssertionError(f"{version} not served by {file_name}")


def _validate(value: Any, schema: dict[str, Any], where: str = "") -> list[str]:
    """The structural part of Kubernetes' openAPI validation that can go wrong here."""
    errors: list[str] = []
    kind = schema.get("type")
    checks = {"object": dict, "array": list, "string": str, "boolean": bool}
    if kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        return [f"{where}: not an integer"]
    if kind in checks and not isinstance(value, checks[kind]):
        return [f"{where}: not a {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{where}: longer than {schema['maxLength']}")
    if isinstance(value, dict) and not schema.get("x-kubernetes-preserve-unknown-fields"):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}.{name}: required")
        for name, item in value.items():
            if name in properties:
                errors += _validate(item, properties[name], f"{where}.{name}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += _validate(item, schema["additionalProperties"], f"{where}.{name}")
            elif properties:
                errors.append(f"{where}.{name}: unknown field")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += _validate(item, schema["items"], f"{where}[{index}]")
    return errors


def test_rendered_objects_satisfy_the_crd_schemas(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("replicas: 1\n")
    settings = build_settings(
        agent="a", helm_release_values=[str(values)], helm_release_values_from=["Secret/x"]
    )
    repository = YAML(typ="safe").load(render_helm_repository(settings))
    release = YAML(typ="safe").load(
        render_helm_release(settings, kas_address="wss://kas", image_tag="v1.2.3")
    )
    repo_schema = _schema("source.toolkit.fluxcd.io_helmrepositories.yaml", "v1")
    release_schema = _schema("helm.toolkit.fluxcd.io_helmreleases.yaml", "v2")
    assert _validate(repository, repo_schema) == []
    assert _validate(release, release_schema) == []
    # the validator does catch mistakes
    release["spec"]["interval"] = "soon"
    release["spec"]["valuesFrom"][0]["kind"] = "Deployment"
    assert len(_validate(release, release_schema)) == 2


def _shape(value: Any) -> Any:
    """A parsed tree with key order and scalar types made comparable."""
    if isinstance(value, dict):
        return [("map", [(_shape(k), _shape(v)) for k, v in value.items()])]
    if isinstance(value, list):
        return ["seq", [_shape(item) for item in value]]
    return (type(value).__name__, value)


@pytest.mark.parametrize("name", sorted(p.name for p in (TEMPLATES / "flux").glob("*.yaml")))
def test_a_template_reads_the_same_with_libyaml_as_with_ruamel(name: str) -> None:
    """render.py reads its templates with PyYAML's C loader where there is one."""
    text = (TEMPLATES / "flux" / name).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert _shape(yaml.load(text, Loader=loader)) == _shape(YAML(typ="safe", pure=True).load(text))
