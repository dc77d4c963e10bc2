"""One parse of each YAML document, shared by the decoder (manifests.py) and the
repeated-key check (duplicates.py).

Both used to compose every document of every manifest themselves, so Flux's own
gotk-components.yaml (~200 KB) went through the composer twice. Here a document is
composed once (libyaml's composer when PyYAML has it), its repeated-key complaints
are read off the node graph at once — before anything is constructed: construction
merges ``<<`` keys into the nodes in place — and its value is constructed on first
use: only the top-level fields the decoder reads, when nothing left out could have
made the construction fail (Flux's CRDs are mostly an OpenAPI schema under `spec`).
Results are memoized by the document's text, so the several builds of one guard run
(today's tree, the tree after bootstrap, the re-check of a fix) parse each document
once.

The scalar resolver is memoized by (value, implicit flags): PyYAML's resolver is a
pure function of those while no path resolvers are registered, and it runs in Python
for every scalar the C composer meets.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from typing import Any

import yaml
from yaml.nodes import ScalarNode

# libyaml's parser and composer when PyYAML has them; the pure-Python ones otherwise.
HAS_LIBYAML: bool = hasattr(yaml, "CSafeLoader")
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolve = _Base.resolve
_descend = _Base.descend_resolver
_ascend = _Base.ascend_resolver
_resolved: dict[tuple[str, Any], Any] = {}
_constructing = threading.Lock()


class _Loader(_Base):
    """PyYAML's safe loader, with the per-scalar resolver calls made cheap."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not ScalarNode or self.yaml_path_resolvers:
            return _resolve(self, kind, value, implicit)
        key = (value, implicit)
        tag = _resolved.get(key)
        if tag is None:
            tag = _resolve(self, kind, value, implicit)
            if len(_resolved) < 65536:
                _resolved[key] = tag
        return tag

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        if self.yaml_path_resolvers:  # the base class does nothing without them
            _descend(self, current_node, current_index)

    def ascend_resolver(self) -> None:
        if self.yaml_path_resolvers:
            _ascend(self)


def _go_quoted(value: str) -> str:
    """Go's %#v of a string, which JSON matches for the keys manifests use."""
    return json.dumps(value, ensure_ascii=False)


def repeated_keys(node: yaml.Node, found: list[str]) -> None:
    """yaml.v3's uniqueKeys complaints under ``node``: a mapping's keys are checked
    before its values, and a mapping with repeated keys is not descended into."""
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            repeated_keys(item, found)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    keys = [key for key, _ in node.value]
    before = len(found)
    for i, first in enumerate(keys):
        for later in keys[i + 1 :]:
            if (
                isinstance(first, yaml.ScalarNode)
                and isinstance(later, yaml.ScalarNode)
                and first.value == later.value
            ):
                found.append(
                    f"line {later.start_mark.line + 1}: mapping key {_go_quoted(later.value)} "
                    f"already defined at line {first.start_mark.line + 1}"
                )
    if len(found) > before:
        return
    for _, value in node.value:
        repeated_keys(value, found)


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_NULL = "tag:yaml.org,2002:null"
_ALWAYS_CONSTRUCTED = (_NULL, "tag:yaml.org,2002:bool")  # what the resolver matched
_TRIED = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")  # `0b_` matches, fails


def _constructs_plainly(root: yaml.Node) -> bool:
    """True when PyYAML's safe constructor cannot fail anywhere under ``root`` and
    nothing in it is shared: every node a plain str, map or seq, or a scalar whose tag
    is the one the resolver gives its text (int and float tried); no alias of a map or
    list, no merge key, timestamp, binary or custom tag, and only scalar keys. Then
    leaving out a part changes nothing in the rest."""
    loader = _Loader("")
    seen: set[int] = set()
    todo = [root]
    try:
        while todo:
            node = todo.pop()
            if isinstance(node, ScalarNode):
                if node.tag != _STR and not _builds(loader, node):
                    return False
                continue
            if id(node) in seen:
                return False  # an alias: constructed once, shared
            seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                if node.tag != _MAP:
                    return False
                for key, value in node.value:
                    if not isinstance(key, ScalarNode):
                        return False  # a list or map as key: unhashable
                    if key.tag != _STR and not _builds(loader, key):
                        return False
                    todo.append(value)
            elif isinstance(node, yaml.SequenceNode):
                if node.tag != _SEQ:
                    return False
                todo.extend(node.value)
            else:
                return False
        return True
    finally:
        loader.dispose()


def _builds(loader: _Loader, node: ScalarNode) -> bool:
    """A scalar tagged as its text resolves, which the safe constructor builds."""
    if node.tag != loader.resolve(ScalarNode, node.value, (True, False)):
        return False
    if node.tag in _ALWAYS_CONSTRUCTED:
        return True
    if node.tag not in _TRIED:
        return False
    try:
        loader.construct_object(node)
    except Exception:  # the full construction raises it: judged there
        return False
    return True


class Document:
    """One composed YAML document: its repeated-key complaints, and its value."""

    def __init__(self, node: yaml.Node | None) -> None:
        self._node = node
        found: list[str] = []
        self._endless = False
        if node is not None:
            try:
                repeated_keys(node, found)
            except RecursionError:  # an alias inside itself: only the key check fails
                self._endless = True
        self._complaints = tuple(found)
        # Judged before anything is constructed (construction rewrites merge keys).
        self._plain = isinstance(node, yaml.MappingNode) and _constructs_plainly(node)
        self._built: dict[frozenset[str] | None, Any] = {}
        self._failed: Exception | None = None

    @property
    def complaints(self) -> tuple[str, ...]:
        """yaml.v3's repeated-key complaints, in document order."""
        if self._endless:
            raise RecursionError("maximum recursion depth exceeded")
        return self._complaints

    @property
    def empty(self) -> bool:
        """True for a stream without a document (only comments, or nothing)."""
        return self._node is None

    def value(self, keys: frozenset[str] | None = None) -> Any:
        """The document as PyYAML's safe loader constructs it; raises what construction
        raises (yaml.YAMLError, or ValueError for an int like `0b_`), each time.

        With ``keys``, a top-level mapping that constructs plainly gets only the values
        of those keys constructed (the others are None, every key still there): Flux's
        CRDs are mostly `spec`, which the decoder never reads."""
        if self._node is None:
            return None
        wanted = keys if self._plain else None
        with _constructing:  # a construction may rewrite merge keys in the shared nodes
            return self._value(wanted)

    def _value(self, wanted: frozenset[str] | None) -> Any:
        if self._failed is not None:
            raise self._failed
        if wanted not in self._built:
            node = self._node
            if wanted is not None and isinstance(node, yaml.MappingNode):
                placeholder = yaml.ScalarNode(_NULL, "")
                pairs = [
                    (key, value if key.tag == _STR and key.value in wanted else placeholder)
                    for key, value in node.value
                ]
                node = yaml.MappingNode(_MAP, pairs, node.start_mark, node.end_mark)
            loader = _Loader("")
            try:
                self._built[wanted] = loader.construct_document(node)
            except Exception as error:
                # Construction may have rewritten merge keys in the nodes before it
                # failed: a second try would not fail alike, so this answer stays.
                self._failed = error
                raise
            finally:
                loader.dispose()
        return self._built[wanted]


@lru_cache(maxsize=4096)
def compose(document: str) -> Document:
    """``document`` composed as exactly one YAML document (yaml.compose); raises
    yaml.YAMLError otherwise (malformed, or more than one document)."""
    loader = _Loader(document)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    return Document(node)
