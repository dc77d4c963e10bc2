"""The sandbox world for the reliability suite, started the way the integration suite
starts it (``kasboot sandbox up --detach`` through the real CLI), one per session, its
fault draws seeded (FAULT_SEED) so that a failing fault run can be replayed."""

from __future__ import annotations

from collections.abc import Iterator

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
