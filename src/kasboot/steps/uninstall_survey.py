"""Uninstall's pre-flight: every read, and every decision about whose each thing is,
before the first write. What is this agent's and kasboot's own is removed; what kasboot
only linked is unlinked; what is another agent's is left — and a file that is another
agent's, or that this agent's record contradicts, refuses the whole run (exit 3,
nothing written), naming the owner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kasboot.errors import PreflightError
from kasboot.flux.paths import normalize_repo_path
from kasboot.ownership import (
    agent_of,
    environment_owner,
    linked_agent_id,
    manifest_objects,
    minted_by_kasboot,
    object_owner,
    read_record,
    secret_owner,
)
from kasboot.pipeline import Change
from kasboot.steps.context import BootstrapContext
from kasboot.steps.preflight import Preflight
from kasboot.steps.recorded import apply_record
from kasboot.steps.token import held_token_id

EMPTY_KUSTOMIZATION = (
    "# Left by kasboot uninstall: the Flux Kustomization that applies this directory\n"
    "# needs a path to build; an empty list lets it prune what it applied here.\n"
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"
)


@dataclass
class EnvironmentPlan:
    environment: dict[str, Any]
    action: str  # "delete" (kasboot's own), "unlink" (only linked), "relink" (give back)
    relink_to: int | None = None
    detail: str = ""

    @property
    def name(self) -> str:
        return str(self.environment["name"])


@dataclass
class Inventory:
    removals: dict[str, str] = field(default_factory=dict)  # path -> its last commit id
    writes: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # path -> text
    secret_is_ours: bool = False
    secret_kept_reason: str = ""
    revoke: list[int] = field(default_factory=list)
    kept_tokens: list[str] = field(default_factory=list)
    environments: list[EnvironmentPlan] = field(default_factory=list)
    kept_environments: list[str] = field(default_factory=list)
    settings_source: str = ""


@dataclass
class UninstallContext(BootstrapContext):
    delete_agent: bool = False
    explicit: frozenset[str] = frozenset()  # the options given as flags or KASBOOT_*
    inventory: Inventory = field(default_factory=Inventory)
    secret_deleted: bool = False
    deleted_environments: list[str] = field(default_factory=list)
    unlinked_environments: list[str] = field(default_factory=list)
    agent_deleted: bool = False


def uninstall_context(ctx: BootstrapContext) -> UninstallContext:
    assert isinstance(ctx, UninstallContext)
    return ctx


class UninstallPreflight(Preflight):
    """Reads only: token, project and branch, the cluster, Flux (when it will be
    reconciled), the agent's record, its files, Secret, tokens and environments."""

    def plan(self, ctx: BootstrapContext) -> list[Change]:
        state = uninstall_context(ctx)
        inventory = state.inventory
        ctx.user = ctx.gitlab.current_user()
        ctx.project = ctx.gitlab.project(ctx.project_path)
        ctx.project_path = ctx.project.path
        ctx.cluster.server_version()
        inventory.settings_source = apply_record(ctx, state.explicit)
        settings = ctx.settings
        ctx.branch = settings.manifest_branch or ctx.project.default_branch
        ctx.branch_head = ctx.gitlab.branch_head(ctx.project_path, ctx.branch)
        ctx.flux_version = ctx.cluster.flux_version()
        if not settings.no_reconcile:
            self._check_flux(ctx)
        ctx.agent = ctx.gitlab.find_agent(ctx.project_path, settings.agent)
        survey(ctx, inventory, delete_agent=state.delete_agent)
        return []

    def summary(self, ctx: BootstrapContext) -> str:
        agent = f"agent {ctx.agent['name']} (id {ctx.agent['id']})" if ctx.agent else "no agent"
        flux = f"Flux {ctx.flux_version}" if ctx.flux_version else "no Flux"
        source = uninstall_context(ctx).inventory.settings_source
        return f"{ctx.project_path}@{ctx.branch}, {ctx.cluster.context}, {flux}; {agent}; {source}"


def survey(ctx: BootstrapContext, inventory: Inventory, *, delete_agent: bool) -> None:
    _survey_secret(ctx, inventory)
    if ctx.branch_head:
        _survey_files(ctx, inventory, delete_agent=delete_agent)
        _survey_kustomization(ctx, inventory)
    _check_release_found(ctx, inventory)
    if ctx.agent is not None:
        _survey_tokens(ctx, inventory)
        _survey_environments(ctx, inventory)


# -- the Secret -------------------------------------------------------------------


