"""Reading a YAML file a user gave (a config file, a fleet file, a kubeconfig) with
each way it can fail in one line: unreadable, not UTF-8, not YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kasboot.errors import UsageError


def read_yaml(
    path: Path,
    what: str,
    *,
    read_hint: str,
    yaml_hint: str,
    text_hint: str = "save it as UTF-8",
) -> Any:
    """The file's YAML document (None when empty); ``what`` names it in the errors."""
    from ruamel.yaml import YAML  # imported here: --help must not load ruamel
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {what} {path}: {error.strerror}", hint=read_hint) from None
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path} is not UTF-8 text", hint=text_hint) from None
    except YAMLError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        raise UsageError(f"{what} {path} is not valid YAML: {first}", hint=yaml_hint) from None
