"""`kasboot wizard`: the bootstrap, asked question by question at a terminal."""

from __future__ import annotations

from typing import Any

import click

from kasboot.cli.completion import complete_agent_names
from kasboot.cli.help import KasbootCommand
from kasboot.cli.options import command_options
from kasboot.errors import UsageError


@click.command(
    cls=KasbootCommand,
    examples=(
        "kasboot wizard",
        "# start from some answers: every flag becomes its question's default",
        "kasboot wizard prod -R group/fleet --context prod",
    ),
)
@click.argument(
    "agent", required=False, envvar="KASBOOT_AGENT", shell_complete=complete_agent_names
)
@command_options("wizard")
def wizard(agent: str | None, **params: Any) -> None:
    """Bootstrap interactively: each value asked with a detected default.

    GitLab host and project, agent name, kube context, Flux source and manifest path
    (with the topology guard's verdict), Helm release names (collisions flagged),
    environments and, behind one question, advanced options. Before anything is
    written: a review of the answers, the plan (as `kasboot plan` prints it) and the
    equivalent non-interactive command line, to repeat the same bootstrap in CI. Any
    flag given here (or its KASBOOT_* variable, or the config file) becomes the default
    of its question.
    """
    from kasboot.wizard.prompting import prompt_blocker

    blocker = prompt_blocker(non_interactive=bool(params.pop("non_interactive", False)))
    if blocker is not None:
        raise UsageError(
            f"the wizard needs a terminal to ask its questions ({blocker})",
            hint="run `kasboot bootstrap AGENT` with flags or KASBOOT_<OPTION> variables "
            "(see `kasboot bootstrap --help`)",
        )
    from kasboot.wizard.flow import run_wizard

    run_wizard({"agent": agent, **params})
