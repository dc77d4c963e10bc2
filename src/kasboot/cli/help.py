"""How a command's --help reads: options in sections (GitLab, Flux and Helm,
environments, commit, agent token, cluster, run and output) instead of one long list,
and an Examples section, as glab's and flux's help pages have."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from kasboot.option_specs import GROUP_OF, GROUPS

# Options that are not Settings fields, and the section they read best in.
_OTHER_GROUPS = {
    "kas_address": "Flux and Helm",
    "kas_version": "Flux and Helm",
    "revoke_previous": "Agent token",
    "delete_agent": "GitLab",
    "detailed_exitcode": "Run and output",
    "config": "Run and output",
    "non_interactive": "Run and output",
}


def option_sections(command: click.Command, ctx: click.Context) -> list[tuple[str, list[Any]]]:
    """(section title, [(flags, help)]) in --help order; empty sections left out."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
        if record is None:
            continue
        name = param.name or ""
        title = GROUP_OF.get(name) or _OTHER_GROUPS.get(name, "Other")
        sections.setdefault(title, []).append(record)
    order = [title for title, _ in GROUPS] + ["Other"]
    return [(title, sections[title]) for title in order if title in sections]


class KasbootCommand(click.Command):
    """A click command whose --help groups its options and ends with examples."""

    def __init__(self, *args: Any, examples: Sequence[str] = (), **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
        super().__init__(*args, **kwargs)
        self.examples = tuple(examples)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for title, rows in option_sections(self, ctx):
            with formatter.section(f"{title} options" if title != "Other" else "Options"):
                formatter.write_dl(rows)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        if not self.examples:
            return
        with formatter.section("Examples"):
            for line in self.examples:  # kept as written: commands must not be re-wrapped
                formatter.write(f"{'':>{formatter.current_indent}}{line}\n" if line else "\n")
