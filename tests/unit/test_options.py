"""The bootstrap options: glab's spellings, env vars, config file, precedence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from kasboot.cli.options import SPECS, bootstrap_options, env_var, settings_from_click
from kasboot.errors import UsageError
from kasboot.settings import Settings


@click.command()
@click.argument("agent")
@bootstrap_options
def probe(agent: str, config: Path | None, **params: Any) -> None:
    settings = settings_from_click({"agent": agent, **params}, config)
    click.echo(repr(settings))


def run(args: list[str], env: dict[str, str] | None = None) -> Settings:
    captured: list[Settings] = []

    @click.command()
    @click.argument("agent")
    @bootstrap_options
    def command(agent: str, config: Path | None, **params: Any) -> None:
        captured.append(settings_from_click({"agent": agent, **params}, config))

    result = CliRunner().invoke(command, args, env=env or {}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return captured[0]


@pytest.mark.parametrize(
    ("args", "field", "value"),
    [
        (["--create-environment=false"], "create_environment", False),
        (["--create-environment=FALSE"], "create_environment", False),
        (["--create-environment=true"], "create_environment", True),
        (["--no-create-environment"], "create_environment", False),
        (["--create-flux-environment=0"], "create_flux_environment", False),
        (["--no-reconcile"], "no_reconcile", True),
        (["--no-reconcile=true"], "no_reconcile", True),
        (["--no-reconcile=false"], "no_reconcile", False),
        (["--use-api-commit-author=true"], "use_api_commit_author", True),
        (["--no-pin-version"], "pin_version", False),
        (["--dry-run"], "dry_run", True),
        (["-v"], "verbose", True),
        (["--verbose=false"], "verbose", False),
        (["--verbose"], "verbose", True),
        (["-p", "./clusters/x/"], "manifest_path", "clusters/x"),
        (["-b", "prod"], "manifest_branch", "prod"),
        (["-R", "group/sub/proj"], "repo", "group/sub/proj"),
        (["-o", "json"], "output", "json"),
        (["--timeout", "90s"], "timeout", 90.0),
        (["--fix", "sourceignore", "--fix", "add-kustomization"], "fix",
         ("sourceignore", "add-kustomization")),
        (["--fix", "sourceignore,add-kustomization"], "fix",
         ("sourceignore", "add-kustomization")),
    ],
)  # fmt: skip
def test_flags(args: list[str], field: str, value: object) -> None:
    assert getattr(run(["my-agent", *args]), field) == value


def test_values_from_repeated_and_comma_separated() -> None:
    settings = run(
        ["a", "--helm-release-values-from", "secret/a,ConfigMap/b",
         "--helm-release-values-from", "Secret/c"]
    )  # fmt: skip
    assert [str(ref) for ref in settings.helm_release_values_from] == [
        "Secret/a",
        "ConfigMap/b",
        "Secret/c",
    ]


def test_bool_with_bad_word_is_a_usage_error() -> None:
    result = CliRunner().invoke(probe, ["a", "--create-environment=maybe"])
    assert result.exit_code == 2
    assert "is not true or false" in result.output


def test_glab_bool_spelling_after_double_dash_is_an_argument() -> None:
    result = CliRunner().invoke(probe, ["--", "--create-environment=false"])
    assert "invalid agent name" in str(result.exception)


def test_precedence_flag_over_env_over_file_over_default(tmp_path: Path) -> None:
    config = tmp_path / "kasboot.yaml"
    config.write_text(
        "manifest-path: from/file\nhelm-release-name: file-release\n"
        "create-environment: false\nflux_source_name: file-source\n"
    )
    env = {"KASBOOT_MANIFEST_PATH": "from/env", "KASBOOT_HELM_RELEASE_NAME": "env-release"}
    settings = run(["a", "--config", str(config), "-p", "from/flag"], env=env)
    assert settings.manifest_path == "from/flag"
    assert settings.helm_release_name == "env-release"
    assert settings.create_environment is False
    assert settings.flux_source_name == "file-source"
    assert settings.helm_repository_name == "gitlab"


def test_env_booleans_and_lists() -> None:
    env = {
        "KASBOOT_CREATE_ENVIRONMENT": "false",
        "KASBOOT_FIX": "sourceignore",
        "KASBOOT_TIMEOUT": "1m",
    }
    settings = run(["a"], env=env)
    assert settings.create_environment is False
    assert settings.fix == ("sourceignore",)
    assert settings.timeout == 60.0


def test_config_file_found_at_repository_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".kasboot.yaml").write_text("manifest-branch: release\n")
    nested = tmp_path / "deep" / "dir"
    nested.mkdir(parents=True)
    import os

    before = Path.cwd()
    os.chdir(nested)
    try:
        settings = settings_from_click({"agent": "a"}, None)
    finally:
        os.chdir(before)
    assert settings.manifest_branch == "release"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("token: glpat-x\n", "unknown option 'token'"),
        ("- a\n", "is not a YAML map"),
        ("manifest-path: [a, b]\n", "takes a single value"),
        ("a: [\n", "is not valid YAML"),
        # issue 21 item 2: YAML escapes carry what no flag can (NUL included)
        ('manifest-path: "clusters/a\\0b"\n', "contains the control character '\\x00'"),
        ('commit-author-name: "me\\e[31m"\n', "contains the control character '\\x1b'"),
        ("manifest-path: {a: 1}\n", "is a dict, not a value"),
        ("helm-release-values: [{a: 1}]\n", "is a dict, not a value"),
        # issue 21 item 16: a key with no value is not the default
        ("helm-release-target-namespace:\n", "has no value"),
        ('helm-release-target-namespace: ""\n', "--helm-release-target-namespace is empty"),
    ],
)
def test_bad_config_files(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "kasboot.yaml"
    config.write_text(content)
    result = CliRunner().invoke(probe, ["a", "--config", str(config)])
    assert message in str(result.exception)


def test_help_shows_env_vars_and_defaults_and_no_token_option() -> None:
    result = CliRunner().invoke(probe, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for spec in SPECS:
        assert spec.flags[-1] in result.output
        assert env_var(spec.name) in result.output
    assert "default: https://charts.gitlab.io;" in result.output
    assert "default: --reconcile;" in result.output  # the spelling in force, not "(false)"
    assert "--create-environment / --no-create-environment" in result.output
    flags = {flag for spec in SPECS for flag in spec.flags}
    assert not flags & {"--token", "--private-token", "--job-token", "-t"}


def test_a_config_file_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "kasboot.yaml"
    config.write_bytes(b"manifest-path: \xff\xfe\n")
    result = CliRunner().invoke(probe, ["a", "--config", str(config)])
    assert isinstance(result.exception, UsageError)
    assert "is not UTF-8 text" in str(result.exception)


def test_an_empty_flag_is_an_error_not_the_default() -> None:
    result = CliRunner().invoke(probe, ["a", "--helm-release-target-namespace", ""])
    assert isinstance(result.exception, UsageError)
    assert result.exception.message == "--helm-release-target-namespace is empty"
