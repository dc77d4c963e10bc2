"""The option choices and plain defaults that declaring the options needs (and so
`kasboot bootstrap --help`): constants here, so that --help imports neither the Settings
dataclass nor the validation it builds on. settings.py uses the same constants;
tests/unit/test_cli_startup.py holds DEFAULTS equal to Settings' own defaults."""

from __future__ import annotations

from types import SimpleNamespace

FLUX_SOURCE_TYPES = ("git", "oci", "helm")
COMMIT_VIA = ("api", "local")
OUTPUT_FORMATS = ("text", "json")
FIXES = ("add-kustomization", "sourceignore")

# glab's defaults, shown by --help (Settings' field defaults)
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
