"""Where option values come from, table-driven: flag > KASBOOT_<OPTION> > config file >
default, for strings, booleans, lists and durations; and how the wizard reads the same
sources to preset its answers and to spell the equivalent command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from kasboot.cli.options import bootstrap_options, settings_from_click
from kasboot.option_sources import params_from_environment
from kasboot.settings import Settings
from kasboot.wizard.discovery import baseline_settings, resolve_presets
from kasboot.wizard.model import equivalent_args

# (field, flag spelling, env value, file value, flag value, expected per source, default)
TABLE: list[tuple[str, str, str, str, list[str], tuple[Any, Any, Any], Any]] = [
    ("manifest_path", "manifest-path", "env/p", "file/p", ["-p", "flag/p"],
     ("env/p", "file/p", "flag/p"), ""),
    ("helm_release_name", "helm-release-name", "env-r", "file-r", ["--helm-release-name", "flag-r"],
     ("env-r", "file-r", "flag-r"), "gitlab-agent"),
    ("create_environment", "create-environment", "false", "false", ["--create-environment=true"],
     (False, False, True), True),
    ("no_reconcile", "no-reconcile", "true", "true", ["--no-reconcile=false"],
     (True, True, False), False),
    ("timeout", "timeout", "1m", "2m", ["--timeout", "30s"], (60.0, 120.0, 30.0), 300.0),
    ("fix", "fix", "sourceignore", "add-kustomization", ["--fix", "sourceignore"],
     (("sourceignore",), ("add-kustomization",), ("sourceignore",)), ()),
    ("context", "context", "env-ctx", "file-ctx", ["--context", "flag-ctx"],
     ("env-ctx", "file-ctx", "flag-ctx"), None),
    ("repo", "repo", "env/proj", "file/proj", ["-R", "flag/proj"],
     ("env/proj", "file/proj", "flag/proj"), None),
]  # fmt: skip


def resolve(args: list[str], env: dict[str, str], config: Path | None) -> Settings:
    captured: list[Settings] = []

    @click.command()
    @click.argument("agent", envvar="KASBOOT_AGENT")
    @bootstrap_options
    def command(agent: str, config: Path | None, **params: Any) -> None:
        captured.append(settings_from_click({"agent": agent, **params}, config))

    full = [*args, "--config", str(config)] if config else args
    result = CliRunner().invoke(command, full, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return captured[0]


@pytest.mark.parametrize(
    ("field", "key", "env_value", "file_value", "flag", "expected", "default"), TABLE
)
@pytest.mark.parametrize(
    ("flag_given", "env_given", "file_given", "winner"),
    [
        (False, False, False, "default"),
        (False, False, True, "file"),
        (False, True, True, "env"),
        (False, True, False, "env"),
        (True, True, True, "flag"),
        (True, False, True, "flag"),
    ],
)
def test_precedence(
    tmp_path: Path,
    field: str,
    key: str,
    env_value: str,
    file_value: str,
    flag: list[str],
    expected: tuple[Any, Any, Any],
    default: Any,
    flag_given: bool,
    env_given: bool,
    file_given: bool,
    winner: str,
) -> None:
    config = tmp_path / "kasboot.yaml"
    config.write_text(f"{key}: {file_value}\n" if file_given else "{}\n")
    env = {f"KASBOOT_{field.upper()}": env_value} if env_given else {}
    settings = resolve(["a", *(flag if flag_given else [])], env, config)
    wanted = {"env": expected[0], "file": expected[1], "flag": expected[2], "default": default}
    assert getattr(settings, field) == wanted[winner]


def test_agent_from_kasboot_agent() -> None:
    assert resolve([], {"KASBOOT_AGENT": "from-env"}, None).agent == "from-env"
    assert resolve(["flag"], {"KASBOOT_AGENT": "from-env"}, None).agent == "flag"


def test_wizard_presets_know_what_was_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "kasboot.yaml"
    config.write_text("helm-release-name: file-release\n")
    monkeypatch.setenv("KASBOOT_MANIFEST_PATH", "env/path")
    params = {**params_from_environment(os.environ), "config": config, "agent": None}
    presets = resolve_presets(params)
    assert presets.settings.manifest_path == "env/path"
    assert presets.settings.helm_release_name == "file-release"
    assert {"manifest_path", "helm_release_name"} <= presets.explicit
    assert "context" not in presets.explicit
    assert presets.agent is None and presets.config == config


def test_equivalent_command_is_relative_to_what_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KASBOOT_MANIFEST_PATH", "env/path")
    monkeypatch.setenv("KASBOOT_CREATE_ENVIRONMENT", "false")
    baseline = baseline_settings("a", None)
    assert baseline.manifest_path == "env/path" and baseline.create_environment is False
    same = Settings(agent="a", manifest_path="env/path", create_environment=False)
    assert equivalent_args(same, baseline) == ["a"]


def test_ci_example_and_docs_use_real_variables() -> None:
    """Every KASBOOT_* name the CI example and docs/ci.md mention is one kasboot reads."""
    import re

    from ruamel.yaml import YAML

    from kasboot.cli.options import SPECS, env_var

    root = Path(__file__).resolve().parents[2]
    example = (root / "examples/gitlab-ci/.gitlab-ci.yml").read_text()
    job = YAML(typ="safe").load(example)
    known = {env_var(spec.name) for spec in SPECS} | {
        "KASBOOT_AGENT", "KASBOOT_CONFIG", "KASBOOT_NON_INTERACTIVE", "KASBOOT_PROJECT",
        "KASBOOT_DEBUG", "KASBOOT_OPTION",
    }  # fmt: skip
    mentioned = set(re.findall(r"KASBOOT_[A-Z_]+", example + (root / "docs/ci.md").read_text()))
    assert mentioned <= known, mentioned - known
    assert set(job["variables"]) <= known
    script = " ".join(job["bootstrap-agent"]["script"])
    assert "kasboot plan" in script and "kasboot bootstrap --output json" in script
