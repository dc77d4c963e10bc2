"""Read-only file mappings: the repository as it will be, filtered, fetched lazily.

The guard only reads the content of files a build reaches, so callers may hand it
a `LazyFiles` holding every path of the tree and fetching content on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from kasboot.flux.sourceignore import SourceIgnore


class FileView(Mapping[str, bytes]):
    """A fixed set of paths whose content comes from `read` (never listed eagerly)."""

    def __init__(self, paths: Iterable[str], read: Callable[[str], bytes]) -> None:
        self._paths = frozenset(paths)
        self._read = read

    def __getitem__(self, path: str) -> bytes:
        if path not in self._paths:
            raise KeyError(path)
        return self._read(path)

    def __contains__(self, path: object) -> bool:
        return path in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._paths))

    def __len__(self) -> int:
        return len(self._paths)


class LazyFiles(FileView):
    """Every path of a tree, content fetched (once) only when the guard needs it."""

    def __init__(self, paths: Iterable[str], fetch: Callable[[str], bytes]) -> None:
        self._cache: dict[str, bytes] = {}
        self._fetch = fetch
        self.fetched: list[str] = []
        super().__init__(paths, self._cached)

    def _cached(self, path: str) -> bytes:
        if path not in self._cache:
            self._cache[path] = self._fetch(path)
            self.fetched.append(path)
        return self._cache[path]


def overlay(files: Mapping[str, bytes], added: Mapping[str, bytes]) -> FileView:
    """The tree after `added` is written over `files` (same paths replaced)."""

    def read(path: str) -> bytes:
        return added[path] if path in added else files[path]

    return FileView([*files.keys(), *added.keys()], read)


def sparse_prefixes(sparse_checkout: Sequence[str]) -> list[str]:
    """spec.sparseCheckout as go-git applies it: "./" trimmed (source-controller), then
    a plain string prefix of each path (Index.SkipUnless: "apps" also keeps "apps-old/")."""
    return [directory.removeprefix("./") for directory in sparse_checkout]


def in_sparse_checkout(path: str, sparse_checkout: Sequence[str] | None) -> bool:
    if sparse_checkout is None:
        return True
    return any(path.startswith(prefix) for prefix in sparse_prefixes(sparse_checkout))


def artifact(
    files: Mapping[str, bytes],
    spec_ignore: str | None,
    sparse_checkout: Sequence[str] | None = None,
) -> tuple[FileView, SourceIgnore]:
    """What source-controller would package from `files`, and the filter it used.

    A sparse checkout writes only the chosen directories, so only `.sourceignore`
    files inside them are ever read."""
    checked_out = [path for path in files if in_sparse_checkout(path, sparse_checkout)]
    ignore = SourceIgnore.for_git_repository(checked_out, files.__getitem__, spec_ignore)
    return FileView(ignore.filter(checked_out), files.__getitem__), ignore
