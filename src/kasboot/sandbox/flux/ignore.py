"""source-controller's artifact ignore rules (fluxcd/pkg ``sourceignore``).

The VCS rules always apply. The default exclusions (images, archives, CI files and
a few tool configs) apply only while there is no ``.sourceignore`` file anywhere in
the repository and no ``spec.ignore``: as soon as either exists, the matcher becomes
VCS rules + those patterns (fluxcd/pkg ``artifact/storage`` SourceIgnoreFilter).
``.gitlab/`` is deliberately not excluded by default — that is the root-path trap.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # pathspec >= 1.0
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern as _Pattern
except ImportError:  # pragma: no cover - pathspec 0.12
    from pathspec.patterns import GitWildMatchPattern as _Pattern

IGNORE_FILE = ".sourceignore"
EXCLUDE_VCS = (".git/", ".gitignore", ".gitmodules", ".gitattributes")
EXCLUDE_EXT = ("*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip")
EXCLUDE_CI = (
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
)
EXCLUDE_EXTRA = ("**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml")
DEFAULT_EXCLUSIONS = EXCLUDE_EXT + EXCLUDE_CI + EXCLUDE_EXTRA


@dataclass(frozen=True)
class ScopedPattern:
    """A gitignore pattern and the directory it was read in (``""`` = repository root)."""

    domain: str
    pattern: Any

    def verdict(self, relative_path: str) -> bool | None:
        """True = excluded, False = re-included (``!``), None = pattern does not apply."""
        if self.domain:
            if not relative_path.startswith(self.domain + "/"):
                return None
            relative_path = relative_path[len(self.domain) + 1 :]
        if self.pattern.include is None or not self.pattern.match_file(relative_path):
            return None
        return bool(self.pattern.include)


def _compile(lines: Iterable[str], domain: str) -> list[ScopedPattern]:
    compiled = []
    for raw in lines:
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        compiled.append(ScopedPattern(domain, _Pattern(line)))
    return compiled


def collect_sourceignore(root: Path) -> list[ScopedPattern]:
    """Every ``.sourceignore`` in the tree, outer directories first, each scoped to its dir."""
    patterns: list[ScopedPattern] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        if IGNORE_FILE in filenames:
            domain = Path(directory).relative_to(root).as_posix()
            text = (Path(directory) / IGNORE_FILE).read_text(encoding="utf-8", errors="replace")
            patterns.extend(_compile(text.splitlines(), "" if domain == "." else domain))
    return patterns


class SourceIgnore:
    """Decides which repository files go into a GitRepository/OCIRepository artifact."""

    def __init__(self, root: Path, spec_ignore: str | None = None) -> None:
        user_patterns = collect_sourceignore(root)
        if spec_ignore is not None:
            user_patterns += _compile(spec_ignore.splitlines(), "")
        # SourceIgnoreFilter switches on the patterns collected (len(ps) > 0), not on
        # spec.ignore being set: one with only blank or comment lines keeps the defaults.
        overridden = bool(user_patterns)
        defaults = () if overridden else DEFAULT_EXCLUSIONS
        self.patterns = _compile((*EXCLUDE_VCS, *defaults), "") + user_patterns

    def excluded(self, relative_path: str) -> bool:
        """gitignore semantics: the last pattern that matches decides."""
        decision = False
        for scoped in self.patterns:
            verdict = scoped.verdict(relative_path)
            if verdict is not None:
                decision = verdict
        return decision

    def included_files(self, root: Path) -> list[str]:
        """Repository-relative POSIX paths of the files the artifact keeps, sorted.

        Only regular files: the archiver (fluxcd/pkg ``artifact/storage`` Archive) walks
        with lstat and skips anything that is neither a file nor a directory, so a
        symlink (to a file or to a directory) never reaches the artifact."""
        kept = []
        for directory, dirnames, filenames in os.walk(root):  # never follows links
            dirnames[:] = sorted(d for d in dirnames if d != ".git")
            for name in sorted(filenames):
                path = Path(directory) / name
                if path.is_symlink() or not path.is_file():
                    continue
                relative = path.relative_to(root).as_posix()
                if not self.excluded(relative):
                    kept.append(relative)
        return sorted(kept)
