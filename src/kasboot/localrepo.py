"""The local clone: which GitLab project it belongs to, and (with --commit-via
local) committing and pushing through it with the user's own git credentials.

The commit is built with git plumbing on a private index on top of the remote
branch's tip, so the user's working tree, index and checked-out branch are never
disturbed; the push is a plain fast-forward, which the remote refuses when the
branch moved on since kasboot read it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kasboot.errors import GitLabError, UsageError

if TYPE_CHECKING:
    import git

HOST_VARIABLES = ("GITLAB_HOST", "GL_HOST")  # credentials.py reads them; they beat a clone


class GitMissing(UsageError):
    """No git binary: GitPython refuses to import without one."""


def gitpython() -> ModuleType:
    """GitPython, imported on first use: it needs a git binary on PATH, which a run with
    -R and API commits (the default) never uses."""
    try:
        import git
    except ImportError as error:
        raise GitMissing(
            f"git is not installed or not on PATH ({str(error).splitlines()[0][:80]})",
            hint="install git, or pass -R group/project and keep --commit-via api (the "
            "default), which need no git",
        ) from None
    return git


_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class RemoteProject:
    host: str  # "gitlab.example.com", with ":port" for http(s) on a non-default port
    path: str  # "group/sub/project"
    scheme: str  # https | http | ssh (file: a local mirror, host "")

    @property
    def base_url(self) -> str:
        """Where GitLab's web and API live (an ssh remote implies https)."""
        if self.scheme == "ssh":
            return f"https://{self.host}"
        return f"{self.scheme}://{self.host}"


def _clean_project_path(raw: str, original: str) -> str:
    path = raw.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    path = path.rstrip("/")
    segments = path.split("/")
    if len(segments) < 2 or not all(_PATH_SEGMENT.match(s) for s in segments):
        raise UsageError(
            f"cannot read a GitLab project from {original!r}",
            hint="expected group/project, e.g. https://gitlab.example.com/group/sub/project.git",
        )
    return path


def parse_remote_url(url: str) -> RemoteProject:
    text = url.strip()
    if text.startswith("/") or text.lower().startswith("file://"):
        local = urlsplit(text).path if "://" in text else text
        return RemoteProject("", _clean_project_path(local, url), "file")
    if "://" in text:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme in ("git+ssh", "ssh+git"):
            scheme = "ssh"
        if scheme not in ("https", "http", "ssh") or not parts.hostname:
            raise UsageError(f"unsupported remote URL {url!r}", hint="use an https or ssh remote")
        host = parts.hostname.lower()
        default_port = {"https": 443, "http": 80, "ssh": 22}[scheme]
        # An ssh port says nothing about where the web/API listens: drop it.
        if scheme != "ssh" and parts.port and parts.port != default_port:
            host = f"{host}:{parts.port}"
        return RemoteProject(host, _clean_project_path(parts.path, url), scheme)
    match = _SCP_LIKE.match(text)
    if match and not text.startswith(("/", ".")):
        path = _clean_project_path(match.group("path"), url)
        return RemoteProject(match.group("host").lower(), path, "ssh")
    raise UsageError(f"cannot read a GitLab project from {url!r}", hint="use an https or ssh URL")


