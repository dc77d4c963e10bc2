"""`kasboot glab install [--uninstall]`: kasboot inside glab, through glab's aliases.

glab has no plugin API, but its aliases can run shell commands (gl-cli/glab
internal/commands/alias): ``glab alias set NAME 'CMD' --shell`` stores ``NAME: '!CMD'`` in
``aliases.yml`` under glab's config directory, and ``glab NAME ARGS…`` then runs
``sh -c 'CMD' -- ARGS…`` (so ``"$@"`` passes every argument on). The file is a flat YAML
map written with mode 0600 (glab refuses to read a config file with other permissions).

glab's config directory (internal/config/config_file.go ConfigDir): ``$GLAB_CONFIG_DIR``;
else ``~/.config/glab-cli`` when its ``config.yml`` exists (the legacy location, kept for
backward compatibility); else ``<XDG config home>/glab-cli``, where the XDG config home
is ``$XDG_CONFIG_HOME`` or the platform's default (``~/.config``; macOS
``~/Library/Application Support``; Windows ``%LOCALAPPDATA%``).

Idempotent: an alias already as kasboot writes it is left alone; one of the same name
that the user set to something else is refused unless --force. ``--uninstall`` removes
only the aliases whose value is one kasboot writes."""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from kasboot.credentials import glab_config_dir
from kasboot.errors import UsageError

# name -> what follows the kasboot command in the shell expansion
ALIASES: dict[str, str] = {"kasboot": '"$@"', "cluster-bootstrap": 'bootstrap "$@"'}
_OURS = re.compile(r'^!(?:kasboot|\S+ -m kasboot) (?:bootstrap )?"\$@"$')


def kasboot_command() -> str:
    """How a shell finds this kasboot: by name when it is on PATH, else this Python."""
    if shutil.which("kasboot"):
        return "kasboot"
    return f"{shlex.quote(sys.executable)} -m kasboot"


def wanted_aliases(command: str) -> dict[str, str]:
    return {name: f"!{command} {tail}" for name, tail in ALIASES.items()}


def is_ours(value: object) -> bool:
    return isinstance(value, str) and bool(_OURS.match(value))


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round trip: the user's own aliases, order and comments stay
    yaml.width = 4096
    return yaml


def read_aliases(path: Path) -> Any:
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    if not path.exists():
        return CommentedMap()
    try:
        data = _yaml().load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as error:
        raise UsageError(
            f"cannot read glab's alias file {path}: {str(error).splitlines()[0]}",
            hint="fix it (glab reads a YAML map of alias: command) or move it away",
        ) from None
    if data is None:
        return CommentedMap()
    if not isinstance(data, dict):
        raise UsageError(
            f"glab's alias file {path} is not a YAML map", hint="glab expects `name: command` lines"
        )
    return data


def write_aliases(path: Path, data: Any) -> None:
    """Atomically, mode 0600 (directory 0750), as glab's WriteConfigFile does."""
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    buffer = io.StringIO()
    if data:
        _yaml().dump(data, buffer)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".aliases-", suffix=".yml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(buffer.getvalue())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add_aliases(path: Path, command: str, *, force: bool = False) -> list[tuple[str, str]]:
    """(alias, what happened) for each of kasboot's aliases; writes only on a change."""
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    data = read_aliases(path)
    done: list[tuple[str, str]] = []
    changed = False
    for name, value in wanted_aliases(command).items():
        current = data.get(name)
        if current == value:
            done.append((name, "unchanged"))
            continue
        if current is not None and not is_ours(current) and not force:
            raise UsageError(
                f"glab alias {name!r} already runs {current!r}, which is not kasboot's",
                hint="remove it (glab alias delete " + name + ") or pass --force to replace it",
            )
        data[name] = SingleQuotedScalarString(value)  # glab's own quoting of '!…'
        done.append((name, "updated" if current is not None else "added"))
        changed = True
    if changed or not path.exists():
        write_aliases(path, data)
    return done


def remove_aliases(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return [(name, "absent") for name in ALIASES]
    data = read_aliases(path)
    done: list[tuple[str, str]] = []
    for name in ALIASES:
        current = data.get(name)
        if current is None:
            done.append((name, "absent"))
        elif is_ours(current):
            del data[name]
            done.append((name, "removed"))
        else:
            done.append((name, "kept (not kasboot's)"))
    if any(what == "removed" for _, what in done):
        write_aliases(path, data)
    return done


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def glab() -> None:
    """kasboot inside glab: `glab kasboot …` and `glab cluster-bootstrap …`."""


@glab.command("install", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--uninstall", is_flag=True, help="Remove the aliases kasboot added (only those).")
@click.option(
    "--force", is_flag=True, help="Replace an alias of the same name that is not kasboot's."
)
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="glab's config directory (default: as glab finds it: $GLAB_CONFIG_DIR, "
    "~/.config/glab-cli, $XDG_CONFIG_HOME/glab-cli).",
)
def install_command(uninstall: bool, force: bool, config_dir: Path | None) -> None:
    """Add `glab kasboot …` and `glab cluster-bootstrap …` to glab's aliases.yml
    (shell aliases, as `glab alias set NAME 'kasboot "$@"' --shell` writes them)."""
    path = (config_dir or glab_config_dir(dict(os.environ))) / "aliases.yml"
    if uninstall:
        results = remove_aliases(path)
    else:
        results = add_aliases(path, kasboot_command(), force=force)
    for name, what in results:
        click.echo(f"glab {name}: {what}")
    click.echo(f"alias file: {path}")
