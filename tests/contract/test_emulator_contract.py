"""The GitLab emulator answers every endpoint kasboot uses with the fields kasboot reads
(gitlab_fields.json), of the types it expects; and the check itself finds a missing or
mistyped field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gitlab
import pytest

from kasboot.sandbox.gitlab import GitLabEmulator
from tests.contract.fields import (
    Endpoint,
    contract_report,
    differences,
    field_problems,
    load_endpoints,
    probe,
)


@pytest.fixture(scope="module")
def emulator_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gitlab.Gitlab]:
    emulator = GitLabEmulator(Path(tmp_path_factory.mktemp("contract-gitlab"))).start()
    try:
        backend = emulator.backend
        backend.ensure_user("root", "Administrator", "admin@example.com")
        token = backend.create_personal_access_token("root", "contract", ["api"])
        backend.ensure_project("demo/fleet", owner="root")
        yield gitlab.Gitlab(emulator.url, private_token=token)
    finally:
        emulator.stop()


@pytest.mark.sandbox
def test_the_emulator_answers_every_listed_field(emulator_client: gitlab.Gitlab) -> None:
    report = contract_report(probe(emulator_client, "demo/fleet", "contract-probe"))
    assert differences(report) == []
    # The probe cleaned up after itself.
    project = emulator_client.projects.get("demo/fleet")
    assert [a.name for a in project.cluster_agents.list(get_all=True)] == []
    assert [b.name for b in project.branches.list(get_all=True)] == ["main"]


def test_every_endpoint_names_its_docs_page() -> None:
    endpoints = load_endpoints()
    assert {"metadata", "project", "agents", "token", "environments", "tree"} <= set(endpoints)
    for endpoint in endpoints.values():
        assert endpoint.docs.startswith("https://docs.gitlab.com/api/"), endpoint.id
        assert endpoint.fields, endpoint.id


def test_the_check_finds_missing_null_and_mistyped_fields() -> None:
    endpoint = Endpoint("x", "GET", "/x", "https://docs", {"id": "int", "a.b": "str", "c": "str?"})
    assert field_problems({"id": 1, "a": {"b": "s"}}, endpoint) == []
    assert field_problems({"id": 1, "a": {"b": "s"}, "c": None}, endpoint) == []
    assert field_problems({"id": "1", "a": {}, "c": 3}, endpoint) == [
        "x: id is str, expected int",
        "x: a.b is missing",
        "x: c is int, expected str?",
    ]
    assert field_problems({"id": True, "a": {"b": None}}, endpoint) == [
        "x: id is bool, expected int",
        "x: a.b is null",
    ]
    listed = Endpoint("l", "GET", "/l", "https://docs", {"id": "int"}, is_list=True)
    assert field_problems([{"id": 1}, {}], listed) == ["l[1]: id is missing"]
