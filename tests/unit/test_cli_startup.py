"""Start-up is guarded by what gets imported, not by time (a busy machine makes any
timed assert flaky; bench/ measures the time): `kasboot --help` and `--version` import
no command module, and `bootstrap --help` only what declares its options. Also the
group's static command list, glab's `bs` alias, and where --debug / -v may stand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence

import pytest
from click.testing import CliRunner

from kasboot.cli import ALIASES, COMMANDS, cli, load_command, normalize_argv
from kasboot.cli.argv import place_global_flags

# Imported in a child interpreter, the CLI run with ARGS, then sys.modules printed.
_PROBE = r"""
import contextlib, io, json, sys
from kasboot.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)))
"""
# Heavy or world-building packages: none may load to print help or the version.
HEAVY = ("kubernetes", "gitlab", "git", "ruamel", "requests", "urllib3", "rich", "starlette")


def _modules_after(*args: str, env: dict[str, str] | None = None) -> set[str]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return set(json.loads(completed.stdout.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("-h",)])
def test_group_help_and_version_import_no_command(args: tuple[str, ...]) -> None:
    modules = _modules_after(*args)
    ours = sorted(m for m in modules if m.startswith("kasboot"))
    assert ours == ["kasboot", "kasboot.cli", "kasboot.cli.argv", "kasboot.errors"]
    assert _heavy(modules) == []


def test_completing_a_command_name_imports_no_command() -> None:
    """`kasboot <TAB>` answers from the static table."""
    completing = {"_KASBOOT_COMPLETE": "bash_complete", "COMP_WORDS": "kasboot ", "COMP_CWORD": "1"}
    modules = _modules_after(env=completing)
    assert sorted(m for m in modules if m.startswith("kasboot.cli.")) == ["kasboot.cli.argv"]
    assert _heavy(modules) == []


@pytest.mark.parametrize("command", ["bootstrap", "bs", "plan"])
def test_bootstrap_help_imports_only_what_declares_its_options(command: str) -> None:
    modules = _modules_after(command, "--help")
    assert _heavy(modules) == []
    ours = {m for m in modules if m.startswith("kasboot")}
    assert "kasboot.cli.options" in ours
    # Nor what only running needs: paths, completion machinery, dataclass validation.
    assert not {"pathlib", "click.shell_completion", "kasboot.settings"} & modules
    assert not any(m.startswith("kasboot.sandbox") for m in ours)
    # No step, seam, renderer or UI, not even Settings: the CLI layer and the defaults.
    allowed = {
        "kasboot",
        "kasboot.cli",
        "kasboot.cli.argv",
        "kasboot.cli.bootstrap",
        "kasboot.cli.completion",
        "kasboot.cli.help",
        "kasboot.cli.options",
        "kasboot.cli.reporting",
        "kasboot.errors",
        "kasboot.option_sources",
        "kasboot.option_specs",
        "kasboot.option_values",
        "kasboot.startup_gc",  # the collector's pause (imports gc alone)
    }
    assert sorted(ours - allowed) == []


def test_help_defaults_are_the_settings_defaults() -> None:
    from kasboot.option_values import DEFAULTS
    from kasboot.settings import Settings

    actual = Settings(agent="x")
    for name, shown in vars(DEFAULTS).items():
        assert getattr(actual, name) == shown, name


def test_static_short_helps_match_the_commands() -> None:
    """The group lists commands from its table; each line must say what the command's
    own docstring says (update COMMANDS in kasboot/cli/__init__.py when one changes)."""
    for name, entry in COMMANDS.items():
        command = load_command(name)
        assert command is not None, name
        assert entry.short_help == command.get_short_help_str(limit=10_000), name


def test_group_help_lists_every_command_with_the_alias() -> None:
    result = CliRunner().invoke(cli, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for name, entry in COMMANDS.items():
        label = f"{name} (bs)" if name == "bootstrap" else name
        assert f"  {label}  " in result.output
        assert entry.short_help in result.output


def test_bs_is_bootstrap() -> None:
    assert ALIASES["bs"] == "bootstrap"
    assert load_command("bs") is load_command("bootstrap")
    result = CliRunner().invoke(cli, ["bs", "--help"])
    assert result.exit_code == 0
    assert "Usage: cli bootstrap [OPTIONS] [AGENT]" in result.output


def _declares(names: Sequence[str]) -> bool | None:
    return {"bootstrap": True, "token rotate": True, "sandbox up": False}.get(" ".join(names))


def _is_group(names: Sequence[str]) -> bool:
    return names[0] in ("token", "sandbox") and len(names) == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bootstrap", "a", "--debug"], ["--debug", "bootstrap", "a"]),
        (["--debug", "bootstrap", "a"], ["--debug", "bootstrap", "a"]),
        (["-v", "bootstrap", "a"], ["bootstrap", "--verbose", "a"]),
        (["bootstrap", "a", "-v"], ["bootstrap", "--verbose", "a"]),
        (
            ["--debug", "-v", "token", "rotate", "a"],
            ["--debug", "token", "rotate", "--verbose", "a"],
        ),
        (["sandbox", "up", "-v"], ["--verbose", "sandbox", "up"]),
        (["-v", "sandbox", "up"], ["--verbose", "sandbox", "up"]),
        (["bootstrap", "a", "--", "-v", "--debug"], ["bootstrap", "a", "--", "-v", "--debug"]),
        (["--help"], ["--help"]),
    ],
)
def test_global_flags_before_or_after_the_command(argv: list[str], expected: list[str]) -> None:
    assert place_global_flags(argv, _is_group, _declares) == expected


def test_normalize_argv_with_the_real_commands() -> None:
    assert normalize_argv(["-v", "bs", "a"]) == ["bs", "--verbose", "a"]
    assert normalize_argv(["sandbox", "status", "-v", "--debug"]) == [
        "--debug",
        "--verbose",
        "sandbox",
        "status",
    ]
    assert normalize_argv(["bootstrap", "a"]) == ["bootstrap", "a"]


@pytest.mark.parametrize(
    "args",
    [
        ["-v", "render", "a", "-R", "g/p", "--debug"],
        ["render", "a", "-R", "g/p", "-v", "--debug"],
        ["--debug", "-v", "bs", "--help"],
    ],
)
def test_flags_anywhere_parse(args: list[str]) -> None:
    """The real entry point accepts the global flags on either side of the command."""
    completed = subprocess.run(
        [sys.executable, "-m", "kasboot", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert "No such option" not in completed.stderr
    assert completed.returncode in (0, 2, 3, 4), completed.stderr
