"""Issue 18's count budgets, through the same code as `python3 tasks.py bench`
(bench/figures.py): a fresh bootstrap and an unchanged re-run on their own sandbox world
(counted from the emulators' request logs, kasboot's own requests only), and — slow —
the growth from 1 to 1,000 agents / environments, 2,000 repository files and 500
manifests under the Flux path. No timing here: bench measures wall time, the floor,
Ready -> exit and start-up.

Every count budget is met (bench, 2026-12-01: GitLab 10 / 4, cluster 15 / 6, growth +0
each): a count over its budget fails the suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bench import figures
from bench.figures import Figure

pytestmark = pytest.mark.sandbox


BASE = [
    "gitlab_fresh",
    "gitlab_rerun",
    "gitlab_rerun_writes",
    "gitlab_rerun_commits",
    "cluster_fresh",
    "cluster_rerun",
    "cluster_rerun_writes",
    "unattributed",  # a kasboot request without kasboot's user agent would go uncounted
]
GROWTH = [
    pytest.param("agents", marks=pytest.mark.slow),
    pytest.param("environments", marks=pytest.mark.slow),
    pytest.param("repository_files", marks=pytest.mark.slow),
    pytest.param("flux_manifests", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module")
def base() -> Iterator[tuple[dict[str, Figure], int]]:
    measured, baseline = figures.base_figures()
    yield {figure.key: figure for figure in measured}, baseline


def _within(figure: Figure) -> None:
    assert figure.budget is not None and figure.measured is not None
    assert figure.measured <= figure.budget, (
        f"{figure.figure}: {figure.measured:g} > budget {figure.budget:g} {figure.detail}"
    )


@pytest.mark.timeout(300)  # the first one starts a world and bootstraps twice
@pytest.mark.parametrize("key", BASE)
def test_base_count_within_budget(base: tuple[dict[str, Figure], int], key: str) -> None:
    _within(base[0][key])


@pytest.mark.timeout(600)  # seeding hundreds of objects, then a bootstrap that reads them
@pytest.mark.parametrize("key", GROWTH)
def test_growth_within_budget(base: tuple[dict[str, Figure], int], key: str) -> None:
    _within(figures.growth_figure(key, base[1]))
