"""What source-controller leaves out of a GitRepository artifact.

The rules of fluxcd/pkg `sourceignore` and `artifact/storage` (SourceIgnoreFilter),
matched the way go-git's gitignore matcher does it (which is what Flux uses):

- every `.sourceignore` file in the repository (any directory but `.git`) adds its
  patterns, scoped to its own directory; GitRepository `spec.ignore` adds patterns
  scoped to the root, after them;
- the VCS patterns (`.git/`, `.gitignore`, ...) always apply;
- the default exclusions (images, archives, CI files, ...) apply only when no
  pattern at all was collected: one pattern anywhere drops them;
- each file is matched on its own full path (the archive walk does not prune
  excluded directories), the last matching pattern wins, `!` re-includes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from kasboot.flux.paths import parent_of

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

_ZERO_OR_MORE_DIRS = "**"


@lru_cache(maxsize=512)
def _component_regex(glob: str) -> re.Pattern[str]:
    """Go's filepath.Match for one path component, as a regular expression."""
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and i + 1 < len(glob):
            i += 1
            out.append(re.escape(glob[i]))
        elif char == "[":
            end = glob.find("]", i + 2 if glob[i + 1 : i + 2] == "^" else i + 1)
            if end == -1:
                return re.compile(r"(?!x)x")  # Go reports ErrBadPattern: never matches
            body = glob[i + 1 : end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            body = body.replace("\\", "\\\\").replace("[", "\\[")
            out.append(f"[{'^' if negate else ''}{body}]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _component_match(glob: str, name: str) -> bool:
    return _component_regex(glob).match(name) is not None


@dataclass(frozen=True)
class IgnorePattern:
    """One gitignore line, parsed the way go-git's `ParsePattern` does."""

    domain: tuple[str, ...]
    parts: tuple[str, ...]
    inclusion: bool
    dir_only: bool
    is_glob: bool

    @classmethod
    def parse(cls, line: str, domain: tuple[str, ...] = ()) -> IgnorePattern:
        inclusion = line.startswith("!")
        if inclusion:
            line = line[1:]
        if not line.endswith("\\ "):
            line = line.rstrip(" ")
        dir_only = line.endswith("/")
        if dir_only:
            line = line[:-1]
        return cls(domain, tuple(line.split("/")), inclusion, dir_only, "/" in line)

    def matches(self, path: tuple[str, ...], is_dir: bool) -> bool:
        if len(path) <= len(self.domain) or path[: len(self.domain)] != self.domain:
            return False
        rest = path[len(self.domain) :]
        if self.is_glob:
            return self._glob_match(rest, is_dir)
        return self._name_match(rest, is_dir)

    def _name_match(self, path: tuple[str, ...], is_dir: bool) -> bool:
        for index, name in enumerate(path):
            if not _component_match(self.parts[0], name):
                continue
            # A directory pattern never matches the file itself, only what is under it.
            return not (self.dir_only and not is_dir and index == len(path) - 1)
        return False

    def _glob_match(self, path: tuple[str, ...], is_dir: bool) -> bool:
        remaining = list(path)
        matched = False
        can_traverse = False
        for index, part in enumerate(self.parts):
            if part == "":
                can_traverse = False
                continue
            if part == _ZERO_OR_MORE_DIRS:
                if index == len(self.parts) - 1:
                    break
                can_traverse = True
                continue
            if _ZERO_OR_MORE_DIRS in part or not remaining:
                return False
            if can_traverse:
                can_traverse = False
                while remaining:
                    name = remaining.pop(0)
                    if _component_match(part, name):
                        matched = True
                        break
                    if not remaining:
                        matched = False
            else:
                if not _component_match(part, remaining[0]):
                    return False
                matched = True
                remaining.pop(0)
        if matched and self.dir_only and not is_dir and not remaining:
            return False
        return matched


def read_patterns(text: str, domain: tuple[str, ...] = ()) -> list[IgnorePattern]:
    """Patterns of a `.sourceignore` or `spec.ignore`: `#` lines and blank lines skipped."""
    return [
        IgnorePattern.parse(line, domain)
        for line in text.splitlines()
        if not line.startswith("#") and line.strip()
    ]


def _domain_of(directory: str) -> tuple[str, ...]:
    return tuple(directory.split("/")) if directory else ()


class SourceIgnore:
    """The artifact filter of one GitRepository at one revision."""

    def __init__(self, patterns: Iterable[IgnorePattern]) -> None:
        collected = list(patterns)
        self.uses_defaults = not collected
        base = [IgnorePattern.parse(p) for p in EXCLUDE_VCS]
        if self.uses_defaults:
            base += [IgnorePattern.parse(p) for p in DEFAULT_EXCLUSIONS]
        self.patterns: tuple[IgnorePattern, ...] = tuple(base + collected)

    @classmethod
    def for_git_repository(
        cls,
        files: Iterable[str],
        read: Callable[[str], bytes],
        spec_ignore: str | None,
    ) -> SourceIgnore:
        """Collect every `.sourceignore` among `files` (reading only those) plus spec.ignore."""
        ignore_files = [
            path
            for path in files
            if path.rsplit("/", 1)[-1] == IGNORE_FILE and ".git" not in path.split("/")[:-1]
        ]
        # LoadIgnorePatterns reads a directory's file before descending, in name order.
        ignore_files.sort(key=lambda p: _domain_of(parent_of(p)))
        patterns: list[IgnorePattern] = []
        for path in ignore_files:
            text = read(path).decode("utf-8", errors="replace")
            patterns += read_patterns(text, _domain_of(parent_of(path)))
        if spec_ignore is not None:
            patterns += read_patterns(spec_ignore)
        return cls(patterns)

    def excluded(self, path: str, is_dir: bool = False) -> bool:
        parts = tuple(path.split("/"))
        for pattern in reversed(self.patterns):
            if pattern.matches(parts, is_dir):
                return not pattern.inclusion
        return False

    def filter(self, files: Iterable[str]) -> list[str]:
        return [path for path in files if not self.excluded(path)]
