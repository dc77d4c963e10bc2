"""Label and field selectors, with the API server's syntax and error messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import bad_request
from .registry import ResourceType

Predicate = Callable[[dict[str, Any]], bool]

_SET_EXPRESSION = re.compile(r"^\s*(!?)\s*([^\s!=<>,()]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_EQUALITY = re.compile(r"^\s*([^\s!=<>,()]+)\s*(==|=|!=)\s*([^\s!=<>,()]*)\s*$")


def _split_requirements(selector: str) -> list[str]:
    """Split on commas that are not inside ``in (…)`` parentheses."""
    parts, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def _label_requirement(text: str) -> Callable[[dict[str, str]], bool]:
    equality = _EQUALITY.match(text)
    if equality:
        key, operator, value = equality.groups()
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    expression = _SET_EXPRESSION.match(text)
    if expression:
        negated, key, operator, values_text = expression.groups()
        if operator:
            if negated:
                raise bad_request(f"unable to parse requirement: {text}")
            values = {v.strip() for v in values_text.split(",") if v.strip()}
            if operator == "in":
                return lambda labels: labels.get(key) in values
            return lambda labels: labels.get(key) not in values
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise bad_request(
        f"unable to parse requirement: found '{text.strip()}', expected: !, identifier, "
        "or 'end of string'"
    )


def label_selector(selector: str | None) -> Predicate:
    if not selector:
        return lambda _obj: True
    requirements = [_label_requirement(part) for part in _split_requirements(selector)]

    def matches(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(requirement(labels) for requirement in requirements)

    return matches


def _field_value(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if path == "source" and isinstance(node, dict):
        node = node.get("component")
    return "" if node is None else str(node)


def field_selector(selector: str | None, resource_type: ResourceType) -> Predicate:
    if not selector:
        return lambda _obj: True
    allowed = {"metadata.name", "metadata.namespace", *resource_type.field_selectors}
    checks: list[Predicate] = []
    for part in _split_requirements(selector):
        match = re.match(r"^\s*([^\s!=]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not match:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{part}'")
        path, operator, value = match.groups()
        if path not in allowed:
            if resource_type.custom:
                raise bad_request(
                    f'"{path}" is not a known field selector: only "metadata.name", '
                    '"metadata.namespace"'
                )
            raise bad_request(f"field label not supported: {path}")
        negate = operator == "!="

        def check(obj: dict[str, Any], p: str = path, v: str = value, n: bool = negate) -> bool:
            return (_field_value(obj, p) == v) != n

        checks.append(check)
    return lambda obj: all(check(obj) for check in checks)
