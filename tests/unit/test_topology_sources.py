"""Which branch a GitRepository follows and which repository it names (the guard's
reading of source-controller's ref rules and of git URL spellings)."""

from __future__ import annotations

import pytest

from kasboot.flux.gitsource import FluxSource, following, same_repository
from kasboot.flux.topology import BRANCH_MISMATCH, OTHER_REPOSITORY, REF_PINNED, source_problems

HTTP = "https://gitlab.example.com/platform/fleet.git"
SSH = "git@gitlab.example.com:platform/fleet.git"


def source(ref: dict[str, str] | None, url: str = SSH) -> FluxSource:
    spec: dict[str, object] = {"url": url}
    if ref is not None:
        spec["ref"] = ref
    meta = {"namespace": "flux-system", "name": "flux-system"}
    return FluxSource.from_object({"kind": "GitRepository", "metadata": meta, "spec": spec})


@pytest.mark.parametrize(
    ("ref", "branch", "prefix"),
    [
        ({"branch": "main"}, "main", "main"),
        (None, "master", "master"),
        ({}, "master", "master"),
        ({"branch": ""}, "master", "master"),
        ({"name": "refs/heads/main"}, "main", "refs/heads/main"),
        ({"name": "refs/heads/team/x"}, "team/x", "refs/heads/team/x"),
    ],
)
def test_followed_branch(ref: dict[str, str] | None, branch: str, prefix: str) -> None:
    tracked = following(source(ref))
    assert (tracked.branch, tracked.revision_prefix, tracked.pinned) == (branch, prefix, "")


@pytest.mark.parametrize(
    "ref",
    [
        {"tag": "v1.0.0"},
        {"semver": ">=1.0.0", "branch": "main"},
        {"commit": "a" * 40, "branch": "main"},
        {"name": "refs/tags/v1.0.0"},
        {"name": "refs/merge-requests/1/head"},
    ],
)
def test_pinned_refs_are_refused(ref: dict[str, str]) -> None:
    problems = source_problems(source(ref), "main", [HTTP, SSH])
    assert [p.code for p in problems] == [REF_PINNED]


def test_no_ref_on_a_main_project_names_masters_default() -> None:
    (problem,) = source_problems(source(None), "main", [HTTP, SSH])
    assert problem.code == BRANCH_MISMATCH
    assert "no spec.ref.branch" in problem.message and "'master'" in problem.message


@pytest.mark.parametrize(
    "url",
    [
        HTTP,
        SSH,
        "https://GitLab.Example.com/platform/fleet",
        "http://gitlab.example.com/platform/fleet.git/",
        "ssh://git@gitlab.example.com/platform/fleet.git",
        "ssh://git@gitlab.example.com:2222/platform/fleet",
        "https://oauth2@gitlab.example.com/gitlab/platform/fleet.git",
    ],
)
def test_same_repository_spellings(url: str) -> None:
    assert same_repository(url, HTTP, SSH)


@pytest.mark.parametrize(
    "url",
    [
        "ssh://git@gitlab.example.com/platform/fleet-mirror.git",
        "https://github.com/platform/fleet.git",
        "git@gitlab.example.com:other/fleet.git",
    ],
)
def test_other_repositories(url: str) -> None:
    assert not same_repository(url, HTTP, SSH)
    codes = [p.code for p in source_problems(source({"branch": "main"}, url), "main", [HTTP])]
    assert codes == [OTHER_REPOSITORY]
