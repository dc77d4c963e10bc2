"""Fetching a branch over git smart HTTP with the git CLI, as source-controller does
with go-git, and turning git's failures into go-git's wording.

Credentials travel in an ``http.extraHeader`` set through ``GIT_CONFIG_*`` variables,
never in argv or the URL (both are visible to every user of the machine)."""

from __future__ import annotations

import base64
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit


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


def checkout(
    url: str,
    branch: str,
    destination: Path,
    username: str | None,
    password: str | None,
    user_agent: str | None = None,
) -> str:
    """A shallow checkout of ``branch`` into ``destination`` (must not exist); its sha."""
    env = _environment(username, password, user_agent)
    args = ["clone", "--quiet", "--depth", "1", "--single-branch", "--no-tags"]
    _git([*args, "--branch", branch, url, str(destination)], env, url)
    return _git(["rev-parse", "HEAD"], env, url, cwd=destination).stdout.strip()
