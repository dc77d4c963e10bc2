"""The ownership record's pure parts: reading a manifest's owner, the environment
marker, kasboot's token names, and a flag checked against the record."""

from __future__ import annotations

import pytest

from kasboot.errors import PreflightError
from kasboot.flux.render import render_manifests
from kasboot.ownership import (
    environment_description,
    environment_owner,
    manifest_objects,
    minted_by_kasboot,
    new_token_name,
    read_record,
    record_annotation,
)
from kasboot.settings import build_settings
from kasboot.steps.recorded import merge_record


def test_rendered_manifests_carry_their_owner() -> None:
    settings = build_settings(agent="alpha", manifest_path="clusters/x")
    files = render_manifests(
        settings, kas_address="wss://kas.example/", image_tag=None, owner="g/p/alpha"
    )
    owners = {obj.owner for text in files.values() for obj in manifest_objects(text)}
    assert owners == {"g/p/alpha"}
    kinds = sorted(obj.kind for text in files.values() for obj in manifest_objects(text))
    assert kinds == ["HelmRelease", "HelmRepository"]
    assert manifest_objects("not: [valid") == []


def test_environment_marker_and_token_names() -> None:
    env = {"description": environment_description("g/p/alpha")}
    assert environment_owner(env) == "g/p/alpha"
    assert environment_owner({"description": "made by hand"}) is None
    assert environment_owner({}) is None
    name = new_token_name("alpha")
    assert minted_by_kasboot({"name": name}, "alpha")
    assert not minted_by_kasboot({"name": name}, "alpha-x")
    assert minted_by_kasboot({"name": "kasboot-alpha-1700000000"}, "alpha")  # older runs
    assert not minted_by_kasboot({"name": "ci-runner"}, "alpha")


def test_record_lists_linked_environments_and_merges_unless_contradicted() -> None:
    bootstrapped = build_settings(agent="beta", manifest_path="c/beta", helm_release_name="beta")
    ours = {"name": "flux-system/beta", "description": environment_description("g/p/beta")}
    found = {"name": "production", "description": None}
    text = record_annotation(bootstrapped, "main", "g/p/beta", [ours, found])
    record = read_record({"metadata": {"annotations": {"kasboot.dev/bootstrap": text}}})
    assert record is not None and record["linked_environments"] == ["production"]

    bare = build_settings(agent="beta")
    merged = merge_record(bare, frozenset(), record, "Secret beta/gitlab-agent-token")
    assert merged.manifest_path == "c/beta" and merged.helm_release_name == "beta"
    assert merged.env_name == "flux-system/beta"
    agreeing = build_settings(agent="beta", manifest_path="c/beta")
    assert merge_record(agreeing, frozenset({"manifest_path"}), record, "x").manifest_path
    wrong = build_settings(agent="beta", manifest_path="c")
    with pytest.raises(PreflightError) as refused:
        merge_record(wrong, frozenset({"manifest_path"}), record, "Secret beta/t")
    assert "--manifest-path 'c' (bootstrapped with 'c/beta')" in refused.value.message
