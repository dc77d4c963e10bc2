"""The wizard's pure decisions: defaults, checks, collisions, values, the equivalent command."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from kasboot.cli.options import bootstrap_options, settings_from_click
from kasboot.settings import Settings, build_settings
from kasboot.wizard.model import (
    FluxSource,
    ReleaseNames,
    check_agent_name,
    check_option,
    check_project_path,
    command_line,
    default_manifest_path,
    default_release_names,
    equivalent_args,
    order_contexts,
    pick_source,
    release_collision,
    repo_dir,
    suggest_agent_name,
)


@pytest.mark.parametrize(
    ("text", "ok"),
    [("my-agent", True), ("a", True), ("a" * 63, True), ("a" * 64, False), ("My-Agent", False),
     ("-a", False), ("a-", False), ("a_b", False), ("", False), ("a.b", False)],
)  # fmt: skip
def test_agent_name_is_an_rfc1123_label(text: str, ok: bool) -> None:
    result = check_agent_name(text)
    assert (result is True) is ok
    if not ok:
        assert "lowercase letters" in str(result)


def test_option_checks_speak_like_build_settings() -> None:
    assert check_option("manifest_path")("clusters/x") is True
    assert "leaves the repository" in str(check_option("manifest_path")("../x"))
    assert "invalid HelmRelease name" in str(check_option("helm_release_name")("Bad_Name"))
    assert check_option("helm_release_values")("") is True
    assert "values file" in str(check_option("helm_release_values")("/no/such/values.yaml"))


@pytest.mark.parametrize(
    ("text", "ok"), [("group/project", True), ("g/sub/p", True), ("project", False), ("g/", False)]
)
def test_project_path(text: str, ok: bool) -> None:
    assert (check_project_path(text) is True) is ok


@pytest.mark.parametrize(
    ("context", "existing", "expected"),
    [
        ("kind-Dev_Cluster", [], "kind-dev-cluster"),
        ("arn:aws:eks:eu-west-1:123:cluster/prod", [], "arn-aws-eks-eu-west-1-123-cluster-prod"),
        ("___", ["old"], "old"),
        (None, [], "gitlab-agent"),
        ("x" * 80, [], "x" * 63),
    ],
)
def test_suggested_agent_name(context: str | None, existing: list[str], expected: str) -> None:
    suggestion = suggest_agent_name(context, existing)
    assert suggestion == expected
    assert check_agent_name(suggestion) is True


def test_contexts_current_first() -> None:
    assert order_contexts(["b", "c", "a"], "c") == ["c", "a", "b"]
    assert order_contexts(["b", "a"], None) == ["a", "b"]
    assert order_contexts(["b", "a"], "gone") == ["a", "b"]


@pytest.mark.parametrize(
    ("paths", "expected"),
    [(["./clusters/prod"], "clusters/prod/agent"), (["./"], "agent"), ([], "agent"),
     (["clusters/x/"], "clusters/x/agent"), (["."], "agent")],
)  # fmt: skip
def test_default_manifest_path_lies_under_flux_path(paths: list[str], expected: str) -> None:
    assert default_manifest_path(paths, "agent") == expected
    assert repo_dir("./a/b/") == "a/b"


def test_source_that_syncs_the_project_is_picked() -> None:
    other = FluxSource("GitRepository", "flux-system", "flux-system", "https://g/x/other.git")
    mine = FluxSource("GitRepository", "apps", "fleet", "ssh://git@g/demo/fleet.git")
    oci = FluxSource("OCIRepository", "flux-system", "oci", "oci://r/x")
    assert pick_source([other, mine], "demo/fleet") == mine
    assert pick_source([other, oci], "demo/fleet") == other
    assert pick_source([oci], "demo/fleet") == oci
    assert pick_source([], "demo/fleet") is None
    assert (mine.type, oci.type, mine.ref) == ("git", "oci", "GitRepository apps/fleet")


def test_release_names_follow_glab_unless_taken() -> None:
    assert default_release_names("a", lambda names: False) == ReleaseNames(
        "gitlab-agent", "gitlab-agent", "gitlab"
    )
    own = default_release_names("prod", lambda names: names.helm_release_name == "gitlab-agent")
    assert own == ReleaseNames("gitlab-agent-prod", "gitlab-agent-prod", "gitlab-prod")
    long = default_release_names("a" * 63, lambda names: True)
    assert len(long.helm_release_name) <= 53
    build_settings(agent="a" * 63, helm_release_name=long.helm_release_name)


def test_collisions() -> None:
    release = {"metadata": {"namespace": "flux-system", "name": "gitlab-agent"}}
    assert "flux-system/gitlab-agent already exists" in str(
        release_collision(release, False, None, None)
    )
    assert release_collision(release, True, None, None) is None  # ours: a re-run
    assert release_collision(None, False, None, None) is None
    assert "holds token 7" in str(release_collision(None, False, 7, {1, 2}))
    assert release_collision(None, False, 7, {7}) is None


def _parse(args: list[str]) -> Settings:
    captured: list[Settings] = []

    @click.command()
    @click.argument("agent")
    @bootstrap_options
    def command(agent: str, config: Path | None, **params: Any) -> None:
        captured.append(settings_from_click({"agent": agent, **params}, config))

    result = CliRunner().invoke(command, args, env={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return captured[0]


def test_equivalent_args_reproduce_the_settings(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("replicas: 1\n")
    wanted = build_settings(
        agent="prod",
        repo="group/fleet",
        manifest_path="clusters/prod/agent",
        helm_release_name="agent-prod",
        create_environment=False,
        create_flux_environment=False,
        no_reconcile=True,
        helm_release_values=(str(values),),
        fix=("sourceignore",),
        timeout="90s",
        context="prod-admin",
    )
    baseline = Settings(agent="prod")
    args = equivalent_args(wanted, baseline)
    assert args[:3] == ["prod", "-R", "group/fleet"]
    assert "--no-create-environment" in args and "--no-reconcile" in args
    assert "--dry-run" not in args
    assert _parse(args) == wanted


def test_equivalent_args_spell_out_what_differs_from_the_environment() -> None:
    baseline = build_settings(agent="a", manifest_path="from/env", create_environment=False)
    wanted = build_settings(agent="a", manifest_path="", create_environment=True)
    args = equivalent_args(wanted, baseline)
    assert args == ["a", "--manifest-path", "", "--create-environment"]
    assert equivalent_args(baseline, baseline) == ["a"]


def test_command_line_quotes_for_the_shell() -> None:
    line = command_line(["a", "--manifest-path", "dir with space"], {"GITLAB_HOST": "https://g"})
    assert line == "GITLAB_HOST=https://g kasboot bootstrap a --manifest-path 'dir with space'"
    assert shlex.split(line)[-1] == "dir with space"
