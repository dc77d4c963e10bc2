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
from pathlib import Path
from typing import Any, TypeVar

import click

from kasboot.option_sources import (
    CONFIG_FILE_NAME,
    find_config_file,
    load_config_file,
    settings_from_params,
)
from kasboot.option_specs import COMMAND_OPTIONS, SPECS, SPECS_BY_NAME, Spec, env_var
from kasboot.settings import Settings

__all__ = [
    "CONFIG_FILE_NAME",
    "SPECS",
    "SPECS_BY_NAME",
    "bootstrap_options",
    "command_options",
    "env_var",
    "find_config_file",
    "load_config_file",
    "settings_from_click",
]

F = TypeVar("F", bound=Callable[..., Any])
_TRUE_WORDS = ("1", "true", "t", "yes", "y", "on")
_FALSE_WORDS = ("0", "false", "f", "no", "n", "off")


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


def _click_option(spec: Spec) -> click.Option:
    common: dict[str, Any] = {
        "envvar": env_var(spec.name),
        "default": None,
        "help": f"{spec.help}  [{natural_default(spec)}; env: {env_var(spec.name)}]",
    }
    if spec.choices:
        # The choices are checked by build_settings (one gate, one wording); click
        # shows them and completion offers them.
        common["metavar"] = "[" + "|".join(spec.choices) + "]"
        common["shell_complete"] = _complete_choices(spec.choices)
    elif spec.metavar:
        common["metavar"] = spec.metavar
    if spec.boolean:
        declaration = f"{spec.flags[-1]}/{spec.negative}"
        return GlabBoolOption([declaration, *spec.flags[:-1], spec.name], **common)
    if spec.multiple:
        return click.Option([*spec.flags, spec.name], multiple=True, **common)
    if spec.name == "context":
        common["shell_complete"] = _complete_kube_contexts
    return click.Option([*spec.flags, spec.name], **common)


def natural_default(spec: Spec) -> str:
    """`default: 5m`, or for a boolean the spelling that is in force by default
    (`default: --reconcile`): click's "(false)" after `--no-reconcile` reads backwards."""
    if spec.boolean:
        on = spec.default == "true"
        return f"default: {spec.flags[-1] if on else spec.negative}"
    return f"default: {spec.default}"


def _complete_choices(choices: Sequence[str]) -> Callable[..., list[Any]]:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        # A repeatable, comma-separated option completes the item after the last comma.
        done, _, last = incomplete.rpartition(",")
        prefix = f"{done}," if done else ""
        return [CompletionItem(prefix + c) for c in choices if c.startswith(last)]

    return complete


def _complete_kube_contexts(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
    from kasboot.cli.completion import complete_kube_contexts

    return complete_kube_contexts(ctx, param, incomplete)


def _config_option() -> click.Option:
    return click.Option(
        ["--config", "config"],
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="KASBOOT_CONFIG",
        show_envvar=True,
        help=f"YAML file of option values (keys as the long flags). Precedence: flag > "
        f"KASBOOT_<OPTION> variable > this file > default.  [default: "
        f"{CONFIG_FILE_NAME} at the repository root]",
    )


def _non_interactive_option() -> click.Option:
    return click.Option(
        ["--non-interactive/--interactive", "-y", "--yes", "non_interactive"],
        default=False,
        envvar="KASBOOT_NON_INTERACTIVE",
        show_envvar=True,
        help="Never prompt: a missing value is an error naming its flag and variable "
        "(AGENT's is KASBOOT_AGENT). Also implied when CI is set or stdin is not a terminal.",
    )


# Commands that may prompt take --yes/--non-interactive; the others never ask.
_PROMPTING = ("bootstrap", "uninstall", "wizard")


def command_options(command: str) -> Callable[[F], F]:
    """Apply the options `command` uses (option_specs.COMMAND_OPTIONS), and --config,
    to a click command function: a command lists only what it reads."""
    fields = set(COMMAND_OPTIONS[command])

    def apply(f: F) -> F:
        params: list[click.Parameter] = [_click_option(s) for s in SPECS if s.name in fields]
        params.append(_config_option())
        if command in _PROMPTING:
            params.append(_non_interactive_option())
        existing = getattr(f, "__click_params__", [])
        # click collects decorators bottom-up and reverses them: append in reverse so
        # --help lists the options in the order above.
        f.__click_params__ = existing + list(reversed(params))  # type: ignore[attr-defined]
        return f

    return apply


def bootstrap_options(f: F) -> F:
    """Every bootstrap option (and --config, --yes) on a click command function."""
    return command_options("bootstrap")(f)


def settings_from_click(params: dict[str, Any], config_file: Path | None) -> Settings:
    """Settings from a command's parameters, the config file and the defaults; a proxy
    URL with credentials given as a flag or in the file is refused first."""
    from kasboot.cli.options_reach import check_proxy_sources

    path = config_file if config_file is not None else find_config_file()
    check_proxy_sources(params, load_config_file(path) if path is not None else {}, path)
    return settings_from_params(params, config_file)
