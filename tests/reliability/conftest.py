"""The sandbox world for the reliability suite, started the way the integration suite
starts it (``kasboot sandbox up --detach`` through the real CLI), one per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import Sandbox, sandbox_down, sandbox_up


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    directory = tmp_path_factory.mktemp("reliability-sandbox")
    world = sandbox_up(directory)
    try:
        yield world
    finally:
        sandbox_down(directory)
