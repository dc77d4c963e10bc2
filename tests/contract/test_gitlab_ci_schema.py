"""The project's .gitlab-ci.yml (and the example pipeline in examples/) is valid against
GitLab's published CI schema (e2e/schema/gitlab-ci.json, see its README), and the
pipeline has the jobs the project relies on: lint and tests on every push, the real e2e
on a schedule or by hand with its reports as artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "e2e" / "schema" / "gitlab-ci.json"
PIPELINES = [ROOT / ".gitlab-ci.yml", ROOT / "examples" / "gitlab-ci" / ".gitlab-ci.yml"]


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(json.dumps(YAML(typ="safe").load(path.read_text()))))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_pipeline_is_valid_against_gitlabs_schema(
    validator: jsonschema.Draft7Validator, pipeline: Path
) -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(load(pipeline))
    ]
    assert errors == []


def test_the_schema_catches_a_broken_pipeline(validator: jsonschema.Draft7Validator) -> None:
    broken = {"test": {"script": "pytest", "artifacts": {"when": "sometimes"}}}
    assert not validator.is_valid(broken)
    assert not validator.is_valid({"lint": {"stage": "lint", "scirpt": ["ruff"]}})


def test_the_jobs_the_project_relies_on() -> None:
    pipeline = load(ROOT / ".gitlab-ci.yml")
    assert {"lint", "test", "e2e-real"} <= set(pipeline)
    real = pipeline["e2e-real"]
    assert any("dind" in str(service) for service in real["services"])
    sources = " ".join(str(rule.get("if")) for rule in real["rules"])
    assert "schedule" in sources and any(r.get("when") == "manual" for r in real["rules"])
    assert real["artifacts"]["when"] == "always" and "e2e-reports/" in real["artifacts"]["paths"]
    assert any("kind-flux.sh --down" in line for line in real["after_script"])
    for job in ("lint", "test"):  # every push, not the schedule
        assert all("schedule" in str(r.get("if")) for r in pipeline[job]["rules"])
