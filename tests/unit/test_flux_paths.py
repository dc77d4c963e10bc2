"""Repository-relative path rules of the topology guard."""

from __future__ import annotations

import pytest

from kasboot.flux.paths import is_within, normalize_repo_path, relative_to, secure_join


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("./", ""),
        (".", ""),
        ("", ""),
        ("/", ""),
        ("./clusters/prod/", "clusters/prod"),
        ("clusters//prod", "clusters/prod"),
        ("./a/../b/", "b"),
        ("/abs/path", "abs/path"),
        (".gitlab/agents/x/config.yaml", ".gitlab/agents/x/config.yaml"),
    ],
)
def test_normalize(raw: str, normalized: str) -> None:
    assert normalize_repo_path(raw) == normalized


@pytest.mark.parametrize("raw", ["../x", "a/../../x", ".."])
def test_normalize_rejects_escaping_the_root(raw: str) -> None:
    with pytest.raises(ValueError, match="escapes"):
        normalize_repo_path(raw)


def test_flux_spec_path_is_clamped_to_the_artifact_root() -> None:
    # securejoin never leaves the artifact: "../clusters" is "clusters" to Flux
    assert secure_join("../clusters/prod") == "clusters/prod"
    assert secure_join("./") == ""


@pytest.mark.parametrize(
    ("path", "ancestor", "expected"),
    [
        ("anything/at/all", "", True),
        ("", "", True),
        ("clusters/prod/x.yaml", "clusters/prod", True),
        ("clusters/prod", "clusters/prod", True),
        ("clusters/production/x.yaml", "clusters/prod", False),
        ("clusters", "clusters/prod", False),
    ],
)
def test_is_within(path: str, ancestor: str, expected: bool) -> None:
    assert is_within(path, ancestor) is expected


def test_relative_to() -> None:
    assert relative_to("clusters/prod/agent", "clusters/prod") == "agent"
    assert relative_to("apps/agent", "clusters/prod") == "../../apps/agent"
    assert relative_to("apps", "") == "apps"
