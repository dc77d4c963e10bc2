"""One agent as GitLab and the cluster see it: registered? its active tokens and when
each was last used (the single-token GET: the list has no `last_used_at`), the token
Secret (key `token`, the token-id annotation), the HelmRelease's health, and whether
the agent is connected. `kasboot status` shows it; `kasboot doctor AGENT` checks it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kasboot.cluster import AGENT_ANNOTATION, MANAGED_BY_LABEL
from kasboot.doctor.context import CONNECTED_WITHIN_SECONDS, parse_gitlab_time
from kasboot.flux.diagnose import Diagnosis, diagnose
from kasboot.flux.health import Phase, assess
from kasboot.steps.token import held_token_id

if TYPE_CHECKING:
    from kasboot.cluster import Cluster
    from kasboot.gitlab_api import GitLabAPI
    from kasboot.settings import Settings


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    created_at: str | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class SecretInfo:
    namespace: str
    name: str
    present: bool
    has_token_key: bool = False
    token_id: int | None = None  # from the token-id annotation
    managed_by_kasboot: bool = False
    managed_for: str | None = None  # the kasboot/agent annotation: "<project>/<agent>"


@dataclass(frozen=True)
class ReleaseInfo:
    namespace: str
    name: str
    present: bool
    phase: Phase | None = None
    reason: str = ""
    message: str = ""
    diagnosis: Diagnosis | None = None
    # where the chart runs agentk: (target namespace, the pods' selector), from the object
    agentk_pods: tuple[str, dict[str, str]] | None = None

    @property
    def ready(self) -> bool:
        return self.phase is Phase.READY


@dataclass
class AgentState:
    name: str
    project: str
    agent: dict[str, Any] | None = None
    tokens: list[TokenInfo] = field(default_factory=list)
    secret: SecretInfo | None = None  # None: the cluster was not asked
    release: ReleaseInfo | None = None
    # True when the Secret and HelmRelease were found through the agent's token, not at
    # the names the options give (bootstrap ran with other names).
    located_by_token: bool = False
    record_at: str | None = None  # where the agent's record was found (its token Secret)

    @property
    def registered(self) -> bool:
        return self.agent is not None

    @property
    def active_token_ids(self) -> set[int]:
        return {token.id for token in self.tokens}

    @property
    def secret_token_active(self) -> bool:
        secret = self.secret
        return bool(
            secret
            and secret.present
            and secret.has_token_key
            and secret.token_id in self.active_token_ids
        )

    @property
    def last_contact(self) -> TokenInfo | None:
        used = [token for token in self.tokens if token.last_used_at is not None]
        return max(used, key=lambda t: t.last_used_at or datetime.min) if used else None

    def connected(self, now: datetime) -> bool:
        latest = self.last_contact
        if latest is None or latest.last_used_at is None:
            return False
        return (now - latest.last_used_at).total_seconds() <= CONNECTED_WITHIN_SECONDS

    def healthy(self, now: datetime) -> bool:
        return (
            self.registered
            and self.secret_token_active
            and self.release is not None
            and self.release.ready
            and self.connected(now)
        )


def read_gitlab_side(gitlab: GitLabAPI, project: str, state: AgentState) -> None:
    """The agent and its active tokens, each with its last use."""
    state.agent = gitlab.find_agent(project, state.name)
    if state.agent is None:
        return
    agent_id = int(state.agent["id"])
    tokens = []
    for listed in gitlab.active_tokens(project, agent_id):
        detail = gitlab.get_token(project, agent_id, int(listed["id"])) or listed
        tokens.append(
            TokenInfo(
                id=int(detail["id"]),
                name=str(detail.get("name") or ""),
                created_at=detail.get("created_at"),
                last_used_at=parse_gitlab_time(detail.get("last_used_at")),
            )
        )
    state.tokens = sorted(tokens, key=lambda t: t.id)


def secret_info(namespace: str, name: str, secret: dict[str, Any] | None) -> SecretInfo:
    if secret is None:
        return SecretInfo(namespace, name, present=False)
    data = secret.get("data") or {}
    labels = (secret.get("metadata") or {}).get("labels") or {}
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    encoded = data.get("token") or ""
    try:
        has_token = bool(base64.b64decode(encoded).strip()) if encoded else False
    except ValueError:
        has_token = False
    return SecretInfo(
        namespace,
        name,
        present=True,
        has_token_key=has_token,
        token_id=held_token_id(secret),
        managed_by_kasboot=labels.get(MANAGED_BY_LABEL[0]) == MANAGED_BY_LABEL[1],
        managed_for=annotations.get(AGENT_ANNOTATION),
    )


def release_info(cluster: Cluster, namespace: str, name: str) -> ReleaseInfo:
    obj = cluster.get_object("HelmRelease", namespace, name)
    if obj is None:
        return ReleaseInfo(namespace, name, present=False)
    health = assess(obj)
    found = None
    if health.phase is not Phase.READY:
        found = diagnose("HelmRelease", obj, cluster.events_for("HelmRelease", namespace, name))
    return ReleaseInfo(
        namespace,
        name,
        True,
        health.phase,
        health.reason,
        health.message,
        found,
        agentk_pods(obj),
    )


def agentk_pods(obj: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The target namespace and the selector of the chart's agentk pods
    (``app.kubernetes.io/name``: nameOverride or the chart's name; ``…/instance``: the
    Helm release), as gitlab-agent's templates/_helpers.tpl selectorLabels say."""
    target, release = release_identity(obj)
    values = (obj.get("spec") or {}).get("values") or {}
    chart = str(values.get("nameOverride") or "gitlab-agent")[:63].removesuffix("-")
    return target, {"app.kubernetes.io/name": chart, "app.kubernetes.io/instance": release}


