"""The option table: every option in exactly one --help section, each command's list
made of real options, and the record's fields as ownership.py records them."""

from __future__ import annotations

import click
import pytest

from kasboot.option_specs import COMMAND_OPTIONS, GROUPS, RECORDED_FIELDS, SPECS, SPECS_BY_NAME
from kasboot.ownership import RECORDED_FIELDS as OWNERSHIP_RECORDED
from kasboot.settings import SETTINGS_FIELDS


def test_every_option_is_in_exactly_one_section() -> None:
    grouped = [name for _, names in GROUPS for name in names]
    assert sorted(grouped) == sorted(spec.name for spec in SPECS)


def test_command_options_name_real_options() -> None:
    for command, names in COMMAND_OPTIONS.items():
        assert set(names) <= set(SPECS_BY_NAME), command
        assert set(names) <= set(SETTINGS_FIELDS), command


def test_the_record_fields_are_ownerships() -> None:
    assert RECORDED_FIELDS == OWNERSHIP_RECORDED


@pytest.mark.parametrize(
    ("command", "absent"),
    [("status", {"rotate_token", "fix", "dry_run", "helm_release_values"}),
     ("doctor", {"rotate_token", "fix", "dry_run"}),
     ("render", {"kubeconfig", "context", "fix", "commit_via", "dry_run"}),
     ("token list", {"dry_run", "force", "fix", "rotate_token"}),
     ("uninstall", {"fix", "rotate_token", "helm_release_values"})],
)  # fmt: skip
def test_commands_do_not_take_what_they_do_not_use(command: str, absent: set[str]) -> None:
    assert not absent & set(COMMAND_OPTIONS[command])


def test_the_click_commands_carry_exactly_their_options() -> None:
    from kasboot.cli import cli

    ctx = click.Context(cli)
    for path, names in COMMAND_OPTIONS.items():
        words = path.split()
        command = cli.get_command(ctx, words[0])
        if len(words) > 1:
            assert isinstance(command, click.Group)
            command = command.get_command(ctx, words[1])
        assert command is not None
        taken = {p.name for p in command.params if isinstance(p, click.Option)}
        taken &= set(SETTINGS_FIELDS)
        assert taken == set(names), path
