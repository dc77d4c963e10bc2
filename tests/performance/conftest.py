"""The request budgets of issue 18 as tests (counts only; bench/ measures the timings).
The slow cases (the growth figures: each seeds a world with hundreds of objects) run when
asked for: `-m slow` or KASBOOT_SLOW_TESTS=1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "slow" in (config.option.markexpr or "") or os.environ.get("KASBOOT_SLOW_TESTS"):
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason="slow: run with -m slow or KASBOOT_SLOW_TESTS=1")
    for item in items:
        if item.get_closest_marker("slow") and here in Path(str(item.fspath)).parents:
            item.add_marker(skip)
