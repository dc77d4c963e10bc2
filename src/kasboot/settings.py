"""Every option of a bootstrap run in one frozen dataclass, with glab's defaults.

`build_settings` is the single gate between what a user typed (flags, environment,
config file) and the rest of kasboot: it normalises and validates everything that can
be checked without a request, so a mistake costs an exit code 2 and nothing written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kasboot.errors import UsageError
from kasboot.input_checks import check_not_empty, check_option_texts, check_repo_path
from kasboot.seed_input import seed_settings
from kasboot.validation import (
    ValuesFrom,
    check_branch,
    check_ca_cert,
    check_choice,
    check_environment_name,
    check_flux_resource_path,
    check_helm_repository_address,
    check_label,
    check_manifest_file,
    check_subdomain,
    check_values_file,
    check_values_files_hold_no_token,
    existing_file,
    normalise_repo_path,
    parse_bool,
    parse_duration,
    parse_values_from,
    split_list,
    validate_agent_name,
)

AGENT_CONFIG_DIR = ".gitlab/agents"
DEFAULT_COMMIT_AUTHOR_NAME = "kasboot"
DEFAULT_COMMIT_AUTHOR_EMAIL = "noreply@kasboot.invalid"
FLUX_SOURCE_TYPES = ("git", "oci", "helm")
COMMIT_VIA = ("api", "local")
OUTPUT_FORMATS = ("text", "json")
FIXES = ("add-kustomization", "sourceignore")

_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Settings:
    agent: str
    repo: str | None = None
    manifest_path: str = ""
    manifest_branch: str | None = None
    no_reconcile: bool = False
    helm_repository_address: str = "https://charts.gitlab.io"
    helm_repository_name: str = "gitlab"
    helm_repository_namespace: str = "flux-system"
    helm_repository_filepath: str = "gitlab-helm-repository.yaml"
    helm_release_name: str = "gitlab-agent"
    helm_release_namespace: str = "flux-system"
    helm_release_filepath: str = "gitlab-agent-helm-release.yaml"
    helm_release_target_namespace: str = "gitlab-agent"
    helm_release_values: tuple[Path, ...] = ()
    helm_release_values_from: tuple[ValuesFrom, ...] = ()
    gitlab_agent_token_secret_name: str = "gitlab-agent-token"
    flux_source_type: str = "git"
    flux_source_namespace: str = "flux-system"
    flux_source_name: str = "flux-system"
    create_environment: bool = True
    environment_name: str | None = None
    environment_namespace: str | None = None
    environment_flux_resource_path: str | None = None
    create_flux_environment: bool = True
    flux_environment_name: str | None = None
    flux_environment_namespace: str | None = None
    flux_environment_flux_resource_path: str | None = None
    use_api_commit_author: bool = False
    commit_author_name: str | None = None
    commit_author_email: str | None = None
    rotate_token: bool = False
    force: bool = False  # revoke a token in recent use (or the cluster's, for token revoke)
    agent_version: str | None = None
    pin_version: bool = True
    commit_via: str = "api"
    timeout: float = 300.0
    kas_ca_cert: Path | None = None
    ca_file: Path | None = None  # CA bundle for GitLab's API (credentials may name one)
    fix: tuple[str, ...] = ()
    skip_preflight: bool = False
    dry_run: bool = False
    kubeconfig: Path | None = None
    context: str | None = None
    output: str = "text"
    verbose: bool = False
    # the seed options (kasboot.seed_options)
    https_proxy: str | None = field(default=None, repr=False)  # may hold credentials
    http_proxy: str | None = field(default=None, repr=False)
    no_proxy: str | None = None
    service_account_name: str | None = None
    create_service_account: bool = True
    rbac_role: str | None = None
    rbac: bool = True
    replicas: int | None = None
    receptive: bool = False
    receptive_url: str | None = None
    receptive_ca_cert: Path | None = None
    receptive_tls_host: str | None = None
    flux_environment_agent: str = "keep"

    @property
    def env_name(self) -> str:
        return self.environment_name or f"{self.helm_release_namespace}/{self.helm_release_name}"

    @property
    def env_namespace(self) -> str:
        return self.environment_namespace or self.helm_release_target_namespace

    @property
    def env_flux_resource_path(self) -> str:
        return self.environment_flux_resource_path or (
            f"helm.toolkit.fluxcd.io/v2/namespaces/{self.helm_release_namespace}"
            f"/helmreleases/{self.helm_release_name}"
        )

    @property
    def flux_env_name(self) -> str:
        return self.flux_environment_name or f"{self.flux_source_namespace}/{self.flux_source_name}"

    @property
    def flux_env_namespace(self) -> str:
        return self.flux_environment_namespace or self.flux_source_namespace

    @property
    def flux_env_flux_resource_path(self) -> str:
        return self.flux_environment_flux_resource_path or (
            f"kustomize.toolkit.fluxcd.io/v1/namespaces/{self.flux_source_namespace}"
            f"/kustomizations/{self.flux_source_name}"
        )

    @property
    def agent_config_path(self) -> str:
        return f"{AGENT_CONFIG_DIR}/{self.agent}/config.yaml"

    @property
    def helm_repository_path(self) -> str:
        return _join_repo_path(self.manifest_path, self.helm_repository_filepath)

    @property
    def helm_release_path(self) -> str:
        return _join_repo_path(self.manifest_path, self.helm_release_filepath)

    @property
    def author_name(self) -> str | None:
        """None means: let GitLab use the API user (--use-api-commit-author)."""
        if self.use_api_commit_author:
            return None
        return self.commit_author_name or DEFAULT_COMMIT_AUTHOR_NAME

    @property
    def author_email(self) -> str | None:
        if self.use_api_commit_author:
            return None
        return self.commit_author_email or DEFAULT_COMMIT_AUTHOR_EMAIL


SETTINGS_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Settings))
BOOLEAN_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(Settings) if f.type in ("bool", bool)
)


def _join_repo_path(directory: str, filename: str) -> str:
    return f"{directory}/{filename}" if directory else filename


def _optional_str(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def build_settings(**options: Any) -> Settings:
    """Settings from CLI/env/config values (None = default), validated before any request.

    Values may be typed (bool, tuple, Path) or raw strings as found in the
    environment or a config file; unknown names are a usage error.
    """
    unknown = sorted(set(options) - set(SETTINGS_FIELDS))
    if unknown:
        raise UsageError(
            f"unknown option(s): {', '.join(unknown)}", hint="see `kasboot bootstrap --help`"
        )
    given = {name: value for name, value in options.items() if value is not None}
    check_option_texts(given)  # control characters, NUL included, from any source
    check_not_empty(given, BOOLEAN_FIELDS)  # "" is a mistake, never the default
    agent = str(given.pop("agent", "")).strip()
    validate_agent_name(agent)
    values: dict[str, Any] = {"agent": agent}
    defaults = Settings(agent=agent)

    for name in BOOLEAN_FIELDS:
        if name in given:
            values[name] = parse_bool(given[name], "--" + name.replace("_", "-"))

    repo = _optional_str(given.get("repo"))
    if repo is not None:
        values["repo"] = repo.rstrip("/")
    if "manifest_path" in given:
        values["manifest_path"] = normalise_repo_path(str(given["manifest_path"]), "manifest path")
    branch = _optional_str(given.get("manifest_branch"))
    if branch is not None:
        values["manifest_branch"] = check_branch(branch)

    if "helm_repository_address" in given:
        values["helm_repository_address"] = check_helm_repository_address(
            str(given["helm_repository_address"]).strip()
        )
    for name, what in (
        ("helm_repository_name", "HelmRepository name"),
        ("gitlab_agent_token_secret_name", "Secret name"),
        ("flux_source_name", "Flux source name"),
    ):
        if name in given:
            values[name] = check_subdomain(str(given[name]).strip(), what)
    if "helm_release_name" in given:
        # Also the Helm release name, which Helm caps at 53 characters.
        values["helm_release_name"] = check_subdomain(
            str(given["helm_release_name"]).strip(), "HelmRelease name", limit=53
        )
    for name, what in (
        ("helm_repository_namespace", "HelmRepository namespace"),
        ("helm_release_namespace", "HelmRelease namespace"),
        ("helm_release_target_namespace", "target namespace"),
        ("flux_source_namespace", "Flux source namespace"),
        ("environment_namespace", "environment namespace"),
        ("flux_environment_namespace", "Flux environment namespace"),
    ):
        text = _optional_str(given.get(name))
        if text is not None:
            values[name] = check_label(text, what)
    for name, what in (
        ("helm_repository_filepath", "--helm-repository-filepath"),
        ("helm_release_filepath", "--helm-release-filepath"),
    ):
        if name in given:
            values[name] = check_manifest_file(str(given[name]), what)

    values["helm_release_values"] = tuple(
        check_values_file(existing_file(item, "values file"))
        for item in split_list(given.get("helm_release_values"))
    )
    values["helm_release_values_from"] = tuple(
        parse_values_from(item) for item in split_list(given.get("helm_release_values_from"))
    )
    if "flux_source_type" in given:
        values["flux_source_type"] = check_choice(
            str(given["flux_source_type"]), FLUX_SOURCE_TYPES, "--flux-source-type"
        )
    for name, what in (
        ("environment_name", "--environment-name"),
        ("flux_environment_name", "--flux-environment-name"),
    ):
        text = _optional_str(given.get(name))
        if text is not None:
            values[name] = check_environment_name(text, what)
    for name, what in (
        ("environment_flux_resource_path", "--environment-flux-resource-path"),
        ("flux_environment_flux_resource_path", "--flux-environment-flux-resource-path"),
    ):
        text = _optional_str(given.get(name))
        if text is not None:
            values[name] = check_flux_resource_path(text, what)

    _author_options(given, values)
    _kasboot_options(given, values)
    seed_settings(given, values)
    settings = Settings(**{**{f: getattr(defaults, f) for f in SETTINGS_FIELDS}, **values})
    check_consistency(settings)
    check_values_files_hold_no_token(
        settings.helm_release_values,
        settings.helm_release_target_namespace,
        settings.gitlab_agent_token_secret_name,
    )
    return settings


def _author_options(given: Mapping[str, Any], values: dict[str, Any]) -> None:
    name = _optional_str(given.get("commit_author_name"))
    email = _optional_str(given.get("commit_author_email"))
    if values.get("use_api_commit_author") and (name or email):
        raise UsageError(
            "--use-api-commit-author cannot be combined with --commit-author-name/-email",
            hint="drop one: the API user is the author, or the name and email you give",
        )
    if email is not None and not re.match(r"^[^@\s<>]+@[^@\s<>]+$", email):
        raise UsageError(f"invalid --commit-author-email {email!r}", hint="use name@example.com")
    if name is not None and any(c in name for c in "<>\n"):
        raise UsageError(f"invalid --commit-author-name {name!r}", hint="remove '<', '>'")
    values["commit_author_name"] = name
    values["commit_author_email"] = email


def _kasboot_options(given: Mapping[str, Any], values: dict[str, Any]) -> None:
    version = _optional_str(given.get("agent_version"))
    if version is not None:
        if not _IMAGE_TAG.match(version):
            raise UsageError(
                f"invalid --agent-version {version!r}", hint="use an image tag such as v18.2.1"
            )
        if values.get("pin_version") is False:
            raise UsageError(
                "--agent-version cannot be combined with --no-pin-version",
                hint="--agent-version pins that tag; --no-pin-version uses the chart's",
            )
        values["agent_version"] = version
    if "commit_via" in given:
        values["commit_via"] = check_choice(str(given["commit_via"]), COMMIT_VIA, "--commit-via")
    if "timeout" in given:
        values["timeout"] = parse_duration(given["timeout"])
    if _optional_str(given.get("kas_ca_cert")) is not None:
        values["kas_ca_cert"] = check_ca_cert(given["kas_ca_cert"])
    if _optional_str(given.get("ca_file")) is not None:
        values["ca_file"] = existing_file(given["ca_file"], "--ca-file")
    fixes = []
    for item in split_list(given.get("fix")):
        fix = check_choice(item, FIXES, "--fix")
        if fix not in fixes:
            fixes.append(fix)
    values["fix"] = tuple(fixes)
    if _optional_str(given.get("kubeconfig")) is not None:
        values["kubeconfig"] = existing_file(given["kubeconfig"], "--kubeconfig file")
    context = _optional_str(given.get("context"))
    if context is not None:
        values["context"] = context
    if "output" in given:
        values["output"] = check_choice(str(given["output"]), OUTPUT_FORMATS, "--output")


def check_consistency(settings: Settings) -> None:
    if settings.helm_repository_path == settings.helm_release_path:
        raise UsageError(
            f"the HelmRepository and the HelmRelease would both be written to "
            f"{settings.helm_release_path!r}",
            hint="give --helm-repository-filepath and --helm-release-filepath different names",
        )
    agent_dir = f"{AGENT_CONFIG_DIR}/{settings.agent}"
    for path in (settings.helm_repository_path, settings.helm_release_path):
        check_repo_path(path, "manifest file")  # the joined path: PATH_MAX applies to it
        if path == settings.agent_config_path or path.startswith(AGENT_CONFIG_DIR + "/"):
            raise UsageError(
                f"manifest file {path!r} lies in {AGENT_CONFIG_DIR}/",
                hint=f"GitLab reads {agent_dir}/ as agent configuration: choose another "
                "--manifest-path",
            )
    if len(f"{settings.helm_release_namespace}-{settings.helm_release_name}") > 253:
        raise UsageError(
            "HelmRelease namespace and name are too long together",
            hint="Flux names the HelmChart <namespace>-<name>, at most 253 characters",
        )
