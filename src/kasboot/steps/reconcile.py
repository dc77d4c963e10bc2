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
from kasboot.errors import ClusterError, FluxError
from kasboot.flux.diagnose import diagnose
from kasboot.flux.health import Health, Phase, assess, is_static, transient_api_failure
from kasboot.flux.paths import is_within, normalize_repo_path
from kasboot.flux.revision import ExpectedRevision
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext
from kasboot.steps.reconcile_unasked import added_by_commit, triggered_by_revision, wait_unasked

TRANSIENT_RETRIES = 3  # new requests after a failure caused by the API server's trouble
RESET_AT = "reconcile.fluxcd.io/resetAt"  # HelmRelease: reset the failure counters
FORCE_AT = "reconcile.fluxcd.io/forceAt"  # HelmRelease: a one-off install/upgrade


def request_token() -> str:
    """The value `flux reconcile` writes: the current time, RFC 3339 with nanoseconds."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond * 1000:09d}Z"


def kustomizations_for(ctx: BootstrapContext, listed: bool = True) -> list[dict[str, Any]]:
    """The Kustomizations that apply the manifests: those the topology guard found, else
    (guard skipped) those fed by the source whose path contains the manifest path.
    ``listed=False``: the guard's names as they are, without asking the cluster which
    of them exist (enough to say what will be annotated)."""
    settings = ctx.settings
    if not listed and ctx.reconciled_by:
        return [
            {"metadata": dict(zip(("namespace", "name"), ref.split("/", 1), strict=True))}
            for ref in ctx.reconciled_by
        ]
    kind = SOURCE_KINDS[settings.flux_source_type]
    found = []
    for item in ctx.cluster.list_objects("Kustomization", ctx.kustomization_scope):
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


def expected_revision(ctx: BootstrapContext, sha: str) -> ExpectedRevision:
    """kasboot's commit as Flux names it; a later commit of the branch holding it counts
    too (flux/revision.py), as GitLab's merge base answers."""
    return ExpectedRevision(
        ctx.flux_revision_prefix or ctx.branch,
        sha,
        lambda later: ctx.gitlab.commit_contains(ctx.project_path, later, sha),
        _older_than_the_commit(ctx),
    )


def _older_than_the_commit(ctx: BootstrapContext) -> frozenset[str]:
    """Commits that cannot hold kasboot's, known without asking: the head it was
    committed on, and the revision Flux's source had when pre-flight read it (Flux may
    lag behind the branch; its Kustomizations start the wait at that revision)."""
    known = {ctx.branch_head} if ctx.branch_head else set()
    source = ctx.flux_source or {}
    artifact = str(((source.get("status") or {}).get("artifact") or {}).get("revision") or "")
    if artifact:
        known.add(artifact.rpartition(":")[2])
    return frozenset(known)


class _Absent(Exception):
    """The object to annotate is not in the cluster."""


