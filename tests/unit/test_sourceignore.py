"""source-controller's artifact filter (fluxcd/pkg sourceignore + go-git matching)."""

from __future__ import annotations

import pytest

from kasboot.flux.sourceignore import SourceIgnore

TREE = [
    ".gitignore",
    ".gitlab-ci.yml",
    ".github/workflows/ci.yaml",
    ".gitlab/agents/a/config.yaml",
    "clusters/prod/app.yaml",
    "clusters/prod/logo.png",
    "clusters/prod/.sops.yaml",
    "clusters/prod/secret.enc.yaml",
    "docs/readme.md",
]


def _ignore(files: dict[str, str], spec_ignore: str | None = None) -> SourceIgnore:
    contents = {path: text.encode() for path, text in files.items()}
    paths = [*TREE, *contents]
    return SourceIgnore.for_git_repository(paths, contents.__getitem__, spec_ignore)


def test_defaults_apply_without_any_pattern_and_keep_dot_gitlab() -> None:
    kept = _ignore({}).filter(TREE)
    assert kept == [
        ".gitlab/agents/a/config.yaml",
        "clusters/prod/app.yaml",
        "clusters/prod/secret.enc.yaml",
        "docs/readme.md",
    ]


def test_any_sourceignore_pattern_drops_the_defaults_but_not_vcs() -> None:
    ignore = _ignore({".sourceignore": "/.gitlab/\n"})
    assert ignore.excluded(".gitlab/agents/a/config.yaml")
    assert ignore.excluded(".gitignore")  # VCS rules always apply
    assert not ignore.excluded("clusters/prod/logo.png")  # default dropped
    assert not ignore.excluded("clusters/prod/.sops.yaml")
    assert not ignore.excluded(".gitlab-ci.yml")


def test_a_sourceignore_with_only_comments_keeps_the_defaults() -> None:
    ignore = _ignore({".sourceignore": "# nothing yet\n\n"})
    assert ignore.uses_defaults
    assert ignore.excluded("clusters/prod/logo.png")


def test_spec_ignore_is_scoped_to_the_root_and_drops_defaults() -> None:
    ignore = _ignore({}, spec_ignore="/.gitlab/\n*.enc.yaml")
    assert ignore.excluded(".gitlab/agents/a/config.yaml")
    assert ignore.excluded("clusters/prod/secret.enc.yaml")
    assert not ignore.excluded("clusters/prod/logo.png")


def test_nested_sourceignore_is_scoped_to_its_directory() -> None:
    ignore = _ignore({"clusters/.sourceignore": "/prod/app.yaml\n"})
    assert ignore.excluded("clusters/prod/app.yaml")
    assert not ignore.excluded("docs/readme.md")
    anchored_elsewhere = _ignore({"docs/.sourceignore": "/prod/app.yaml\n"})
    assert not anchored_elsewhere.excluded("clusters/prod/app.yaml")


@pytest.mark.parametrize(
    ("pattern", "path", "excluded"),
    [
        (".gitlab/", ".gitlab/agents/a/config.yaml", True),
        (".gitlab", ".gitlab/agents/a/config.yaml", True),
        ("agents/", ".gitlab/agents/a/config.yaml", True),  # unanchored name: any depth
        ("config.yaml", ".gitlab/agents/a/config.yaml", True),
        ("/config.yaml", ".gitlab/agents/a/config.yaml", False),  # anchored at the root
        ("**/config.yaml", ".gitlab/agents/a/config.yaml", True),
        (".gitlab/agents/*/config.yaml", ".gitlab/agents/a/config.yaml", True),
        ("config.yaml/", ".gitlab/agents/a/config.yaml", False),  # dir-only, this is a file
        ("*.yaml", "clusters/prod/app.yaml", True),
        ("clusters/**", "clusters/prod/app.yaml", True),
        ("[a-c]*.yaml", "clusters/prod/app.yaml", True),
        ("[^a]*.yaml", "clusters/prod/app.yaml", False),
    ],
)
def test_go_git_pattern_semantics(pattern: str, path: str, excluded: bool) -> None:
    assert _ignore({".sourceignore": pattern + "\n"}).excluded(path) is excluded


def test_negation_re_includes_a_file_under_an_excluded_directory() -> None:
    # go-git matches each file on its own: the last matching pattern wins
    ignore = _ignore({".sourceignore": ".gitlab/\n!.gitlab/agents/a/config.yaml\n"})
    assert not ignore.excluded(".gitlab/agents/a/config.yaml")


def test_only_sourceignore_files_are_read() -> None:
    read: list[str] = []

    def reader(path: str) -> bytes:
        read.append(path)
        return b"*.md\n"

    SourceIgnore.for_git_repository([*TREE, "a/.sourceignore"], reader, None)
    assert read == ["a/.sourceignore"]