def _open_repo(cwd: Path) -> git.Repo | None:
    git = gitpython()
    try:
        return git.Repo(cwd, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def _remote_url(repo: git.Repo, remote_name: str) -> str | None:
    try:
        return str(repo.remote(remote_name).url)
    except ValueError:
        return None


def detect_project(cwd: Path, env: Mapping[str, str] = os.environ) -> RemoteProject | None:
    """The project behind the clone at `cwd` (its origin remote), if any (none can be
    read without a git binary)."""
    try:
        repo = _open_repo(cwd)
    except GitMissing:
        return None
    if repo is None:
        return None
    url = _remote_url(repo, env.get("KASBOOT_GIT_REMOTE") or "origin")
    if url is None:
        return None
    try:
        remote = parse_remote_url(url)
    except UsageError:
        return None
    return None if remote.scheme == "file" else remote


def _from_repo_value(value: str) -> tuple[str, str | None]:
    if "://" in value or (_SCP_LIKE.match(value) and "@" in value.split(":", 1)[0]):
        remote = parse_remote_url(value)
        return remote.path, remote.base_url
    return _clean_project_path(value, value), None


def resolve_project(
    repo_flag: str | None, cwd: Path, env: Mapping[str, str] = os.environ
) -> tuple[str, str | None]:
    """(project path, GitLab base URL or None), first found: -R (or KASBOOT_REPO, its
    variable) > GITLAB_REPO (glab's) > the clone's origin > CI_PROJECT_PATH (+
    CI_SERVER_URL) > KASBOOT_PROJECT (the sandbox's sandbox.env).

    A URL given to -R or GITLAB_REPO names its host, as in glab: the URL returned then
    wins over GITLAB_HOST. The host of a clone's remote or of CI_SERVER_URL does not: it
    is returned only when neither GITLAB_HOST nor GL_HOST is set."""
    given = repo_flag or env.get("GITLAB_REPO")
    if given and given.strip():
        return _from_repo_value(given.strip())
    host_set = any(env.get(name) for name in HOST_VARIABLES)
    detected = detect_project(cwd, env)
    if detected is not None:
        return detected.path, None if host_set else detected.base_url
    if env.get("CI_PROJECT_PATH"):
        path = _clean_project_path(env["CI_PROJECT_PATH"], env["CI_PROJECT_PATH"])
        return path, None if host_set else env.get("CI_SERVER_URL") or None
    if env.get("KASBOOT_PROJECT"):
        return _from_repo_value(env["KASBOOT_PROJECT"].strip())
    no_git = ""
    if shutil.which("git") is None:
        no_git = " (git is not on PATH, so no clone could be read)"
    raise UsageError(
        f"no GitLab project given and none found{no_git}",
        hint="pass -R group/project or set KASBOOT_REPO (GITLAB_REPO and KASBOOT_PROJECT "
        "work too; docs/troubleshooting.md has the order), or run inside a clone of the project",
    )


class LocalClone:
    """A clone of the project, used to commit and push with the user's git setup."""

    def __init__(
        self, cwd: Path, project_path: str | None = None, remote_name: str = "origin"
    ) -> None:
        """Open the clone containing `cwd`; when `project_path` is given, check that
        its remote is that project (UsageError otherwise)."""
        repo = _open_repo(cwd)
        if repo is None:
            raise UsageError(
                f"{cwd} is not inside a git clone",
                hint="run from a clone of the project, or use --commit-via api",
            )
        url = _remote_url(repo, remote_name)
        if url is None:
            raise UsageError(
                f"the clone at {repo.working_dir} has no remote named {remote_name!r}",
                hint="add it, or use --commit-via api",
            )
        remote = parse_remote_url(url)
        if project_path is not None and not _same_project(remote, project_path):
            raise UsageError(
                f"the clone at {repo.working_dir} tracks {remote.path}, not {project_path}",
                hint=f"run from a clone of {project_path}, or use --commit-via api",
            )
        self.repo = repo
        self.remote_name = remote_name
        self.remote = remote

    @property
    def root(self) -> Path:
        return Path(str(self.repo.working_tree_dir))

    def _tracking_ref(self, branch: str) -> str:
        return f"refs/remotes/{self.remote_name}/{branch}"

    def fetch(self, branch: str) -> str:
        """Fetch `branch` from the remote; returns its tip."""
        try:
            self.repo.git.fetch(
                self.remote_name, f"+refs/heads/{branch}:{self._tracking_ref(branch)}"
            )
        except gitpython().GitCommandError as error:
            raise GitLabError(
                f"cannot fetch branch {branch!r} from {self.remote_name}: {_git_message(error)}",
                hint="check the branch exists and your git credentials for the remote",
            ) from None
        return str(self.repo.git.rev_parse(self._tracking_ref(branch)))

    def read_file(self, ref: str, path: str) -> str | None:
        """A file's text at a commit or ref; None when it does not exist there."""
        try:
            return str(self.repo.git.show(f"{ref}:{path}", strip_newline_in_stdout=False))
        except gitpython().GitCommandError:
            return None

    def commit_and_push(
        self,
        files: Mapping[str, str | None],
        *,
        message: str,
        branch: str,
        author_name: str | None = None,
        author_email: str | None = None,
        parent: str | None = None,
    ) -> str | None:
        """One commit on top of `parent` (default: the fetched tip of `branch`) that
        writes each file (None deletes it), pushed to `branch`. Returns the commit
        sha, or None when the files already read that way (nothing pushed)."""
        tip = self.fetch(branch)
        base = parent or tip
        if base != tip:
            raise _moved_on(branch, base, tip)
        commit = self._build_commit(files, base, message, author_name, author_email)
        if commit is None:
            return None
        try:
            self.repo.git.push(self.remote_name, f"{commit}:refs/heads/{branch}")
        except gitpython().GitCommandError as error:
            detail = _git_message(error)
            refusal = _server_refusal(error)
            if refusal is not None:
                raise GitLabError(
                    f"GitLab refused the push to {branch!r}: {refusal}",
                    hint="ask a Maintainer for push access to the branch (Settings > "
                    "Repository > Protected branches), or choose another --manifest-branch",
                ) from None
            if any(w in detail for w in ("non-fast-forward", "fetch first", "rejected")):
                raise _moved_on(branch, base, None, detail) from None
            raise GitLabError(
                f"git push to {branch!r} failed: {detail}",
                hint="check your git credentials and the branch's protection rules",
            ) from None
        self.repo.git.update_ref(self._tracking_ref(branch), commit)
        self._fast_forward_checkout(branch, base, commit)
        return commit

    def _build_commit(
        self,
        files: Mapping[str, str | None],
        base: str,
        message: str,
        author_name: str | None,
        author_email: str | None,
    ) -> str | None:
        with tempfile.TemporaryDirectory(prefix="kasboot-index-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self.repo.git.read_tree(base, env=env)
            for path, content in files.items():
                if content is None:
                    self.repo.git.update_index("--force-remove", "--", path, env=env)
                    continue
                blob = self._store_blob(content, scratch)
                self.repo.git.update_index("--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = str(self.repo.git.write_tree(env=env))
        if tree == str(self.repo.git.rev_parse(f"{base}^{{tree}}")):
            return None
        identity: dict[str, str] = {}
        if author_name and author_email:
            identity = {"GIT_AUTHOR_NAME": author_name, "GIT_AUTHOR_EMAIL": author_email}
            if not self._has_git_identity():
                identity |= {"GIT_COMMITTER_NAME": author_name, "GIT_COMMITTER_EMAIL": author_email}
        return str(self.repo.git.commit_tree(tree, "-p", base, "-m", message, env=identity))

    def _store_blob(self, content: str, scratch: str) -> str:
        blob_file = Path(scratch) / "blob"
        blob_file.write_bytes(content.encode("utf-8"))
        return str(self.repo.git.hash_object("-w", str(blob_file)))

    def _has_git_identity(self) -> bool:
        reader = self.repo.config_reader()
        return bool(reader.get_value("user", "email", default="")) and bool(
            reader.get_value("user", "name", default="")
        )

    def _fast_forward_checkout(self, branch: str, old: str, new: str) -> None:
        """Bring the local branch along when that cannot lose anything."""
        local_ref = f"refs/heads/{branch}"
        try:
            local_sha = str(self.repo.git.rev_parse("--verify", "-q", local_ref))
        except gitpython().GitCommandError:
            return
        if local_sha != old:
            return
        if not self.repo.head.is_detached and self.repo.active_branch.name == branch:
            if not self.repo.is_dirty(untracked_files=False):
                self.repo.git.merge("--ff-only", "-q", new)
        else:
            self.repo.git.update_ref(local_ref, new, old)


def _same_project(remote: RemoteProject, project_path: str) -> bool:
    wanted = project_path.lower()
    if remote.scheme == "file":  # a local mirror: its directory ends in the project path
        return f"/{remote.path.lower()}".endswith(f"/{wanted}")
    return remote.path.lower() == wanted


def _git_message(error: git.GitCommandError) -> str:
    text = str(error.stderr or error.stdout or error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line.removeprefix("stderr: ").strip("'") for line in lines]
    return "; ".join(line for line in lines if line)[:400]


def _server_refusal(error: git.GitCommandError) -> str | None:
    """GitLab's own reason when its pre-receive checks declined the push (git shows it as
    `remote: GitLab: …`): a protected branch, a force push, a push rule. A re-run would
    be refused the same way, unlike a branch that moved on."""
    text = str(error.stderr or error.stdout or "")
    reasons = [  # GitPython puts "stderr: '" before its first line
        found.group(1).strip().rstrip("'")
        for found in (re.search(r"remote:\s*GitLab:\s*(.+)", line) for line in text.splitlines())
        if found
    ]
    if reasons:
        return " ".join(reasons)[:300].rstrip(".")
    if "pre-receive hook declined" in text:
        return "its pre-receive hook declined it"
    return None


def _moved_on(branch: str, base: str, tip: str | None, detail: str = "") -> GitLabError:
    now = f" (now at {tip[:12]})" if tip else ""
    reason = f": {detail}" if detail else ""
    return GitLabError(
        f"branch {branch!r} moved on since kasboot read it at {base[:12]}{now}; "
        f"the push was refused{reason}",
        hint="run kasboot again: it re-reads the branch and plans from there",
    )
