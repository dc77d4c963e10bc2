"""Checks of what a user can type, each raising UsageError (exit 2) with one clear
line and a hint. Pure functions: no I/O beyond reading the files they are given."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kasboot.errors import UsageError
from kasboot.input_checks import check_repo_path, check_text, shown

VALUES_FROM_KINDS = {"secret": "Secret", "configmap": "ConfigMap"}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# GitLab: "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and spaces".
_ENVIRONMENT_NAME = re.compile(r"^[A-Za-z0-9_\-/${}. ]+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


@dataclass(frozen=True)
class ValuesFrom:
    """A `valuesFrom` reference of the HelmRelease: kind is "Secret" or "ConfigMap"."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def validate_agent_name(name: str) -> None:
    if not name or len(name) > 63 or not _DNS_LABEL.match(name):
        raise UsageError(
            f"invalid agent name {shown(name)}",
            hint="an agent name is 1 to 63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit (e.g. 'my-agent')",
        )


def check_label(value: str, what: str, limit: int = 63) -> str:
    if not value or len(value) > limit or not _DNS_LABEL.match(value):
        raise UsageError(
            f"invalid {what} {shown(value)}",
            hint=f"use 1 to {limit} lowercase letters, digits or '-', "
            "starting and ending with a letter or digit",
        )
    return value


def check_subdomain(value: str, what: str, limit: int = 253) -> str:
    if not value or len(value) > limit or not _DNS_SUBDOMAIN.match(value):
        raise UsageError(
            f"invalid {what} {shown(value)}",
            hint=f"use at most {limit} lowercase letters, digits, '-' or '.', "
            "starting and ending with a letter or digit",
        )
    return value


def normalise_repo_path(path: str, what: str) -> str:
    """A directory inside the repository: "" is the root; no "./", no trailing "/"."""
    check_text(path, what)
    raw = path.strip()
    if "\\" in raw:
        raise UsageError(
            f"{what} {shown(path)} contains a backslash",
            hint="separate directories with '/': git on Windows refuses '\\' in a path "
            "and everywhere else it is part of a file name",
        )
    if raw.startswith("/"):
        raise UsageError(
            f"{what} {shown(path)} is absolute", hint="give a path relative to the repository root"
        )
    normalised = posixpath.normpath(raw) if raw else "."
    if normalised == ".." or normalised.startswith("../"):
        raise UsageError(f"{what} {shown(path)} leaves the repository", hint="remove the '..'")
    if normalised == ".":
        return ""
    return check_repo_path(normalised, what)


def check_manifest_file(value: str, what: str) -> str:
    if value.strip().endswith("/"):
        raise UsageError(
            f"{what} {shown(value)} ends in '/', which names a directory",
            hint="give a file name such as 'agent.yaml'",
        )
    normalised = normalise_repo_path(value, what)
    if not normalised:
        raise UsageError(f"{what} is empty", hint="give a file name such as 'agent.yaml'")
    if not normalised.endswith((".yaml", ".yml")):
        raise UsageError(
            f"{what} {shown(value)} does not end in .yaml or .yml",
            hint="Flux only reads .yaml and .yml files: the resource would be ignored",
        )
    return normalised


def check_branch(branch: str) -> str:
    bad = (
        not branch
        or branch.startswith(("-", "/"))
        or branch.endswith(("/", ".lock", "."))
        or ".." in branch
        or "//" in branch
        or "@{" in branch
        or branch == "@"
        or any(c in branch for c in " ~^:?*[\\\x7f")
        or any(ord(c) < 32 for c in branch)
    )
    if bad:
        raise UsageError(
            f"invalid branch name {branch!r}", hint="see `git check-ref-format --branch`"
        )
    return branch


def parse_duration(value: str | float | int) -> float:
    """Seconds from 90, "90", "90s", "5m", "1h30m", "1m0s", "500ms"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION_PART.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise UsageError(
                    f"invalid duration {value!r}", hint="use e.g. 90, 90s, 5m or 1h30m"
                ) from None
            seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise UsageError(f"invalid duration {value!r}", hint="the timeout must be positive")
    return seconds


def parse_bool(value: object, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "yes", "y", "on"):
        return True
    if text in ("0", "false", "f", "no", "n", "off", ""):
        return False
    raise UsageError(f"invalid value {value!r} for {what}", hint="use true or false")


def split_list(value: object) -> list[str]:
    """Repeated and comma-separated values, glab's way: ("a,b", "c") -> [a, b, c]."""
    if value is None:
        return []
    items: Iterable[object] = [value] if isinstance(value, (str, Path)) else value  # type: ignore[assignment]
    result: list[str] = []
    for item in items:
        result.extend(part.strip() for part in str(item).split(",") if part.strip())
    return result


