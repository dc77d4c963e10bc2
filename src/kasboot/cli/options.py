"""The options of `kasboot bootstrap` (and the commands that share them).

glab's flags keep glab's spelling, meaning and defaults, including `--flag=false`
for booleans and repeated or comma-separated lists; every boolean also has a
`--no-…` form. Each option can come from a flag, a KASBOOT_<OPTION> environment
variable, or a config file (`--config FILE`, else `.kasboot.yaml` at the
repository root): flag > environment > file > default. Click keeps every default
at None so the file can fill what neither flag nor environment gave.
There is no token option: tokens come from the environment (see credentials.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kasboot.cli.help_defaults import DEFAULTS
from kasboot.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from kasboot.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])
CONFIG_FILE_NAME = ".kasboot.yaml"
_TRUE_WORDS = ("1", "true", "t", "yes", "y", "on")
_FALSE_WORDS = ("0", "false", "f", "no", "n", "off")


@dataclass(frozen=True)
class _Spec:
    name: str  # the Settings field
    flags: tuple[str, ...]
    help: str
    default: str | None = None  # what --help shows
    boolean: bool = False
    negative: str | None = None  # the other spelling of a boolean
    multiple: bool = False
    metavar: str | None = None


def _bool(
    name: str, flag: str, negative: str, help: str, default: bool, short: str | None = None
) -> _Spec:
    flags = (short, flag) if short else (flag,)
    return _Spec(name, flags, help, str(default).lower(), boolean=True, negative=negative)


# Declaring the options needs only these (bootstrap --help imports no Settings).
_D = DEFAULTS
SPECS: tuple[_Spec, ...] = (
    _Spec("repo", ("-R", "--repo"), "GitLab project: group/project or its URL.",
          "the clone in the current directory", metavar="PROJECT"),
    _Spec("manifest_path", ("-p", "--manifest-path"),
          "Directory in the repository for the Flux Helm resources.", "repository root"),
    _Spec("manifest_branch", ("-b", "--manifest-branch"), "Branch to commit to.",
          "the project's default branch", metavar="BRANCH"),
    _bool("no_reconcile", "--no-reconcile", "--reconcile", "Do not ask Flux to reconcile.",
          False),
    _Spec("helm_repository_address", ("--helm-repository-address",),
          "URL of the agent's Helm repository.", _D.helm_repository_address),
    _Spec("helm_repository_name", ("--helm-repository-name",), "Name of the HelmRepository.",
          _D.helm_repository_name),
    _Spec("helm_repository_namespace", ("--helm-repository-namespace",),
          "Namespace of the HelmRepository.", _D.helm_repository_namespace),
    _Spec("helm_repository_filepath", ("--helm-repository-filepath",),
          "File for the HelmRepository, under the manifest path.",
          _D.helm_repository_filepath),
    _Spec("helm_release_name", ("--helm-release-name",),
          "Name of the HelmRelease (and of the Helm release).", _D.helm_release_name),
    _Spec("helm_release_namespace", ("--helm-release-namespace",),
          "Namespace of the HelmRelease object.", _D.helm_release_namespace),
    _Spec("helm_release_filepath", ("--helm-release-filepath",),
          "File for the HelmRelease, under the manifest path.", _D.helm_release_filepath),
    _Spec("helm_release_target_namespace", ("--helm-release-target-namespace",),
          "Namespace agentk runs in (and the token Secret's).",
          _D.helm_release_target_namespace),
    _Spec("helm_release_values", ("--helm-release-values",),
          "Local Helm values files, merged in order; repeatable, comma-separated.", "none",
          multiple=True, metavar="FILE"),
    _Spec("helm_release_values_from", ("--helm-release-values-from",),
          "Secret/NAME or ConfigMap/NAME holding values; repeatable, comma-separated.",
          "none", multiple=True, metavar="KIND/NAME"),
    _Spec("gitlab_agent_token_secret_name", ("--gitlab-agent-token-secret-name",),
          "Name of the Secret holding the agent token.", _D.gitlab_agent_token_secret_name),
    _Spec("flux_source_type", ("--flux-source-type",),
          "Kind of the Flux source to reconcile: git, oci or helm.", _D.flux_source_type),
    _Spec("flux_source_namespace", ("--flux-source-namespace",),
          "Namespace of the Flux source.", _D.flux_source_namespace),
    _Spec("flux_source_name", ("--flux-source-name",), "Name of the Flux source.",
          _D.flux_source_name),
    _bool("create_environment", "--create-environment", "--no-create-environment",
          "Create a GitLab environment for the agent.", True),
    _Spec("environment_name", ("--environment-name",), "Name of the agent's environment.",
          "<helm-release-namespace>/<helm-release-name>"),
    _Spec("environment_namespace", ("--environment-namespace",),
          "Kubernetes namespace of the agent's environment.", "<helm-release-target-namespace>"),
    _Spec("environment_flux_resource_path", ("--environment-flux-resource-path",),
          "Flux resource path of the agent's environment.",
          "helm.toolkit.fluxcd.io/v2/namespaces/<ns>/helmreleases/<name>"),
    _bool("create_flux_environment", "--create-flux-environment",
          "--no-create-flux-environment", "Create a GitLab environment for Flux.", True),
    _Spec("flux_environment_name", ("--flux-environment-name",),
          "Name of the Flux environment.", "<flux-source-namespace>/<flux-source-name>"),
    _Spec("flux_environment_namespace", ("--flux-environment-namespace",),
          "Kubernetes namespace of the Flux environment.", "<flux-source-namespace>"),
    _Spec("flux_environment_flux_resource_path", ("--flux-environment-flux-resource-path",),
          "Flux resource path of the Flux environment.",
          "kustomize.toolkit.fluxcd.io/v1/namespaces/<ns>/kustomizations/<name>"),
    _bool("use_api_commit_author", "--use-api-commit-author", "--no-use-api-commit-author",
          "Commit as the GitLab API user (excludes --commit-author-*).", False),
    _Spec("commit_author_name", ("--commit-author-name",), "Commit author name.", "kasboot"),
    _Spec("commit_author_email", ("--commit-author-email",), "Commit author email.",
          "noreply@kasboot.invalid"),
    _bool("rotate_token", "--rotate-token", "--no-rotate-token",
          "Mint a new agent token even when the cluster's is still valid.", False),
    _bool("force", "--force", "--no-force", "Revoke an agent token even when it was used in "
          "the last hour or may be another run's (and, for token revoke, the cluster's).", False),
    _Spec("agent_version", ("--agent-version",), "agentk image tag to pin.",
          "the GitLab instance's KAS version", metavar="TAG"),
    _bool("pin_version", "--pin-version", "--no-pin-version",
          "Pin agentk's image tag to the KAS version (else the chart's default).", True),
    _Spec("commit_via", ("--commit-via",), "Commit through the GitLab API or the local clone.",
          "api", metavar="api|local"),
    _Spec("timeout", ("--timeout",), "How long to wait for Flux, and at most for the cluster "
          "over the whole run: 90s, 5m, 1h30m or seconds.", "5m"),
    _Spec("kas_ca_cert", ("--kas-ca-cert",), "PEM file of the CA that signed KAS's certificate.",
          "none", metavar="FILE"),
    _Spec("ca_file", ("--ca-file",), "PEM file of the CA(s) to trust for GitLab's API (else "
          "glab's ca_cert, python-gitlab's ssl_verify, SSL_CERT_FILE, REQUESTS_CA_BUNDLE).",
          "system CAs", metavar="FILE"),
    _Spec("fix", ("--fix",), "Repair a Flux layout problem: add-kustomization, sourceignore; "
          "repeatable.", "none", multiple=True, metavar="FIX"),
    _bool("skip_preflight", "--skip-preflight", "--no-skip-preflight",
          "Skip the pre-flight checks (the topology guard included).", False),
    _bool("dry_run", "--dry-run", "--no-dry-run", "Show every change; write nothing.", False),
    _Spec("kubeconfig", ("--kubeconfig",), "Kubeconfig file.", "$KUBECONFIG or ~/.kube/config",
          metavar="FILE"),
    _Spec("context", ("--context",), "Kubeconfig context.", "the current context"),
    _Spec("output", ("-o", "--output"), "Output format: text or json.", "text",
          metavar="text|json"),
    _bool("verbose", "--verbose", "--no-verbose", "Say more.", False, short="-v"),
)  # fmt: skip
SPECS_BY_NAME = {spec.name: spec for spec in SPECS}


def env_var(name: str) -> str:
    return f"KASBOOT_{name.upper()}"


class GlabBoolOption(click.Option):
    """A boolean flag that also takes glab's `--flag=true|false` spelling.

    Click refuses `=value` on a flag, so the parser's argument list is rewritten
    first: `--flag=false` becomes the `--no-…` spelling."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        aliases: dict[str, tuple[str, str]] | None = getattr(parser, "_kasboot_bools", None)
        if aliases is None:
            aliases = {}
            parser._kasboot_bools = aliases
            original = parser.parse_args
            parser.parse_args = functools.partial(_parse_with_glab_bools, original, aliases)
        negative = self.secondary_opts[0]
        for positive in self.opts:
            if positive.startswith("--"):
                aliases[positive] = (positive, negative)
                aliases[negative] = (negative, positive)


