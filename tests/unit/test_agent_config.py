"""config.yaml merge: add the project once, keep every other byte."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from kasboot.agent_config import merge_agent_config
from kasboot.errors import UsageError


def load(text: str) -> object:
    return YAML(typ="safe").load(text)


def test_new_file() -> None:
    assert merge_agent_config(None, "group/project") == (
        "user_access:\n  access_as:\n    agent: {}\n  projects:\n  - id: group/project\n"
    )


USER_FILE = """\
# Agent for production. Owned by the platform team.
ci_access:
    groups:
        - id: platform   # CI jobs of the group
gitops: {manifest_projects: [{id: "a/b"}]}
user_access:
    access_as:
        agent: {}
    projects:
        -   id: 'other/project'   # first

          # note kept below the list
observability:
  logging:
    level: debug
"""


def test_adds_project_keeping_every_other_byte() -> None:
    merged = merge_agent_config(USER_FILE, "group/project")
    expected = USER_FILE.replace(
        "        -   id: 'other/project'   # first\n",
        "        -   id: 'other/project'   # first\n        -   id: group/project\n",
    )
    assert merged == expected


def test_nothing_to_do_returns_the_same_string() -> None:
    merged = merge_agent_config(USER_FILE, "group/project")
    assert merge_agent_config(merged, "group/project") is merged
    assert merge_agent_config(merged, "Group/Project") is merged


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (
            "ci_access:\n  projects:\n  - id: x\n",
            "ci_access:\n  projects:\n  - id: x\nuser_access:\n  access_as:\n    agent: {}\n"
            "  projects:\n  - id: g/p\n",
        ),
        (
            "user_access:\n  projects:\n  - id: x\n# end\n",
            "user_access:\n  access_as:\n    agent: {}\n  projects:\n  - id: x\n  - id: g/p\n"
            "# end\n",
        ),
        (
            "user_access:\n  access_as:\n    agent: {}\nother: 1\n",
            "user_access:\n  access_as:\n    agent: {}\n  projects:\n  - id: g/p\nother: 1\n",
        ),
        (
            "# only a comment",
            "# only a comment\nuser_access:\n  access_as:\n    agent: {}\n  projects:\n"
            "  - id: g/p\n",
        ),
        (
            "gitops:\n    x: 1\n",
            "gitops:\n    x: 1\nuser_access:\n    access_as:\n        agent: {}\n    projects:\n"
            "    - id: g/p\n",
        ),
    ],
)
def test_insertions(existing: str, expected: str) -> None:
    assert merge_agent_config(existing, "g/p") == expected


@pytest.mark.parametrize(
    "existing",
    [
        "user_access: {access_as: {agent: {}}, projects: [{id: x}]}\n",
        "user_access:\n  access_as: {agent: {}}\n  projects: [{id: x}]  # flow\n",
        "user_access:\n  access_as:\n    agent: {}\n  projects:\n",
        "user_access:\n",
        "{ci_access: {}}\n",
    ],
)
def test_unusual_layouts_still_merge_correctly(existing: str) -> None:
    merged = merge_agent_config(existing, "g/p")
    data = load(merged)
    assert isinstance(data, dict)
    assert data["user_access"]["access_as"] == {"agent": {}}
    assert {"id": "g/p"} in data["user_access"]["projects"]
    original = load(existing)
    for key, value in (original or {}).items():
        if key != "user_access":
            assert data[key] == value


def test_keeps_access_as_impersonate() -> None:
    existing = "user_access:\n  access_as:\n    impersonate:\n      username: bob\n"
    data = load(merge_agent_config(existing, "g/p"))
    assert data == {
        "user_access": {
            "access_as": {"impersonate": {"username": "bob"}},
            "projects": [{"id": "g/p"}],
        }
    }


@pytest.mark.parametrize(("existing", "message"), [("a: [\n", "not valid YAML"),
                                                   ("- a\n", "not a YAML map")])  # fmt: skip
def test_invalid_files_name_the_file(existing: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        merge_agent_config(existing, "g/p", file_name=".gitlab/agents/a/config.yaml")
    assert ".gitlab/agents/a/config.yaml" in caught.value.message
