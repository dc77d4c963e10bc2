"""Fetching a branch over git smart HTTP with the git CLI, as source-controller does
with go-git, and turning git's failures into go-git's wording.

Credentials travel in an ``http.extraHeader`` set through ``GIT_CONFIG_*`` variables,
never in argv or the URL (both are visible to every user of the machine)."""

from __future__ import annotations

import base64
import os
import posixpath
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kasboot.sandbox.flux.gitrefs import (
    GitTarget,
    RefResolutionError,
    parse_ls_remote,
    resolve_reference,
)


class GitFetchError(Exception):
    """``str()`` is the cause as source-controller reports it (after ``unable to clone``)."""


def _environment(
    username: str | None, password: str | None, user_agent: str | None
) -> dict[str, str]:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "GCM_INTERACTIVE": "never",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    env.pop("GIT_DIR", None)
    settings: list[tuple[str, str]] = []
    if user_agent:  # so request logs tell the controller's fetches from everyone else's
        settings.append(("http.userAgent", user_agent))
    if username is not None or password is not None:
        pair = base64.b64encode(f"{username or ''}:{password or ''}".encode()).decode()
        settings.append(("http.extraHeader", f"Authorization: Basic {pair}"))
    env["GIT_CONFIG_COUNT"] = str(len(settings))
    for index, (key, value) in enumerate(settings):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def _go_git_cause(url: str, stderr: str) -> str:
    text = stderr.lower()
    if any(
        marker in text
        for marker in ("authentication failed", "could not read username", "401", "access denied")
    ):
        return "authentication required"
    if "403" in text:
        return "authorization failed"
    if "not found" in text or "404" in text:
        return "repository not found"
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if "could not resolve host" in text:
        return (
            f'Get "{url}/info/refs?service=git-upload-pack": dial tcp: lookup {host}: no such host'
        )
    if "failed to connect" in text or "connection refused" in text or "couldn't connect" in text:
        return (
            f'Get "{url}/info/refs?service=git-upload-pack": '
            f"dial tcp {host}:{port}: connect: connection refused"
        )
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return re.sub(r"^(fatal|error): ", "", lines[-1]) if lines else "unknown git error"


def _git(
    args: list[str], env: dict[str, str], url: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        ["git", *args], capture_output=True, text=True, env=env, cwd=cwd, check=False, timeout=60
    )
    if completed.returncode != 0:
        raise GitFetchError(_go_git_cause(url, completed.stderr))
    return completed


def remote_head(
    url: str,
    branch: str | None,
    username: str | None,
    password: str | None,
    user_agent: str | None = None,
) -> tuple[str, str]:
    """(branch, commit sha) of ``branch`` on the remote; ``None`` = the remote's HEAD."""
    env = _environment(username, password, user_agent)
    if branch is None:
        listing = _git(["ls-remote", "--symref", url, "HEAD"], env, url).stdout
        match = re.search(r"^ref: refs/heads/(\S+)\s+HEAD", listing, re.MULTILINE)
        if not match:
            raise GitFetchError("remote has no default branch")
        branch = match.group(1)
    listing = _git(["ls-remote", url, f"refs/heads/{branch}"], env, url).stdout
    for line in listing.splitlines():
        sha, _, ref = line.partition("\t")
        if ref == f"refs/heads/{branch}":
            return branch, sha
    raise GitFetchError(f'couldn\'t find remote ref "refs/heads/{branch}"')


def list_refs(
    url: str, username: str | None, password: str | None, user_agent: str | None = None
) -> dict[str, str]:
    """Every ref of the remote and its commit (tags peeled), as go-git's remote List."""
    env = _environment(username, password, user_agent)
    return parse_ls_remote(_git(["ls-remote", url], env, url).stdout)


def fetch_target(
    url: str,
    ref: Mapping[str, Any] | None,
    username: str | None,
    password: str | None,
    user_agent: str | None = None,
) -> GitTarget:
    """What ``spec.ref`` points at on the remote now (see gitrefs)."""
    try:
        return resolve_reference(ref, list_refs(url, username, password, user_agent))
    except RefResolutionError as error:
        raise GitFetchError(str(error)) from None


class SparseCheckoutFailed(GitFetchError):
    """A ``spec.sparseCheckout`` directory is not in the commit; ``str()`` is the whole
    message source-controller sets (not prefixed with ``unable to clone``)."""


def checkout(
    url: str,
    target: GitTarget | str,
    destination: Path,
    username: str | None,
    password: str | None,
    user_agent: str | None = None,
    sparse: Sequence[str] | None = None,
) -> str:
    """Check out ``target`` (a GitTarget, or a branch name) into ``destination`` (must
    not exist); its sha. Submodules are not recursed into (``recurseSubmodules`` off):
    they stay empty directories. With ``sparse``, only entries whose path starts with
    one of the directories (``./`` trimmed) are written, as go-git's SkipUnless."""
    env = _environment(username, password, user_agent)
    if isinstance(target, str):
        target = GitTarget("refs/heads/" + target, "")
    short = target.branch or target.tag
    if short and sparse is None:
        args = ["clone", "--quiet", "--depth", "1", "--single-branch", "--no-tags"]
        _git([*args, "--branch", short, url, str(destination)], env, url)
    else:
        _git(["clone", "--quiet", "--no-checkout", url, str(destination)], env, url)
        if target.reference and not (target.branch or target.tag):
            _git(["fetch", "--quiet", "origin", target.reference], env, url, cwd=destination)
        commit = target.sha or f"origin/{short}"
        if sparse is None:
            _git(["checkout", "--quiet", "--detach", commit], env, url, cwd=destination)
        else:
            _materialize(destination, commit, [d.removeprefix("./") for d in sparse], env, url)
            _check_sparse_dirs(destination, sparse)
    return _git(["rev-parse", "HEAD"], env, url, cwd=destination).stdout.strip()


def _materialize(
    destination: Path, commit: str, prefixes: list[str], env: dict[str, str], url: str
) -> None:
    """Write the commit's entries whose path starts with a prefix (plain string prefix,
    as go-git's Index.SkipUnless: "apps" also takes "apps-old/x")."""
    _git(["update-ref", "--no-deref", "HEAD", commit], env, url, cwd=destination)
    listing = _git(["ls-tree", "-r", "-z", "--full-tree", commit], env, url, cwd=destination)
    for record in listing.stdout.split("\0"):
        if not record:
            continue
        meta, path = record.split("\t", 1)
        mode, _, sha = meta.split(" ")
        if not any(path.startswith(prefix) for prefix in prefixes):
            continue
        target = destination / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "160000":
            target.mkdir(exist_ok=True)
            continue
        content = subprocess.run(
            ["git", "cat-file", "blob", sha], cwd=destination, env=env, capture_output=True
        ).stdout
        if mode == "120000":
            os.symlink(content.decode(), target)
        else:
            target.write_bytes(content)
            if mode == "100755":
                target.chmod(0o755)


def _check_sparse_dirs(destination: Path, sparse: Sequence[str]) -> None:
    """source-controller's validateSparseCheckoutPaths: each directory must exist."""
    for directory in sparse:
        # securejoin: ".." never climbs above the checkout
        relative = posixpath.normpath("/" + directory).lstrip("/")
        full = destination / relative if relative else destination
        if not os.path.lexists(full):
            raise SparseCheckoutFailed(
                f"failed to sparse checkout directories : sparse checkout dir '{directory}' "
                f"does not exist in repository: lstat {full}: no such file or directory"
            )
