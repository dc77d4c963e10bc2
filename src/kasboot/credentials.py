"""Where the GitLab URL and token come from. Never from a flag: a token in argv is
visible to every user of the machine.

Token, first found: GITLAB_TOKEN / GITLAB_ACCESS_TOKEN / OAUTH_TOKEN (glab's
variables), glab's config file (per-host token), python-gitlab's config file.
Host, first found: the host of a URL given to -R (or GITLAB_REPO), GITLAB_HOST /
GL_HOST, the local clone's remote, CI_SERVER_URL, the single host a config file names as
its default, https://gitlab.com.

Kind: an OAuth token (``OAUTH_TOKEN``, glab's ``is_oauth2: "true"`` from `glab auth
login`'s web flow, python-gitlab's ``oauth_token``) goes as ``Authorization: Bearer``;
every other token as ``PRIVATE-TOKEN``, the only ways GitLab accepts each.
CA to trust for GitLab's TLS, first found: ``--ca-file``, glab's per-host ``ca_cert``,
python-gitlab's ``ssl_verify`` (a path), ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from kasboot.errors import UsageError

DEFAULT_URL = "https://gitlab.com"
TOKEN_VARIABLES = ("GITLAB_TOKEN", "GITLAB_ACCESS_TOKEN", "OAUTH_TOKEN")
HOST_VARIABLES = ("GITLAB_HOST", "GL_HOST")
_BOOLEAN_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0"}


@dataclass(frozen=True)
class GitLabCredentials:
    url: str
    token: str = field(repr=False)
    source: str
    kind: str = "pat"  # "pat" (PRIVATE-TOKEN) or "oauth" (Authorization: Bearer)
    ca_file: str | None = None  # a CA bundle to trust for this host, from a config file

    def __str__(self) -> str:
        return f"{self.url} (token from {self.source})"


def normalise_url(host: str) -> str:
    """ "gitlab.example.com" -> "https://gitlab.example.com"; drops a trailing /api/v4."""
    text = host.strip().rstrip("/")
    if "://" not in text:
        text = "https://" + text
    if text.endswith("/api/v4"):
        text = text[: -len("/api/v4")]
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"invalid GitLab host {host!r}", hint="use e.g. https://gitlab.example.com"
        )
    netloc = parts.hostname.lower() + (f":{parts.port}" if parts.port else "")
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _netloc(url: str) -> str:
    return urlsplit(normalise_url(url)).netloc


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or str(Path.home()))


def xdg_config_home(env: Mapping[str, str], platform: str = sys.platform) -> Path:
    if env.get("XDG_CONFIG_HOME"):
        return Path(env["XDG_CONFIG_HOME"])
    home = _home(env)
    if platform == "darwin":
        return home / "Library" / "Application Support"
    if platform.startswith("win") and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"])
    return home / ".config"


def glab_config_dir(env: Mapping[str, str], platform: str = sys.platform) -> Path:
    """As glab finds it (internal/config ConfigDir): $GLAB_CONFIG_DIR; the legacy
    ~/.config/glab-cli while its config.yml exists; else <XDG config home>/glab-cli."""
    if env.get("GLAB_CONFIG_DIR"):
        return Path(env["GLAB_CONFIG_DIR"])
    legacy = _home(env) / ".config" / "glab-cli"
    if (legacy / "config.yml").is_file():
        return legacy
    return xdg_config_home(env, platform) / "glab-cli"


def glab_config_path(env: Mapping[str, str]) -> Path:
    return glab_config_dir(env) / "config.yml"


def python_gitlab_config_paths(env: Mapping[str, str]) -> list[Path]:
    if env.get("PYTHON_GITLAB_CFG"):
        return [Path(env["PYTHON_GITLAB_CFG"])]
    config_home = (
        Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else _home(env) / ".config"
    )
    return [
        _home(env) / ".python-gitlab.cfg",
        config_home / "python-gitlab.cfg",
        Path("/etc/python-gitlab.cfg"),
    ]


@dataclass(frozen=True)
class _StoredToken:
    url: str
    token: str
    source: str
    kind: str = "pat"
    ca_file: str | None = None


def _glab_tokens(env: Mapping[str, str]) -> tuple[list[_StoredToken], str | None]:
    """(tokens per host, glab's default host) from glab's config file."""
    path = glab_config_path(env)
    if not path.is_file():
        return [], None
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError):
        raise UsageError(
            f"cannot read glab's config file {path}", hint="fix it or run `glab auth login`"
        ) from None
    if not isinstance(data, dict):
        return [], None
    found: list[_StoredToken] = []
    hosts = data.get("hosts") if isinstance(data.get("hosts"), dict) else {}
    for host, entry in (hosts or {}).items():
        if not isinstance(entry, dict) or not entry.get("token"):
            continue
        protocol = str(entry.get("api_protocol") or "https")
        api_host = str(entry.get("api_host") or host)
        url = api_host if "://" in api_host else f"{protocol}://{api_host}"
        source = f"glab config {path} (host {host})"
        kind = "oauth" if str(entry.get("is_oauth2", "")).lower() == "true" else "pat"
        ca_cert = str(entry["ca_cert"]) if entry.get("ca_cert") else None
        found.append(_StoredToken(normalise_url(url), str(entry["token"]), source, kind, ca_cert))
    default = data.get("host")
    return found, str(default) if default else None


def _python_gitlab_tokens(env: Mapping[str, str]) -> tuple[list[_StoredToken], str | None]:
    for path in python_gitlab_config_paths(env):
        if not path.is_file():
            continue
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (OSError, configparser.Error):
            raise UsageError(f"cannot read python-gitlab's config file {path}") from None
        found: list[_StoredToken] = []
        default_url: str | None = None
        default_section = parser.get("global", "default", fallback=None)
        for section in parser.sections():
            if section == "global" or not parser.get(section, "url", fallback=None):
                continue
            url = normalise_url(parser.get(section, "url"))
            if section == default_section:
                default_url = url
            private = parser.get(section, "private_token", fallback=None)
            oauth = parser.get(section, "oauth_token", fallback=None)
            token, kind = (private, "pat") if private else (oauth, "oauth")
            verify = parser.get(
                section, "ssl_verify", fallback=parser.get("global", "ssl_verify", fallback=None)
            )
            ca_file = verify if verify and verify.lower() not in _BOOLEAN_WORDS else None
            if token and not token.startswith("helper:"):
                source = f"python-gitlab config {path} (section {section})"
                found.append(_StoredToken(url, token.strip(), source, kind, ca_file))
        return found, default_url
    return [], None


def _explicit_host(host_hint: str | None, env: Mapping[str, str]) -> tuple[str, str] | None:
    # The hint is the host of a URL given to -R/GITLAB_REPO (glab's meaning: it names the
    # GitLab), or of the clone's remote when no GITLAB_HOST is set (localrepo decides).
    if host_hint:
        return normalise_url(host_hint), "the project's URL"
    for name in HOST_VARIABLES:
        if env.get(name):
            return normalise_url(env[name]), name
    if env.get("CI_SERVER_URL"):
        return normalise_url(env["CI_SERVER_URL"]), "CI_SERVER_URL"
    return None


def check_header_safe(token: str, source: str) -> str:
    """A token must fit an HTTP header: printable ASCII, no spaces or line breaks
    (every GitLab token does); anything else is a copy-paste accident, exit 2."""
    if not token or any(not ("!" <= char <= "~") for char in token):
        raise UsageError(
            f"the GitLab token from {source} contains characters no HTTP header can carry "
            "(a line break, a space or a non-ASCII character)",
            hint="set it again, copying only the token itself",
        )
    return token


def _env_ca_file(env: Mapping[str, str]) -> str | None:
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        if env.get(name):
            return env[name]
    return None


def gitlab_credentials(
    host_hint: str | None = None, env: Mapping[str, str] = os.environ
) -> GitLabCredentials:
    """The GitLab URL and token to use; UsageError (exit 2) when there is no token or it
    cannot be sent."""
    found = _find_credentials(host_hint, env)
    check_header_safe(found.token, found.source)
    if found.ca_file is None and _env_ca_file(env):
        return replace(found, ca_file=_env_ca_file(env))
    return found


def _find_credentials(host_hint: str | None, env: Mapping[str, str]) -> GitLabCredentials:
    explicit = _explicit_host(host_hint, env)
    for name in TOKEN_VARIABLES:
        if env.get(name):
            url = explicit[0] if explicit else DEFAULT_URL
            kind = "oauth" if name == "OAUTH_TOKEN" else "pat"
            stored_ca = next(
                (
                    t.ca_file
                    for t in (*_glab_tokens(env)[0], *_python_gitlab_tokens(env)[0])
                    if t.ca_file and _netloc(t.url) == _netloc(url)
                ),
                None,
            )
            return GitLabCredentials(
                url=url, token=env[name].strip(), source=name, kind=kind, ca_file=stored_ca
            )

    glab_tokens, glab_default = _glab_tokens(env)
    pygitlab_tokens, pygitlab_default = _python_gitlab_tokens(env)
    if explicit:
        url = explicit[0]
    elif glab_default:
        url = normalise_url(
            next((t.url for t in glab_tokens if _netloc(t.url) == _netloc(glab_default)), None)
            or glab_default
        )
    elif pygitlab_default:
        url = pygitlab_default
    else:
        url = DEFAULT_URL
    for stored in (*glab_tokens, *pygitlab_tokens):
        if _netloc(stored.url) == _netloc(url):
            return GitLabCredentials(
                url=url,
                token=stored.token,
                source=stored.source,
                kind=stored.kind,
                ca_file=stored.ca_file,
            )

    if env.get("CI_JOB_TOKEN"):
        raise UsageError(
            "only CI_JOB_TOKEN is set, and a CI job token cannot call GitLab's cluster agents API",
            hint="store a project or personal access token with the api scope as a masked "
            "CI/CD variable named GITLAB_TOKEN",
        )
    raise UsageError(
        f"no GitLab token found for {url}",
        hint="export GITLAB_TOKEN=<access token with the api scope>, or run `glab auth login`",
    )
