"""The ``world`` fixture: every journey runs once against the sandbox and once against a
real GitLab + cluster; the real one is skipped, with the reason, unless KASBOOT_E2E_*
are set. The world's finalizer removes what the journeys left, also when they fail."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from e2e.world import World, make_world, real_world_missing


@pytest.fixture(scope="module", params=["sandbox", "real"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    kind = str(request.param)
    if kind == "real" and real_world_missing():
        missing = ", ".join(real_world_missing())
        pytest.skip(f"real GitLab + cluster not configured: {missing} unset (see e2e/README.md)")
    built = make_world(kind, tmp_path_factory.mktemp(f"e2e-{kind}"))
    try:
        yield built
    finally:
        failures = built.cleanup()
        if failures:  # said, not raised: the journeys' own verdict stays the one shown
            print(f"e2e clean-up of the {kind} world left: {failures}", file=sys.stderr)
