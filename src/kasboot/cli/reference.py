"""docs/cli.md, generated from the click commands themselves: each command's usage,
help, options by section and examples, and the exit codes. A unit test holds the
file equal to what this prints, so the page cannot drift from the code.

    python -m kasboot.cli.reference > docs/cli.md
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import click

from kasboot.cli.help import KasbootCommand, option_sections

EXIT_CODES = (
    (0, "done (or nothing to do)"),
    (1, "unexpected internal error (a bug: re-run with --debug for the trace)"),
    (2, "invalid usage or input — nothing written"),
    (3, "refused by a pre-flight check (e.g. the Flux root-path trap) — nothing written"),
    (4, "GitLab said no (401/403/404/400 with its message)"),
    (5, "the cluster said no or is unreachable"),
    (6, "written, but Flux did not become Ready in time or failed (diagnosis printed)"),
    (10, "`kasboot plan --detailed-exitcode`: changes are pending (not an error)"),
    (130, "interrupted (Ctrl-C)"),
    (143, "terminated (SIGTERM, e.g. a cancelled CI job)"),
)


Entry = tuple[str, click.Command, click.Context]


def _commands(group: click.Group, ctx: click.Context, prefix: str) -> Iterator[Entry]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        path = f"{prefix} {name}"
        # as click makes it when the command runs: its context_settings (-h) apply
        sub = click.Context(command, info_name=name, parent=ctx, **command.context_settings)
        if isinstance(command, click.Group):
            yield path, command, sub
            yield from _commands(command, sub, path)
        else:
            yield path, command, sub


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _command_section(path: str, command: click.Command, ctx: click.Context) -> list[str]:
    lines = [f"## `{path}`", ""]
    pieces = command.collect_usage_pieces(ctx)
    lines += ["```", f"{path} {' '.join(pieces)}".rstrip(), "```", ""]
    help_text = inspect.cleandoc(command.help or "").replace("\b\n", "")
    if help_text:
        lines += [help_text, ""]
    if isinstance(command, click.Group):
        subcommands = ", ".join(f"`{path} {name}`" for name in command.list_commands(ctx))
        return [*lines, f"Commands: {subcommands}.", ""]
    for title, rows in option_sections(command, ctx):
        heading = f"{title} options" if title != "Other" else "Options"
        lines += [f"**{heading}**", "", "| option | meaning |", "|---|---|"]
        lines += [f"| `{_cell(flag)}` | {_cell(text)} |" for flag, text in rows]
        lines.append("")
    if isinstance(command, KasbootCommand) and command.examples:
        lines += ["**Examples**", "", "```", *command.examples, "```", ""]
    return lines


def render_reference() -> str:
    from kasboot.cli import cli

    root = click.Context(cli, info_name="kasboot", **cli.context_settings)
    lines = [
        "# kasboot command reference",
        "",
        "<!-- Generated from the click commands: `python -m kasboot.cli.reference > "
        "docs/cli.md`. Do not edit by hand; tests/unit/test_cli_reference.py holds it true. -->",
        "",
        inspect.cleandoc(cli.help or ""),
        "",
        "Global options (before or after the command): `--debug`, `--version`, `-h/--help`.",
        "Every option can also come from its `KASBOOT_<OPTION>` variable or a config file "
        "(`--config`, else `.kasboot.yaml` at the repository root): flag > environment > "
        "file > default. With `-o json` every command that reports prints exactly one JSON "
        "document on stdout, errors included; its schema ships in the package as "
        "`kasboot/schemas/output.schema.json`.",
        "",
        "## Exit codes",
        "",
        "| code | meaning |",
        "|---|---|",
        *(f"| {code} | {meaning} |" for code, meaning in EXIT_CODES),
        "",
    ]
    for path, command, ctx in _commands(cli, root, "kasboot"):
        lines += _command_section(path, command, ctx)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    click.echo(render_reference(), nl=False)