def parse_values_from(reference: str) -> ValuesFrom:
    kind, _, name = reference.strip().partition("/")
    normalised_kind = VALUES_FROM_KINDS.get(kind.strip().lower())
    if normalised_kind is None or not name:
        raise UsageError(
            f"invalid --helm-release-values-from {reference!r}",
            hint="use Secret/<name> or ConfigMap/<name>",
        )
    return ValuesFrom(normalised_kind, check_subdomain(name.strip(), "values-from name"))


def check_values_file(path: Path) -> Path:
    from kasboot.flux.values import load_values_file  # late: keeps settings import light

    size = path.stat().st_size
    if size > MAX_VALUES_BYTES:
        raise UsageError(
            f"values file {str(path)!r} is {size:,} bytes",
            hint="Kubernetes stores an object (the HelmRelease carrying these values) of at "
            f"most 1.5 MiB: keep values under {MAX_VALUES_BYTES:,} bytes, large data in a "
            "ConfigMap named by --helm-release-values-from",
        )
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"values file {str(path)!r} is not UTF-8 text (byte {error.start + 1})",
            hint="save it as UTF-8: Helm values are YAML text",
        ) from None
    except OSError as error:
        raise UsageError(
            f"cannot read values file {str(path)!r}: {error.strerror}",
            hint="check the file's permissions",
        ) from None
    load_values_file(path)
    return path


def check_choice(value: str, choices: tuple[str, ...], what: str) -> str:
    normalised = value.strip().lower()
    if normalised not in choices:
        raise UsageError(f"invalid {what} {value!r}", hint=f"choose one of: {', '.join(choices)}")
    return normalised


def check_helm_repository_address(url: str) -> str:
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in ("http", "https", "oci"):
        raise UsageError(
            f"invalid --helm-repository-address {url!r}",
            hint=f"url scheme '{scheme}' not supported, can be: http, https and oci",
        )
    return url


def check_environment_name(name: str, what: str) -> str:
    if (
        not _ENVIRONMENT_NAME.match(name)
        or len(name) > 255
        or name.startswith("/")
        or name.endswith("/")
    ):
        raise UsageError(
            f"invalid {what} {name!r}",
            hint="GitLab allows letters, digits, spaces and - _ / $ { } . "
            "(not starting or ending with '/')",
        )
    return name


def check_flux_resource_path(path: str, what: str) -> str:
    parts = path.split("/")
    if len(parts) != 6 or parts[2] != "namespaces" or not all(parts):
        raise UsageError(
            f"invalid {what} {path!r}",
            hint="use <group>/<version>/namespaces/<namespace>/<plural>/<name>",
        )
    if len(path) > 255:  # GitLab's Environment validation: at most 255 characters
        raise UsageError(
            f"{what} is {len(path)} characters long; GitLab accepts at most 255",
            hint="use shorter namespace or resource names",
        )
    return path


def existing_file(value: object, what: str) -> Path:
    path = Path(str(value)).expanduser()
    if path.is_dir():
        raise UsageError(f"{what} {str(value)!r} is a directory", hint="give a file")
    if not path.is_file():
        raise UsageError(f"{what} {str(value)!r} does not exist", hint="check the path")
    return path


def check_ca_cert(value: object) -> Path:
    path = existing_file(value, "--kas-ca-cert file")
    text = path.read_text(encoding="utf-8", errors="replace")
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise UsageError(
            f"--kas-ca-cert file {str(value)!r} holds no PEM certificate",
            hint="give the CA that signed KAS's certificate, PEM-encoded",
        )
    return path


# Kubernetes stores an object of at most 1.5 MiB (etcd's request limit); the values
# are the HelmRelease's spec.values, so a file near that size can never be applied.
MAX_VALUES_BYTES = 1024 * 1024


def check_values_files_hold_no_token(
    files: Iterable[Path], secret_namespace: str, secret_name: str
) -> None:
    """A token in a values file would be committed in plain text, readable by everyone
    who can read the repository: refuse it, naming the key (never the value)."""
    files = tuple(files)
    if not files:
        return  # no values file: nothing to load (the YAML loader's import is not free)
    from kasboot.flux.values import load_values_file  # late: keeps settings import light
    from kasboot.secret_scan import token_keys

    secret = f"{secret_namespace}/{secret_name}"
    for path in files:
        values = load_values_file(path)
        config = values.get("config")
        if isinstance(config, dict) and config.get("token"):
            raise UsageError(
                f"values file {str(path)!r} sets config.token: the agent token would be "
                "committed in plain text",
                hint=f"remove it: kasboot keeps the agent token in the Secret {secret} "
                "(config.secretName), outside git",
            )
        for key in token_keys(values):
            raise UsageError(
                f"values file {str(path)!r} holds what looks like a GitLab token at {key}: "
                "it would be committed in plain text",
                hint=f"remove it; the agent token lives in the Secret {secret}, and other "
                "secrets belong in a Secret named by --helm-release-values-from",
            )
