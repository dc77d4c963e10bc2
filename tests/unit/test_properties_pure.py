"""Properties of kasboot's pure logic, over generated inputs (hypothesis): the
config.yaml merge, Flux path normalisation, and the token to revoke at GitLab's
two-token limit. The guard's build prediction against the real kustomize is in
tests/reliability/test_properties.py."""

from __future__ import annotations

import posixpath
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from kasboot.agent_config import merge_agent_config
from kasboot.errors import PreflightError
from kasboot.flux.paths import is_within, join_repo_path, normalize_repo_path, secure_join
from kasboot.steps.token import MintToken
from kasboot.steps.token_choice import choose_revocation

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- config.yaml merge ----------------------------------------------------------------

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
SCALARS = st.one_of(
    st.integers(-5, 1000).map(str),
    st.sampled_from(["true", "false", "null", '"quoted"', "'single'", "~", "x.y", "1.5"]),
    WORDS,
)
PROJECTS = st.sampled_from(["demo/fleet", "demo/other", "group/sub/app", "Demo/Fleet", "x"])


@st.composite
def config_files(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A block-style config.yaml with comments everywhere; (text, comment markers)."""
    markers: list[str] = []

    def comment() -> str:
        marker = f"c{len(markers)}{draw(WORDS)}"
        markers.append(marker)
        return f"# {marker}"

    def maybe_comment_line(indent: int) -> list[str]:
        return [" " * indent + comment()] if draw(st.booleans()) else []

    def trailing() -> str:
        return f"  {comment()}" if draw(st.integers(0, 3)) == 0 else ""

    lines: list[str] = maybe_comment_line(0)
    keys = draw(
        st.lists(
            st.one_of(
                st.sampled_from(["ci_access", "gitops", "observability", "user_access"]), WORDS
            ),
            max_size=5,
            unique=True,
        )
    )
    for key in keys:
        lines += maybe_comment_line(0)
        if key == "user_access" and draw(st.integers(0, 3)) == 0:  # flow style
            projects = draw(st.lists(PROJECTS, max_size=2, unique_by=str.lower))
            listed = ", ".join(f"{{id: {p}}}" for p in projects)
            lines.append(f"user_access: {{access_as: {{agent: {{}}}}, projects: [{listed}]}}")
            continue
        if key == "user_access":
            lines.append(f"user_access:{trailing()}")
            if draw(st.booleans()):
                lines += ["  access_as:", "    agent: {}" + trailing()]
            projects = draw(st.lists(PROJECTS, max_size=3, unique_by=str.lower))
            if projects:
                lines.append(f"  projects:{trailing()}")
                for project in projects:
                    lines += maybe_comment_line(2)
                    lines.append(f"  - id: {project}{trailing()}")
            elif draw(st.booleans()):
                lines.append(f"  projects: []{trailing()}")
            continue
        shape = draw(st.sampled_from(["scalar", "map", "list", "flow-map", "flow-list"]))
        if shape.startswith("flow"):  # flow style: the merge may need its round trip
            subs = draw(st.lists(WORDS, min_size=1, max_size=3, unique=True))
            body = ", ".join(f"{sub}: {draw(SCALARS)}" for sub in subs)
            value = f"{{{body}}}" if shape == "flow-map" else f"[{', '.join(subs)}]"
            lines.append(f"{key}: {value}{trailing()}")
            continue
        if shape == "scalar":
            lines.append(f"{key}: {draw(SCALARS)}{trailing()}")
        elif shape == "map":
            lines.append(f"{key}:{trailing()}")
            for sub in draw(st.lists(WORDS, min_size=1, max_size=3, unique=True)):
                lines += maybe_comment_line(2)
                lines.append(f"  {sub}: {draw(SCALARS)}{trailing()}")
        else:
            lines.append(f"{key}:{trailing()}")
            for item in draw(st.lists(SCALARS, min_size=1, max_size=3)):
                lines.append(f"  - {item}{trailing()}")
    lines += maybe_comment_line(0)
    return "\n".join(lines) + "\n", markers


def parsed(text: str) -> Any:
    def plain(node: Any) -> Any:
        if isinstance(node, dict):
            return {str(k): plain(v) for k, v in node.items()}
        if isinstance(node, list):
            return [plain(v) for v in node]
        return node

    return plain(YAML().load(text))


def project_ids(document: Any) -> list[str]:
    user_access = (document or {}).get("user_access") or {}
    return [str(p["id"]) for p in user_access.get("projects") or []]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config_files(), PROJECTS)
def test_merge_keeps_every_key_and_comment_and_is_idempotent(
    config: tuple[str, list[str]], project: str
) -> None:
    check_merge(config, project)


def check_merge(config: tuple[str, list[str]], project: str) -> None:
    text, markers = config
    merged = merge_agent_config(text, project)
    before, after = parsed(text) or {}, parsed(merged)
    for marker in markers:
        assert marker in merged, (text, merged)
    for key, value in before.items():
        assert key in after
        if key != "user_access":
            assert after[key] == value
    old_access, new_access = before.get("user_access") or {}, after["user_access"]
    for key, value in old_access.items():
        assert key in new_access
        if key != "projects":
            assert new_access[key] == value
    assert "access_as" in new_access
    old_ids, new_ids = project_ids(before), project_ids(after)
    assert new_ids[: len(old_ids)] == old_ids  # nothing lost, nothing reordered
    assert [i.lower() for i in new_ids].count(project.lower()) == 1
    assert len(new_ids) - len(old_ids) <= 1
    assert merge_agent_config(merged, project) == merged


@FAST
@given(PROJECTS)
def test_a_new_file_grants_the_project_and_is_a_fixed_point(project: str) -> None:
    created = merge_agent_config(None, project)
    assert project_ids(parsed(created)) == [project]
    assert merge_agent_config(created, project) == created


# -- Flux path normalisation -----------------------------------------------------------

SEGMENTS = st.sampled_from(["a", "b", "c.d", ".", "..", "", "x-y", "...", ".hidden"])
RELATIVE = st.lists(SEGMENTS, max_size=8).map("/".join)


def reference_normalize(path: str) -> str | None:
    """posixpath's answer for a relative path; None when it climbs above the root."""
    clean = posixpath.normpath(path) if path else "."
    if clean == ".." or clean.startswith("../"):
        return None
    return "" if clean == "." else clean


@FAST
@given(RELATIVE)
def test_normalize_agrees_with_posixpath_and_is_idempotent(path: str) -> None:
    expected = reference_normalize(path.lstrip("/"))
    if expected is None:
        with pytest.raises(ValueError):
            normalize_repo_path(path)
        return
    result = normalize_repo_path(path)
    assert result == expected
    assert normalize_repo_path(result) == result
    assert not result.startswith("/") and not result.endswith("/")
    assert all(s not in ("", ".", "..") for s in result.split("/")) or result == ""


@FAST
@given(RELATIVE, RELATIVE)
def test_secure_join_never_leaves_the_root(path: str, prefix: str) -> None:
    joined = secure_join(path)
    assert ".." not in joined.split("/")
    assert secure_join(joined) == joined
    if reference_normalize(path.lstrip("/")) is not None:
        assert joined == normalize_repo_path(path)  # they differ only above the root
    try:
        base = normalize_repo_path(prefix)
        inside = join_repo_path(base, path)
    except ValueError:
        return
    if reference_normalize(path.lstrip("/")) is not None and not path.startswith("/"):
        assert is_within(inside, base)


# -- the token to revoke ------------------------------------------------------------

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
AGENT = "prod"
STAMPS = st.one_of(
    st.none(),
    st.integers(0, 60 * 24 * 10).map(
        lambda minutes: (NOW - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    ),
)
NAMES = st.sampled_from([f"kasboot-{AGENT}-1700000000", f"kasboot-{AGENT}-1-ab12", "manual", ""])


@st.composite
def token_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(st.integers(1, 50), min_size=0, max_size=4, unique=True))
    return [
        {
            "id": token_id,
            "name": draw(NAMES),
            "description": draw(st.sampled_from(["", "from CI"])),
            "created_at": draw(STAMPS),
            "last_used_at": draw(STAMPS),
        }
        for token_id in ids
    ]


class TokenReads:
    """The GitLab seam's two token reads, answering from a list."""

    def __init__(self, tokens: list[dict[str, Any]]) -> None:
        self.tokens = {int(t["id"]): t for t in tokens}

    def get_token(self, project: str, agent_id: int, token_id: int) -> dict[str, Any] | None:
        return self.tokens.get(token_id)


@FAST
@given(token_lists(), st.one_of(st.none(), st.integers(1, 50)), st.booleans())
def test_the_held_token_is_never_chosen(
    active: list[dict[str, Any]], held: int | None, force: bool
) -> None:
    ctx = SimpleNamespace(
        held_token_id=held,
        gitlab=TokenReads(active),
        project_path="demo/fleet",
        agent_id=1,
        settings=SimpleNamespace(force=force, agent=AGENT),
    )
    try:
        chosen = MintToken()._choose(ctx, active)  # type: ignore[arg-type]
    except PreflightError as refusal:
        assert not force  # --force always finds one
        if held is not None:
            assert f"token {held} (" not in str(refusal)
        return
    if len(active) < 2:
        assert chosen is None
        return
    assert chosen is not None
    assert chosen["id"] != held
    assert chosen["id"] in {t["id"] for t in active}


@FAST
@given(token_lists(), st.booleans(), st.booleans())
def test_choice_is_a_candidate_and_force_takes_the_longest_unused(
    candidates: list[dict[str, Any]], held_known: bool, force: bool
) -> None:
    if not candidates:
        return
    try:
        chosen = choose_revocation(
            candidates, held_known=held_known, force=force, agent=AGENT, now=NOW
        )
    except PreflightError:
        assert not force
        return
    assert chosen in candidates
    if force:
        key = [(t["last_used_at"] or "", t["created_at"] or "") for t in candidates]
        assert (chosen["last_used_at"] or "", chosen["created_at"] or "") == min(key)
