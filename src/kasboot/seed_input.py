"""The seed options as given (flags, KASBOOT_* variables, a config file) checked and
normalised for settings.build_settings, before any request: proxy URLs (and where a URL
with credentials may come from), NO_PROXY, RBAC, replicas, receptive agents. What they
become in the chart's values is kasboot.seed_options'."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from kasboot.errors import UsageError
from kasboot.validation import check_subdomain

PROXY_FIELDS = ("https_proxy", "http_proxy", "no_proxy")
PROXY_ENV_NAMES = {"https_proxy": "HTTPS_PROXY", "http_proxy": "HTTP_PROXY", "no_proxy": "NO_PROXY"}
FLUX_ENVIRONMENT_AGENT = ("keep", "move")
RECEPTIVE_SCHEMES = ("grpc", "grpcs", "wss", "ws")
MAX_REPLICAS = 100


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
            f"invalid {flag} {redacted(url)!r}",
            hint="give a URL such as http://proxy.example.com:3128",
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise UsageError(f"invalid {flag}: the port is not a number", hint="e.g. :3128") from None
    return url


def redacted(url: str) -> str:
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
