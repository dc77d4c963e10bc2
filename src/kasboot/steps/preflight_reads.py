"""Pre-flight's cluster reads, made while GitLab is read (steps/parallel.py): the server
and Flux versions, the Flux source and the Kustomizations building from it — each read
once, for the Flux checks and the topology guard alike. A read that fails here is made
again where its check runs, so its error comes at the point it always came."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kasboot.cluster import SOURCE_KINDS
from kasboot.errors import GitLabError, KasbootError
from kasboot.input_targets import check_token_scope
from kasboot.steps import flux_checks

if TYPE_CHECKING:
    from kasboot.flux.topology import FluxKustomization
    from kasboot.steps.context import BootstrapContext


class ClusterReads:
    def __init__(self) -> None:
        self._source: dict[str, Any] | None = None
        self._source_read = False
        self.kustomizations: list[FluxKustomization] | None = None

    def read(self, ctx: BootstrapContext) -> None:
        from kasboot.steps.guard import source_kustomizations

        settings = ctx.settings
        # No /version request: the first read proves the cluster answers (a request of
        # its own would only repeat that).
        ctx.flux_version = ctx.cluster.flux_version()
        flux_checks.check_flux_api_versions(ctx)  # an older Flux cannot apply the manifests
        if ctx.flux_version is None:
            return
        kind = SOURCE_KINDS[settings.flux_source_type]
        try:
            self._source = ctx.cluster.get_object(
                kind, settings.flux_source_namespace, settings.flux_source_name
            )
            self._source_read = True
            if kind != "HelmRepository" and self._source is not None:
                self.kustomizations = source_kustomizations(ctx)
        except KasbootError:
            return  # read again by the check that needs it

    def source(self, ctx: BootstrapContext) -> dict[str, Any] | None:
        if not self._source_read:
            settings = ctx.settings
            self._source = ctx.cluster.get_object(
                SOURCE_KINDS[settings.flux_source_type],
                settings.flux_source_namespace,
                settings.flux_source_name,
            )
            self._source_read = True
        return self._source


def token_scope_problem(ctx: BootstrapContext) -> GitLabError | None:
    """The token-scope refusal (input_targets.check_token_scope), kept until the checks
    before it in order have passed."""
    try:
        check_token_scope(ctx)
    except GitLabError as error:
        if error.status == 403 and "scope" in error.message:
            return error
        raise
    return None