def _parse_with_glab_bools(
    original: Callable[..., Any], aliases: Mapping[str, tuple[str, str]], args: Sequence[str]
) -> Any:
    return original(args=rewrite_glab_bools(args, aliases))


def rewrite_glab_bools(args: Sequence[str], aliases: Mapping[str, tuple[str, str]]) -> list[str]:
    rewritten: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            return rewritten + list(args[index:])
        name, equals, value = arg.partition("=")
        if equals and name in aliases:
            same, other = aliases[name]
            word = value.strip().lower()
            if word in _TRUE_WORDS:
                rewritten.append(same)
            elif word in _FALSE_WORDS:
                rewritten.append(other)
            else:
                raise click.BadParameter(f"{value!r} is not true or false", param_hint=name)
            continue
        rewritten.append(arg)
    return rewritten


def _click_option(spec: _Spec) -> click.Option:
    help_text = spec.help
    common: dict[str, Any] = {
        "envvar": env_var(spec.name),
        "show_envvar": True,
        "default": None,
        "show_default": spec.default,
        "help": help_text,
    }
    if spec.boolean:
        declaration = f"{spec.flags[-1]}/{spec.negative}"
        return GlabBoolOption([declaration, *spec.flags[:-1], spec.name], **common)
    if spec.multiple:
        return click.Option([*spec.flags, spec.name], multiple=True, metavar=spec.metavar, **common)
    if spec.name == "context":
        common["shell_complete"] = _complete_kube_contexts
    return click.Option([*spec.flags, spec.name], metavar=spec.metavar, **common)


