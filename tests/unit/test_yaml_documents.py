"""One parse per YAML document (flux/yaml_documents.py): what the decoder and the
repeated-key check read of it is what PyYAML's own safe loader and composer say."""

from __future__ import annotations

import pytest
import yaml

from kasboot.flux import yaml_documents
from kasboot.flux.duplicates import duplicate_key_error
from kasboot.flux.manifests import DecodeError, decode_manifests

HEAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
KEYS = frozenset({"apiVersion", "kind", "metadata"})
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@pytest.mark.parametrize(
    "spec",
    [
        "{a: 1, b: [x, y]}",
        "{when: 2001-12-14}",  # a timestamp: constructed in full
        "{a: &q [1], b: *q}",  # an alias: constructed in full
        "{n: !!int '12', f: 1.5, t: yes, z: ~}",
    ],
)
def test_the_read_fields_are_those_of_the_full_construction(spec: str) -> None:
    text = f"{HEAD}spec: {spec}\n"
    full = yaml.load(text, Loader=LOADER)
    value = yaml_documents.compose(text).value(KEYS)
    assert {key: value[key] for key in KEYS} == {key: full[key] for key in KEYS}
    assert list(value) == list(full)  # every key is there, read or not


def test_a_part_never_read_is_not_constructed_when_nothing_can_fail() -> None:
    value = yaml_documents.compose(f"{HEAD}spec: {{a: 1}}\n").value(KEYS)
    assert value["spec"] is None
    assert yaml_documents.compose(f"{HEAD}spec: {{a: 1}}\n").value() == yaml.load(
        f"{HEAD}spec: {{a: 1}}\n", Loader=LOADER
    )


def test_what_fails_to_construct_fails_however_often_it_is_asked() -> None:
    # Construction drops a merge key from the nodes before it refuses its value.
    text = f"{HEAD}spec:\n  <<: 3\n"
    with pytest.raises(yaml.YAMLError):
        yaml.load(text, Loader=LOADER)
    for _ in range(2):
        with pytest.raises(yaml.YAMLError):
            yaml_documents.compose(text).value(KEYS)
        with pytest.raises(DecodeError):
            decode_manifests(text.encode())


def test_an_int_the_resolver_takes_but_cannot_build_raises_as_pyyaml_does() -> None:
    text = f"{HEAD}spec: {{x: 0b_}}\n"
    with pytest.raises(ValueError):
        yaml.load(text, Loader=LOADER)
    with pytest.raises(ValueError):
        decode_manifests(text.encode())


def test_repeated_keys_are_read_before_merge_keys_are_expanded() -> None:
    text = f"{HEAD}data:\n  <<: {{mode: a}}\n  mode: b\n  mode: c\n"
    decode_manifests(text.encode())  # constructs the document first
    expected: list[str] = []
    yaml_documents.repeated_keys(yaml.compose(text, Loader=LOADER), expected)
    assert expected and duplicate_key_error(text.encode()) == "\n  ".join(
        ["map[string]interface {}(nil): yaml: unmarshal errors:", *expected]
    )
