"""The defaults `--help` shows for the options whose default is a plain value (glab's
defaults). They are Settings' own defaults, kept here as constants so that declaring the
options (and printing `kasboot bootstrap --help`) needs neither the Settings dataclass
nor the validation it imports; tests/unit/test_cli_startup.py holds the two equal."""

from __future__ import annotations

from types import SimpleNamespace

DEFAULTS = SimpleNamespace(
    helm_repository_address="https://charts.gitlab.io",
    helm_repository_name="gitlab",
    helm_repository_namespace="flux-system",
    helm_repository_filepath="gitlab-helm-repository.yaml",
    helm_release_name="gitlab-agent",
    helm_release_namespace="flux-system",
    helm_release_filepath="gitlab-agent-helm-release.yaml",
    helm_release_target_namespace="gitlab-agent",
    gitlab_agent_token_secret_name="gitlab-agent-token",
    flux_source_type="git",
    flux_source_namespace="flux-system",
    flux_source_name="flux-system",
)