def _survey_secret(ctx: BootstrapContext, inventory: Inventory) -> None:
    secret = ctx.token_secret
    if secret is None:
        return
    owner = secret_owner(secret)
    if owner is not None:
        inventory.secret_is_ours = owner == ctx.agent_identity
        if not inventory.secret_is_ours:
            inventory.secret_kept_reason = f"kept: it holds the token of agent {owner}"
        return
    held = held_token_id(secret)
    if held is not None and ctx.agent is not None:
        inventory.secret_is_ours = (
            ctx.gitlab.get_token(ctx.project_path, ctx.agent_id, held) is not None
        )
    if not inventory.secret_is_ours:
        inventory.secret_kept_reason = "kept: it holds no token of this agent"


def _secret_is_ours_for(ctx: BootstrapContext, inventory: Inventory, release: Any) -> bool:
    """An unrecorded HelmRelease file is this agent's only when the Secret it mounts
    is this agent's."""
    spec = release.body.get("spec") or {}
    secret_name = ((spec.get("values") or {}).get("config") or {}).get("secretName")
    settings = ctx.settings
    return (
        inventory.secret_is_ours
        and spec.get("targetNamespace") == settings.helm_release_target_namespace
        and (secret_name or "gitlab-agent-token") == settings.gitlab_agent_token_secret_name
    )


# -- the files --------------------------------------------------------------------


def _survey_files(ctx: BootstrapContext, inventory: Inventory, *, delete_agent: bool) -> None:
    settings = ctx.settings
    expected = {
        settings.helm_repository_path: (
            "HelmRepository",
            settings.helm_repository_namespace,
            settings.helm_repository_name,
        ),
        settings.helm_release_path: (
            "HelmRelease",
            settings.helm_release_namespace,
            settings.helm_release_name,
        ),
    }
    for path, (kind, namespace, name) in expected.items():
        existing = ctx.gitlab.get_file(ctx.project_path, path, ctx.branch)
        if existing is None:
            continue
        objects = manifest_objects(existing.text)
        owners = {obj.owner for obj in objects if obj.owner}
        others = owners - {ctx.agent_identity}
        if others:
            raise PreflightError(
                f"{path} belongs to agent {agent_of(sorted(others)[0])} "
                f"({sorted(others)[0]}), not to {settings.agent}: nothing was changed",
                hint=f"uninstall that agent with `kasboot uninstall "
                f"{agent_of(sorted(others)[0])}`, or drop the flags that point here",
            )
        matches = [o for o in objects if (o.kind, o.namespace, o.name) == (kind, namespace, name)]
        if owners == {ctx.agent_identity} and matches:
            inventory.removals[path] = existing.last_commit_id
            continue
        unrecorded_ours = len(objects) == 1 and bool(matches)
        if unrecorded_ours and kind == "HelmRelease":
            unrecorded_ours = _secret_is_ours_for(ctx, inventory, matches[0])
        if unrecorded_ours and kind == "HelmRepository":
            unrecorded_ours = inventory.secret_is_ours
        if not unrecorded_ours:
            found = ", ".join(o.ref for o in objects) or "no Kubernetes object"
            raise PreflightError(
                f"{path} is not agent {settings.agent}'s {kind} {namespace}/{name} "
                f"(it holds {found}): nothing was changed",
                hint="pass the options this agent was bootstrapped with, or remove the file "
                "yourself",
            )
        inventory.removals[path] = existing.last_commit_id
    if delete_agent:
        config = ctx.gitlab.get_file(ctx.project_path, settings.agent_config_path, ctx.branch)
        if config is not None:
            inventory.removals[settings.agent_config_path] = config.last_commit_id


def _survey_kustomization(ctx: BootstrapContext, inventory: Inventory) -> None:
    """A Kustomization whose spec.path IS the manifest directory fails with "kustomization
    path not found" once the directory is gone, and then prunes nothing: leave an empty
    kustomization.yaml there instead, so Flux builds nothing and prunes."""
    directory = ctx.settings.manifest_path
    manifest_files = {ctx.settings.helm_repository_path, ctx.settings.helm_release_path}
    if not directory or not manifest_files & set(inventory.removals):
        return
    left = [
        path
        for path in ctx.gitlab.tree(ctx.project_path, ctx.branch, directory)
        if path not in inventory.removals
    ]
    if left:
        return
    dedicated = [
        k
        for k in ctx.cluster.list_objects("Kustomization")
        if normalize_repo_path((k.get("spec") or {}).get("path") or "") == directory
    ]
    if dedicated:
        inventory.writes[f"{directory}/kustomization.yaml"] = (EMPTY_KUSTOMIZATION, None)