def _complete_kube_contexts(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
    from kasboot.cli.completion import complete_kube_contexts

    return complete_kube_contexts(ctx, param, incomplete)


def bootstrap_options(f: F) -> F:
    """Apply every bootstrap option (and --config) to a click command function."""
    config = click.Option(
        ["--config", "config"],
        type=click.Path(dir_okay=False),  # a str: the commands make it a Path
        envvar="KASBOOT_CONFIG",
        show_envvar=True,
        help=f"YAML file of option values (keys as the long flags). Precedence: flag > "
        f"KASBOOT_<OPTION> variable > this file > default.  [default: "
        f"{CONFIG_FILE_NAME} at the repository root]",
    )
    non_interactive = click.Option(
        ["--non-interactive/--interactive", "-y", "--yes", "non_interactive"],
        default=False,
        envvar="KASBOOT_NON_INTERACTIVE",
        show_envvar=True,
        help="Never prompt: a missing value is an error naming its flag and variable "
        "(AGENT's is KASBOOT_AGENT). Also implied when CI is set or stdin is not a terminal.",
    )
    params = [_click_option(spec) for spec in SPECS] + [config, non_interactive]
    existing = getattr(f, "__click_params__", [])
    # click collects decorators bottom-up and reverses them: append in reverse so
    # --help lists the options in the order above.
    f.__click_params__ = existing + list(reversed(params))  # type: ignore[attr-defined]
    return f


def find_config_file(cwd: Path | None = None) -> Path | None:
    """`.kasboot.yaml` at the root of the repository containing `cwd` (or in cwd)."""
    from pathlib import Path

    start = (cwd or Path.cwd()).resolve()
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_FILE_NAME
        if candidate.is_file():
            return candidate
        if (directory / ".git").exists():
            return None
    return None


def load_config_file(path: Path) -> dict[str, Any]:
    """Option values from a YAML map; keys as long flags (manifest-path) or fields."""
    # Imported here: `bootstrap --help` declares the options and must not load ruamel.
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from kasboot.settings import SETTINGS_FIELDS, parse_bool

    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(
            f"cannot read config file {path}: {error.strerror}", hint="check the --config path"
        ) from None
    except UnicodeDecodeError:
        raise UsageError(f"config file {path} is not UTF-8 text", hint="save it as UTF-8") from None
    except YAMLError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        raise UsageError(
            f"config file {path} is not valid YAML: {first}",
            hint="fix it (keys are the long flag names, e.g. `manifest-path: clusters/prod`)",
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"config file {path} is not a YAML map", hint="e.g. manifest-path: x")
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).strip().lstrip("-").replace("-", "_")
        if name not in SETTINGS_FIELDS or name == "agent":
            known = ", ".join(s.flags[-1].lstrip("-") for s in SPECS[:5])
            raise UsageError(
                f"config file {path}: unknown option {key!r}",
                hint=f"use the long flag names, e.g. {known}",
            )
        if isinstance(value, list) and not SPECS_BY_NAME[name].multiple:
            raise UsageError(
                f"config file {path}: {key!r} takes a single value",
                hint="give one value; only repeatable options take a list",
            )
        _check_config_value(value, f"{key!r} in config file {path}")
        if SPECS_BY_NAME[name].boolean:
            value = parse_bool(value, f"{key} in {path}")
        values[name] = value
    return values


