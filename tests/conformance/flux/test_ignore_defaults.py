"""When source-controller's default exclusions stop applying (fluxcd/pkg
`artifact/storage` SourceIgnoreFilter): only once at least one pattern was collected
from `.sourceignore` files or `spec.ignore` (`len(ps) > 0`), and `ReadPatterns`
skips blank lines and lines starting with `#`."""

from __future__ import annotations

from pathlib import Path

import pytest

from kasboot.sandbox.flux.ignore import SourceIgnore

FILES = ("app/a.yaml", "app/.sops.yaml", ".gitlab-ci.yml", "logo.png", ".gitlab/agents/x/c.yaml")
DEFAULTS_EXCLUDED = {"app/.sops.yaml", ".gitlab-ci.yml", "logo.png"}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    for relative in FILES:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x\n")
    return tmp_path


@pytest.mark.parametrize("spec_ignore", [None, "", "\n\n", "# nothing excluded yet\n"], ids=repr)
def test_spec_ignore_without_patterns_keeps_the_defaults(
    checkout: Path, spec_ignore: str | None
) -> None:
    kept = set(SourceIgnore(checkout, spec_ignore).included_files(checkout))
    assert kept == set(FILES) - DEFAULTS_EXCLUDED


def test_an_empty_sourceignore_keeps_the_defaults(checkout: Path) -> None:
    (checkout / ".sourceignore").write_text("# reviewed, nothing to exclude\n\n")
    kept = set(SourceIgnore(checkout).included_files(checkout))
    assert kept == (set(FILES) - DEFAULTS_EXCLUDED) | {".sourceignore"}


def test_one_pattern_in_spec_ignore_drops_the_defaults(checkout: Path) -> None:
    kept = set(SourceIgnore(checkout, "# the agent\n/.gitlab/\n").included_files(checkout))
    assert kept == {"app/a.yaml", "app/.sops.yaml", ".gitlab-ci.yml", "logo.png"}
