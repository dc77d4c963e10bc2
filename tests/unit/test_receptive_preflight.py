"""Pre-flight's receptive checks that need no agent: the edition and GitLab.com."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from kasboot.errors import PreflightError
from kasboot.steps.seed_checks import _check_receptive


def context(url: str, metadata: dict[str, Any]) -> Any:
    survey = SimpleNamespace(agent=None)  # the survey answered: no such agent yet
    return SimpleNamespace(
        metadata=metadata,
        gitlab=SimpleNamespace(url=url),
        gitlab_survey=survey,
        settings=SimpleNamespace(agent="a"),
        project_path="group/project",
    )


def test_community_edition_is_refused() -> None:
    with pytest.raises(PreflightError) as caught:
        _check_receptive(context("https://git.example", {"version": "18.2.0", "enterprise": False}))
    assert "Community Edition" in caught.value.message


@pytest.mark.parametrize("url", ["https://gitlab.com", "https://www.gitlab.com/"])
def test_gitlab_com_is_refused(url: str) -> None:
    with pytest.raises(PreflightError) as caught:
        _check_receptive(context(url, {"version": "18.2.0-ee", "enterprise": True}))
    assert "GitLab.com does not offer receptive agents" in caught.value.message


def test_a_new_agent_on_self_managed_ee_passes() -> None:
    _check_receptive(context("https://git.example", {"version": "18.2.0-ee", "enterprise": True}))
