"""The Flux manifests kasboot commits, byte for byte what `flux create source helm
--export` and `flux create helmrelease --export` print.

The flux CLI builds typed objects and prints them with sigs.k8s.io/yaml (JSON, then
go-yaml v2): keys sorted with go-yaml's natural order at every level, 2-space indent,
sequences not indented under their key, go-yaml's quoting and line-folding rules.
Matching that output keeps a re-run by either tool from producing a diff.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import yaml
from ruamel.yaml import YAML

from kasboot.flux.values import load_values_file
from kasboot.goyaml import marshal
from kasboot.ownership import OWNER_ANNOTATION
from kasboot.resources import flux_template
from kasboot.seed_options import receptive_secret_name, seed_values
from kasboot.settings import Settings

__all__ = ["deep_merge", "load_values_file", "render_helm_release", "render_manifests"]
_PLACEHOLDER = re.compile(r"^\$\{([a-z_]+)\}$")
# What a plan (or render) shows before GitLab has made the URL configuration's key pair.
RECEPTIVE_KEY_PLACEHOLDER = "<public key of the agent's URL configuration>"


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Flux's MergeMaps: maps merge recursively, anything else from overlay wins."""
    merged = dict(base)
    for key, value in overlay.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


# ---------------------------------------------------------------- rendering


def _fill(node: Any, fields: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {str(key): _fill(value, fields) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, fields) for item in node]
    if isinstance(node, str):
        match = _PLACEHOLDER.match(node)
        if match:
            return fields[match.group(1)]
    return node


@cache
def _parsed_template(name: str) -> Any:
    """A template read once per process: _fill copies every map and list it fills, so
    this tree is never changed (a bootstrap renders the manifests in pre-flight and
    again for the commit). Read with libyaml when PyYAML has it — the templates are
    kasboot's own, and tests/unit/test_render.py holds that it gives the tree ruamel
    gives, key order and types included."""
    text = flux_template(name)
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        return yaml.load(text, Loader=loader)
    return YAML(typ="safe", pure=True).load(text)


def _template(name: str, fields: Mapping[str, str]) -> dict[str, Any]:
    filled = _fill(_parsed_template(name), fields)
    assert isinstance(filled, dict)
    return filled


def _fields(settings: Settings) -> dict[str, str]:
    return {
        "helm_repository_name": settings.helm_repository_name,
        "helm_repository_namespace": settings.helm_repository_namespace,
        "helm_repository_address": settings.helm_repository_address,
        "helm_release_name": settings.helm_release_name,
        "helm_release_namespace": settings.helm_release_namespace,
        "helm_release_target_namespace": settings.helm_release_target_namespace,
    }


def _mark_owner(obj: dict[str, Any], owner: str | None) -> None:
    """The ownership record (kasboot.ownership): an annotation Flux applies with the
    object, so the HelmRepository and HelmRelease in the cluster say whose they are."""
    if owner:
        obj["metadata"].setdefault("annotations", {})[OWNER_ANNOTATION] = owner


def render_helm_repository(settings: Settings, *, owner: str | None = None) -> str:
    repository = _template("helm-repository.yaml", _fields(settings))
    _mark_owner(repository, owner)
    if settings.helm_repository_address.lower().startswith("oci://"):
        repository["spec"]["type"] = "oci"
    return export(repository)


def helm_release_values(
    settings: Settings,
    *,
    kas_address: str | None,
    image_tag: str | None,
    kas_ca_cert: str | None = None,
    receptive_public_key: str | None = None,
) -> dict[str, Any]:
    """The HelmRelease's spec.values: kasboot's own, then the user's files in order.

    A receptive agent (--receptive) has no config.kasAddress (GitLab connects to it),
    config.receptive.enabled and config.api.jwtPublicKey from its URL configuration; the
    chart then renders a Secret of its own under config.secretName, so that name is NOT
    the token Secret's (Helm would take that one over and drop ``token``): the token
    reaches config.token through valuesFrom instead (render_helm_release)."""
    config: dict[str, Any] = {}
    receptive = settings.receptive
    if kas_address and not receptive:
        config["kasAddress"] = kas_address
    # The Secret's real name: glab hard-codes gitlab-agent-token here.
    config["secretName"] = (
        receptive_secret_name(settings) if receptive else settings.gitlab_agent_token_secret_name
    )
    if kas_ca_cert:
        config["kasCaCert"] = kas_ca_cert
    if receptive:
        config["receptive"] = {"enabled": True}
        config["api"] = {"jwtPublicKey": receptive_public_key or RECEPTIVE_KEY_PLACEHOLDER}
    values: dict[str, Any] = {"config": config, **seed_values(settings, kas_address)}
    if image_tag:
        values["image"] = {"tag": image_tag}
    for path in settings.helm_release_values:
        values = deep_merge(values, load_values_file(path))
    return values


def values_from(settings: Settings) -> list[dict[str, str]]:
    """spec.valuesFrom: the user's references, then (receptive) the token Secret's
    ``token`` key as config.token, so the token never reaches git."""
    refs = [{"kind": ref.kind, "name": ref.name} for ref in settings.helm_release_values_from]
    if settings.receptive:
        refs.append(
            {
                "kind": "Secret",
                "name": settings.gitlab_agent_token_secret_name,
                "valuesKey": "token",
                "targetPath": "config.token",
            }
        )
    return refs


def render_helm_release(
    settings: Settings,
    *,
    kas_address: str | None,
    image_tag: str | None,
    kas_ca_cert: str | None = None,
    receptive_public_key: str | None = None,
    owner: str | None = None,
) -> str:
    release = _template("helm-release.yaml", _fields(settings))
    _mark_owner(release, owner)
    values = helm_release_values(
        settings,
        kas_address=kas_address,
        image_tag=image_tag,
        kas_ca_cert=kas_ca_cert,
        receptive_public_key=receptive_public_key,
    )
    if values:
        release["spec"]["values"] = values
    references = values_from(settings)
    if references:
        release["spec"]["valuesFrom"] = references
    return export(release)


def render_manifests(
    settings: Settings,
    *,
    kas_address: str | None,
    image_tag: str | None,
    kas_ca_cert: str | None = None,
    receptive_public_key: str | None = None,
    owner: str | None = None,
) -> dict[str, str]:
    """Repository path -> file content, for the one commit; ``owner`` ("<project>/<agent>")
    is recorded on both objects."""
    return {
        settings.helm_repository_path: render_helm_repository(settings, owner=owner),
        settings.helm_release_path: render_helm_release(
            settings,
            kas_address=kas_address,
            image_tag=image_tag,
            kas_ca_cert=kas_ca_cert,
            receptive_public_key=receptive_public_key,
            owner=owner,
        ),
    }


def export(obj: Mapping[str, Any]) -> str:
    """One object as `flux … --export` prints it: `---`, the YAML, a final newline."""
    return "---\n" + marshal(obj).strip() + "\n"
