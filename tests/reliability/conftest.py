"""The sandbox world for the reliability suite, started the way the integration suite
starts it (``kasboot sandbox up --detach`` through the real CLI), one per session, its
fault draws seeded (FAULT_SEED) so that a failing fault run can be replayed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up

# The seed `sandbox up --fault-seed` gives both emulators; the fault tests put their own
# per run (and print it on failure), KASBOOT_FAULT_SEED replaces them all to replay one.
FAULT_SEED = 1717


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("reliability-sandbox")
    world = sandbox_up(directory, "--fault-seed", str(FAULT_SEED))
    try:
        yield world
    finally:
        sandbox_down(directory)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """This suite's slow cases run when asked for (`-m slow`, KASBOOT_SLOW_TESTS=1)."""
    if "slow" in (config.option.markexpr or "") or os.environ.get("KASBOOT_SLOW_TESTS"):
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason="slow: run with -m slow or KASBOOT_SLOW_TESTS=1")
    for item in items:
        if item.get_closest_marker("slow") and here in Path(str(item.fspath)).parents:
            item.add_marker(skip)
