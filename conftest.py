"""pytest configuration for the whole project (tests/ and e2e/)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow variants run when asked for: `-m slow`, or KASBOOT_SLOW_TESTS=1 (as .ci/run's
    second pass does)."""
    if "slow" in (config.option.markexpr or "") or os.environ.get("KASBOOT_SLOW_TESTS"):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow or KASBOOT_SLOW_TESTS=1")
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(skip)
