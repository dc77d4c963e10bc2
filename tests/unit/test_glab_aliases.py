"""`kasboot glab install`: the aliases glab reads (gl-cli/glab internal/config
alias_config.go, commands/alias/set and expand), idempotent, and an uninstall that
removes only kasboot's own."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kasboot.cli.glab import add_aliases, remove_aliases
from kasboot.credentials import glab_config_dir, xdg_config_home
from kasboot.errors import UsageError

# What `glab alias set co 'mr checkout'` and `glab alias set --shell igrep 'glab issue
# list | grep'` leave in aliases.yml (alias_set_test.go's expected file content).
GLAB_WRITTEN = "co: mr checkout\nigrep: '!glab issue list | grep'\n"


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kasboot", "glab", "install", *args],
        capture_output=True, text=True, env={**os.environ, **env}, check=False, timeout=60,
    )  # fmt: skip


def test_install_writes_glab_shell_aliases_next_to_the_users_own(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yml"
    path.write_text(GLAB_WRITTEN)
    assert add_aliases(path, "kasboot") == [("kasboot", "added"), ("cluster-bootstrap", "added")]
    text = path.read_text()
    # glab's own format: a flat map, its entries kept as they were, shell aliases as '!…'
    assert text == (
        GLAB_WRITTEN
        + "kasboot: '!kasboot \"$@\"'\ncluster-bootstrap: '!kasboot bootstrap \"$@\"'\n"
    )
    assert yaml.safe_load(text) == {
        "co": "mr checkout",
        "igrep": "!glab issue list | grep",
        "kasboot": '!kasboot "$@"',
        "cluster-bootstrap": '!kasboot bootstrap "$@"',
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # glab refuses other permissions
    before = path.stat().st_mtime_ns
    assert add_aliases(path, "kasboot") == [
        ("kasboot", "unchanged"),
        ("cluster-bootstrap", "unchanged"),
    ]
    assert path.read_text() == text and path.stat().st_mtime_ns == before  # not rewritten


def test_the_shell_expansion_passes_every_argument(tmp_path: Path) -> None:
    """glab runs `sh -c EXPANSION -- ARGS…` (alias_expand.go): "$@" is ARGS."""
    path = tmp_path / "aliases.yml"
    add_aliases(path, "printf '%s|'")
    expansion = yaml.safe_load(path.read_text())["cluster-bootstrap"]
    assert expansion.startswith("!")
    out = subprocess.run(
        ["sh", "-c", expansion[1:], "--", "my agent", "--replicas", "1"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert out == "bootstrap|my agent|--replicas|1|"


def test_uninstall_removes_only_what_kasboot_added(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yml"
    path.write_text(GLAB_WRITTEN)
    add_aliases(path, "/opt/py/bin/python -m kasboot")
    assert remove_aliases(path) == [("kasboot", "removed"), ("cluster-bootstrap", "removed")]
    assert path.read_text() == GLAB_WRITTEN
    assert remove_aliases(path) == [("kasboot", "absent"), ("cluster-bootstrap", "absent")]


def test_a_users_alias_of_the_same_name_is_never_taken_silently(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yml"
    path.write_text("kasboot: mr list\n")
    with pytest.raises(UsageError, match="already runs 'mr list'"):
        add_aliases(path, "kasboot")
    assert path.read_text() == "kasboot: mr list\n"
    assert remove_aliases(path)[0] == ("kasboot", "kept (not kasboot's)")
    assert add_aliases(path, "kasboot", force=True)[0] == ("kasboot", "updated")


def test_glab_config_dir_resolution(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"HOME": str(home)}
    assert glab_config_dir(env, "linux") == home / ".config" / "glab-cli"
    assert glab_config_dir({**env, "XDG_CONFIG_HOME": "/x"}, "linux") == Path("/x/glab-cli")
    assert xdg_config_home(env, "darwin") == home / "Library" / "Application Support"
    legacy = home / ".config" / "glab-cli"
    legacy.mkdir(parents=True)
    (legacy / "config.yml").write_text("")
    # a legacy config wins over XDG_CONFIG_HOME (backward compatibility), not over
    # GLAB_CONFIG_DIR
    assert glab_config_dir({**env, "XDG_CONFIG_HOME": "/x"}, "linux") == legacy
    assert glab_config_dir({**env, "GLAB_CONFIG_DIR": "/g"}, "linux") == Path("/g")


def test_the_command_line(tmp_path: Path) -> None:
    env = {"GLAB_CONFIG_DIR": str(tmp_path / "glab")}
    first = run_cli(env)
    assert first.returncode == 0, first.stderr
    assert "glab kasboot: added" in first.stdout
    assert "glab kasboot: unchanged" in run_cli(env).stdout
    assert "glab kasboot: removed" in run_cli(env, "--uninstall").stdout
    assert (tmp_path / "glab" / "aliases.yml").read_text() == ""
