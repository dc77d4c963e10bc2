"""Pre-flight's reads, started as soon as the seams are open (bootstrap.open_context),
before the rest of bootstrap is even imported: their round trips overlap that import
and the kubernetes client's. GitLab's reads (the survey, the token's scopes, the
branch, /metadata) go in one thread; the cluster's in another, itself three at once:
Flux's CRDs and then the Flux source and the Kustomizations, and the token Secret
beside them. Each is read once, for the Flux checks, the Secret's owner check and the
topology guard alike. A cluster read that fails here is made again where its check
runs, so its error comes at the point it always came; GitLab's refusals come first,
as when the reads ran one after the other.

These threads never import a module: every module they run is imported before they
start (two threads importing the same modules at once can deadlock on CPython's
import locks, and the main thread goes on importing the steps meanwhile);
tests/performance/test_read_threads_import_nothing.py holds it."""

from __future__ import annotations

# requests imports netrc at a session's first request (requests.utils.get_netrc_auth):
# imported here, before the read threads start, never by one of them.
import netrc  # noqa: F401
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kasboot.cluster import SOURCE_KINDS
from kasboot.errors import GitLabError, KasbootError
from kasboot.input_targets import check_token_scope
from kasboot.project_lookup import project_not_found, read_project
from kasboot.steps import flux_checks
from kasboot.steps.gitlab_checks import check_branch, read_metadata
from kasboot.steps.gitlab_survey import run_survey
from kasboot.steps.kustomization_reads import kustomization_objects
from kasboot.steps.parallel import InThread, run_together
from kasboot.steps.secret_checks import read_token_secret

if TYPE_CHECKING:
    from kasboot.gitlab_api import BranchInfo
    from kasboot.steps.context import BootstrapContext


class ClusterReads:
    def __init__(self) -> None:
        self._source: dict[str, Any] | None = None
        self._source_read = False
        # Every Kustomization object listed (None: not read); the guard keeps those
        # building from the Flux source (steps/guard.py source_kustomizations).
        self.kustomization_objects: list[dict[str, Any]] | None = None

    def read(self, ctx: BootstrapContext) -> None:
        run_together(lambda: self._read_flux(ctx), lambda: _quietly(read_token_secret, ctx))

    def _read_flux(self, ctx: BootstrapContext) -> None:
        # No /version request: the first read proves the cluster answers (a request of
        # its own would only repeat that).
        ctx.flux_version = ctx.cluster.flux_version()
        flux_checks.check_flux_api_versions(ctx)  # an older Flux cannot apply the manifests
        if ctx.flux_version is None:
            return
        kind = SOURCE_KINDS[ctx.settings.flux_source_type]
        reads: list[Callable[[], Any]] = [lambda: _quietly(self._read_source, ctx)]
        if kind != "HelmRepository":  # a HelmRepository feeds no Kustomization
            reads.append(lambda: _quietly(kustomization_objects, ctx))
        _, *listed = run_together(*reads)
        # As when they were read one after the other: no Kustomizations without the source.
        if listed and self._source_read and self._source is not None:
            self.kustomization_objects = listed[0]

    def _read_source(self, ctx: BootstrapContext) -> None:
        settings = ctx.settings
        self._source = ctx.cluster.get_object(
            SOURCE_KINDS[settings.flux_source_type],
            settings.flux_source_namespace,
            settings.flux_source_name,
        )
        self._source_read = True

    def source(self, ctx: BootstrapContext) -> dict[str, Any] | None:
        if not self._source_read:
            self._read_source(ctx)
        return self._source


def _quietly(read: Callable[[BootstrapContext], Any], ctx: BootstrapContext) -> Any:
    """``read``'s answer, or None when it failed: its check reads again and says why."""
    try:
        return read(ctx)
    except KasbootError:
        return None


def gitlab_reads(ctx: BootstrapContext) -> GitLabError | None:
    """GitLab's pre-flight reads; refuses what they disprove (the project, the branch, a
    GitLab older than 15.2). The token-scope refusal is returned, to be raised after the
    KAS check (steps/preflight.py), in the order the checks always had."""
    settings = ctx.settings
    branch = settings.manifest_branch
    scope: list[GitLabError | None] = []
    early: list[Callable[[], Any]] = [lambda: scope.append(token_scope_problem(ctx))]
    read: list[BranchInfo | None] = []
    if branch:  # known without the survey: read it at once too
        early.append(lambda: read.append(ctx.gitlab.branch(ctx.project_path, branch)))
    try:
        survey, *_ = run_together(lambda: run_survey(ctx), *early)
    except GitLabError as error:
        if error.status != 404:
            raise
        user = ctx.gitlab.current_user()  # only to say whose token cannot see it
        raise project_not_found(ctx.project_path, ctx.gitlab.url, user) from None
    if survey is not None:  # one request: version, KAS, user, project, agent, …
        ctx.user, ctx.project = survey.user, survey.project
    else:
        ctx.user = ctx.gitlab.current_user()
        ctx.project = read_project(ctx.gitlab, ctx.project_path, ctx.user)  # 404: whose
    ctx.project_path = ctx.project.path  # canonical spelling, as GitLab has it
    ctx.branch = branch or ctx.project.default_branch
    check_branch(ctx, read)  # exists, and the token may push to it
    read_metadata(ctx)  # refuses a GitLab older than 15.2
    return scope[0] if scope else None


class StartedReads:
    """Pre-flight's reads on their way. GitLab's start first; ``connect`` (the cluster
    client's import and the kubeconfig's load) runs in the calling thread while they
    travel, and the cluster's start once it is done."""

    def __init__(self, ctx: BootstrapContext, connect: Callable[[], None] | None = None) -> None:
        self.cluster = ClusterReads()
        self._gitlab = InThread(lambda: gitlab_reads(ctx), "preflight-gitlab")
        if connect is not None:
            connect()
        self._cluster = InThread(lambda: self.cluster.read(ctx), "preflight-cluster")

    def gitlab(self) -> GitLabError | None:
        """Wait for every read; raise GitLab's refusal, else return the scope problem."""
        self._cluster.settled()
        problem: GitLabError | None = self._gitlab.outcome()
        return problem

    def cluster_outcome(self) -> None:
        """Raise the cluster reads' refusal (an older Flux), if any."""
        self._cluster.outcome()


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
