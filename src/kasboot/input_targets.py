"""Pre-flight checks of what the user's input points at, run before the first write so
that a run which cannot finish stops with nothing written: the token's scopes, the
local clone behind
--commit-via local (before, a run outside a clone registered the agent, minted a token
and stored the Secret, then failed at the commit), and the Secrets and ConfigMaps
named by --helm-release-values-from (before, everything was written and then Flux
failed with InitFailed).

The commit is built on a private index on top of the fetched remote branch, so the
user's working tree, index and checked-out branch do not matter: an unclean or
detached checkout is fine and is not checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kasboot.errors import GitLabError, PreflightError
from kasboot.validation import ValuesFrom

if TYPE_CHECKING:
    from kasboot.steps.context import BootstrapContext


def check_local_commit(ctx: BootstrapContext, cwd: Path | None = None) -> None:
    """With --commit-via local: the clone, its remote, that the remote is this project,
    and that its branch can be fetched and is where GitLab says it is."""
    if ctx.settings.commit_via != "local":
        return
    from kasboot.localrepo import LocalClone

    # UsageError (exit 2): not a clone, no such remote, a clone of another project.
    clone = LocalClone(cwd or Path.cwd(), ctx.project_path)
    try:
        tip = clone.fetch(ctx.branch)
    except GitLabError as error:
        raise PreflightError(error.message, hint=error.hint) from None
    if ctx.branch_head is not None and tip != ctx.branch_head:
        raise PreflightError(
            f"the clone's remote {clone.remote_name!r} has {ctx.branch} at {tip[:12]}, "
            f"GitLab has it at {ctx.branch_head[:12]}",
            hint=f"point {clone.remote_name!r} at {ctx.project_path} on this GitLab, or use "
            "--commit-via api",
        )


def check_input_targets(ctx: BootstrapContext) -> None:
    """Every pre-flight check of this module, in order."""
    check_token_scope(ctx)
    check_local_commit(ctx)
    check_values_from(ctx)


WRITE_SCOPE = "api"


def check_token_scope(ctx: BootstrapContext) -> None:
    """A token without the api scope reads everything pre-flight reads, and GitLab then
    answers 403 to the first write: find that out before it (the scopes of a personal,
    project or group access token; other tokens cannot tell, and are not checked)."""
    if ctx.dry_run:
        return
    try:
        info = ctx.gitlab.token_self()
    except GitLabError:  # e.g. an OAuth token, which this endpoint does not describe
        return
    if info is None:
        return
    scopes = sorted(str(scope) for scope in info.get("scopes") or [])
    if WRITE_SCOPE not in scopes:
        # A refusal before any write (exit 3), not GitLab's 403 at the first write (exit 4).
        raise PreflightError(
            f"the token's scopes are {', '.join(scopes) or 'none'}: without the "
            f"'{WRITE_SCOPE}' scope GitLab answers 403 insufficient_scope to every write "
            "bootstrap makes; nothing was written",
            hint=f"create an access token with the '{WRITE_SCOPE}' scope and set GITLAB_TOKEN "
            "to it (`kasboot doctor` shows the token's scopes and role)",
        )


# helm-controller reads this key when a valuesFrom reference names none (kasboot never does).
DEFAULT_VALUES_KEY = "values.yaml"


def check_values_from(ctx: BootstrapContext) -> None:
    """Each --helm-release-values-from Secret/ConfigMap exists in the HelmRelease's
    namespace (where helm-controller looks) with a values.yaml key holding a YAML map.
    Skipped with --skip-preflight (the object may come with the same Flux sync) and with
    --no-reconcile (kasboot then neither reconciles nor waits: the object may come later,
    as with the Flux checks of pre-flight)."""
    settings = ctx.settings
    if settings.skip_preflight or settings.no_reconcile:
        return
    namespace = settings.helm_release_namespace
    for reference in settings.helm_release_values_from:
        _check_reference(ctx, namespace, reference)


def _check_reference(ctx: BootstrapContext, namespace: str, reference: ValuesFrom) -> None:
    import base64
    import binascii

    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    where = f"{reference.kind} {namespace}/{reference.name}"
    if reference.kind == "Secret":
        found = ctx.cluster.read_secret(namespace, reference.name)
    else:
        found = ctx.cluster.read_config_map(namespace, reference.name)
    create = (
        f"kubectl create -n {namespace} {reference.kind.lower()} {reference.name} "
        f"--from-file={DEFAULT_VALUES_KEY}=FILE"
    )
    if found is None:
        raise PreflightError(
            f"{where}, named by --helm-release-values-from, does not exist: helm-controller "
            "would fail the HelmRelease (InitFailed)",
            hint=f"create it first (`{create}`), or pass --skip-preflight when the same Flux "
            "sync creates it",
        )
    data = dict(found.get("data") or {})
    if DEFAULT_VALUES_KEY not in data:
        raise PreflightError(
            f"{where}, named by --helm-release-values-from, has no key {DEFAULT_VALUES_KEY!r}",
            hint=f"helm-controller reads the values from that key: recreate it (`{create}`)",
        )
    text = data[DEFAULT_VALUES_KEY]
    try:
        if reference.kind == "Secret":
            text = base64.b64decode(text).decode("utf-8")
        values = YAML(typ="safe", pure=True).load(text)
    except (binascii.Error, UnicodeDecodeError, YAMLError):
        values = "unreadable"
    if values is not None and not isinstance(values, dict):
        raise PreflightError(
            f"{where}: its {DEFAULT_VALUES_KEY!r} is not a YAML map of Helm values",
            hint=f"store a values file there (`{create}`)",
        )
