"""Settings: glab's defaults, normalisation, and every mistake caught up front."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kasboot.errors import ExitCode, UsageError
from kasboot.settings import (
    Settings,
    ValuesFrom,
    build_settings,
    parse_duration,
    validate_agent_name,
)


def test_defaults_are_glabs() -> None:
    settings = build_settings(agent="my-agent")
    assert settings == Settings(agent="my-agent")
    assert settings.manifest_path == ""
    assert settings.helm_repository_path == "gitlab-helm-repository.yaml"
    assert settings.helm_release_path == "gitlab-agent-helm-release.yaml"
    assert settings.agent_config_path == ".gitlab/agents/my-agent/config.yaml"
    assert settings.env_name == "flux-system/gitlab-agent"
    assert settings.env_namespace == "gitlab-agent"
    assert settings.env_flux_resource_path == (
        "helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases/gitlab-agent"
    )
    assert settings.flux_env_name == "flux-system/flux-system"
    assert settings.flux_env_namespace == "flux-system"
    assert settings.flux_env_flux_resource_path == (
        "kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system"
    )
    assert (settings.author_name, settings.author_email) == ("kasboot", "noreply@kasboot.invalid")


def test_resolved_properties_follow_the_options() -> None:
    settings = build_settings(
        agent="a",
        manifest_path="clusters/prod",
        helm_release_name="agentk",
        helm_release_namespace="tools",
        helm_release_target_namespace="agents",
        flux_source_namespace="fx",
        flux_source_name="root",
        use_api_commit_author=True,
    )
    assert settings.helm_release_path == "clusters/prod/gitlab-agent-helm-release.yaml"
    assert settings.env_name == "tools/agentk"
    assert settings.env_namespace == "agents"
    assert settings.env_flux_resource_path.endswith("/namespaces/tools/helmreleases/agentk")
    assert settings.flux_env_name == "fx/root"
    assert settings.flux_env_flux_resource_path.endswith("/namespaces/fx/kustomizations/root")
    assert settings.author_name is None and settings.author_email is None


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("", ""),
        (".", ""),
        ("./", ""),
        ("./clusters/prod/", "clusters/prod"),
        ("clusters//prod", "clusters/prod"),
        ("clusters/./prod/agent", "clusters/prod/agent"),
        ("a/b/../c", "a/c"),
    ],
)
def test_manifest_path_is_normalised(given: str, normalised: str) -> None:
    assert build_settings(agent="a", manifest_path=given).manifest_path == normalised


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), (90, 90.0), ("90s", 90.0), ("5m", 300.0), ("1h30m", 5400.0), ("1m0s", 60.0),
     ("500ms", 0.5), ("2.5s", 2.5)],
)  # fmt: skip
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("name", ["a", "my-agent", "a1", "x" * 63])
def test_good_agent_names(name: str) -> None:
    validate_agent_name(name)


@pytest.mark.parametrize("name", ["", "A", "my_agent", "-a", "a-", "a.b", "x" * 64, "a b"])
def test_bad_agent_names(name: str) -> None:
    with pytest.raises(UsageError, match="invalid agent name") as caught:
        validate_agent_name(name)
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.hint and "63" in caught.value.hint


BAD: list[tuple[dict[str, Any], str]] = [
    ({"manifest_path": "/abs"}, "is absolute"),
    ({"manifest_path": "../up"}, "leaves the repository"),
    ({"manifest_path": ".git/hooks"}, "reads as .git"),
    ({"manifest_path": ".gitlab/agents"}, "lies in .gitlab/agents"),
    ({"manifest_branch": "bad..branch"}, "invalid branch name"),
    ({"manifest_branch": "with space"}, "invalid branch name"),
    ({"helm_repository_address": "ftp://x"}, "invalid --helm-repository-address"),
    ({"helm_repository_name": "Bad_Name"}, "invalid HelmRepository name"),
    ({"helm_release_name": "x" * 54}, "invalid HelmRelease name"),
    ({"helm_release_target_namespace": "a.b"}, "invalid target namespace"),
    ({"helm_repository_namespace": "NS"}, "invalid HelmRepository namespace"),
    ({"helm_release_filepath": "agent.json"}, "does not end in .yaml"),
    ({"helm_repository_filepath": "same.yaml", "helm_release_filepath": "same.yaml"},
     "both be written"),
    ({"helm_release_values": ["/does/not/exist.yaml"]}, "does not exist"),
    ({"helm_release_values_from": ["Deployment/x"]}, "invalid --helm-release-values-from"),
    ({"helm_release_values_from": ["Secret/"]}, "invalid --helm-release-values-from"),
    ({"gitlab_agent_token_secret_name": "Token"}, "invalid Secret name"),
    ({"flux_source_type": "bucket"}, "invalid --flux-source-type"),
    ({"environment_name": "/leading"}, "invalid --environment-name"),
    ({"environment_flux_resource_path": "helmreleases/x"}, "invalid --environment-flux"),
    ({"use_api_commit_author": True, "commit_author_name": "me"}, "cannot be combined"),
    ({"commit_author_email": "not-an-email"}, "invalid --commit-author-email"),
    ({"agent_version": "v1 2"}, "invalid --agent-version"),
    ({"agent_version": "v1.2.3", "pin_version": False}, "cannot be combined"),
    ({"commit_via": "ssh"}, "invalid --commit-via"),
    ({"timeout": "soon"}, "invalid duration"),
    ({"timeout": "0"}, "invalid duration"),
    ({"fix": ["everything"]}, "invalid --fix"),
    ({"kubeconfig": "/does/not/exist"}, "does not exist"),
    ({"output": "yaml"}, "invalid --output"),
    ({"create_environment": "maybe"}, "invalid value"),
    ({"token": "secret"}, "unknown option"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "message"), BAD)
def test_mistakes_are_usage_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        build_settings(agent="a", **options)
    assert caught.value.exit_code == 2
    assert "\n" not in caught.value.message


def test_raw_strings_from_env_or_file_are_converted(tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text("a: 1\n")
    settings = build_settings(
        agent="a",
        no_reconcile="true",
        create_environment="false",
        helm_release_values=f"{values},{values}",
        helm_release_values_from="secret/one, CONFIGMAP/two",
        timeout="2m",
        fix="sourceignore,add-kustomization,sourceignore",
        commit_via="LOCAL",
    )
    assert settings.no_reconcile is True and settings.create_environment is False
    assert settings.helm_release_values == (values, values)
    assert settings.helm_release_values_from == (
        ValuesFrom("Secret", "one"),
        ValuesFrom("ConfigMap", "two"),
    )
    assert settings.timeout == 120.0
    assert settings.fix == ("sourceignore", "add-kustomization")
    assert settings.commit_via == "local"


def test_values_file_must_be_a_map(tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text("- not\n- a map\n")
    with pytest.raises(UsageError, match="is not a YAML map"):
        build_settings(agent="a", helm_release_values=[str(values)])


def test_ca_cert_must_be_pem(tmp_path: Path) -> None:
    cert = tmp_path / "ca.pem"
    cert.write_text("not a certificate")
    with pytest.raises(UsageError, match="no PEM certificate"):
        build_settings(agent="a", kas_ca_cert=str(cert))
    cert.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    assert build_settings(agent="a", kas_ca_cert=str(cert)).kas_ca_cert == cert


def test_settings_are_frozen() -> None:
    settings = build_settings(agent="a")
    with pytest.raises(AttributeError):
        settings.agent = "b"  # type: ignore[misc]


# Issue 21 item 2: what git or a Linux checkout (Flux's) cannot hold is refused up front.
UNHOLDABLE_PATHS: list[tuple[dict[str, Any], str]] = [
    ({"manifest_path": "clusters/" + "x" * 300}, "300-byte component"),
    ({"manifest_path": "clusters/" + "\u00e9" * 128}, "256-byte component"),
    ({"manifest_path": "/".join(["abcdefgh"] * 500)}, "bytes long"),
    ({"manifest_path": "a/" * 2040 + "b", "helm_release_filepath": "x.yaml"}, "bytes long"),
    ({"helm_release_filepath": "d" * 256 + ".yaml"}, "261-byte component"),
    ({"manifest_path": "clusters/.GIT/x"}, "reads as .git"),
    ({"manifest_path": "clusters/.Git"}, "reads as .git"),
    ({"manifest_path": "clusters/.git./x"}, "reads as .git"),
    ({"manifest_path": "clusters/.git /x"}, "reads as .git"),
    ({"manifest_path": "clusters/GIT~1/x"}, "reads as .git"),
    ({"manifest_path": "clusters/.git::$INDEX_ALLOCATION"}, "reads as .git"),
    ({"manifest_path": "clusters/.g\u200cit"}, "reads as .git"),
    ({"helm_release_filepath": ".git/agent.yaml"}, "reads as .git"),
    ({"manifest_path": "clusters\\prod"}, "contains a backslash"),
    ({"manifest_path": "clusters/a\x00b"}, "control character '\\x00'"),
    ({"manifest_path": "clusters/a\nb"}, "control character '\\n'"),
    ({"manifest_path": "clusters/\x1b[2J"}, "control character '\\x1b'"),
    ({"helm_release_filepath": "agent.yaml/"}, "names a directory"),
    ({"helm_release_filepath": "a\tb.yaml"}, "control character"),
    ({"environment_name": "prod\x00"}, "control character"),
    ({"commit_author_name": "me\x7f"}, "control character"),
    ({"manifest_path": "clusters/\udcff"}, "not valid UTF-8"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "message"), UNHOLDABLE_PATHS)
def test_paths_git_or_a_checkout_cannot_hold_are_usage_errors(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(message)) as caught:
        build_settings(agent="a", **options)
    assert caught.value.exit_code == 2
    line = caught.value.one_line()
    assert "\n" not in line and "\x00" not in line and "\x1b" not in line
    assert len(line) < 400  # a 5,000-character path is not echoed whole


def test_a_long_but_holdable_path_is_accepted() -> None:
    settings = build_settings(agent="a", manifest_path="clusters/" + "x" * 255 + "/./")
    assert settings.manifest_path == "clusters/" + "x" * 255


# Issue 21 item 4: a token in a values file (or any option) is refused, never echoed.
AGENT_TOKEN = "glagent-" + "Xy3_" * 12 + "ab"


@pytest.mark.parametrize(
    ("content", "key"),
    [
        (f"config:\n  token: {AGENT_TOKEN}\n", "config.token"),
        ("config:\n  token: not-prefixed-but-still-a-token\n", "config.token"),
        (f"extraEnv:\n- name: X\n  value: {AGENT_TOKEN}\n", "extraEnv[0].value"),
        ("a:\n  b: glpat-abcdefghijklmnopqrst\n", "a.b"),
        ("a: 'Bearer glpat-abcdefghij.01.0123456789'\n", "a"),
        ("a: acme-glpat-abcdefghijklmnopqrst\n", "a"),
        ("a: gldt-abcdefghijklmnopqrst\n", "a"),
        ("a: glrt-t1_abcdefghijklmnopqrst\n", "a"),
        ("a: glcbt-64_abcdefghijklmnopqrst\n", "a"),
        ("a: glptt-0123456789abcdef0123\n", "a"),
        ("a: glft-abcdefghijklmnopqrst\n", "a"),
        ("a: glimt-abcdefghijklmnopqrstuvwxy\n", "a"),
        ("a: glsoat-abcdefghijklmnopqrst\n", "a"),
        ("a: gloas-" + "a" * 64 + "\n", "a"),
        ("a: glffct-abcdefghijklmnopqrst\n", "a"),
        ("a: GR1348941abcdefghijklmnopqrst\n", "a"),
        ("list:\n- [x, glpat-abcdefghijklmnopqrst]\n", "list[0][1]"),
    ],
)
def test_a_token_in_a_values_file_is_refused_naming_the_key(
    tmp_path: Path, content: str, key: str
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(content)
    with pytest.raises(UsageError) as caught:
        build_settings(
            agent="a",
            helm_release_values=[str(values)],
            helm_release_target_namespace="agents",
        )
    line = caught.value.one_line()
    assert caught.value.exit_code == 2
    assert key in line and "agents/gitlab-agent-token" in line  # names the key and the Secret
    for word in content.split():
        if len(word) > 12:
            assert word.strip("'[]") not in line  # never echoes the value


@pytest.mark.parametrize(
    "content",
    [
        "image:\n  tag: v17.0.0\n",
        "config:\n  kasAddress: wss://kas.example.com\n  secretName: s\n",
        "a: glpat-short\n",  # a word, not a token
        "a: myglpat-abcdefghijklmnopqrst\n",  # the prefix inside a word
    ],
)
def test_values_without_a_token_are_accepted(tmp_path: Path, content: str) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(content)
    assert build_settings(agent="a", helm_release_values=[str(values)]).helm_release_values


def test_a_token_in_an_option_is_refused_without_echo() -> None:
    with pytest.raises(UsageError) as caught:
        build_settings(agent="a", environment_name=AGENT_TOKEN)
    assert "--environment-name" in caught.value.one_line()
    assert AGENT_TOKEN not in caught.value.one_line()


def test_values_files_too_big_for_kubernetes_or_not_files(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * (2 * 1024 * 1024) + "\n")
    with pytest.raises(UsageError, match="2,097,156 bytes") as caught:
        build_settings(agent="a", helm_release_values=[str(big)])
    assert "1.5 MiB" in caught.value.one_line()
    with pytest.raises(UsageError, match="is a directory"):
        build_settings(agent="a", helm_release_values=[str(tmp_path)])


# Issue 21 item 16: an explicit empty value is an error, never silently the default.
EMPTY_OPTIONS = [
    "helm_release_target_namespace", "helm_release_namespace", "helm_repository_namespace",
    "flux_source_namespace", "environment_namespace", "flux_environment_namespace",
    "helm_release_name", "helm_repository_name", "gitlab_agent_token_secret_name",
    "flux_source_name", "environment_name", "flux_environment_name", "repo",
    "manifest_branch", "helm_repository_address", "helm_repository_filepath",
    "helm_release_filepath", "environment_flux_resource_path", "commit_author_name",
    "commit_author_email", "agent_version", "commit_via", "timeout", "kas_ca_cert",
    "kubeconfig", "context", "output", "flux_source_type",
]  # fmt: skip


@pytest.mark.parametrize("field", EMPTY_OPTIONS)
@pytest.mark.parametrize("blank", ["", "  "])
def test_an_explicit_empty_value_is_an_error(field: str, blank: str) -> None:
    with pytest.raises(UsageError) as caught:
        build_settings(agent="a", **{field: blank})
    assert caught.value.exit_code == 2
    assert caught.value.message == f"--{field.replace('_', '-')} is empty"


@pytest.mark.parametrize("field", ["helm_release_values", "helm_release_values_from", "fix"])
def test_an_explicit_empty_list_item_is_an_error(field: str) -> None:
    with pytest.raises(UsageError, match="is empty"):
        build_settings(agent="a", **{field: ("",)})


def test_an_empty_manifest_path_is_the_repository_root() -> None:
    assert build_settings(agent="a", manifest_path="").manifest_path == ""
