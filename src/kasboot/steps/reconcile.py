"""Step 8: ask Flux to reconcile now — the source, then the Kustomization(s) that apply
the manifest path, then the HelmRelease — and WATCH each until it has handled the
request, observed its generation, reached the commit kasboot made and is Ready, the
way `flux bootstrap` decides. A failure is diagnosed (cause and fix) and exits 6.
When nothing was written and the HelmRelease is already Ready, nothing is touched."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from kasboot.cluster import SOURCE_KINDS
from kasboot.errors import FluxError
from kasboot.flux.diagnose import diagnose
from kasboot.flux.health import Phase, assess
from kasboot.flux.paths import is_within, normalize_repo_path
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext


def request_token() -> str:
    """The value `flux reconcile` writes: the current time, RFC 3339 with nanoseconds."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond * 1000:09d}Z"


def kustomizations_for(ctx: BootstrapContext) -> list[dict[str, Any]]:
    """The Kustomizations that apply the manifests: those the topology guard found, else
    (guard skipped) those fed by the source whose path contains the manifest path."""
    settings = ctx.settings
    kind = SOURCE_KINDS[settings.flux_source_type]
    found = []
    for item in ctx.cluster.list_objects("Kustomization"):
        spec = item.get("spec") or {}
        ref = spec.get("sourceRef") or {}
        namespace = item["metadata"]["namespace"]
        if ctx.reconciled_by:
            if f"{namespace}/{item['metadata']['name']}" in ctx.reconciled_by:
                found.append(item)
        elif (
            ref.get("kind") == kind
            and ref.get("name") == settings.flux_source_name
            and (ref.get("namespace") or namespace) == settings.flux_source_namespace
            and is_within(settings.manifest_path, normalize_repo_path(spec.get("path") or ""))
        ):
            found.append(item)
    return found


