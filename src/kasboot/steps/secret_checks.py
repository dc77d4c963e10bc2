"""Pre-flight checks on the token Secret before anything is written: kasboot writes
only a Secret that is this agent's. An existing Secret of that name which kasboot does
not manage for this agent — Flux's Git credentials, another agent's token, a TLS
certificate, a Helm release's Secret — is refused (exit 3) with what it looks like and
how to fix it; replacing it would break whoever reads it. A Secret that is this
agent's but cannot be written as kasboot writes it (a ServiceAccount token, one being
deleted, an immutable one that cannot be re-created) is refused the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kasboot.cluster import (
    AGENT_ANNOTATION,
    MANAGED_BY_LABEL,
    SOURCE_KINDS,
    TOKEN_ID_ANNOTATION,
)
from kasboot.errors import ClusterError, PreflightError
from kasboot.steps.context import BootstrapContext

SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"
# Secret types, and the data keys, by which well-known owners can be told apart.
_TYPE_OWNERS = {
    SERVICE_ACCOUNT_TOKEN: "a ServiceAccount token, written by Kubernetes itself",
    "kubernetes.io/dockerconfigjson": "image pull credentials",
    "kubernetes.io/dockercfg": "image pull credentials",
    "kubernetes.io/tls": "a TLS certificate and key",
    "kubernetes.io/basic-auth": "basic-auth credentials",
    "kubernetes.io/ssh-auth": "SSH credentials",
    "bootstrap.kubernetes.io/token": "a node bootstrap token",
    "helm.sh/release.v1": "Helm's record of a release",
}
_GIT_CREDENTIAL_KEYS = ({"username", "password"}, {"identity", "known_hosts"}, {"bearerToken"})


@dataclass(frozen=True)
class SecretTarget:
    namespace: str
    name: str

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


def _token_secret_target(ctx: BootstrapContext) -> SecretTarget:
    settings = ctx.settings
    return SecretTarget(
        settings.helm_release_target_namespace, settings.gitlab_agent_token_secret_name
    )


def read_token_secret(ctx: BootstrapContext) -> None:
    """The token Secret as the cluster has it, into ``ctx.token_secret`` (None: absent)."""
    target = _token_secret_target(ctx)
    ctx.token_secret = ctx.cluster.get_secret(target.namespace, target.name)
    ctx.token_secret_read = True


def check_secret_owner(ctx: BootstrapContext) -> None:
    """Read the token Secret into ``ctx.token_secret`` and refuse unless it is absent or
    this agent's: labelled managed-by kasboot and annotated kasboot/agent=<this agent>,
    or (the Secret glab's bootstrap writes) annotated with the id of a token GitLab
    lists for this agent."""
    target = _token_secret_target(ctx)
    if not ctx.token_secret_read:  # pre-flight's cluster reads may have read it
        read_token_secret(ctx)
    secret = ctx.token_secret
    if secret is None:
        return
    metadata = secret.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    owner = annotations.get(AGENT_ANNOTATION)
    if owner and owner != ctx.agent_identity:
        raise PreflightError(
            f"Secret {target.ref} holds the token of agent {owner}, not of "
            f"{ctx.agent_identity}: replacing it would disconnect that agent",
            hint="give this agent its own --helm-release-target-namespace (or "
            "--gitlab-agent-token-secret-name) and --helm-release-name",
        )
    if not owner and not _holds_token_of_this_agent(ctx, annotations):
        raise PreflightError(
            f"Secret {target.ref} exists and is not managed by kasboot for agent "
            f"{ctx.agent_identity}: it looks like {_whose(ctx, target, secret)}; writing the "
            "agent token into it would replace what it holds",
            hint=_foreign_hint(ctx, target, secret),
        )
    check_secret_writable(target, secret)


def _holds_token_of_this_agent(ctx: BootstrapContext, annotations: dict[str, Any]) -> bool:
    """A Secret without kasboot's annotation is the agent's when the token id it is
    annotated with (glab's annotation) is a token GitLab still has for this agent."""
    try:
        token_id = int(annotations[TOKEN_ID_ANNOTATION])
    except (KeyError, ValueError):
        return False
    agent = ctx.gitlab.find_agent(ctx.project_path, ctx.settings.agent)
    if agent is None:
        return False
    return ctx.gitlab.get_token(ctx.project_path, int(agent["id"]), token_id) is not None


def check_secret_writable(target: SecretTarget, secret: dict[str, Any]) -> None:
    """Refuse an agent's Secret that kasboot's one write (PUT) cannot update: the write
    would fail the same way on every run."""
    metadata = secret.get("metadata") or {}
    if secret.get("type") == SERVICE_ACCOUNT_TOKEN:
        raise PreflightError(
            f"Secret {target.ref} is of type {SERVICE_ACCOUNT_TOKEN}: Kubernetes writes its "
            "`token` key, so it cannot hold the agent token",
            hint=f"delete it (kubectl delete secret -n {target.namespace} {target.name}) and "
            "re-run: kasboot creates an Opaque Secret",
        )
    if metadata.get("deletionTimestamp"):
        finalizers = ", ".join(metadata.get("finalizers") or []) or "none"
        raise PreflightError(
            f"Secret {target.ref} is being deleted (finalizers: {finalizers})",
            hint="wait until it is gone, or remove its finalizers, then re-run",
        )
    if secret.get("immutable") and metadata.get("finalizers"):
        raise PreflightError(
            f"Secret {target.ref} is immutable (its token cannot change) and has finalizers "
            f"({', '.join(metadata['finalizers'])}), so kasboot cannot re-create it either",
            hint="remove its finalizers, or delete it, then re-run",
        )


def _whose(ctx: BootstrapContext, target: SecretTarget, secret: dict[str, Any]) -> str:
    """Words for whose the Secret seems to be, from who reads it, who owns it, its type
    and its key names (never its values)."""
    metadata = secret.get("metadata") or {}
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    keys = set((secret.get("data") or {}).keys())
    readers = _flux_sources_reading(ctx, target)
    if readers:
        return f"Flux's credentials ({', '.join(readers)} reads it via spec.secretRef)"
    owners = metadata.get("ownerReferences") or []
    if owners:
        named = ", ".join(f"{o.get('kind')} {o.get('name')}" for o in owners)
        return f"a Secret owned by {named}"
    release = annotations.get("meta.helm.sh/release-name")
    if release or labels.get(MANAGED_BY_LABEL[0]) == "Helm":
        return f"part of Helm release {release or '?'}"
    kind = _TYPE_OWNERS.get(str(secret.get("type") or ""))
    if kind:
        return kind
    if any(wanted <= keys for wanted in _GIT_CREDENTIAL_KEYS):
        return f"Git credentials (keys: {', '.join(sorted(keys))})"
    managed_by = labels.get(MANAGED_BY_LABEL[0])
    if managed_by and managed_by != MANAGED_BY_LABEL[1]:
        return f"a Secret managed by {managed_by}"
    if keys <= {"token"}:
        return "an agent token Secret written by hand or by another tool"
    return f"a Secret kasboot did not write (keys: {', '.join(sorted(keys)) or 'none'})"


def _flux_sources_reading(ctx: BootstrapContext, target: SecretTarget) -> list[str]:
    """The Flux sources in the Secret's namespace whose spec.secretRef names it."""
    found: list[str] = []
    for kind in SOURCE_KINDS.values():
        try:
            objects = ctx.cluster.list_objects(kind)
        except ClusterError:  # not allowed to list: the description is only a guess then
            continue
        for obj in objects:
            metadata = obj.get("metadata") or {}
            secret_ref = (obj.get("spec") or {}).get("secretRef") or {}
            if metadata.get("namespace") == target.namespace and (
                secret_ref.get("name") == target.name
            ):
                found.append(f"{kind} {target.namespace}/{metadata.get('name')}")
    return found


def _foreign_hint(ctx: BootstrapContext, target: SecretTarget, secret: dict[str, Any]) -> str:
    keys = set((secret.get("data") or {}).keys())
    hint = (
        "give the agent a Secret of its own: another --gitlab-agent-token-secret-name "
        "(default gitlab-agent-token) or --helm-release-target-namespace (default gitlab-agent)"
    )
    if keys <= {"token"} and (secret.get("type") or "Opaque") == "Opaque":
        hint += (
            f"; if it really is this agent's, let kasboot manage it: kubectl label secret -n "
            f"{target.namespace} {target.name} {MANAGED_BY_LABEL[0]}={MANAGED_BY_LABEL[1]} && "
            f"kubectl annotate secret -n {target.namespace} {target.name} "
            f"{AGENT_ANNOTATION}={ctx.agent_identity}"
        )
    return hint
