"""The table of kasboot's options: one spec per Settings field (flags, help, the
default as --help shows it, choices), the section each belongs to in --help, and which
commands take which options. Pure data: the click layer (cli/options.py) and the wizard
(which spells the equivalent command line) both read it, and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from kasboot.settings import COMMIT_VIA, FIXES, FLUX_SOURCE_TYPES, OUTPUT_FORMATS, Settings


@dataclass(frozen=True)
class Spec:
    name: str  # the Settings field
    flags: tuple[str, ...]
    help: str
    default: str | None = None  # what --help shows
    boolean: bool = False
    negative: str | None = None  # the other spelling of a boolean
    multiple: bool = False
    metavar: str | None = None
    choices: tuple[str, ...] = ()  # shown in --help and offered by completion


def _bool(
    name: str, flag: str, negative: str, help: str, default: bool, short: str | None = None
) -> Spec:
    flags = (short, flag) if short else (flag,)
    return Spec(name, flags, help, str(default).lower(), boolean=True, negative=negative)


_D = Settings(agent="x")
SPECS: tuple[Spec, ...] = (
    Spec("repo", ("-R", "--repo"), "GitLab project: group/project or its URL.",
          "the clone in the current directory", metavar="PROJECT"),
    Spec("manifest_path", ("-p", "--manifest-path"),
          "Directory in the repository for the Flux Helm resources.", "repository root"),
    Spec("manifest_branch", ("-b", "--manifest-branch"), "Branch to commit to.",
          "the project's default branch", metavar="BRANCH"),
    _bool("no_reconcile", "--no-reconcile", "--reconcile", "Do not ask Flux to reconcile.",
          False),
    Spec("helm_repository_address", ("--helm-repository-address",),
          "URL of the agent's Helm repository.", _D.helm_repository_address),
    Spec("helm_repository_name", ("--helm-repository-name",), "Name of the HelmRepository.",
          _D.helm_repository_name),
    Spec("helm_repository_namespace", ("--helm-repository-namespace",),
          "Namespace of the HelmRepository.", _D.helm_repository_namespace),
    Spec("helm_repository_filepath", ("--helm-repository-filepath",),
          "File for the HelmRepository, under the manifest path.",
          _D.helm_repository_filepath),
    Spec("helm_release_name", ("--helm-release-name",),
          "Name of the HelmRelease (and of the Helm release).", _D.helm_release_name),
    Spec("helm_release_namespace", ("--helm-release-namespace",),
          "Namespace of the HelmRelease object.", _D.helm_release_namespace),
    Spec("helm_release_filepath", ("--helm-release-filepath",),
          "File for the HelmRelease, under the manifest path.", _D.helm_release_filepath),
    Spec("helm_release_target_namespace", ("--helm-release-target-namespace",),
          "Namespace agentk runs in (and the token Secret's).",
          _D.helm_release_target_namespace),
    Spec("helm_release_values", ("--helm-release-values",),
          "Local Helm values files, merged in order; repeatable, comma-separated.", "none",
          multiple=True, metavar="FILE"),
    Spec("helm_release_values_from", ("--helm-release-values-from",),
          "Secret/NAME or ConfigMap/NAME holding values; repeatable, comma-separated.",
          "none", multiple=True, metavar="KIND/NAME"),
    Spec("gitlab_agent_token_secret_name", ("--gitlab-agent-token-secret-name",),
          "Name of the Secret holding the agent token.", _D.gitlab_agent_token_secret_name),
    Spec("flux_source_type", ("--flux-source-type",),
          "Kind of the Flux source to reconcile.", _D.flux_source_type,
          choices=FLUX_SOURCE_TYPES),
    Spec("flux_source_namespace", ("--flux-source-namespace",),
          "Namespace of the Flux source.", _D.flux_source_namespace),
    Spec("flux_source_name", ("--flux-source-name",), "Name of the Flux source.",
          _D.flux_source_name),
    _bool("create_environment", "--create-environment", "--no-create-environment",
          "Create a GitLab environment for the agent.", True),
    Spec("environment_name", ("--environment-name",), "Name of the agent's environment.",
          "<helm-release-namespace>/<helm-release-name>"),
    Spec("environment_namespace", ("--environment-namespace",),
          "Kubernetes namespace of the agent's environment.", "<helm-release-target-namespace>"),
    Spec("environment_flux_resource_path", ("--environment-flux-resource-path",),
          "Flux resource path of the agent's environment.",
          "helm.toolkit.fluxcd.io/v2/namespaces/<ns>/helmreleases/<name>"),
    _bool("create_flux_environment", "--create-flux-environment",
          "--no-create-flux-environment", "Create a GitLab environment for Flux.", True),
    Spec("flux_environment_name", ("--flux-environment-name",),
          "Name of the Flux environment.", "<flux-source-namespace>/<flux-source-name>"),
    Spec("flux_environment_namespace", ("--flux-environment-namespace",),
          "Kubernetes namespace of the Flux environment.", "<flux-source-namespace>"),
    Spec("flux_environment_flux_resource_path", ("--flux-environment-flux-resource-path",),
          "Flux resource path of the Flux environment.",
          "kustomize.toolkit.fluxcd.io/v1/namespaces/<ns>/kustomizations/<name>"),
    _bool("use_api_commit_author", "--use-api-commit-author", "--no-use-api-commit-author",
          "Commit as the GitLab API user (excludes --commit-author-*).", False),
    Spec("commit_author_name", ("--commit-author-name",), "Commit author name.", "kasboot"),
    Spec("commit_author_email", ("--commit-author-email",), "Commit author email.",
          "noreply@kasboot.invalid"),
    _bool("rotate_token", "--rotate-token", "--no-rotate-token",
          "Mint a new agent token even when the cluster's is still valid.", False),
    _bool("force", "--force", "--no-force", "Revoke an agent token even when it was used in "
          "the last hour or may be another run's (and, for token revoke, the cluster's).", False),
    Spec("agent_version", ("--agent-version",), "agentk image tag to pin.",
          "the GitLab instance's KAS version", metavar="TAG"),
    _bool("pin_version", "--pin-version", "--no-pin-version",
          "Pin agentk's image tag to the KAS version (else the chart's default).", True),
    Spec("commit_via", ("--commit-via",), "Commit through the GitLab API or the local clone.",
          "api", choices=COMMIT_VIA),
    Spec("timeout", ("--timeout",), "How long to wait for Flux, and at most for the cluster "
          "over the whole run: 90s, 5m, 1h30m or seconds.", "5m"),
    Spec("kas_ca_cert", ("--kas-ca-cert",), "PEM file of the CA that signed KAS's certificate.",
          "none", metavar="FILE"),
    Spec("ca_file", ("--ca-file",), "PEM file of the CA(s) to trust for GitLab's API (else "
          "glab's ca_cert, python-gitlab's ssl_verify, SSL_CERT_FILE, REQUESTS_CA_BUNDLE).",
          "system CAs", metavar="FILE"),
    Spec("fix", ("--fix",), "Repair a Flux layout problem (repeatable, "
          "comma-separated).", "none", multiple=True, choices=FIXES),
    _bool("skip_preflight", "--skip-preflight", "--no-skip-preflight",
          "Skip the pre-flight checks (the topology guard included).", False),
    _bool("dry_run", "--dry-run", "--no-dry-run", "Show every change; write nothing.", False),
    Spec("kubeconfig", ("--kubeconfig",), "Kubeconfig file.", "$KUBECONFIG or ~/.kube/config",
          metavar="FILE"),
    Spec("context", ("--context",), "Kubeconfig context.", "the current context"),
    Spec("output", ("-o", "--output"), "Output format.", "text",
          choices=OUTPUT_FORMATS),
    _bool("verbose", "--verbose", "--no-verbose", "Say more.", False, short="-v"),
)  # fmt: skip


SPECS_BY_NAME = {spec.name: spec for spec in SPECS}

# --help sections, in the order they are shown; every spec belongs to exactly one.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GitLab", ("repo", "manifest_branch", "ca_file")),
    (
        "Flux and Helm",
        (
            "manifest_path", "helm_repository_address", "helm_repository_name",
            "helm_repository_namespace", "helm_repository_filepath", "helm_release_name",
            "helm_release_namespace", "helm_release_filepath", "helm_release_target_namespace",
            "helm_release_values", "helm_release_values_from", "gitlab_agent_token_secret_name",
            "agent_version", "pin_version", "kas_ca_cert", "flux_source_type",
            "flux_source_namespace", "flux_source_name", "no_reconcile", "fix",
        ),
    ),
    (
        "Environments",
        (
            "create_environment", "environment_name", "environment_namespace",
            "environment_flux_resource_path", "create_flux_environment", "flux_environment_name",
            "flux_environment_namespace", "flux_environment_flux_resource_path",
        ),
    ),
    ("Commit", ("commit_via", "use_api_commit_author", "commit_author_name",
                "commit_author_email")),
    ("Agent token", ("rotate_token", "force")),
    ("Cluster", ("kubeconfig", "context", "timeout")),
    ("Run and output", ("dry_run", "skip_preflight", "output", "verbose")),
)  # fmt: skip
GROUP_OF = {name: title for title, names in GROUPS for name in names}

_ALL = tuple(spec.name for spec in SPECS)
_CONNECT = ("repo", "ca_file", "kubeconfig", "context", "timeout")
_RUN = ("output", "verbose")
# What bootstrap records on the token Secret (ownership.RECORDED_FIELDS, spelled out
# here so that --help does not import the cluster seam; a unit test holds them equal).
# The commands that look at a bootstrapped agent take them: the record fills what is
# not given, and a flag that contradicts it is refused.
RECORDED_FIELDS = (
    "manifest_path", "manifest_branch", "helm_repository_name", "helm_repository_namespace",
    "helm_repository_filepath", "helm_release_name", "helm_release_namespace",
    "helm_release_filepath", "helm_release_target_namespace", "gitlab_agent_token_secret_name",
    "flux_source_type", "flux_source_namespace", "flux_source_name", "create_environment",
    "environment_name", "create_flux_environment", "flux_environment_name",
)  # fmt: skip
_RENDERED = (
    "manifest_path", "helm_repository_address", "helm_repository_name",
    "helm_repository_namespace", "helm_repository_filepath", "helm_release_name",
    "helm_release_namespace", "helm_release_filepath", "helm_release_target_namespace",
    "helm_release_values", "helm_release_values_from", "gitlab_agent_token_secret_name",
    "agent_version", "pin_version", "kas_ca_cert",
)  # fmt: skip
_COMMIT = ("commit_via", "use_api_commit_author", "commit_author_name", "commit_author_email")

# command -> the Settings fields it takes as options (each command lists only these).
COMMAND_OPTIONS: dict[str, tuple[str, ...]] = {
    "bootstrap": _ALL,
    "plan": tuple(name for name in _ALL if name != "dry_run"),
    "wizard": tuple(name for name in _ALL if name not in ("dry_run", "output")),
    "render": ("repo", "ca_file", "timeout", *_RENDERED, *_RUN),
    "doctor": (*_CONNECT, *RECORDED_FIELDS, "no_reconcile", "commit_via", *_RUN),
    "status": (*_CONNECT, *RECORDED_FIELDS, *_RUN),
    "token rotate": (*_CONNECT, *RECORDED_FIELDS, "force", "dry_run", *_RUN),
    "token list": (*_CONNECT, *RECORDED_FIELDS, *_RUN),
    "token revoke": (*_CONNECT, *RECORDED_FIELDS, "force", "dry_run", *_RUN),
    "uninstall": (*_CONNECT, *RECORDED_FIELDS, "no_reconcile", *_COMMIT, "dry_run", *_RUN),
}


def env_var(name: str) -> str:
    return f"KASBOOT_{name.upper()}"
