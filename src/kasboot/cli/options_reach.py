"""The seed options' flags (kasboot.seed_options), shared by bootstrap, plan, render and
the wizard: cli/options.py appends them to its SPECS. Each is a dict of that module's
_Spec fields, so this module needs nothing from it (no import cycle).

A proxy URL with credentials is refused as a flag and from a config file: argv is
readable by every local user and lands in shell history, and a config file may be
committed. It is accepted from the environment (KASBOOT_HTTPS_PROXY, KASBOOT_HTTP_PROXY)
only; see kasboot.seed_options for where it then goes (a Secret, never git)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kasboot.errors import UsageError
from kasboot.seed_options import proxy_has_credentials

REACH_SPECS: tuple[dict[str, Any], ...] = (
    {"name": "https_proxy", "flags": ("--https-proxy",), "metavar": "URL", "default": "none",
     "help": "Proxy agentk uses for HTTPS (HTTPS_PROXY in the chart's extraEnv). A URL with "
             "credentials only from KASBOOT_HTTPS_PROXY: kasboot keeps it in a Secret."},
    {"name": "http_proxy", "flags": ("--http-proxy",), "metavar": "URL", "default": "none",
     "help": "Proxy agentk uses for HTTP (HTTP_PROXY in extraEnv); credentials as above."},
    {"name": "no_proxy", "flags": ("--no-proxy",), "metavar": "HOSTS", "default": "none",
     "help": "Comma-separated hosts agentk reaches directly (NO_PROXY); never the KAS host "
             "while a proxy is set."},
    {"name": "service_account_name", "flags": ("--service-account-name",), "metavar": "NAME",
     "default": "the chart's (the release's full name)",
     "help": "ServiceAccount agentk runs as (serviceAccount.name)."},
    {"name": "create_service_account", "flags": ("--create-service-account",),
     "negative": "--no-create-service-account", "boolean": True, "default": "true",
     "help": "Let the chart create the ServiceAccount; --no-create-service-account uses an "
             "existing one (needs --service-account-name)."},
    {"name": "rbac_role", "flags": ("--rbac-role",), "metavar": "ROLE", "default": "cluster-admin",
     "help": "ClusterRole the chart binds the ServiceAccount to (rbac.useExistingRole)."},
    {"name": "rbac", "flags": ("--rbac",), "negative": "--no-rbac", "boolean": True,
     "default": "true",
     "help": "Let the chart create the ClusterRoleBinding; --no-rbac creates none "
             "(rbac.create=false: bind it yourself)."},
    {"name": "replicas", "flags": ("--replicas",), "metavar": "N", "default": "2",
     "help": "Number of agentk pods (replicas)."},
    {"name": "receptive", "flags": ("--receptive",), "negative": "--no-receptive",
     "boolean": True, "default": "false",
     "help": "Receptive agent: GitLab connects to agentk (GitLab 17.4+, self-managed, "
             "Ultimate); needs --receptive-url."},
    {"name": "receptive_url", "flags": ("--receptive-url",), "metavar": "URL", "default": "none",
     "help": "URL GitLab connects to the agent at: grpcs://host:port (or grpc://, wss://)."},
    {"name": "receptive_ca_cert", "flags": ("--receptive-ca-cert",), "metavar": "FILE",
     "default": "none", "help": "PEM CA GitLab verifies the receptive agent's certificate with."},
    {"name": "receptive_tls_host", "flags": ("--receptive-tls-host",), "metavar": "HOST",
     "default": "none", "help": "Host name GitLab expects in the receptive agent's certificate."},
    {"name": "flux_environment_agent", "flags": ("--flux-environment-agent",),
     "metavar": "keep|move", "default": "keep",
     "help": "When the Flux environment already names another agent of this cluster: keep it "
             "there, or move it to this agent."},
)  # fmt: skip

PROXY_FLAGS = {"https_proxy": "--https-proxy", "http_proxy": "--http-proxy"}


def check_proxy_sources(
    params: Mapping[str, Any], from_file: Mapping[str, Any], config_path: object
) -> None:
    """Refuse a proxy URL with credentials given as a flag or in the config file (the
    click context says whether a value came from the command line or the environment)."""
    import click
    from click.core import ParameterSource

    ctx = click.get_current_context(silent=True)
    for name, flag in PROXY_FLAGS.items():
        value = from_file.get(name)
        given = params.get(name)
        on_command_line = (
            ctx is not None
            and ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
            and isinstance(given, str)
            and proxy_has_credentials(given)
        )
        if on_command_line:
            raise UsageError(
                f"{flag} holds credentials, which a flag would show to every local user",
                hint=f"export KASBOOT_{name.upper()}=URL instead (kasboot keeps it in a "
                "Kubernetes Secret, never in git)",
            )
        if isinstance(value, str) and proxy_has_credentials(value):
            raise UsageError(
                f"{flag.lstrip('-')} in config file {config_path} holds credentials, which a "
                "committed file would leak",
                hint=f"remove it there and export KASBOOT_{name.upper()}=URL instead",
            )
