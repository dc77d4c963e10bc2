"""Step 5: the Kubernetes Secret holding the agent token — created, or replaced in one
call (no delete window), key `token`, annotated with the token id and labelled as
managed by kasboot. The target namespace is created when missing. A replace keeps what
the Secret already had besides the token (its type, ownerReferences, finalizers, other
keys): the API server keeps `type` immutable, so writing it as Opaque would fail on
every run. An `immutable: true` Secret cannot take a new token: it is deleted (only
the very object read, by uid and resourceVersion) and created again, still immutable.
Pre-flight (secret_checks.py) has already refused a Secret that is not this agent's."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

from kasboot.cluster import (
    AGENT_ANNOTATION,
    MANAGED_BY_LABEL,
    REPLACED_TOKEN,
    TOKEN_ID_ANNOTATION,
)
from kasboot.ownership import RECORD_ANNOTATION, record_annotation
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext

# Written by the API server; a PUT carries resourceVersion on its own.
_SERVER_METADATA = frozenset(
    {
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "generation",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)


class StoreTokenSecret:
    name = "secret"
    title = "Creating Kubernetes Secret with agent token"

    def __init__(self) -> None:
        self._existing: dict[str, Any] | None = None
        self._namespace_missing = False

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def _target(self, ctx: BootstrapContext) -> tuple[str, str]:
        settings = ctx.settings
        return settings.helm_release_target_namespace, settings.gitlab_agent_token_secret_name

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        namespace, name = self._target(ctx)
        if ctx.token_secret_read:
            # Read by pre-flight, or again under the token lease when a token is minted:
            # what the cluster holds now, as far as kasboot's runs go (a concurrent change
            # makes the write answer 409, which is re-read: cluster_writes.py).
            self._existing = ctx.token_secret
            self._namespace_missing = self._existing is None and not (
                ctx.cluster.namespace_exists(namespace)
            )
        else:
            self._namespace_missing = not ctx.cluster.namespace_exists(namespace)
            self._existing = (
                None if self._namespace_missing else ctx.cluster.get_secret(namespace, name)
            )
        changes: list[Change] = []
        if self._namespace_missing:
            changes.append(Change("create", f"namespace {namespace}"))
        token_changes = ctx.token is not None or ctx.token_id is None
        metadata = (self._existing or {}).get("metadata") or {}
        labels = metadata.get("labels") or {}
        annotations = metadata.get("annotations") or {}
        metadata_ok = (
            labels.get(MANAGED_BY_LABEL[0]) == MANAGED_BY_LABEL[1]
            and annotations.get(TOKEN_ID_ANNOTATION) == str(ctx.token_id)
            and annotations.get(AGENT_ANNOTATION) == ctx.agent_identity
            and annotations.get(RECORD_ANNOTATION) == self._record(ctx)
        )
        if self._existing is None:
            changes.append(Change("create", f"Secret {namespace}/{name}", "key token"))
        elif token_changes and self._existing.get("immutable"):
            detail = "new token; immutable, so deleted and created again"
            changes.append(Change("recreate", f"Secret {namespace}/{name}", detail))
        elif token_changes:
            changes.append(Change("replace", f"Secret {namespace}/{name}", "new token, one call"))
        elif not metadata_ok:
            changes.append(Change("update", f"Secret {namespace}/{name}", "label and annotation"))
        return changes

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        namespace, name = self._target(ctx)
        if self._namespace_missing:
            ctx.cluster.create_namespace(namespace, ctx.agent_identity)
        if ctx.token is not None:
            token_b64 = base64.b64encode(ctx.token.secret.encode()).decode()
        else:  # same token, metadata fixed: write back what the Secret already holds
            token_b64 = ((self._existing or {}).get("data") or {}).get("token", "")
        existing = self._existing or {}
        data = {**(existing.get("data") or {}), "token": token_b64}  # other keys are kept
        existing_meta = (self._existing or {}).get("metadata") or {}
        kept_meta = {k: v for k, v in existing_meta.items() if k not in _SERVER_METADATA}
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": existing.get("type") or "Opaque",  # immutable: a PUT must keep it
            "metadata": {
                **kept_meta,  # ownerReferences, finalizers, …
                "name": name,
                "namespace": namespace,
                "labels": {
                    **(existing_meta.get("labels") or {}),
                    MANAGED_BY_LABEL[0]: MANAGED_BY_LABEL[1],
                },
                "annotations": {
                    **(existing_meta.get("annotations") or {}),
                    TOKEN_ID_ANNOTATION: str(ctx.token_id),
                    AGENT_ANNOTATION: ctx.agent_identity,
                    RECORD_ANNOTATION: self._record(ctx),
                },
            },
            "data": data,
        }
        replaced = (existing_meta.get("annotations") or {}).get(TOKEN_ID_ANNOTATION)
        if ctx.token is not None and replaced and replaced != str(ctx.token_id):
            # Pods started before this write run on that token until they are restarted
            # (agent_restart.py reads it when no restart has stamped them since).
            metadata = body["metadata"]
            assert isinstance(metadata, dict)
            metadata["annotations"][REPLACED_TOKEN] = str(replaced)
        if existing.get("immutable"):
            body["immutable"] = True
        try:
            if any(change.action == "recreate" for change in changes):
                ctx.cluster.recreate_secret(
                    namespace, body, existing_meta["uid"], existing_meta["resourceVersion"]
                )
            else:
                ctx.cluster.put_secret(namespace, body, existing_meta.get("resourceVersion"))
        except BaseException:
            # Not stored: a run waiting on the token lease would wait for its expiry.
            if ctx.token_lease is not None:
                with contextlib.suppress(Exception):  # the write's own error is the news
                    ctx.token_lease.release()
                ctx.token_lease = None
            raise
        ctx.secret_changed = True

    def _record(self, ctx: BootstrapContext) -> str:
        """kasboot.ownership's record: the options, and the environments only linked."""
        environments = ctx.environments.values()
        return record_annotation(
            ctx.settings, ctx.branch, ctx.agent_identity, environments, ctx.receptive_record
        )

    def summary(self, ctx: BootstrapContext) -> str:
        namespace, name = self._target(ctx)
        if ctx.token_id is None:  # a dry run: the token is minted on apply
            return f"Secret {namespace}/{name} would hold the token minted on apply"
        return f"Secret {namespace}/{name} holds token {ctx.token_id}"
