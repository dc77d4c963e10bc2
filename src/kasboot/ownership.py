"""Whose is it: the record kasboot leaves on everything it creates, and how it is read.

- The token Secret carries ``kasboot/agent: <project>/<agent>`` (whose token it holds)
  and ``kasboot.dev/bootstrap``: the options the agent was bootstrapped with (JSON), so
  uninstall, token rotate, doctor and status find them without repeated flags.
- The HelmRepository and HelmRelease files carry the annotation
  ``kasboot.dev/agent: <project>/<agent>``; Flux applies it, so the objects in the
  cluster carry it too. (A label value cannot hold ``/``; an annotation can.)
- Environments kasboot created carry a ``description`` naming the agent: GitLab stores
  it (environments API ``description``, GitLab 17.x). An environment kasboot found and
  only linked has no such description: it is "linked, not owned".
- Agent tokens kasboot minted are named ``kasboot-<agent>-<unix time>-<random>``.
- A receptive agent's URL configuration has no field to mark it: the record on the
  token Secret names the one kasboot created (``receptive_url_configuration``: its id
  and URL), and only that one, unchanged, is kasboot's to delete.

Nothing here makes a request: the callers pass what the seams read."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from kasboot.cluster import AGENT_ANNOTATION

OWNER_ANNOTATION = "kasboot.dev/agent"  # on the manifests (and the objects Flux applies)
RECORD_ANNOTATION = "kasboot.dev/bootstrap"  # on the token Secret: the options, as JSON
_ENVIRONMENT_MARKER = "Managed by kasboot for agent "
# The options a later command needs to find what bootstrap made.
RECORDED_FIELDS: tuple[str, ...] = (
    "manifest_path",
    "manifest_branch",
    "helm_repository_name",
    "helm_repository_namespace",
    "helm_repository_filepath",
    "helm_release_name",
    "helm_release_namespace",
    "helm_release_filepath",
    "helm_release_target_namespace",
    "gitlab_agent_token_secret_name",
    "flux_source_type",
    "flux_source_namespace",
    "flux_source_name",
    "create_environment",
    "environment_name",
    "create_flux_environment",
    "flux_environment_name",
)
RECEPTIVE_RECORD = "receptive_url_configuration"  # {"id": int, "url": str}
FLAG_OF = {name: "--" + name.replace("_", "-") for name in RECORDED_FIELDS}
FLAG_OF["gitlab_agent_token_secret_name"] = "--gitlab-agent-token-secret-name"


def identity(project_path: str, agent: str) -> str:
    """``<project path>/<agent>``: the owner named in every record."""
    return f"{project_path}/{agent}"


def agent_of(owner: str) -> str:
    """The agent name of an owner identity (its last path component)."""
    return owner.rsplit("/", 1)[-1]


# -- environments ---------------------------------------------------------------


def environment_description(owner: str) -> str:
    return f"{_ENVIRONMENT_MARKER}{owner}"


def environment_owner(environment: Mapping[str, Any]) -> str | None:
    """The agent identity an environment's description names, when kasboot created it."""
    description = str(environment.get("description") or "")
    if not description.startswith(_ENVIRONMENT_MARKER):
        return None
    return description[len(_ENVIRONMENT_MARKER) :].split()[0] or None


def linked_agent_id(environment: Mapping[str, Any]) -> int | None:
    agent = environment.get("cluster_agent") or {}
    return int(agent["id"]) if agent.get("id") is not None else None


# -- tokens ---------------------------------------------------------------------


def new_token_name(agent: str) -> str:
    """Unique per run: two runs in the same second still get different names."""
    return f"kasboot-{agent}-{int(time.time())}-{secrets.token_hex(3)}"


def minted_by_kasboot(token: Mapping[str, Any], agent: str) -> bool:
    # The seam adds its own suffix per attempt (gitlab_api.writes.create_token).
    pattern = rf"kasboot-{re.escape(agent)}-\d+(-[0-9a-f]+)*"
    return re.fullmatch(pattern, str(token.get("name") or "")) is not None


# -- manifests ------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestObject:
    kind: str
    name: str
    namespace: str
    owner: str | None
    body: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def manifest_objects(text: str) -> list[ManifestObject]:
    """The Kubernetes objects of a YAML file ([] when it is not YAML objects)."""
    try:
        documents = list(YAML(typ="safe", pure=True).load_all(text))
    except YAMLError:
        return []
    found = []
    for document in documents:
        if not isinstance(document, dict) or not document.get("kind"):
            continue
        metadata = document.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        owner = annotations.get(OWNER_ANNOTATION)
        found.append(
            ManifestObject(
                kind=str(document["kind"]),
                name=str(metadata.get("name") or ""),
                namespace=str(metadata.get("namespace") or ""),
                owner=str(owner) if owner else None,
                body=document,
            )
        )
    return found


def object_owner(obj: Mapping[str, Any] | None) -> str | None:
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    owner = annotations.get(OWNER_ANNOTATION)
    return str(owner) if owner else None


# -- the Secret's record -----------------------------------------------------------


def secret_owner(secret: Mapping[str, Any] | None) -> str | None:
    annotations = ((secret or {}).get("metadata") or {}).get("annotations") or {}
    owner = annotations.get(AGENT_ANNOTATION)
    return str(owner) if owner else None


def record_of(
    settings: Any,
    branch: str,
    owner: str = "",
    environments: Iterable[Mapping[str, Any]] = (),
    url_configuration: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The options to record, as this run resolved them (environment names included),
    the environments kasboot found and linked but did not create: "linked, not
    owned" (uninstall only unlinks those), and the receptive URL configuration kasboot
    created (id and URL)."""
    record: dict[str, Any] = {
        name: getattr(settings, name) for name in RECORDED_FIELDS if hasattr(settings, name)
    }
    record["manifest_branch"] = branch
    record["environment_name"] = settings.env_name
    record["flux_environment_name"] = settings.flux_env_name
    linked = sorted(str(env.get("name")) for env in environments if environment_owner(env) != owner)
    if linked:
        record["linked_environments"] = linked
    if url_configuration is not None:
        record[RECEPTIVE_RECORD] = {
            "id": int(url_configuration["id"]),
            "url": str(url_configuration["url"]),
        }
    return record


def record_annotation(
    settings: Any,
    branch: str,
    owner: str = "",
    environments: Iterable[Mapping[str, Any]] = (),
    url_configuration: Mapping[str, Any] | None = None,
) -> str:
    record = record_of(settings, branch, owner, environments, url_configuration)
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def read_record(secret: Mapping[str, Any] | None) -> dict[str, Any] | None:
    annotations = ((secret or {}).get("metadata") or {}).get("annotations") or {}
    text = annotations.get(RECORD_ANNOTATION)
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    return {
        key: value
        for key, value in record.items()
        if key in RECORDED_FIELDS or key in ("linked_environments", RECEPTIVE_RECORD)
    }


def recorded_url_configuration(secret: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The receptive URL configuration the token Secret's record says kasboot created:
    {"id": int, "url": str}, or None."""
    found = (read_record(secret) or {}).get(RECEPTIVE_RECORD)
    if not isinstance(found, dict) or not isinstance(found.get("id"), int):
        return None
    if not isinstance(found.get("url"), str):
        return None
    return {"id": found["id"], "url": found["url"]}


def secret_ref(secret: Mapping[str, Any]) -> str:
    metadata = secret.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}"


def secrets_of(owner: str, found: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [secret for secret in found if secret_owner(secret) == owner]
