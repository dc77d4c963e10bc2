"""Which options the user gave explicitly (a flag or a KASBOOT_* variable): those are
checked against the agent's record; the rest is filled from it (steps/recorded.py)."""

from __future__ import annotations

from typing import Any

from kasboot.settings import SETTINGS_FIELDS


def explicit_options(params: dict[str, Any]) -> frozenset[str]:
    """Click keeps every default at None, so a value here was typed (or exported)."""
    return frozenset(
        name for name in SETTINGS_FIELDS if params.get(name) is not None and params.get(name) != ()
    )
