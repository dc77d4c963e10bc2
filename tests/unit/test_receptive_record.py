"""The record's receptive URL configuration: written with its id and URL, read back
only when well-formed (a hand-edited record never makes a configuration kasboot's)."""

from __future__ import annotations

import json
from typing import Any

from kasboot.ownership import (
    RECEPTIVE_RECORD,
    record_annotation,
    recorded_url_configuration,
)
from kasboot.settings import Settings


def secret_with(record: Any) -> dict[str, Any]:
    text = record if isinstance(record, str) else json.dumps(record)
    return {"metadata": {"annotations": {"kasboot.dev/bootstrap": text}}}


def test_written_and_read_back() -> None:
    settings = Settings(agent="a")
    text = record_annotation(settings, "main", "g/p/a", (), {"id": 7, "url": "grpcs://x:1"})
    assert json.loads(text)[RECEPTIVE_RECORD] == {"id": 7, "url": "grpcs://x:1"}
    assert recorded_url_configuration(secret_with(text)) == {"id": 7, "url": "grpcs://x:1"}


def test_absent_without_a_receptive_bootstrap() -> None:
    text = record_annotation(Settings(agent="a"), "main", "g/p/a")
    assert RECEPTIVE_RECORD not in json.loads(text)
    assert recorded_url_configuration(secret_with(text)) is None
    assert recorded_url_configuration(None) is None


def test_malformed_records_name_nothing() -> None:
    for bad in ({"id": "7", "url": "u"}, {"id": 7}, {"url": "u"}, "x", None, [7]):
        assert recorded_url_configuration(secret_with({RECEPTIVE_RECORD: bad})) is None
    assert recorded_url_configuration(secret_with("{not json")) is None
