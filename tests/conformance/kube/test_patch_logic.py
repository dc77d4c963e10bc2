"""Pure logic: the patch flavours, selectors and the printer-column JSONPath subset."""

from __future__ import annotations

import pytest

from kasboot.sandbox.kube.errors import KubeApiError
from kasboot.sandbox.kube.patch import json_merge_patch, json_patch, strategic_merge_patch
from kasboot.sandbox.kube.registry import BUILTIN_TYPES
from kasboot.sandbox.kube.selectors import field_selector, label_selector
from kasboot.sandbox.kube.table import human_duration, jsonpath_values

POD_SPEC = {
    "containers": [
        {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
        {"name": "b", "image": "b:1"},
    ]
}


def test_merge_patch_deletes_with_null_and_replaces_lists() -> None:
    target = {"a": {"b": 1, "c": 2}, "l": [1, 2]}
    assert json_merge_patch(target, {"a": {"b": None}, "l": [3]}) == {"a": {"c": 2}, "l": [3]}


def test_strategic_merge_by_key_and_directives() -> None:
    patch = {
        "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
        "containers": [
            {"name": "a", "env": [{"name": "Y", "value": "2"}]},
            {"name": "c", "image": "c:1"},
        ],
    }
    merged = strategic_merge_patch(POD_SPEC, patch)
    assert [c["name"] for c in merged["containers"]] == ["b", "a", "c"]
    assert merged["containers"][1]["env"] == [
        {"name": "X", "value": "1"},
        {"name": "Y", "value": "2"},
    ]
    deleted = strategic_merge_patch(POD_SPEC, {"containers": [{"name": "a", "$patch": "delete"}]})
    assert [c["name"] for c in deleted["containers"]] == ["b"]
    replaced = strategic_merge_patch({"m": {"x": 1, "y": 2}}, {"m": {"$patch": "replace", "z": 3}})
    assert replaced == {"m": {"z": 3}}
    retained = strategic_merge_patch({"s": {"a": 1, "b": 2}}, {"s": {"$retainKeys": ["b"], "b": 3}})
    assert retained == {"s": {"b": 3}}
    assert strategic_merge_patch(
        {"finalizers": ["x", "y"]}, {"$deleteFromPrimitiveList/finalizers": ["x"]}
    ) == {"finalizers": ["y"]}


def test_json_patch_operations() -> None:
    doc = {"a": [1, 2], "b": {"c~d": 1, "e/f": 2}}
    result = json_patch(
        doc,
        [
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "remove", "path": "/b/c~0d"},
            {"op": "move", "from": "/b/e~1f", "path": "/g"},
            {"op": "copy", "from": "/g", "path": "/h"},
            {"op": "test", "path": "/h", "value": 2},
        ],
    )
    assert result == {"a": [1, 2, 3], "b": {}, "g": 2, "h": 2}
    assert doc == {"a": [1, 2], "b": {"c~d": 1, "e/f": 2}}  # input untouched
    with pytest.raises(KubeApiError) as caught:
        json_patch(doc, [{"op": "test", "path": "/a/0", "value": 9}])
    assert caught.value.code == 422
    with pytest.raises(KubeApiError):
        json_patch(doc, [{"op": "replace", "path": "/missing", "value": 1}])


def test_label_selector_errors_are_bad_requests() -> None:
    with pytest.raises(KubeApiError) as caught:
        label_selector("a in b")({})
    assert caught.value.code == 400


def test_field_selector_on_unknown_field_for_custom_kinds() -> None:
    secrets = next(t for t in BUILTIN_TYPES if t.plural == "secrets")
    assert field_selector("type=Opaque", secrets)({"type": "Opaque", "metadata": {}})
    with pytest.raises(KubeApiError) as caught:
        field_selector("spec.x=1", secrets)
    assert caught.value.message == "field label not supported: spec.x"


def test_jsonpath_subset_for_printer_columns() -> None:
    obj = {
        "status": {
            "conditions": [{"type": "Other", "status": "x"}, {"type": "Ready", "status": "True"}]
        }
    }
    assert jsonpath_values(obj, '.status.conditions[?(@.type=="Ready")].status') == ["True"]
    assert jsonpath_values(obj, ".status.conditions[*].type") == ["Other", "Ready"]
    assert jsonpath_values(obj, ".status.conditions[0].status") == ["x"]
    assert jsonpath_values(obj, ".spec.missing") == []


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (5, "5s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (4 * 3600 + 60, "4h1m"),
        (3 * 86400, "3d"),
    ],
)
def test_human_duration(seconds: int, shown: str) -> None:
    assert human_duration(seconds) == shown
