"""GitLab's branch checks on a push over git HTTP (``lib/gitlab/checks/change_access.rb``,
run from Gitaly's pre-receive hook through ``/internal/allowed``): the default branch
cannot be deleted; a protected branch takes no force push (unless a protection allows
it), is deleted only from the web interface, and takes pushes only from the users one of
its matching protections allows. A refused ref fails the whole push with GitLab's
message, which git shows as ``remote: GitLab: …`` and ``(pre-receive hook declined)``.

``git http-backend`` runs the hook written here; what it needs to know about the caller
and the project travels in the environment of that one request."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kasboot.sandbox.gitlab.backend import GitLabBackend
    from kasboot.sandbox.gitlab.store import Row

MAINTAINER = 40
HOOK = r"""#!/bin/sh
# The sandbox GitLab's pre-receive hook (kasboot.sandbox.gitlab.prereceive).
set -f
zero=0000000000000000000000000000000000000000
matches() {
    printf '%s\n' "$2" | while IFS= read -r pattern; do
        [ -n "$pattern" ] || continue
        case "$1" in $pattern) echo yes; break ;; esac
    done
}
deny() { echo "GitLab: $1" >&2; exit 1; }
while read -r old new ref; do
    case "$ref" in refs/heads/*) branch=${ref#refs/heads/} ;; *) continue ;; esac
    if [ "$new" = "$zero" ] && [ "$branch" = "$KASBOOT_SANDBOX_DEFAULT_BRANCH" ]; then
        deny "The default branch of a project cannot be deleted."
    fi
    [ -n "$(matches "$branch" "$KASBOOT_SANDBOX_PROTECTED")" ] || continue
    if [ "$old" != "$zero" ] && [ "$new" != "$zero" ] &&
        ! git merge-base --is-ancestor "$old" "$new" 2>/dev/null &&
        [ -z "$(matches "$branch" "$KASBOOT_SANDBOX_FORCE_ALLOWED")" ]; then
        deny "You are not allowed to force push code to a protected branch on this project."
    fi
    if [ "$new" = "$zero" ]; then
        if [ "$KASBOOT_SANDBOX_MAINTAINER" != 1 ]; then
            message="You are not allowed to delete protected branches from this project."
            deny "$message Only a project maintainer or owner can delete a protected branch."
        fi
        deny "You can only delete protected branches using the web interface."
    fi
    [ -n "$(matches "$branch" "$KASBOOT_SANDBOX_PUSH_ALLOWED")" ] ||
        deny "You are not allowed to push code to protected branches on this project."
done
exit 0
"""


def hooks_dir(backend: GitLabBackend) -> Path:
    """The hooks directory every repository's pushes run (written once)."""
    directory = backend.repositories_root / ".hooks"
    hook = directory / "pre-receive"
    if not hook.is_file() or hook.read_text(encoding="utf-8") != HOOK:
        directory.mkdir(parents=True, exist_ok=True)
        hook.write_text(HOOK, encoding="utf-8")
        hook.chmod(0o755)
    return directory


def hook_env(backend: GitLabBackend, project: Row, user_id: int) -> dict[str, str]:
    """What the hook needs to decide for this caller on this project."""
    rows = backend.protected.all(project)
    level = backend.access_level(project, user_id)
    allowed = [
        str(row["name"])
        for row in rows
        if int(row["push_access_level"]) and level >= int(row["push_access_level"])
    ]
    return {
        "KASBOOT_SANDBOX_DEFAULT_BRANCH": str(project.get("default_branch") or ""),
        "KASBOOT_SANDBOX_PROTECTED": "\n".join(_shell_pattern(str(r["name"])) for r in rows),
        "KASBOOT_SANDBOX_PUSH_ALLOWED": "\n".join(map(_shell_pattern, allowed)),
        "KASBOOT_SANDBOX_FORCE_ALLOWED": "\n".join(
            _shell_pattern(str(r["name"])) for r in rows if r["allow_force_push"]
        ),
        "KASBOOT_SANDBOX_MAINTAINER": "1" if level >= MAINTAINER else "0",
    }


def _shell_pattern(name: str) -> str:
    """A protected branch name as a `case` pattern: GitLab's only wildcard is `*`, which
    matches any characters, `/` included (as fnmatch and `case` do); the other pattern
    characters are literal there."""
    return "".join(ch if ch == "*" else _escaped(ch) for ch in name)


def _escaped(ch: str) -> str:
    return "\\" + ch if ch in "?[]\\" else ch
