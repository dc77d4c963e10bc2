"""Decode a YAML file the way kustomize's resource factory does (`SliceFromBytes`).

kustomize (kyaml `ByteReader`, `Factory.dropBadNodes`, `inlineAnyEmbeddedLists`)
splits a file on lines starting with `---`, skips empty and null documents (and
empty maps/lists), and demands of every other document Kubernetes resource
metadata: at least one of apiVersion/kind/metadata (else `missing Resource
metadata`), a kind, and a metadata.name unless the kind ends in `List`. Lists
with `items` are expanded and every item is held to the same rules.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from kasboot.flux.yaml_documents import HAS_LIBYAML, compose

MISSING_METADATA = "missing Resource metadata"
# The top-level fields this module reads of a document (the rest is never constructed
# when PyYAML can leave it out unchanged: yaml_documents.Document.value).
_READ_KEYS = frozenset({"apiVersion", "kind", "metadata", "items", "functionConfig"})

_SEPARATOR = re.compile(r"\n---.*\n")


class DecodeError(Exception):
    """A file kustomize would refuse; the message is kustomize's own wording."""

    def __init__(self, message: str, malformed: bool = False) -> None:
        super().__init__(message)
        self.message = message
        # kustomize's loader words malformed YAML differently from bad metadata.
        self.malformed = malformed


@dataclass(frozen=True)
class DecodedObject:
    api_version: str
    kind: str
    name: str
    namespace: str


@dataclass(frozen=True)
class _Meta:
    api_version: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    labels: tuple[tuple[str, str], ...] | None = None
    annotations: tuple[tuple[str, str], ...] | None = None

    def go_format(self) -> str:
        """`%v` of kyaml's ResourceMeta, as kustomize puts it in its errors."""

        def go_map(items: tuple[tuple[str, str], ...] | None) -> str:
            return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(items or ())) + "]"

        return (
            f"{{{{{self.api_version} {self.kind}}} {{{{{self.name} {self.namespace}}} "
            f"{go_map(self.labels)} {go_map(self.annotations)}}}}}"
        )


def _is_nil_or_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (dict, list)) and not value)


