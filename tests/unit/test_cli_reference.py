"""docs/cli.md is generated from the click commands and must stay what they say."""

from __future__ import annotations

from pathlib import Path

from kasboot.cli.reference import EXIT_CODES, render_reference
from kasboot.errors import ExitCode

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_docs_cli_md_is_the_generated_reference() -> None:
    assert DOC.read_text(encoding="utf-8") == render_reference(), (
        "docs/cli.md is stale: run `python -m kasboot.cli.reference > docs/cli.md`"
    )


def test_every_command_and_exit_code_is_in_it() -> None:
    from kasboot.cli import COMMANDS

    text = render_reference()
    for name in COMMANDS:
        assert f"## `kasboot {name}`" in text
    for name in ("rotate", "list", "revoke"):
        assert f"## `kasboot token {name}`" in text
    assert {code for code, _ in EXIT_CODES} == {int(code) for code in ExitCode}
