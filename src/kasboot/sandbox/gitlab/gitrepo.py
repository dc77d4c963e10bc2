"""A bare git repository driven with git plumbing.

API commits are real commits: a temporary index is filled from the parent's tree,
changed with ``update-index``, written with ``write-tree``/``commit-tree`` and
published with ``update-ref <ref> <new> <old>``, so a concurrent push (served by
``git http-backend`` on the same repository) makes the update fail instead of
being silently overwritten."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ZERO_SHA = "0" * 40
_FULL_SHA = re.compile(r"[0-9a-fA-F]{40}")
_COMMIT_FIELDS = ["%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B"]
_COMMIT_FORMAT = "%x1f".join(_COMMIT_FIELDS) + "%x1e"


class GitCommandError(RuntimeError):
    def __init__(self, args: list[str], stderr: str) -> None:
        super().__init__(f"git {' '.join(args)}: {stderr.strip()}")
        self.stderr = stderr


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str  # "blob" | "tree" | "commit"
    id: str
    path: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CommitInfo:
    id: str
    parent_ids: list[str]
    author_name: str
    author_email: str
    authored_date: str
    committer_name: str
    committer_email: str
    committed_date: str
    message: str

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class IndexChange:
    """One staged change: ``blob`` content (None = remove), for ``path`` with ``mode``."""

    path: str
    content: bytes | None = None
    mode: str = "100644"
    blob_id: str | None = None


@dataclass(frozen=True)
class Signature:
    name: str
    email: str


class BareRepository:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()  # serialises API commits on this repository

    # -- low level ---------------------------------------------------------
    def git(
        self,
        *args: str,
        input_bytes: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> bytes:
        full_env = {**os.environ, "GIT_DIR": str(self.path), "LC_ALL": "C"}
        full_env.pop("GIT_INDEX_FILE", None)
        if env:
            full_env.update(env)
        done = subprocess.run(
            ["git", *args],
            input=input_bytes,
            capture_output=True,
            env=full_env,
            check=False,
        )
        if check and done.returncode != 0:
            raise GitCommandError(list(args), done.stderr.decode(errors="replace"))
        return done.stdout

    def init(self, default_branch: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--bare", "--quiet", str(self.path)], check=True, capture_output=True
        )
        self.git("symbolic-ref", "HEAD", f"refs/heads/{default_branch}")
        self.git("config", "http.receivepack", "true")
        self.git("config", "uploadpack.allowAnySHA1InWant", "true")

    # -- reading -----------------------------------------------------------
    def resolve(self, ref: str) -> str | None:
        """The commit a branch, tag or sha names, or None."""
        if not ref or ref.startswith("-"):
            return None
        out = self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        sha = out.decode().strip()
        return sha or None

    def branches(self) -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/")
        pairs = (line.split(" ", 1) for line in out.decode().splitlines() if line)
        return {name: sha for name, sha in pairs}

    def refs(self) -> dict[str, str]:
        """Every ref by full name (refs/heads/main, refs/tags/v1, ...) -> object id."""
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)")
        pairs = (line.split(" ", 1) for line in out.decode().splitlines() if line)
        return {name: sha for name, sha in pairs}

    def branch_tip(self, ref: str, refs: Mapping[str, str]) -> str | None:
        """The commit ``ref`` names when it is plainly a branch of ``refs`` (as ``resolve``
        answers, without a process); None when rev-parse must decide: a 40-hex name (an
        object id comes first), or a name that git's ref rules (`<name>`, `refs/<name>`,
        `refs/tags/<name>` before `refs/heads/<name>`) or a file in the git dir also match."""
        tip = refs.get(f"refs/heads/{ref}")
        if tip is None or ref.startswith("-") or _FULL_SHA.fullmatch(ref):
            return None
        if any(name in refs for name in (ref, f"refs/{ref}", f"refs/tags/{ref}")):
            return None
        if (self.path / ref).exists():
            return None
        return tip

    def is_empty(self) -> bool:
        return not self.branches()

    def tree_entries(self, commit: str, path: str, recursive: bool) -> list[TreeEntry] | None:
        """Entries under ``path`` (root when empty); None when path is not a tree."""
        clean = path.strip("/")
        target = f"{commit}:{clean}" if clean else f"{commit}^{{tree}}"
        kind = self.git("cat-file", "-t", target, check=False).decode().strip()
        if kind != "tree":
            return None
        args = ["ls-tree", "-z", "--full-tree"]
        if recursive:
            args += ["-r", "-t"]
        args.append(commit)
        if clean:
            args += ["--", f"{clean}/"]
        return list(_ls_tree_entries(self.git(*args)))

    def blob_entries(self, commit: str) -> list[TreeEntry]:
        """Every blob of ``commit``'s tree (one ``ls-tree -r``: the commit has a tree)."""
        out = self.git("ls-tree", "-z", "-r", "--full-tree", commit)
        return [entry for entry in _ls_tree_entries(out) if entry.type == "blob"]

    def entry(self, commit: str, path: str) -> TreeEntry | None:
        return self.entries_at(commit, [path]).get(path)

    def entries_at(self, commit: str, paths: list[str]) -> dict[str, TreeEntry]:
        """The tree entries at exactly ``paths`` in ``commit``, by path: one ls-tree for
        them all (a process per path made the GraphQL survey's blobs its slowest part)."""
        wanted = {path for path in paths if path}
        if not wanted:
            return {}
        out = self.git("ls-tree", "-z", "--full-tree", commit, "--", *sorted(wanted), check=False)
        return {entry.path: entry for entry in _ls_tree_entries(out) if entry.path in wanted}

    def blob(self, blob_id: str) -> bytes:
        return self.git("cat-file", "blob", blob_id)

    def last_commit_touching(self, commit: str, path: str) -> str | None:
        out = self.git("log", "-1", "--format=%H", commit, "--", path).decode().strip()
        return out or None

    def commit_info(self, sha: str) -> CommitInfo | None:
        if self.resolve(sha) is None:
            return None
        return self.tip_info(sha)

    def tip_info(self, sha: str) -> CommitInfo:
        """commit_info of a sha known to be a commit (a branch tip: git refuses any other
        object under refs/heads/), without asking rev-parse first."""
        return self.log(sha, max_count=1, no_walk=True)[0]

    def log(
        self,
        ref: str,
        *,
        path: str | None = None,
        max_count: int | None = None,
        skip: int = 0,
        no_walk: bool = False,
    ) -> list[CommitInfo]:
        args = ["log", f"--format={_COMMIT_FORMAT}"]
        if no_walk:
            args.append("--no-walk")
        if max_count is not None:
            args.append(f"--max-count={max_count}")
        if skip:
            args.append(f"--skip={skip}")
        args.append(ref)
        if path:
            args += ["--", path]
        commits = []
        for record in self.git(*args).decode(errors="replace").split("\x1e"):
            record = record.strip("\n")
            if record:
                commits.append(_commit_record(record))
        return commits

    def diff_stats(self, sha: str) -> tuple[int, int]:
        """(additions, deletions) of a commit against its first parent."""
        return _numstat_totals(self.git("show", "--numstat", "--format=", sha).decode())

    def commit_with_stats(self, sha: str) -> tuple[CommitInfo, tuple[int, int]]:
        """commit_info and diff_stats of an existing commit with one parent at most (what
        the commits API writes), in one ``git show``."""
        out = self.git("show", "--numstat", f"--format={_COMMIT_FORMAT}", sha)
        record, _, numstat = out.decode(errors="replace").partition("\x1e")
        return _commit_record(record.strip("\n")), _numstat_totals(numstat)

    # -- writing -----------------------------------------------------------
    def write_blob(self, content: bytes) -> str:
        return self.git("hash-object", "-w", "--stdin", input_bytes=content).decode().strip()

    def commit_changes(
        self,
        *,
        branch: str,
        parent: str | None,
        changes: list[IndexChange],
        message: str,
        author: Signature,
        committer: Signature,
        expected_old: str | None,
    ) -> str:
        """Writes one commit on top of ``parent`` and moves ``branch`` to it atomically.

        ``expected_old`` is what the branch must still point at (None: must not exist)."""
        with tempfile.TemporaryDirectory(prefix="kasboot-index-") as scratch:
            index_env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            if parent:
                self.git("read-tree", parent, env=index_env)
            else:
                self.git("read-tree", "--empty", env=index_env)
            # Every new blob in one hash-object call, not one process per file.
            pending = [
                change
                for change in changes
                if change.blob_id is None and change.content is not None
            ]
            written = iter(self._write_blobs(pending, Path(scratch)))
            # --index-info works without a work tree (a bare repository has none);
            # mode 0 with the zero id removes a path.
            records = []
            for change in changes:
                if change.content is None and change.blob_id is None:
                    records.append(f"0 {ZERO_SHA}\t{change.path}")
                    continue
                blob_id = change.blob_id or next(written)
                records.append(f"{change.mode} {blob_id}\t{change.path}")
            if records:
                payload = "".join(record + "\0" for record in records).encode()
                self.git("update-index", "-z", "--index-info", input_bytes=payload, env=index_env)
            tree = self.git("write-tree", env=index_env).decode().strip()
        identity = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
        }
        parent_args = ["-p", parent] if parent else []
        sha = (
            self.git("commit-tree", tree, *parent_args, input_bytes=message.encode(), env=identity)
            .decode()
            .strip()
        )
        self.git("update-ref", f"refs/heads/{branch}", sha, expected_old or ZERO_SHA)
        return sha

    def _write_blobs(self, changes: list[IndexChange], scratch: Path) -> list[str]:
        """The blobs of ``changes``' contents, written by one ``hash-object --stdin-paths``
        (as is: ``--no-filters``, which ``hash-object --stdin`` implies); their ids in order."""
        if not changes:
            return []
        paths = []
        for number, change in enumerate(changes):
            path = scratch / f"blob-{number}"
            path.write_bytes(change.content or b"")
            paths.append(str(path))
        payload = "".join(path + "\n" for path in paths).encode()
        out = self.git("hash-object", "-w", "--no-filters", "--stdin-paths", input_bytes=payload)
        ids = out.decode().split()
        if len(ids) != len(changes):
            raise GitCommandError(["hash-object", "--stdin-paths"], "not one id per blob")
        return ids

    def create_branch(self, branch: str, sha: str) -> None:
        self.git("update-ref", f"refs/heads/{branch}", sha, ZERO_SHA)

    def valid_branch_name(self, branch: str) -> bool:
        done = self.git("check-ref-format", "--branch", branch, check=False)
        return bool(done.strip()) and not branch.startswith("-")


def _ls_tree_entries(out: bytes) -> Iterator[TreeEntry]:
    """The entries of ``git ls-tree -z`` output."""
    for record in out.decode().split("\0"):
        if record:
            meta, entry_path = record.split("\t", 1)
            mode, kind, sha = meta.split(" ")
            yield TreeEntry(mode=mode, type=kind, id=sha, path=entry_path)


def _commit_record(record: str) -> CommitInfo:
    """One commit as _COMMIT_FORMAT prints it (without the record separator)."""
    sha, parents, an, ae, ad, cn, ce, cd, body = record.split("\x1f", 8)
    return CommitInfo(sha, parents.split() if parents else [], an, ae, ad, cn, ce, cd, body)


def _numstat_totals(out: str) -> tuple[int, int]:
    """(additions, deletions) summed over ``--numstat`` lines (binary files count 0)."""
    additions = deletions = 0
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0].isdigit():
            additions += int(parts[0])
            deletions += int(parts[1])
    return additions, deletions
