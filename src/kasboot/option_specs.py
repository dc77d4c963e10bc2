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

# The install options the GitLab docs describe (kasboot.seed_options turns them into chart
# values and checks): proxy, RBAC, replicas, receptive agents, a shared Flux environment.
SEED_SPECS: tuple[Spec, ...] = (
    Spec("https_proxy", ("--https-proxy",), "Proxy agentk uses for HTTPS (HTTPS_PROXY in the "
         "chart's extraEnv). A URL with credentials only from KASBOOT_HTTPS_PROXY: kasboot "
         "keeps it in a Secret.", "none", metavar="URL"),
    Spec("http_proxy", ("--http-proxy",), "Proxy agentk uses for HTTP (HTTP_PROXY in "
         "extraEnv); credentials as above.", "none", metavar="URL"),
    Spec("no_proxy", ("--no-proxy",), "Comma-separated hosts agentk reaches directly "
         "(NO_PROXY); never the KAS host while a proxy is set.", "none", metavar="HOSTS"),
    Spec("service_account_name", ("--service-account-name",), "ServiceAccount agentk runs "
         "as (serviceAccount.name).", "the chart's (the release's full name)", metavar="NAME"),
    _bool("create_service_account", "--create-service-account", "--no-create-service-account",
          "Let the chart create the ServiceAccount; --no-create-service-account uses an "
          "existing one (needs --service-account-name).", True),
    Spec("rbac_role", ("--rbac-role",), "ClusterRole the chart binds the ServiceAccount to "
         "(rbac.useExistingRole).", "cluster-admin", metavar="ROLE"),
    _bool("rbac", "--rbac", "--no-rbac", "Let the chart create the ClusterRoleBinding; "
          "--no-rbac creates none (rbac.create=false: bind it yourself).", True),
    Spec("replicas", ("--replicas",), "Number of agentk pods (replicas).", "2", metavar="N"),
    _bool("receptive", "--receptive", "--no-receptive", "Receptive agent: GitLab connects "
          "to agentk (GitLab 17.4+, self-managed, Ultimate); needs --receptive-url.", False),
    Spec("receptive_url", ("--receptive-url",), "URL GitLab connects to the agent at: "
         "grpcs://host:port (or grpc://, wss://).", "none", metavar="URL"),
    Spec("receptive_ca_cert", ("--receptive-ca-cert",), "PEM CA GitLab verifies the "
         "receptive agent's certificate with.", "none", metavar="FILE"),
    Spec("receptive_tls_host", ("--receptive-tls-host",), "Host name GitLab expects in the "
         "receptive agent's certificate.", "none", metavar="HOST"),
    Spec("flux_environment_agent", ("--flux-environment-agent",), "When the Flux "
         "environment already names another agent of this cluster: keep it there, or move "
         "it to this agent.", "keep", choices=("keep", "move")),
)  # fmt: skip
SPECS += SEED_SPECS
SEED_FIELDS = tuple(spec.name for spec in SEED_SPECS)


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
            "flux_environment_agent",
        ),
    ),
    (
        "Agent install (proxy, RBAC, receptive)",
        (
            "https_proxy", "http_proxy", "no_proxy", "service_account_name",
            "create_service_account", "rbac_role", "rbac", "replicas", "receptive",
            "receptive_url", "receptive_ca_cert", "receptive_tls_host",
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
    *(name for name in SEED_FIELDS if name != "flux_environment_agent"),
)  # fmt: skip
_COMMIT = ("commit_via", "use_api_commit_author", "commit_author_name", "commit_author_email")

# command -> the Settings fields it takes as options (each command lists only these).
COMMAND_OPTIONS: dict[str, tuple[str, ...]] = {
    "bootstrap": _ALL,
    "plan": tuple(name for name in _ALL if name != "dry_run"),
    "wizard": tuple(name for name in _ALL if name not in ("dry_run", "output")),
    "render": ("repo", "ca_file", "timeout", *_RENDERED, "output"),
    "doctor": (*_CONNECT, *RECORDED_FIELDS, "no_reconcile", "commit_via", *_RUN),
    "status": (*_CONNECT, *RECORDED_FIELDS, *_RUN),
    "token rotate": (*_CONNECT, *RECORDED_FIELDS, "force", "dry_run", *_RUN),
    "token list": (*_CONNECT, *RECORDED_FIELDS, *_RUN),
    "token revoke": (*_CONNECT, *RECORDED_FIELDS, "force", "dry_run", *_RUN),
    "uninstall": (*_CONNECT, *RECORDED_FIELDS, "no_reconcile", *_COMMIT, "dry_run", *_RUN),
}


def env_var(name: str) -> str:
    return f"KASBOOT_{name.upper()}"