class ReconcileFlux:
    name = "reconcile"
    title = "Reconciling Flux Helm resources"

    def skipped(self, ctx: BootstrapContext) -> str | None:
        return "--no-reconcile" if ctx.settings.no_reconcile else None

    # The HelmRelease as last seen (plan's read, then each watch): whether it is Ready
    # decides forceAt, with no read of its own before the PATCH.
    _release_seen: dict[str, Any] | None = None
    _release_known = False

    def _helm_release(self, ctx: BootstrapContext) -> dict[str, Any] | None:
        self._release_seen = ctx.cluster.get_object("HelmRelease", *ctx.helm_release_key)
        self._release_known = True
        return self._release_seen

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        settings = ctx.settings
        written = bool(ctx.staged) or ctx.token is not None or ctx.secret_changed
        if not written:
            release = self._helm_release(ctx)
            if release is not None and assess(release).phase is Phase.READY:
                ctx.flux_state = "HelmRelease Ready"
                return []
        # The commit adds the HelmRelease's file: the release is this run's, installed by
        # helm-controller once Flux applies it — after the Secret holds the token.
        ctx.helm_release_new = added_by_commit(ctx, settings.helm_release_path)
        kind = SOURCE_KINDS[settings.flux_source_type]
        source = f"{settings.flux_source_namespace}/{settings.flux_source_name}"
        release_name = "/".join(ctx.helm_release_key)
        changes = [Change("annotate", f"{kind} {source}", "reconcile.fluxcd.io/requestedAt")]
        # What apply only watches (reconcile_unasked.py) is said as such.
        moved = "new revision" if ctx.commit_sha and kind == "GitRepository" else None
        for k in kustomizations_for(ctx, listed=False):
            ref = f"{k['metadata']['namespace']}/{k['metadata']['name']}"
            if triggered_by_revision(ctx, ref, moved):
                changes.append(Change("watch", f"Kustomization {ref}", "follows the new revision"))
            else:
                changes.append(Change("annotate", f"Kustomization {ref}"))
        if ctx.helm_release_new:
            changes.append(Change("watch", f"HelmRelease {release_name}", "new: until Ready"))
        else:
            changes.append(
                Change("annotate", f"HelmRelease {release_name}", "then wait until Ready")
            )
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
            expected_revision(ctx, ctx.commit_sha)
            if ctx.commit_sha and kind == "GitRepository"
            else None
        )
        source = (settings.flux_source_namespace, settings.flux_source_name)
        self._reconcile(ctx, kind, *source, token, revision, deadline)
        # The guard's names need no list: the annotation of one not in the cluster (yet:
        # a --fix Kustomization its parent will create) answers 404 and is passed over.
        # One pre-flight listed, fed by this source, needs no annotation when the source
        # moves to a new revision: kustomize-controller watches its sources and reconciles
        # on every new revision by itself — only watched until it applied that revision.
        return [
            item
            for item in kustomizations_for(ctx, listed=not ctx.reconciled_by)
            if self._reconcile(
                ctx,
                "Kustomization",
                item["metadata"]["namespace"],
                item["metadata"]["name"],
                token,
                revision,
                deadline,
                absent_ok=True,
                ask=not triggered_by_revision(
                    ctx, f"{item['metadata']['namespace']}/{item['metadata']['name']}", revision
                ),
            )
        ]

    def apply(self, ctx: BootstrapContext, changes: list[Change]) -> None:
        settings = ctx.settings
        deadline = ctx.cluster.wait_deadline(settings.timeout)
        token = request_token()
        applied_by = self.reconcile_source_and_kustomizations(ctx, token, deadline)
        # A partial view (Kustomizations listed in one namespace only) may not see the one
        # applying the manifests: it reacts to the new source revision itself; wait for
        # what it applies.
        if not applied_by and ctx.kustomization_scope is None:
            raise FluxError(
                f"no Flux Kustomization applies {settings.manifest_path or 'the repository root'}",
                hint="point a Kustomization of this source at a parent of --manifest-path",
            )
        # As `flux reconcile helmrelease --with-source`: the chart's source first, so the
        # release does not fail on a chart that simply has not been fetched yet. The one
        # kasboot commits is static (never reconciled) when its address is oci://; any
        # other is annotated at once (a 404 waits for it), and is not waited for when it
        # turns out static after all.
        static = settings.helm_repository_address.lower().startswith("oci://") and is_static(
            self._wait_exists(
                ctx,
                "HelmRepository",
                settings.helm_repository_namespace,
                settings.helm_repository_name,
                deadline,
            )
        )
        # Objects this run's commit created are reconciled by their controllers as they
        # appear (a new object is a new generation): watched, not annotated. The
        # HelmRepository, when the commit added its file; the HelmChart and the
        # HelmRelease, when it added the HelmRelease's (helm-controller creates the chart).
        new_repository = added_by_commit(ctx, settings.helm_repository_path)
        if not static:
            self._reconcile(
                ctx,
                "HelmRepository",
                settings.helm_repository_namespace,
                settings.helm_repository_name,
                token,
                None,
                deadline,
                ask=not new_repository,
            )
        # helm-controller creates the HelmChart on its second pass over a new release
        # (the first only adds its finalizer): the annotation that finds none (404) waits
        # for the HelmRelease, then for the HelmChart, rather than skip it.
        chart = "-".join(ctx.helm_release_key)
        self._reconcile(
            ctx,
            "HelmChart",
            settings.helm_repository_namespace,
            chart,
            token,
            None,
            deadline,
            ask=not ctx.helm_release_new,
        )
        self._reconcile(
            ctx,
            "HelmRelease",
            *ctx.helm_release_key,
            token,
            None,
            deadline,
            ask=not ctx.helm_release_new,
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
            f"helm.toolkit.fluxcd.io/name={ctx.helm_release_key[1]},"
            f"helm.toolkit.fluxcd.io/namespace={ctx.helm_release_key[0]}"
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
    ) -> dict[str, Any]:
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
        return found

    def _release_annotations(
        self, ctx: BootstrapContext, kind: str, namespace: str, name: str
    ) -> tuple[str, ...]:
        """For a HelmRelease, what `flux reconcile hr --reset --force` adds: resetAt (a
        release Stalled after its retries is tried again only when reset) always, and
        forceAt when it is not Ready (a one-off install/upgrade although nothing changed,
        e.g. after the missing Secret was created). Both carry requestedAt's value."""
        if kind != "HelmRelease":
            return ()
        current = (
            self._release_seen
            if self._release_known
            else ctx.cluster.get_object(kind, namespace, name)
        )
        if current is not None and assess(current).phase is Phase.READY:
            return (RESET_AT,)
        return (RESET_AT, FORCE_AT)

    def _reconcile(
        self,
        ctx: BootstrapContext,
        kind: str,
        namespace: str,
        name: str,
        token: str,
        revision: str | None,
        deadline: float,
        absent_ok: bool = False,
        ask: bool = True,
    ) -> bool:
        """Ask and wait until Ready (True), or raise what went wrong; ``absent_ok``: an
        object not in the cluster is passed over (False). ``ask=False``: the controller
        reconciles it by itself (new, or a new source revision): only watched — a retry
        after the API server's passing trouble asks."""
        for attempt in range(TRANSIENT_RETRIES + 1):
            try:
                if ask:
                    last, result = self._request_and_wait(
                        ctx, kind, namespace, name, token, revision, deadline, absent_ok
                    )
                else:
                    last, result = wait_unasked(ctx, kind, namespace, name, revision, deadline)
                    if kind == "HelmRelease":
                        self._release_seen, self._release_known = last, True
            except _Absent:
                return False
            ask = True
            # The controller's own writes met the API server's passing trouble (a 5xx): ask
            # again, as one would re-run `flux reconcile`, rather than fail the run.
            if not transient_api_failure(result) or time.monotonic() >= deadline:
                break
            if attempt < TRANSIENT_RETRIES:
                time.sleep(min(1.0 * 2**attempt, max(0.0, deadline - time.monotonic())))
                token = request_token()
        if result.phase is Phase.READY:
            return True
        if result.phase is Phase.SUSPENDED:
            raise FluxError(
                f"{kind} {namespace}/{name} is suspended",
                hint="resume it with `flux resume` or pass --no-reconcile",
            )
        found = diagnose(kind, last or {})
        what = f"{kind} {namespace}/{name}"
        if result.phase is Phase.PROGRESSING:
            message = f"{what} did not become Ready within {ctx.settings.timeout:g}s"
            if result.message:
                message += f" ({result.message})"
        else:
            message = f"{what} failed: {result.reason}: {result.message}"
        if found is not None:
            raise FluxError(f"{message} — cause: {found.cause}", hint=found.fix)
        raise FluxError(message, hint="run `kasboot doctor` for a full diagnosis")

    def _request_and_wait(
        self,
        ctx: BootstrapContext,
        kind: str,
        namespace: str,
        name: str,
        token: str,
        revision: str | None,
        deadline: float,
        absent_ok: bool = False,
    ) -> tuple[dict[str, Any] | None, Health]:
        """Annotate, then watch until the request is handled and the object settled."""
        patched = self._annotate(ctx, kind, namespace, name, token)
        if patched is None and absent_ok:
            raise _Absent
        if patched is None:  # not created yet: wait for it (and what creates it), then ask
            if kind in ("HelmChart", "HelmRelease"):
                self._wait_exists(ctx, "HelmRelease", *ctx.helm_release_key, deadline)
            self._wait_exists(ctx, kind, namespace, name, deadline)
            patched = self._annotate(ctx, kind, namespace, name, token)
            if patched is None:
                raise FluxError(
                    f"{kind} {namespace}/{name} was deleted while kasboot waited for it",
                    hint="check what deletes it (kasboot doctor), then run again",
                )
        # As the flux CLI: the request is handled once lastHandledReconcileAt differs from
        # its value when the annotation landed (the PATCH answer) — whoever asked last.
        before = (patched.get("status") or {}).get("lastHandledReconcileAt")

        def health(obj: dict[str, Any] | None) -> Health:
            return assess(
                obj or {}, requested_at=token, handled_before=before, expected_revision=revision
            )

        def settled(obj: dict[str, Any] | None) -> bool:
            return obj is not None and health(obj).phase is not Phase.PROGRESSING

        # Watched from the version the PATCH answered: no list first, no event missed.
        last = ctx.cluster.watch_object(
            kind, namespace, name, settled, max(0.0, deadline - time.monotonic()), since=patched
        )
        if kind == "HelmRelease":
            self._release_seen, self._release_known = last, True
        return last, health(last)

    def _annotate(
        self, ctx: BootstrapContext, kind: str, namespace: str, name: str, token: str
    ) -> dict[str, Any] | None:
        """The reconcile request; None when the object does not exist (404)."""
        also = self._release_annotations(ctx, kind, namespace, name)
        try:
            if also:
                return ctx.cluster.request_reconcile_with(kind, namespace, name, token, also)
            return ctx.cluster.request_reconcile(kind, namespace, name, token)
        except ClusterError as error:
            if error.status == 404:
                return None
            raise

    def summary(self, ctx: BootstrapContext) -> str:
        if ctx.dry_run and not ctx.flux_state:
            return "Flux would be asked to reconcile, then watched until Ready"
        return ctx.flux_state or "Flux reconciled"
