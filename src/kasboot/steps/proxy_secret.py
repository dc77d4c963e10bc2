"""A proxy URL with credentials (from KASBOOT_HTTPS_PROXY / KASBOOT_HTTP_PROXY only): kept
in the Secret ``<token Secret>-proxy`` next to the token Secret, which the HelmRelease's
extraEnv reads with secretKeyRef — the committed manifests never hold it."""

from __future__ import annotations

import base64
from typing import Any

from kasboot.cluster import AGENT_ANNOTATION, MANAGED_BY_LABEL
from kasboot.pipeline import Change
from kasboot.seed_options import PROXY_ENV_NAMES, proxy_has_credentials, proxy_secret_name
from kasboot.steps.context import BootstrapContext


def wanted_data(ctx: BootstrapContext) -> dict[str, str]:
    data: dict[str, str] = {}
    for name in ("https_proxy", "http_proxy"):
        value = getattr(ctx.settings, name)
        if value and proxy_has_credentials(value):
            data[PROXY_ENV_NAMES[name]] = base64.b64encode(value.encode()).decode()
    return data


class StoreProxySecret:
    name = "proxy-secret"
    title = "Storing proxy credentials in a Kubernetes Secret"

    def __init__(self) -> None:
        self._existing: dict[str, Any] | None = None

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None  # not SKIPPED when unused: a plain re-run stays all UNCHANGED

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        if not wanted_data(ctx):
            return []
        namespace = ctx.settings.helm_release_target_namespace
        name = proxy_secret_name(ctx.settings)
        keys = ", ".join(sorted(wanted_data(ctx)))
        self._existing = (
            ctx.cluster.get_secret(namespace, name)
            if ctx.cluster.namespace_exists(namespace)
            else None
        )
        if self._existing is None:
            return [Change("create", f"Secret {namespace}/{name}", f"keys {keys}")]
        if (self._existing.get("data") or {}) != wanted_data(ctx):
            return [Change("replace", f"Secret {namespace}/{name}", f"keys {keys}")]
        return []

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        namespace = ctx.settings.helm_release_target_namespace
        if not ctx.cluster.namespace_exists(namespace):
            ctx.cluster.create_namespace(namespace, ctx.agent_identity)
        metadata = (self._existing or {}).get("metadata") or {}
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": proxy_secret_name(ctx.settings),
                "namespace": namespace,
                "labels": {MANAGED_BY_LABEL[0]: MANAGED_BY_LABEL[1]},
                "annotations": {AGENT_ANNOTATION: ctx.agent_identity},
            },
            "data": wanted_data(ctx),
        }
        ctx.cluster.put_secret(namespace, body, metadata.get("resourceVersion"))

    def summary(self, ctx: BootstrapContext) -> str:
        if not wanted_data(ctx):
            return "no proxy credentials to keep"
        namespace = ctx.settings.helm_release_target_namespace
        return f"Secret {namespace}/{proxy_secret_name(ctx.settings)} holds the proxy URLs"


class DeleteProxySecret:
    """Uninstall: the proxy Secret bootstrap made for this agent goes with it. One that
    names another agent (its kasboot.dev/agent annotation) is not this agent's: kept."""

    name = "proxy-secret"
    title = "Deleting the proxy Secret"

    def __init__(self) -> None:
        self._found: dict[str, Any] | None = None
        self._kept = ""

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return None

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        namespace = ctx.settings.helm_release_target_namespace
        name = proxy_secret_name(ctx.settings)
        found = ctx.cluster.get_secret(namespace, name)
        if found is None:
            return []
        owner = ((found.get("metadata") or {}).get("annotations") or {}).get(AGENT_ANNOTATION)
        if owner != ctx.agent_identity:
            self._kept = f"kept: it is {owner or 'not kasboot'}'s"
            return []
        self._found = found
        return [Change("delete", f"Secret {namespace}/{name}", "the proxy URLs of this agent")]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        ctx.cluster.delete_secret(
            ctx.settings.helm_release_target_namespace, proxy_secret_name(ctx.settings)
        )

    def summary(self, ctx: BootstrapContext) -> str:
        name = f"Secret {ctx.settings.helm_release_target_namespace}/"
        name += proxy_secret_name(ctx.settings)
        if self._found is not None:
            return f"{name} deleted" if not ctx.dry_run else f"{name} to delete"
        return f"{name} {self._kept or 'absent'}"
