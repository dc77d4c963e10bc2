"""The JSON envelope and the reading of `-o json` before click has parsed anything."""

from __future__ import annotations

import json

import jsonschema
import pytest

from kasboot.cli.reporting import command_name, json_requested
from kasboot.ui.jsonout import SCHEMA_PATH, envelope, error_document


@pytest.mark.parametrize(
    ("argv", "env", "wanted"),
    [(["status", "a", "-o", "json"], {}, True),
     (["status", "a", "--output", "json"], {}, True),
     (["status", "a", "--output=json"], {}, True),
     (["status", "a", "-ojson"], {}, True),
     (["status", "a"], {"KASBOOT_OUTPUT": "json"}, True),
     (["status", "a", "-o", "text"], {"KASBOOT_OUTPUT": "json"}, False),
     (["status", "a"], {}, False),
     (["status", "--", "-o", "json"], {}, False)],
)  # fmt: skip
def test_json_requested(argv: list[str], env: dict[str, str], wanted: bool) -> None:
    assert json_requested(argv, env) is wanted


@pytest.mark.parametrize(
    ("argv", "name"),
    [(["--debug", "token", "rotate", "a"], "token rotate"), (["bs", "a"], "bootstrap"),
     (["plan"], "plan"), ([], "kasboot"), (["nonsense"], "kasboot")],
)  # fmt: skip
def test_command_name(argv: list[str], name: str) -> None:
    assert command_name(argv) == name


def test_every_time_has_one_format() -> None:
    body = {
        "tokens": [{"created_at": "2026-01-31T12:00:00.123Z", "last_used_at": None}],
        "last_contact": "2026-01-31T13:00:00+01:00",
        "new_token_used_at": "2026-01-31T12:00:00.5+00:00",
    }
    document = envelope("status", body, exit_code=0)
    assert document["tokens"][0]["created_at"] == "2026-01-31T12:00:00Z"
    assert document["last_contact"] == "2026-01-31T12:00:00Z"
    assert document["new_token_used_at"] == "2026-01-31T12:00:00Z"


def test_an_error_document_is_valid() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    document = json.loads(error_document("plan", "Missing argument 'AGENT'.", None, 2))
    jsonschema.validate(document, schema)
    assert document["ok"] is False and document["error"]["exit_code"] == 2