def _check_release_found(ctx: BootstrapContext, inventory: Inventory) -> None:
    """This agent's HelmRelease is in the cluster but its files are not where the
    settings say: removing nothing and waiting for a prune that cannot come helps no one."""
    settings = ctx.settings
    if settings.helm_release_path in inventory.removals:
        return
    release = ctx.cluster.get_object(
        "HelmRelease", settings.helm_release_namespace, settings.helm_release_name
    )
    if release is None:
        return
    owner = object_owner(release)
    unrecorded_ours = (
        owner is None
        and inventory.secret_is_ours
        and (release.get("spec") or {}).get("targetNamespace")
        == settings.helm_release_target_namespace
    )
    if owner == ctx.agent_identity or unrecorded_ours:
        raise PreflightError(
            f"HelmRelease {settings.helm_release_namespace}/{settings.helm_release_name} of "
            f"agent {settings.agent} is in the cluster, but {settings.helm_release_path} is "
            f"not in {ctx.project_path}@{ctx.branch}: nothing was changed",
            hint="pass the --manifest-path (and --manifest-branch) the agent was bootstrapped with",
        )


# -- tokens and environments ---------------------------------------------------------


def _survey_tokens(ctx: BootstrapContext, inventory: Inventory) -> None:
    """Revoke the token this cluster holds and those kasboot minted for this agent;
    list and leave the rest (a token minted elsewhere may serve another cluster)."""
    held = held_token_id(ctx.token_secret) if inventory.secret_is_ours else None
    for token in ctx.gitlab.active_tokens(ctx.project_path, ctx.agent_id):
        token_id = int(token["id"])
        if token_id == held or minted_by_kasboot(token, ctx.settings.agent):
            inventory.revoke.append(token_id)
        else:
            inventory.kept_tokens.append(f"{token_id} ({token.get('name')})")


def _environments_other_agents_use(ctx: BootstrapContext) -> set[str]:
    """The environment names other agents' records (their Secrets in this cluster) say
    they were bootstrapped with. Not allowed to read them: the Flux environment counts
    as used (the safe side: it is kept)."""
    used = set()
    found = ctx.cluster.list_managed_secrets()
    if found is None:
        return {ctx.settings.flux_env_name}
    for secret in found:
        owner = secret_owner(secret)
        record = read_record(secret)
        if owner in (None, ctx.agent_identity) or record is None:
            continue
        if record.get("create_environment", True) and record.get("environment_name"):
            used.add(str(record["environment_name"]))
        if record.get("create_flux_environment", True) and record.get("flux_environment_name"):
            used.add(str(record["flux_environment_name"]))
    return used


def _survey_environments(ctx: BootstrapContext, inventory: Inventory) -> None:
    me = ctx.agent_identity
    my_id = ctx.agent_id
    environments = ctx.gitlab.list_environments(ctx.project_path)
    agents = {str(a["name"]): int(a["id"]) for a in ctx.gitlab.list_agents(ctx.project_path)}
    used_by_others = _environments_other_agents_use(ctx)
    own_record = read_record(ctx.token_secret) if inventory.secret_is_ours else None
    only_linked = set((own_record or {}).get("linked_environments") or [])
    for environment in environments:
        owner = environment_owner(environment)
        linked = linked_agent_id(environment)
        name = str(environment["name"])
        if owner == me and name not in only_linked:  # recorded as linked: never deleted
            # e.g. the Flux environment, shared by every agent bootstrapped with its name
            shared = linked not in (None, my_id) or name in used_by_others
            if not shared:
                inventory.environments.append(EnvironmentPlan(environment, "delete"))
            elif linked == my_id:
                inventory.environments.append(
                    EnvironmentPlan(environment, "unlink", detail="another agent uses it")
                )
            else:
                inventory.kept_environments.append(f"{name} (another agent uses it)")
            continue
        if linked != my_id:
            continue
        same_project = bool(owner) and str(owner).rsplit("/", 1)[0] == ctx.project_path
        previous = agents.get(agent_of(str(owner))) if owner and same_project else None
        if owner and owner != me and previous is not None and previous != my_id:
            inventory.environments.append(
                EnvironmentPlan(environment, "relink", previous, f"back to {agent_of(owner)}")
            )
        else:
            inventory.environments.append(
                EnvironmentPlan(environment, "unlink", detail="linked, not created by kasboot")
            )
