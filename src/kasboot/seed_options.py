"""The install options the agent installation guides describe beyond the default: a
proxy, least-privilege RBAC, the replica count, receptive agents, and which agent the
shared Flux environment points at. Checked by kasboot.seed_input (for
settings.build_settings); turned into the gitlab-agent chart's values here (for
flux/render.py).

The chart's keys (gitlab-org/charts/gitlab-agent values.yaml and templates):
``extraEnv`` (a list of container env entries, passed to agentk verbatim),
``serviceAccount.create`` / ``serviceAccount.name``, ``rbac.create`` (a
ClusterRoleBinding ``<namespace>:<fullname>-<role>``) and ``rbac.useExistingRole`` (the
ClusterRole it binds, default ``cluster-admin``), ``replicas`` (default 2),
``config.receptive.enabled`` and ``config.api.jwtPublicKey``.

Proxy credentials. The HelmRelease is committed to git, so a proxy URL with a user and
password in ``extraEnv[].value`` would be readable by everyone who can read the
repository (and stay in its history). kasboot therefore refuses such a URL as a flag
(argv is visible to every local user and lands in shell history) and in a config file
(which may be committed), accepts it only from the environment (KASBOOT_HTTPS_PROXY /
KASBOOT_HTTP_PROXY), stores it in a Kubernetes Secret next to the token Secret, and
commits only a ``valueFrom.secretKeyRef`` to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kasboot.errors import UsageError
from kasboot.seed_input import PROXY_ENV_NAMES, PROXY_FIELDS, proxy_has_credentials, redacted

if TYPE_CHECKING:
    from kasboot.settings import Settings

RBAC_WARNING = (
    "the chart's default binds the agent's ServiceAccount to cluster-admin: do not use it "
    "in production; give --rbac-role ROLE (a ClusterRole with the least rights it needs) "
    "or --no-rbac (and bind it yourself)"
)


def proxy_secret_name(settings: Settings) -> str:
    """The Secret that holds proxy URLs with credentials (never committed)."""
    return f"{settings.gitlab_agent_token_secret_name}-proxy"[:253]


def receptive_secret_name(settings: Settings) -> str:
    """The Secret the chart renders itself in receptive mode (config.secretName): never
    the token Secret's name, which Helm would take over (and drop ``token`` from)."""
    return f"{settings.gitlab_agent_token_secret_name}-receptive"[:253]


def proxy_env(settings: Settings, kas_address: str | None) -> list[dict[str, Any]]:
    """The ``extraEnv`` entries for the proxy: plain values, or a secretKeyRef to the
    proxy Secret for a URL with credentials. The KAS host is never in NO_PROXY unless the
    user put it there (then it is refused: agentk would bypass the proxy it needs)."""
    entries: list[dict[str, Any]] = []
    for name in PROXY_FIELDS:
        value = getattr(settings, name)
        if not value:
            continue
        env = PROXY_ENV_NAMES[name]
        if name != "no_proxy" and proxy_has_credentials(value):
            entries.append(
                {
                    "name": env,
                    "valueFrom": {
                        "secretKeyRef": {"name": proxy_secret_name(settings), "key": env}
                    },
                }
            )
        else:
            entries.append({"name": env, "value": value})
    return entries


def kas_host_in_no_proxy(settings: Settings, kas_address: str | None) -> str | None:
    """The NO_PROXY entry that matches the KAS host, if any (None: KAS goes via the proxy)."""
    if not settings.no_proxy or not kas_address:
        return None
    host = (urlsplit(kas_address).hostname or "").lower()
    for entry in settings.no_proxy.split(","):
        text = entry.strip().lower()
        if text == "*":
            return entry
        bare = text.lstrip("*").lstrip(".")
        if bare and (host == bare or host.endswith("." + bare)):
            return entry
    return None


def check_no_proxy_against_kas(settings: Settings, kas_address: str | None) -> None:
    entry = kas_host_in_no_proxy(settings, kas_address)
    if entry is not None and (settings.https_proxy or settings.http_proxy):
        host = urlsplit(kas_address or "").hostname
        raise UsageError(
            f"--no-proxy entry {entry!r} matches the KAS host {host}: agentk would bypass the "
            "proxy it needs to reach KAS",
            hint="remove that entry from --no-proxy (or drop the proxy flags if KAS is direct)",
        )


def seed_values(settings: Settings, kas_address: str | None) -> dict[str, Any]:
    """The chart values the seed options give (merged under the user's values files)."""
    values: dict[str, Any] = {}
    env = proxy_env(settings, kas_address)
    if env:
        values["extraEnv"] = env
    account: dict[str, Any] = {}
    if not settings.create_service_account:
        account["create"] = False
    if settings.service_account_name:
        account["name"] = settings.service_account_name
    if account:
        values["serviceAccount"] = account
    rbac: dict[str, Any] = {}
    if not settings.rbac:
        rbac["create"] = False
    if settings.rbac_role:
        rbac["useExistingRole"] = settings.rbac_role
    if rbac:
        values["rbac"] = rbac
    if settings.replicas is not None:
        values["replicas"] = settings.replicas
    return values


def rbac_warning(settings: Settings) -> str | None:
    """The guides' warning, when none of the RBAC options was given."""
    if settings.rbac_role or not settings.rbac or not settings.create_service_account:
        return None
    if settings.service_account_name:
        return None
    return RBAC_WARNING


def seed_summary(settings: Settings) -> list[str]:
    """One line per seed option in effect, for plan and the summary (no credentials)."""
    lines: list[str] = []
    for name in PROXY_FIELDS:
        value = getattr(settings, name)
        if value:
            shown = (
                f"{redacted(value)} (from Secret {proxy_secret_name(settings)})"
                if name != "no_proxy" and proxy_has_credentials(value)
                else value
            )
            lines.append(f"{PROXY_ENV_NAMES[name]}={shown}")
    if settings.service_account_name or not settings.create_service_account:
        made = "created" if settings.create_service_account else "existing"
        lines.append(f"serviceAccount {settings.service_account_name or '<chart default>'} "
                     f"({made})")  # fmt: skip
    if not settings.rbac:
        lines.append("rbac: none created (bind the ServiceAccount yourself)")
    elif settings.rbac_role:
        lines.append(f"rbac: ClusterRole {settings.rbac_role}")
    if settings.replicas is not None:
        lines.append(f"replicas {settings.replicas}")
    if settings.receptive:
        lines.append(f"receptive: GitLab connects to {settings.receptive_url}")
    return lines
