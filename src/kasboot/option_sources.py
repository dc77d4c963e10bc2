"""Where option values come from besides a flag: KASBOOT_<OPTION> variables and the
config file (`--config FILE`, else `.kasboot.yaml` at the repository root). Precedence:
flag > environment > file > default. Free of click, so the wizard and the commands
resolve options the same way without the wizard depending on the command layer."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kasboot.errors import UsageError
from kasboot.input_checks import check_text
from kasboot.option_specs import SPECS, SPECS_BY_NAME, env_var
from kasboot.settings import SETTINGS_FIELDS, Settings, build_settings, parse_bool

CONFIG_FILE_NAME = ".kasboot.yaml"


def find_config_file(cwd: Path | None = None) -> Path | None:
    """`.kasboot.yaml` at the root of the repository containing `cwd` (or in cwd)."""
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


def settings_from_params(params: Mapping[str, Any], config_file: Path | None) -> Settings:
    """Settings from a command's parameters (flag or environment already merged), the
    config file and the defaults, in that order of precedence."""
    path = config_file if config_file is not None else find_config_file()
    from_file = load_config_file(path) if path is not None else {}
    options: dict[str, Any] = {}
    for name in SETTINGS_FIELDS:
        value = params.get(name)
        if value is None or (isinstance(value, tuple) and not value):
            value = from_file.get(name)
        if value is not None:
            options[name] = value
    return build_settings(**options)


def params_from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    """The options as a run with no flags at all sees them: each KASBOOT_<OPTION>
    variable, read as click reads an option's variable (a repeatable option's value
    splits on whitespace; an empty variable counts as unset)."""
    params: dict[str, Any] = {}
    for spec in SPECS:
        raw = env.get(env_var(spec.name))
        if raw is None or raw == "":
            params[spec.name] = () if spec.multiple else None
        elif spec.multiple:
            params[spec.name] = tuple(raw.split())
        elif spec.boolean:
            params[spec.name] = parse_bool(raw, env_var(spec.name))
        else:
            params[spec.name] = raw
    return params
