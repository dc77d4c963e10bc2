"""The install options the agent installation guides describe beyond the default: a
proxy, least-privilege RBAC, the replica count, receptive agents, and which agent the
shared Flux environment points at. Validated here (called by settings.build_settings),
turned into the gitlab-agent chart's values here (called by flux/render.py).

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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kasboot.errors import UsageError
from kasboot.validation import check_subdomain

if TYPE_CHECKING:
    from kasboot.settings import Settings

PROXY_FIELDS = ("https_proxy", "http_proxy", "no_proxy")
PROXY_ENV_NAMES = {"https_proxy": "HTTPS_PROXY", "http_proxy": "HTTP_PROXY", "no_proxy": "NO_PROXY"}
FLUX_ENVIRONMENT_AGENT = ("keep", "move")
RECEPTIVE_SCHEMES = ("grpc", "grpcs", "wss", "ws")
MAX_REPLICAS = 100
RBAC_WARNING = (
    "the chart's default binds the agent's ServiceAccount to cluster-admin: do not use it "
    "in production; give --rbac-role ROLE (a ClusterRole with the least rights it needs) "
    "or --no-rbac (and bind it yourself)"
)


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def proxy_has_credentials(url: str) -> bool:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return bool(parts.username or parts.password)


def _check_proxy_url(url: str, flag: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "socks5") or not parts.hostname:
        raise UsageError(
            f"invalid {flag} {_redacted(url)!r}",
            hint="give a URL such as http://proxy.example.com:3128",
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise UsageError(f"invalid {flag}: the port is not a number", hint="e.g. :3128") from None
    return url


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://***@{host}{port}{parts.path}"


def _check_no_proxy(value: str) -> str:
    entries = [item.strip() for item in value.split(",") if item.strip()]
    for entry in entries:
        if any(c.isspace() or c in "\"'=" for c in entry):
            raise UsageError(
                f"invalid --no-proxy entry {entry!r}", hint="e.g. .internal,10.0.0.0/8"
            )
    return ",".join(entries)


def seed_settings(given: Mapping[str, Any], values: dict[str, Any]) -> None:
    """Validate the seed options in ``given`` into ``values`` (build_settings' dict)."""
    for name in ("https_proxy", "http_proxy"):
        url = _text(given.get(name))
        if url is not None:
            values[name] = _check_proxy_url(url, "--" + name.replace("_", "-"))
    no_proxy = _text(given.get("no_proxy"))
    if no_proxy is not None:
        values["no_proxy"] = _check_no_proxy(no_proxy)
    account = _text(given.get("service_account_name"))
    if account is not None:
        values["service_account_name"] = check_subdomain(account, "--service-account-name")
    if values.get("create_service_account") is False and account is None:
        raise UsageError(
            "--no-create-service-account needs --service-account-name",
            hint="name the existing ServiceAccount agentk runs as (the chart then creates none)",
        )
    role = _text(given.get("rbac_role"))
    if role is not None:
        if values.get("rbac") is False:
            raise UsageError(
                "--rbac-role cannot be combined with --no-rbac",
                hint="--rbac-role binds that ClusterRole; --no-rbac binds none",
            )
        values["rbac_role"] = check_subdomain(role, "--rbac-role")
    replicas = _text(given.get("replicas"))
    if replicas is not None:
        if not replicas.isdigit() or not 1 <= int(replicas) <= MAX_REPLICAS:
            raise UsageError(
                f"invalid --replicas {replicas!r}", hint=f"give a whole number 1-{MAX_REPLICAS}"
            )
        values["replicas"] = int(replicas)
    choice = _text(given.get("flux_environment_agent"))
    if choice is not None:
        if choice not in FLUX_ENVIRONMENT_AGENT:
            raise UsageError(
                f"invalid --flux-environment-agent {choice!r}",
                hint="keep (the agent it names today stays) or move (to this agent)",
            )
        values["flux_environment_agent"] = choice
    _receptive_settings(given, values)


def _receptive_settings(given: Mapping[str, Any], values: dict[str, Any]) -> None:
    from kasboot.validation import existing_file

    url = _text(given.get("receptive_url"))
    ca_cert = _text(given.get("receptive_ca_cert"))
    tls_host = _text(given.get("receptive_tls_host"))
    if not values.get("receptive"):
        extra = [flag for flag, v in (("--receptive-url", url), ("--receptive-ca-cert", ca_cert),
                                      ("--receptive-tls-host", tls_host)) if v]  # fmt: skip
        if extra:
            raise UsageError(f"{extra[0]} needs --receptive", hint="add --receptive")
        return
    if url is None:
        raise UsageError(
            "--receptive needs --receptive-url",
            hint="the URL GitLab connects to the agent at, e.g. grpcs://agent.example.com:8082",
        )
    parts = urlsplit(url)
    if parts.scheme not in RECEPTIVE_SCHEMES or not parts.hostname:
        raise UsageError(
            f"invalid --receptive-url {url!r}",
            hint="use grpcs://host:port (recommended), grpc://, wss:// or ws://",
        )
    values["receptive_url"] = url
    # The token reaches the chart through valuesFrom (never git), and Flux reads valuesFrom
    # only in the HelmRelease's own namespace: the HelmRelease lives next to the token.
    target = values.get("helm_release_target_namespace", "gitlab-agent")
    release_namespace = values.get("helm_release_namespace")
    if release_namespace is None:
        values["helm_release_namespace"] = target
    elif release_namespace != target:
        raise UsageError(
            "--receptive needs the HelmRelease in the agent's namespace "
            f"(--helm-release-namespace {release_namespace} is not {target})",
            hint="Flux reads the token Secret (valuesFrom) only in the HelmRelease's namespace, "
            "and the token must not be committed: drop --helm-release-namespace",
        )
    if ca_cert is not None:
        path = existing_file(ca_cert, "--receptive-ca-cert file")
        if "-----BEGIN CERTIFICATE-----" not in path.read_text(encoding="utf-8", errors="replace"):
            raise UsageError(
                f"--receptive-ca-cert file {ca_cert!r} holds no PEM certificate",
                hint="give the CA that signed the agent's certificate, PEM-encoded",
            )
        values["receptive_ca_cert"] = path
    if tls_host is not None:
        values["receptive_tls_host"] = check_subdomain(tls_host, "--receptive-tls-host")


# ---------------------------------------------------------------- chart values


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
                f"{_redacted(value)} (from Secret {proxy_secret_name(settings)})"
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
