"""`kasboot fleet ci`: the pipeline and the CI/CD component, validated against GitLab's
published CI schema (the copy in e2e/schema/, from gitlabhq's
app/assets/javascripts/editor/schema/ci.json)."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from kasboot import __version__
from kasboot.fleet.ci import MATRIX_LIMIT, component_pipeline, dump, pipeline
from kasboot.fleet.spec import parse_fleet

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "e2e" / "schema" / "gitlab-ci.json").read_text(encoding="utf-8"))
COMPONENT = ROOT / "templates" / "fleet.yml"


def validate(document: Any) -> None:
    jsonschema.Draft7Validator(SCHEMA).validate(document)


def load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(StringIO(text))


def two_projects(count: int = 3) -> Any:
    clusters = [{"name": f"c{n}", "context": f"c{n}"} for n in range(1, count + 1)]
    clusters.append({"name": "other", "context": "o", "repo": "ops/other"})
    return parse_fleet(
        {"defaults": {"repo": "g/fleet", "manifest-path": "clusters/{name}"}, "clusters": clusters},
        Path("fleet.yaml"),
    )


def test_the_pipeline_is_valid_gitlab_ci_with_one_job_per_project_branch() -> None:
    text = dump(pipeline(two_projects(), "fleet.yaml", stage="deploy", image="python:3.11"), "f")
    document = load(text)
    validate(document)
    jobs = {name: job for name, job in document.items() if name.startswith("kasboot-fleet ")}
    assert sorted(jobs) == [
        "kasboot-fleet g-fleet-default-branch",
        "kasboot-fleet ops-other-default-branch",
    ]
    fleet_job = jobs["kasboot-fleet g-fleet-default-branch"]
    assert fleet_job["parallel"]["matrix"] == [{"KASBOOT_FLEET_CLUSTER": ["c1", "c2", "c3"]}]
    assert fleet_job["resource_group"] == "kasboot-fleet-g-fleet-default-branch"
    template = document[".kasboot-fleet"]
    assert '--only "$KASBOOT_FLEET_CLUSTER" --output json' in template["script"][0]
    assert template["artifacts"]["when"] == "always"
    assert document["variables"]["KASBOOT_VERSION"] == __version__
    assert "GITLAB_TOKEN" in text.split("stages:")[0]  # the header names what it needs


def test_more_clusters_than_a_matrix_takes_share_one_resource_group() -> None:
    document = pipeline(two_projects(MATRIX_LIMIT + 5), "fleet.yaml", stage="deploy", image="p")
    validate(document)
    groups = {
        name: job["resource_group"]
        for name, job in document.items()
        if name.startswith("kasboot-fleet g-fleet")
    }
    assert len(groups) == 2 and len(set(groups.values())) == 1
    sizes = [
        len(document[name]["parallel"]["matrix"][0]["KASBOOT_FLEET_CLUSTER"]) for name in groups
    ]
    assert sizes == [MATRIX_LIMIT, 5]


def test_the_component_pipeline_includes_it_per_project_branch() -> None:
    document = load(
        dump(
            component_pipeline(
                two_projects(), "fleet.yaml", "gitlab.com/a/kasboot/fleet@1.0", stage="deploy"
            ),
            "f",
        )
    )
    validate(document)
    first = document["include"][0]
    assert first["component"] == "gitlab.com/a/kasboot/fleet@1.0"
    assert first["inputs"]["clusters"] == ["c1", "c2", "c3"]
    assert first["inputs"]["kasboot-version"] == __version__


def interpolate(node: Any, inputs: dict[str, Any]) -> Any:
    """GitLab's `$[[ inputs.x ]]`: a whole-value reference takes the input's type."""
    if isinstance(node, dict):
        return {interpolate(k, inputs): interpolate(v, inputs) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(item, inputs) for item in node]
    if isinstance(node, str):
        whole = re.fullmatch(r"\$\[\[ inputs\.([\w-]+) \]\]", node)
        if whole:
            return inputs[whole.group(1)]
        return re.sub(r"\$\[\[ inputs\.([\w-]+) \]\]", lambda m: str(inputs[m.group(1)]), node)
    return node


def test_the_component_template_is_valid_once_its_inputs_are_given() -> None:
    header, body = YAML(typ="safe", pure=True).load_all(COMPONENT.read_text(encoding="utf-8"))
    validate(header)  # the spec: header document
    inputs = {name: spec.get("default") for name, spec in header["spec"]["inputs"].items()}
    assert inputs["kasboot-version"] == __version__  # released together
    inputs["clusters"] = ["prod-eu", "prod-us"]
    jobs = interpolate(body, inputs)
    validate(jobs)
    job = jobs["kasboot-fleet"]
    assert job["parallel"]["matrix"] == [{"KASBOOT_FLEET_CLUSTER": ["prod-eu", "prod-us"]}]
    assert job["resource_group"] == "kasboot-fleet"


def test_the_schema_rejects_what_gitlab_rejects() -> None:
    """The check has teeth: a job without a script is refused by the same schema."""
    with pytest.raises(jsonschema.ValidationError):
        validate({"job": {"stage": "deploy", "parallel": {"matrix": "x"}}})