def _scalar_text(value: Any) -> str:
    """The text of a YAML scalar node (kyaml `GetValue`); "" for maps and lists."""
    if isinstance(value, (dict, list)) or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _string_map(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        return ()
    return tuple((_scalar_text(k), _scalar_text(v)) for k, v in value.items())


def _resource_meta(node: Any) -> _Meta:
    """kyaml `RNode.GetMeta`: raises DecodeError(missing Resource metadata)."""
    if not isinstance(node, dict):
        raise DecodeError(MISSING_METADATA)
    missing = True
    fields: dict[str, Any] = {}
    for key, attr in (("apiVersion", "api_version"), ("kind", "kind")):
        if not _is_nil_or_empty(node.get(key)):
            fields[attr] = _scalar_text(node[key])
            missing = False
    metadata = node.get("metadata")
    if _is_nil_or_empty(metadata):
        if missing:
            raise DecodeError(MISSING_METADATA)
        return _Meta(**fields)
    if isinstance(metadata, dict):
        for key in ("name", "namespace"):
            if not _is_nil_or_empty(metadata.get(key)):
                fields[key] = _scalar_text(metadata[key])
                missing = False
        for key in ("labels", "annotations"):
            if not _is_nil_or_empty(metadata.get(key)):
                fields[key] = _string_map(metadata[key])
                missing = False
    if missing:
        raise DecodeError(MISSING_METADATA)
    return _Meta(**fields)


def _validated_meta(node: Any) -> _Meta:
    """kyaml `GetValidatedMetadata`."""
    meta = _resource_meta(node)
    if meta.kind == "":
        raise DecodeError(f"missing kind in object {meta.go_format()}")
    if not meta.kind.endswith("List") and meta.name == "":
        raise DecodeError(f"missing metadata.name in object {meta.go_format()}")
    return meta


def _split_documents(text: str) -> list[str]:
    documents: list[str] = []
    previous = 0
    for match in _SEPARATOR.finditer(text):
        rest = match.group(0)[4:].strip()
        if rest and not rest.startswith("#"):
            raise DecodeError(f"invalid document separator: {match.group(0).strip()}")
        documents.append(text[previous : match.start()] + "\n")
        previous = match.end()
    documents.append(text[previous:])
    return documents


def _fast_first_document(text: str) -> tuple[bool, Any] | None:
    """The same through libyaml (PyYAML's C loader) when it is there and the text parses:
    big files (Flux's own gotk-components.yaml is ~1 MB) then cost milliseconds, not
    seconds. Anything it cannot parse goes the exact way below, for kustomize's messages.

    A text that is one well-formed document is composed once for this and for the
    repeated-key check (yaml_documents.py); any other goes through yaml.load_all."""
    if not HAS_LIBYAML:
        return None
    try:
        document = compose(text)
    except yaml.YAMLError:
        document = None  # malformed, or several documents: the first one counts
    if document is not None:
        if document.empty:
            return False, None
        try:
            return True, document.value(_READ_KEYS)
        except yaml.YAMLError:
            return None
    try:
        for value in yaml.load_all(text, Loader=yaml.CSafeLoader):
            return True, value
    except yaml.YAMLError:
        return None
    return False, None


def _first_document(text: str) -> tuple[bool, Any]:
    """(found, value) of the first YAML document in `text`, like one yaml.v3 Decode."""
    fast = _fast_first_document(text)
    if fast is not None:
        return fast
    loader = YAML(typ="safe", pure=True)
    # yaml.v3 decodes into nodes and never complains about repeated keys.
    loader.allow_duplicate_keys = True
    try:
        for value in loader.load_all(text):
            return True, value
    except MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else 0
        raise DecodeError(
            f"MalformedYAMLError: yaml: line {line}: {err.problem}", malformed=True
        ) from None
    except YAMLError as err:
        raise DecodeError(f"MalformedYAMLError: yaml: {err}", malformed=True) from None
    return False, None


def decode_manifests(data: bytes) -> list[DecodedObject]:
    """Every Kubernetes object in `data`; raises DecodeError where kustomize would."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("MalformedYAMLError: yaml: invalid UTF-8", malformed=True) from None
    text = text.replace("\r\n", "\n")
    if not text:
        return []
    documents = _split_documents(text)
    nodes: list[Any] = []
    for document in documents:
        found, value = _first_document(document)
        if not found or value is None:
            continue
        is_list = isinstance(value, dict) and value.get("kind") in ("List", "ResourceList")
        if len(documents) == 1 and is_list and ("items" in value or "functionConfig" in value):
            items = value.get("items")
            nodes.extend(items if isinstance(items, list) else [])
            continue
        nodes.append(value)
    return _inline_lists([node for node in nodes if _keep(node)])


def _keep(node: Any) -> bool:
    """dropBadNodes: empty nodes vanish, the rest must carry valid metadata."""
    if _is_nil_or_empty(node):
        return False
    _validated_meta(node)
    return True


def _inline_lists(nodes: list[Any]) -> list[DecodedObject]:
    result: list[DecodedObject] = []
    queue = list(nodes)
    while queue:
        node = queue.pop(0)
        meta = _resource_meta(node)
        if not meta.kind.endswith("List") or "items" not in node:
            result.append(DecodedObject(meta.api_version, meta.kind, meta.name, meta.namespace))
            continue
        items = node["items"]
        if items is None:
            continue
        if not isinstance(items, list):
            go_type = "map[string]interface {}" if isinstance(items, dict) else "string"
            raise DecodeError(f"expected array in {meta.kind}/items, but found {go_type}")
        for item in items:
            # kustomize round-trips each item through JSON and decodes it again.
            reparsed = json.loads(json.dumps(item, default=str))
            if _keep(reparsed):
                queue.append(reparsed)
    return result
