"""Repeated mapping keys: kustomize's resource factory accepts them, its build does not.

kyaml reads a file into nodes without complaint, but kustomize later decodes each
resource into a Go map with yaml.v3, which refuses a key given twice in one mapping
(`decoder.mapping`, uniqueKeys). The build then fails with

    map[string]interface {}(nil): yaml: unmarshal errors:
      line 7: mapping key "mode" already defined at line 6

Lines count from the start of the resource's own document. yaml.v3 checks a
mapping's keys before its values and does not descend into a mapping that has
repeated keys; every complaint of the one resource is listed.
"""

from __future__ import annotations

import yaml

from kasboot.flux.manifests import _split_documents
from kasboot.flux.yaml_documents import compose

_PREFIX = "map[string]interface {}(nil): yaml: unmarshal errors:"


def duplicate_key_error(data: bytes) -> str | None:
    """kustomize's build error for the first document of `data` that repeats a key."""
    try:
        text = data.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        return None  # the decoder has already refused this file
    for document in _split_documents(text):
        try:
            found = compose(document).complaints  # composed once with the decoder's read
        except yaml.YAMLError:
            return None  # malformed: the decoder reports it
        if found:
            return "\n  ".join([_PREFIX, *found])
    return None


# -- resource ids ---------------------------------------------------------------------
# kustomize's ResMap refuses a second resource with the id of one it holds: same
# group, version, kind and name, namespaces equal once "" is read as "default".

ResourceKey = tuple[str, str, str, str]


def resource_key(api_version: str, kind: str, name: str, namespace: str) -> ResourceKey:
    return (api_version, kind, name, namespace or "default")


def resource_id(api_version: str, kind: str, name: str, namespace: str) -> str:
    """kustomize's ResId string: `Kind.version.group/name.namespace`."""
    group, _, version = api_version.rpartition("/")
    return f"{kind}.{version}.{group or '[noGrp]'}/{name}.{namespace or '[noNs]'}"


def already_registered(resource: str) -> str:
    return f"may not add resource with an already registered id: {resource}"
