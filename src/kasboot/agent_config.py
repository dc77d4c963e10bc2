"""The agent's configuration file, `.gitlab/agents/<agent>/config.yaml`.

kasboot only needs `user_access` to name the project and `access_as` to exist. A
user's file holds much more (ci_access, gitops, observability, comments), so the
change is made as a text insertion at the place ruamel.yaml's parse points to:
every other byte stays as the user wrote it. When the layout is too unusual for a
safe insertion (flow style, empty values), the file is rewritten through a
ruamel.yaml round trip, which still keeps keys, comments, ordering and quoting.
Either way the result is re-parsed and checked before it is returned.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from kasboot.errors import UsageError
from kasboot.resources import flux_template

_PLAIN_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$")


def merge_agent_config(
    existing: str | None, project_path: str, *, file_name: str = "config.yaml"
) -> str:
    """The config file granting `project_path` user access through the agent.

    None -> a new file; otherwise `existing` with the project added once to
    user_access.projects (and user_access / access_as created when missing).
    Returns `existing` itself when it already grants access.
    """
    if existing is None:
        return _new_file(project_path)
    document = _parse(existing, file_name)
    if _already_granted(document, project_path):
        return existing
    wanted = _with_project(_plain_copy(document), project_path)
    try:
        candidate = _insert_text(existing, document, project_path)
    except _NoTextualEdit:
        candidate = None
    if candidate is None or _plain_copy(_parse(candidate, file_name)) != wanted:
        candidate = _round_trip(existing, project_path, file_name)
    return candidate


class _NoTextualEdit(Exception):
    """The layout needs the round-trip rewrite."""


def _new_file(project_path: str) -> str:
    template = flux_template("agent-config.yaml")
    return template.replace("${project_path}", _yaml_string(project_path))


def _yaml_string(value: str) -> str:
    looks_plain = _PLAIN_PATH.match(value) and not re.match(r"^[0-9.+\-]+$", value)
    if looks_plain and value.lower() not in ("true", "false", "yes", "no", "on", "off", "null"):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _parse(text: str, file_name: str) -> Any:
    try:
        document = YAML().load(text)
    except YAMLError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "invalid YAML"
        raise UsageError(
            f"{file_name} is not valid YAML: {first}",
            hint="fix the file in the repository, then run again",
        ) from None
    if document is not None and not isinstance(document, dict):
        raise UsageError(
            f"{file_name} is not a YAML map at the top level",
            hint="the agent configuration is a map (user_access:, ci_access:, …)",
        )
    return document


def _plain_copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain_copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain_copy(item) for item in node]
    return node


def _project_ids(user_access: Any) -> list[str]:
    projects = user_access.get("projects") if isinstance(user_access, dict) else None
    if not isinstance(projects, list):
        return []
    return [str(p.get("id")) for p in projects if isinstance(p, dict) and p.get("id") is not None]


def _already_granted(document: Any, project_path: str) -> bool:
    if not isinstance(document, dict):
        return False
    user_access = document.get("user_access")
    if not isinstance(user_access, dict) or "access_as" not in user_access:
        return False
    return project_path.lower() in (p.lower() for p in _project_ids(user_access))


def _with_project(plain: Any, project_path: str) -> dict[str, Any]:
    """The data the merged file must hold (the check on any edit)."""
    document: dict[str, Any] = dict(plain) if isinstance(plain, dict) else {}
    user_access = document.get("user_access")
    user_access = dict(user_access) if isinstance(user_access, dict) else {}
    if "access_as" not in user_access:
        user_access = {"access_as": {"agent": {}}, **user_access}
    projects = user_access.get("projects")
    projects = list(projects) if isinstance(projects, list) else []
    if project_path.lower() not in (p.lower() for p in _project_ids({"projects": projects})):
        projects.append({"id": project_path})
    user_access["projects"] = projects
    document["user_access"] = user_access
    return document


# ---------------------------------------------------------------- text insertion


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _block_end(lines: list[str], start: int, parent_indent: int) -> int:
    """Index after the last content line of the block that starts at `start`."""
    last = start
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if not _is_content(line):
            continue
        if _indent_of(line) <= parent_indent:
            break
        last = index
    return last + 1


def _indent_step(document: CommentedMap) -> int:
    for key in document:
        value = document[key]
        if isinstance(value, CommentedMap) and value and not value.fa.flow_style():
            step = int(value.lc.key(next(iter(value)))[1]) - int(document.lc.key(key)[1])
            if step > 0:
                return step
    return 2


def _insert_text(existing: str, document: Any, project_path: str) -> str:
    lines = existing.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    item = _yaml_string(project_path)
    if not isinstance(document, CommentedMap):  # empty or comments only
        return "".join(lines) + _new_file(project_path)
    if document.fa.flow_style():
        raise _NoTextualEdit
    step = _indent_step(document)
    if "user_access" not in document:
        block = _new_file(project_path)
        if step != 2:
            block = "".join(
                " " * (_indent_of(line) // 2 * step) + line.lstrip(" ")
                for line in block.splitlines(keepends=True)
            )
        return "".join(lines) + block
    user_access = document["user_access"]
    if not isinstance(user_access, CommentedMap) or not user_access:
        raise _NoTextualEdit
    if user_access.fa.flow_style():
        raise _NoTextualEdit
    ua_line, ua_col = (int(n) for n in document.lc.key("user_access"))
    key_col = int(user_access.lc.key(next(iter(user_access)))[1])
    inserts: list[tuple[int, str]] = []
    if "access_as" not in user_access:
        access_as = f"{' ' * key_col}access_as:\n{' ' * (key_col + step)}agent: {{}}\n"
        inserts.append((ua_line + 1, access_as))
    projects = user_access.get("projects")
    if "projects" not in user_access:
        end = _block_end(lines, ua_line, ua_col)
        inserts.append((end, f"{' ' * key_col}projects:\n{' ' * key_col}- id: {item}\n"))
    elif isinstance(projects, CommentedSeq) and projects and not projects.fa.flow_style():
        last_line, item_col = (int(n) for n in projects.lc.item(len(projects) - 1))
        before_item = lines[last_line][:item_col].rstrip()
        if not before_item.endswith("-"):
            raise _NoTextualEdit
        dash_col = len(before_item) - 1
        end = _block_end(lines, last_line, dash_col)
        gap = " " * (item_col - dash_col - 1)
        inserts.append((end, f"{' ' * dash_col}-{gap}id: {item}\n"))
    else:
        raise _NoTextualEdit
    for index, text in sorted(inserts, reverse=True):
        lines[index:index] = [text]
    return "".join(lines)


# ---------------------------------------------------------------- round trip


def _round_trip(existing: str, project_path: str, file_name: str) -> str:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=2, offset=0)
    document = yaml.load(existing)
    if not isinstance(document, CommentedMap):
        document = CommentedMap()
    user_access = document.get("user_access")
    if not isinstance(user_access, CommentedMap):
        user_access = CommentedMap()
        document["user_access"] = user_access
    if "access_as" not in user_access:
        user_access.insert(0, "access_as", CommentedMap([("agent", CommentedMap())]))
    projects = user_access.get("projects")
    if not isinstance(projects, CommentedSeq):
        projects = CommentedSeq()
        user_access["projects"] = projects
    if project_path.lower() not in (p.lower() for p in _project_ids(user_access)):
        projects.append(CommentedMap([("id", project_path)]))
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    result = buffer.getvalue()
    _parse(result, file_name)
    return result
