"""Helm values files read as the flux CLI reads them (go-yaml v2, then the YAML -> JSON
-> YAML trip). Its own module: settings validation reads values files before any
request, and must not import the renderer, which builds on settings."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import ScalarNode

from kasboot.errors import UsageError
from kasboot.goyaml import go_float


def _timestamp_as_text(constructor: SafeConstructor, node: ScalarNode) -> str:
    # go-yaml v2 keeps timestamp-looking scalars as strings when decoding into
    # interface{}, which is what sigs.k8s.io/yaml.YAMLToJSON does.
    return str(constructor.construct_scalar(node))


def _int_unless_sexagesimal(constructor: SafeConstructor, node: ScalarNode) -> Any:
    text = str(constructor.construct_scalar(node))
    if ":" in text:  # YAML 1.1 base-60 ("1:20"): go-yaml v2 reads it as a string
        return text
    return SafeConstructor.construct_yaml_int(constructor, node)


def _values_loader() -> YAML:
    # The flux CLI reads values files with go-yaml v2: YAML 1.1 (yes/no/on/off are
    # booleans, 0777 is octal).
    loader = YAML(typ="safe", pure=True)
    loader.version = (1, 1)
    loader.constructor.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
    loader.constructor.add_constructor("tag:yaml.org,2002:int", _int_unless_sexagesimal)
    return loader


def load_values_file(path: Path) -> dict[str, Any]:
    """A Helm values file as the flux CLI reads it: a map (an empty file is {})."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read values file {str(path)!r}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"values file {str(path)!r} is not UTF-8 text") from None
    try:
        data = _values_loader().load(text)
    except YAMLError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        raise UsageError(
            f"values file {str(path)!r} is not valid YAML: {first_line}",
            hint="check it with a YAML linter",
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(
            f"values file {str(path)!r} is not a YAML map",
            hint="Helm values are a map at the top level, e.g. `replicas: 1`",
        )
    return _as_json(data, str(path))


def _as_json(value: Any, where: str) -> Any:
    """What survives the flux CLI's YAML -> JSON -> YAML trip (keys become strings,
    integral floats become integers, NaN and infinity cannot be written)."""
    if isinstance(value, dict):
        return {_json_key(key): _as_json(item, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_json(item, where) for item in value]
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise UsageError(f"values file {where!r} holds {value}, which JSON cannot carry")
        if value.is_integer() and abs(value) < 1e21 and -(2**63) <= value < 2**64:
            return int(value)
        return value
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _json_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, float):
        return go_float(key)
    return str(key)
