"""Reading a kustomization file the way kustomize does: one YAML map (duplicate keys
tolerated, as sigs.k8s.io/yaml's first pass does), entries as plain strings."""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from kasboot.flux.manifests import DecodeError


def load_kustomization(data: bytes) -> dict[str, Any]:
    loader = YAML(typ="safe", pure=True)
    loader.allow_duplicate_keys = True
    try:
        loaded = loader.load(data.decode("utf-8", errors="replace"))
    except YAMLError as err:
        raise DecodeError(f"MalformedYAMLError: yaml: {err}", malformed=True) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise DecodeError("error converting YAML to JSON: kustomization is not a map")
    return loaded


def string_entries(value: Any) -> list[str]:
    return [entry for entry in value if isinstance(entry, str)] if isinstance(value, list) else []