class ReconcileFlux:
    name = "reconcile"
    title = "Reconciling Flux Helm resources"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return "--no-reconcile" if ctx.settings.no_reconcile else None

    def _helm_release(self, ctx: BootstrapContext) -> dict[str, Any] | None:
        settings = ctx.settings
        return ctx.cluster.get_object(
            "HelmRelease", settings.helm_release_namespace, settings.helm_release_name
        )

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        settings = ctx.settings
        written = bool(ctx.staged) or ctx.token is not None or ctx.secret_changed
        release = self._helm_release(ctx)
        if not written and release is not None and assess(release).phase is Phase.READY:
            ctx.flux_state = "HelmRelease Ready"
            return []
        kind = SOURCE_KINDS[settings.flux_source_type]
        source = f"{settings.flux_source_namespace}/{settings.flux_source_name}"
        release_name = f"{settings.helm_release_namespace}/{settings.helm_release_name}"
        changes = [Change("annotate", f"{kind} {source}", "reconcile.fluxcd.io/requestedAt")]
        changes += [
            Change(
                "annotate", f"Kustomization {k['metadata']['namespace']}/{k['metadata']['name']}"
            )
            for k in kustomizations_for(ctx)
        ]
        changes.append(Change("annotate", f"HelmRelease {release_name}", "then wait until Ready"))
        if ctx.held_token_id is not None and ctx.token_id != ctx.held_token_id:
            changes.append(Change("restart", "agentk Deployment(s)", "the Secret's token changed"))
        return changes

    def reconcile_source_and_kustomizations(
        self, ctx: BootstrapContext, token: str, deadline: float
    ) -> list[dict[str, Any]]:
        """Reconcile the Flux source, then each Kustomization applying the manifest path,
        each watched until it reached the commit kasboot made; returns those Kustomizations."""
        settings = ctx.settings
        kind = SOURCE_KINDS[settings.flux_source_type]
        revision = (
            f"{ctx.branch}@sha1:{ctx.commit_sha}"
            if ctx.commit_sha and kind == "GitRepository"
            else None
        )
        source = (settings.flux_source_namespace, settings.flux_source_name)
        self._reconcile(ctx, kind, *source, token, revision, deadline)
        kustomizations = kustomizations_for(ctx)
        for item in kustomizations:
            meta = item["metadata"]
            self._reconcile(
                ctx, "Kustomization", meta["namespace"], meta["name"], token, revision, deadline
            )
        return kustomizations

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        settings = ctx.settings
        deadline = time.monotonic() + settings.timeout
        token = request_token()
        if not self.reconcile_source_and_kustomizations(ctx, token, deadline):
            raise FluxError(
                f"no Flux Kustomization applies {settings.manifest_path or 'the repository root'}",
                hint="point a Kustomization of this source at a parent of --manifest-path",
            )
        self._wait_exists(
            ctx,
            "HelmRelease",
            settings.helm_release_namespace,
            settings.helm_release_name,
            deadline,
        )
        # As `flux reconcile helmrelease --with-source`: the chart's source first, so the
        # release does not fail on a chart that simply has not been fetched yet.
        self._wait_exists(
            ctx,
            "HelmRepository",
            settings.helm_repository_namespace,
            settings.helm_repository_name,
            deadline,
        )
        self._reconcile(
            ctx,
            "HelmRepository",
            settings.helm_repository_namespace,
            settings.helm_repository_name,
            token,
            None,
            deadline,
        )
        chart = f"{settings.helm_release_namespace}-{settings.helm_release_name}"
        if (
            ctx.cluster.get_object("HelmChart", settings.helm_repository_namespace, chart)
            is not None
        ):
            self._reconcile(
                ctx, "HelmChart", settings.helm_repository_namespace, chart, token, None, deadline
            )
        self._reconcile(
            ctx,
            "HelmRelease",
            settings.helm_release_namespace,
            settings.helm_release_name,
            token,
            None,
            deadline,
        )
        if ctx.token is not None and ctx.held_token_id is not None:
            # The Secret now holds a new token: agentk reads its token file only at start.
            self.restart_agent(ctx, token)
        ctx.flux_state = "HelmRelease Ready"

    def agent_deployments(self, ctx: BootstrapContext) -> list[tuple[str, str]]:
        """agentk's Deployment(s), found by the labels helm-controller puts on what it
        installs for the HelmRelease."""
        settings = ctx.settings
        selector = (
            f"helm.toolkit.fluxcd.io/name={settings.helm_release_name},"
            f"helm.toolkit.fluxcd.io/namespace={settings.helm_release_namespace}"
        )
        found = ctx.cluster.list_deployments(settings.helm_release_target_namespace, selector)
        return [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in found]

    def restart_agent(self, ctx: BootstrapContext, stamp: str) -> list[str]:
        """`kubectl rollout restart` of agentk, so it reconnects with the Secret's token
        (a rolling update: the old pods serve until the new ones are up)."""
        restarted = []
        for namespace, name in self.agent_deployments(ctx):
            ctx.cluster.restart_deployment(namespace, name, stamp, ctx.token_id)
            restarted.append(f"{namespace}/{name}")
        return restarted

    def _wait_exists(
        self, ctx: BootstrapContext, kind: str, namespace: str, name: str, deadline: float
    ) -> None:
        found = ctx.cluster.watch_object(
            kind,
            namespace,
            name,
            lambda obj: obj is not None,
            max(0.0, deadline - time.monotonic()),
        )
        if found is None:
            raise FluxError(
                f"{kind} {namespace}/{name} was not created by Flux in time",
                hint="check that a Kustomization applies --manifest-path (kasboot doctor)",
            )

    def _reconcile(
        self,
        ctx: BootstrapContext,
        kind: str,
        namespace: str,
        name: str,
        token: str,
        revision: str | None,
        deadline: float,
    ) -> None:
        ctx.cluster.request_reconcile(kind, namespace, name, token)

        def settled(obj: dict[str, Any] | None) -> bool:
            if obj is None:
                return False
            phase = assess(obj, requested_at=token, expected_revision=revision).phase
            return phase is not Phase.PROGRESSING

        last = ctx.cluster.watch_object(
            kind, namespace, name, settled, max(0.0, deadline - time.monotonic())
        )
        health = assess(last or {}, requested_at=token, expected_revision=revision)
        if health.phase is Phase.READY:
            return
        if health.phase is Phase.SUSPENDED:
            raise FluxError(
                f"{kind} {namespace}/{name} is suspended",
                hint="resume it with `flux resume` or pass --no-reconcile",
            )
        found = diagnose(kind, last or {})
        what = f"{kind} {namespace}/{name}"
        if health.phase is Phase.PROGRESSING:
            message = f"{what} did not become Ready within {ctx.settings.timeout:g}s"
        else:
            message = f"{what} failed: {health.reason}: {health.message}"
        if found is not None:
            raise FluxError(f"{message} — cause: {found.cause}", hint=found.fix)
        raise FluxError(message, hint="run `kasboot doctor` for a full diagnosis")

    def summary(self, ctx: BootstrapContext) -> str:
        return ctx.flux_state or "Flux reconciled"