def _check_config_value(value: Any, what: str) -> None:
    """A scalar (or a list of scalars) of plain text: YAML can also carry maps, dates
    and escapes such as "\\0" that no flag could."""
    from kasboot.input_checks import check_text

    if value is None or value == []:
        raise UsageError(
            f"{what} has no value", hint="give one, or remove the key to get the default"
        )
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, (dict, list)) or not isinstance(item, (str, int, float, bool)):
            raise UsageError(
                f"{what} is a {type(item).__name__}, not a value",
                hint="give a string, a number or true/false (a list only for repeatable options)",
            )
        if isinstance(item, str):
            check_text(item, what)


def settings_from_click(params: dict[str, Any], config_file: Path | str | None) -> Settings:
    """Settings from a command's parameters (flag or environment already merged by
    click), the config file (--config gives a str) and the defaults, in that order."""
    from pathlib import Path

    from kasboot.settings import SETTINGS_FIELDS, build_settings

    path = Path(config_file) if config_file is not None else find_config_file()
    from_file = load_config_file(path) if path is not None else {}
    options: dict[str, Any] = {}
    for name in SETTINGS_FIELDS:
        value = params.get(name)
        if value is None or (isinstance(value, tuple) and not value):
            value = from_file.get(name)
        if value is not None:
            options[name] = value
    return build_settings(**options)
