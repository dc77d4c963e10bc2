"""The shape of an artifact as kustomize sees it: directories, kustomization files,
candidate manifests, and where Flux's temp dir puts them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kasboot.flux.paths import ancestors, parent_of

KUSTOMIZATION_FILE_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
TMP_DIR = "/tmp/kustomization-<n>"

# kustomize treats these as remote bases; the guard cannot see them and assumes they build.
_REMOTE_PREFIXES = ("git::", "gh:", "ssh://", "https://", "http://", "git@", "github.com")


def absolute(path: str) -> str:
    """Where Flux would see a repository path inside its temp dir."""
    return f"{TMP_DIR}/{path}" if path else TMP_DIR


def kustomization_file_in(files: Mapping[str, Any], directory: str) -> str | None:
    found = kustomization_files_in(files, directory)
    return found[0] if found else None


def kustomization_files_in(files: Mapping[str, Any], directory: str) -> list[str]:
    prefix = f"{directory}/" if directory else ""
    return [prefix + name for name in KUSTOMIZATION_FILE_NAMES if prefix + name in files]


def _extension(name: str) -> str:
    """Go's filepath.Ext: from the last dot of the final element."""
    dot = name.rfind(".")
    return name[dot:] if dot != -1 else ""


def is_manifest_candidate(path: str) -> bool:
    return _extension(path.rsplit("/", 1)[-1]) in (".yaml", ".yml")


def is_remote(entry: str) -> bool:
    return entry.lower().startswith(_REMOTE_PREFIXES) or "://" in entry


class RepoTree:
    """The directory structure of an artifact, from its file paths alone."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self.dirs: set[str] = {""}
        children: dict[str, dict[str, bool]] = {"": {}}
        for path in files:
            children.setdefault(parent_of(path), {})[path.rsplit("/", 1)[-1]] = False
            for directory in ancestors(path)[:-1]:
                if directory in self.dirs:
                    break
                self.dirs.add(directory)
                children.setdefault(directory, {})
                children.setdefault(parent_of(directory), {})[directory.rsplit("/", 1)[-1]] = True
        # filepath.Walk visits entries in lexical (byte) order.
        self._children = {d: sorted(entries.items()) for d, entries in children.items()}

    def children(self, directory: str) -> list[tuple[str, bool]]:
        return self._children.get(directory, [])

    def walk_files(self, base: str) -> Iterator[tuple[str, bool]]:
        """(path, is_dir) below `base` in filepath.Walk order; see `skip` in callers."""
        for name, is_dir in self.children(base):
            yield (f"{base}/{name}" if base else name), is_dir
