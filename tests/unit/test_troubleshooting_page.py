"""docs/troubleshooting.md stays complete: every diagnosis code flux/diagnose.py can
return, every exit code of errors.py, every doctor check id, and every error the GitLab
docs' troubleshooting sections name has its place on the page."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from kasboot.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "troubleshooting.md"
SOURCES = ROOT / "src" / "kasboot"
SEED_ERRORS = (
    "failed to reconcile the GitLab Agent",
    "GitOps: failed to get project information",
    "Configuration file not found",
    "dial tcp <GITLAB_INTERNAL_IP>:443: connect: connection refused",
    "x509: certificate signed by unknown authority",
    "DeadlineExceeded",
    "Proxy set-ups",
    "The agent cannot connect",
)
_CHECK_CALL = re.compile(r"\b(?:passed|warned|skipped|failed|failed_with)\(\s*\"([a-z-]+)\"")


def diagnosis_codes() -> set[str]:
    """Every code literal: Diagnosis(..., code=...) or its 5th argument, _fixed's 3rd."""
    tree = ast.parse((SOURCES / "flux" / "diagnose.py").read_text(encoding="utf-8"))
    codes: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name == "Diagnosis":
            values = [k.value for k in node.keywords if k.arg == "code"] + node.args[4:5]
        elif name == "_fixed":
            values = node.args[2:3]
        else:
            continue
        codes |= {v.value for v in values if isinstance(v, ast.Constant)}
    return codes


def doctor_check_ids() -> set[str]:
    found: set[str] = set()
    for path in (SOURCES / "doctor").glob("*.py"):
        found |= set(_CHECK_CALL.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_sources_are_read() -> None:
    assert {"root-path-trap", "kas-unreachable", "release-retries-exceeded"} <= diagnosis_codes()
    assert {"gitlab", "token", "topology", "agent-connected"} <= doctor_check_ids()


@pytest.mark.parametrize("code", sorted(diagnosis_codes()))
def test_every_diagnosis_code_has_a_row(code: str) -> None:
    assert re.search(rf"^\| `{re.escape(code)}` \|", PAGE.read_text(), re.MULTILINE), code


@pytest.mark.parametrize("code", [int(code) for code in ExitCode])
def test_every_exit_code_has_a_row(code: int) -> None:
    assert re.search(rf"^\| {code} \|", PAGE.read_text(), re.MULTILINE), code


@pytest.mark.parametrize("check", sorted(doctor_check_ids()))
def test_every_doctor_check_id_has_a_row(check: str) -> None:
    assert re.search(rf"^\| `{re.escape(check)}` \|", PAGE.read_text(), re.MULTILINE), check


@pytest.mark.parametrize("error", SEED_ERRORS)
def test_every_error_the_gitlab_docs_name_has_a_section(error: str) -> None:
    headings = [line for line in PAGE.read_text().splitlines() if line.startswith("### ")]
    assert any(error in heading for heading in headings), error


def section_of(text: str, error: str) -> str:
    """The lines of the ### section whose heading names `error`, up to the next heading."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("### ") and error in line)
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith(("## ", "### "))),
        len(lines),
    )
    return "\n".join(lines[start:end])


@pytest.mark.parametrize("error", SEED_ERRORS)
def test_each_seed_section_says_how_kasboot_detects_it_and_the_fix(error: str) -> None:
    section = section_of(PAGE.read_text(), error)
    assert "**Fix**" in section, error
    assert "**How kasboot detects it**" in section or "**Where it comes from**" in section
    assert re.search(r"\*\*`[a-z-]+`\*\*", section), f"{error}: no check id or code"
