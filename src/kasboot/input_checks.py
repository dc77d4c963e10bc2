"""What git, Flux, a file system and a terminal can hold: checks of typed text that go
beyond a name's syntax. Pure functions raising UsageError (exit 2) before any request.

A path is committed once and then read by every clone, Flux's source-controller
included; a path they cannot check out blocks every later fix (the guard reads the
branch), so it must never be committed. git's rules (read-cache.c `verify_path`):
no empty, ``.`` or ``..`` component, no ``.git`` component in any case, nor one that
NTFS or HFS+ read as ``.git`` (``.git.``, ``git~1``, ``.g\u200cit``) — git refuses the
NTFS forms on every platform by default (core.protectNTFS) and the HFS+ ones on macOS
(core.protectHFS); kasboot refuses all, as a clone may be on either. Checkouts
on Linux (Flux runs there) fail for a component over NAME_MAX (255 bytes) or a path
over PATH_MAX (4,096 bytes).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import PurePath
from typing import Any

from kasboot.errors import UsageError
from kasboot.secret_scan import looks_like_token

NAME_MAX_BYTES = 255
PATH_MAX_BYTES = 4096
# C0 and C1 control characters and DEL: never meaningful in a name, a path or a
# header, and a terminal acts on them when an error message echoes them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Code points HFS+ ignores when it compares names (git's is_hfs_dotgit list).
_HFS_IGNORED = dict.fromkeys(
    [*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF]
)
_SHOWN_CHARS = 60


def shown(value: str) -> str:
    """A value as an error message may show it: quoted, escaped, at most ~60 characters."""
    if len(value) <= _SHOWN_CHARS:
        return repr(value)
    return repr(value[:_SHOWN_CHARS]) + f"… ({len(value)} characters)"


def check_text(value: str, what: str) -> str:
    """Refuse control characters (NUL included) and text that is not UTF-8."""
    match = _CONTROL.search(value)
    if match is not None:
        raise UsageError(
            f"{what} contains the control character {match.group()!r} at position "
            f"{match.start() + 1}",
            hint="remove it: names, paths and options are plain text",
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise UsageError(
            f"{what} is not valid UTF-8 (byte {error.start + 1})",
            hint="retype it in a UTF-8 terminal or file",
        ) from None
    return value


def _reads_as_dot_git(component: str) -> bool:
    folded = component.translate(_HFS_IGNORED).casefold()
    if folded == ".git":
        return True
    # NTFS drops trailing dots and spaces, knows the 8.3 short name, and alternate streams.
    ntfs = folded.rstrip(". ")
    return ntfs in (".git", "git~1") or ntfs.startswith((".git:", "git~1:"))


def check_repo_path(path: str, what: str) -> str:
    """A normalised repository path ('a/b/c', no leading or trailing '/') git and a Linux
    checkout can hold. Returns it unchanged."""
    check_text(path, what)
    if len(path.encode("utf-8")) > PATH_MAX_BYTES:
        raise UsageError(
            f"{what} {shown(path)} is {len(path.encode('utf-8'))} bytes long",
            hint=f"a checkout (Flux's included) cannot hold a path over {PATH_MAX_BYTES} bytes: "
            "choose a shorter one",
        )
    for component in path.split("/") if path else []:
        size = len(component.encode("utf-8"))
        if size > NAME_MAX_BYTES:
            raise UsageError(
                f"{what} has a {size}-byte component {shown(component)}",
                hint=f"file systems (and so Flux's checkout) hold at most {NAME_MAX_BYTES} "
                "bytes per file or directory name: shorten it",
            )
        if component in ("", ".", ".."):
            raise UsageError(
                f"{what} {shown(path)} has an empty, '.' or '..' component",
                hint="give a plain path such as clusters/prod/gitlab-agent",
            )
        if _reads_as_dot_git(component):
            raise UsageError(
                f"{what} {shown(path)} has the component {shown(component)}, which git "
                "reads as .git",
                hint="git refuses to commit or check out such a path: choose another name",
            )
    return path


def option_flag(name: str) -> str:
    """The long flag of a Settings field: manifest_path -> --manifest-path."""
    return "--" + name.replace("_", "-")


def check_option_texts(options: Mapping[str, Any]) -> None:
    """Every text value of every option (flag, variable or config file) is plain text."""
    for name, value in options.items():
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, (str, PurePath)):
                what = "AGENT" if name == "agent" else option_flag(name)
                check_text(str(item), what)
                if looks_like_token(str(item)):
                    raise UsageError(
                        f"{what} holds what looks like a GitLab token (not shown)",
                        hint="tokens never go in options, which end up in argv, files and "
                        "commits: export GITLAB_TOKEN instead",
                    )


# "" means something for these: the repository root (glab's default manifest path).
EMPTY_ALLOWED = frozenset({"manifest_path"})


def check_not_empty(options: Mapping[str, Any], booleans: Collection[str]) -> None:
    """An option given with an empty value is a mistake (an unset shell variable in
    `--helm-release-target-namespace "$NS"`), never a request for the default: taking
    the default would write somewhere the user did not name."""
    for name, value in options.items():
        if name in EMPTY_ALLOWED or name in booleans or name == "agent":
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(item, str) and not item.strip() for item in items):
            raise UsageError(
                f"{option_flag(name)} is empty",
                hint="give a value, or leave the option out to get its default",
            )