def release_identity(obj: dict[str, Any]) -> tuple[str, str]:
    """(target namespace, Helm release name) of a HelmRelease, with helm-controller's
    defaults."""
    spec, meta = obj.get("spec") or {}, obj["metadata"]
    target = spec.get("targetNamespace") or meta["namespace"]
    default = f"{target}-{meta['name']}" if spec.get("targetNamespace") else meta["name"]
    return target, spec.get("releaseName") or default


def token_secret_name(obj: dict[str, Any], release: str) -> str:
    """The Secret the agent of a gitlab-agent HelmRelease reads its token from:
    config.secretName, else the chart's "<fullname>-token", where fullname is
    fullnameOverride, else the release name when it contains the chart name
    (nameOverride or "gitlab-agent"), else "<release>-<chart name>" (the chart's
    _helpers.tpl, each cut to 63 characters)."""
    values = (obj.get("spec") or {}).get("values") or {}
    config = values.get("config") or {}
    if config.get("secretName"):
        return str(config["secretName"])
    chart = str(values.get("nameOverride") or "gitlab-agent")
    fullname = str(values.get("fullnameOverride") or "") or (
        release if chart in release else f"{release}-{chart}"
    )
    return f"{fullname[:63].removesuffix('-')}-token"


def _chart(obj: dict[str, Any]) -> str | None:
    return (((obj.get("spec") or {}).get("chart") or {}).get("spec") or {}).get("chart")


def discover_release(
    cluster: Cluster, state: AgentState
) -> tuple[dict[str, Any], str, str, dict[str, Any]] | None:
    """The gitlab-agent HelmRelease, in any namespace, whose token Secret holds one of
    this agent's active tokens: where the agent runs when it was bootstrapped with other
    names than the options given now. (HelmRelease, target namespace, Secret name, Secret)."""
    if not state.active_token_ids:
        return None
    for obj in cluster.list_objects("HelmRelease"):
        if _chart(obj) != "gitlab-agent":
            continue
        target, release = release_identity(obj)
        name = token_secret_name(obj, release)
        secret = cluster.read_secret(target, name)
        if held_token_id(secret) in state.active_token_ids:
            assert secret is not None
            return obj, target, name, secret
    return None


def recorded_settings(
    cluster: Cluster, project: str, settings: Settings, explicit: frozenset[str] | None = None
) -> tuple[Settings, str | None]:
    """The settings with the agent's record (kasboot.ownership) filled in, and where the
    record is. ``explicit`` None: the options that differ from the defaults count as
    given (doctor and status cannot tell a flag from a default). A given option that
    contradicts the record raises PreflightError (exit 3)."""

    from kasboot.ownership import (
        RECORDED_FIELDS,
        identity,
        read_record,
        secret_owner,
        secret_ref,
        secrets_of,
    )
    from kasboot.settings import Settings as SettingsType
    from kasboot.steps.recorded import merge_record

    owner = identity(project, settings.agent)
    secret = cluster.read_secret(
        settings.helm_release_target_namespace, settings.gitlab_agent_token_secret_name
    )
    if secret_owner(secret) != owner:
        found = secrets_of(owner, cluster.list_managed_secrets() or [])
        if len(found) != 1:
            return settings, None
        metadata = found[0].get("metadata") or {}
        secret = cluster.read_secret(str(metadata["namespace"]), str(metadata["name"]))
    record = read_record(secret)
    if record is None or secret is None:
        return settings, None
    if explicit is None:
        defaults = SettingsType(agent=settings.agent)
        explicit = frozenset(
            name
            for name in RECORDED_FIELDS
            if name not in ("environment_name", "flux_environment_name")
            and getattr(settings, name) != getattr(defaults, name)
        )
    where = f"Secret {secret_ref(secret)}"
    return merge_record(settings, explicit, record, where), where


def read_cluster_side(cluster: Cluster, settings: Settings, state: AgentState) -> None:
    """The token Secret (metadata only kept: the token never leaves this function) and
    the HelmRelease — where the options say, or else where the agent's token is found."""
    namespace = settings.helm_release_target_namespace
    name = settings.gitlab_agent_token_secret_name
    secret = cluster.read_secret(namespace, name)
    state.secret = secret_info(namespace, name, secret)
    state.release = release_info(
        cluster, settings.helm_release_namespace, settings.helm_release_name
    )
    if state.release.present and state.secret_token_active:
        return
    found = discover_release(cluster, state)
    if found is None:
        return
    obj, target, secret_name, secret = found
    meta = obj["metadata"]
    if (meta["namespace"], meta["name"]) == (state.release.namespace, state.release.name):
        return
    state.secret = secret_info(target, secret_name, secret)
    state.release = release_info(cluster, meta["namespace"], meta["name"])
    state.located_by_token = True


def read_agent_state(
    gitlab: GitLabAPI, cluster: Cluster, project: str, settings: Settings
) -> AgentState:
    state = AgentState(name=settings.agent, project=project)
    read_gitlab_side(gitlab, project, state)
    if state.registered:  # an unknown agent is told as such, whatever the cluster's state
        settings, state.record_at = recorded_settings(cluster, project, settings)
        read_cluster_side(cluster, settings, state)
    return state
