"""The doctor's lines for one AGENT: registered, tokens, the token Secret, the
HelmRelease, connected, and name collisions with another agent's release, namespace or
Secret. Problems of an agent that is registered exit 6 (as `status` does), an agent
that is not registered 4, a collision 3 (bootstrap's pre-flight would refuse it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kasboot.doctor.agent_logs import read_agentk_logs
from kasboot.doctor.agent_state import (
    AgentState,
    read_cluster_side,
    read_gitlab_side,
    recorded_settings,
    release_identity,
    token_secret_name,
)
from kasboot.doctor.context import CONNECTED_WITHIN_SECONDS, DoctorContext, ago
from kasboot.doctor.model import Check, failed, failed_with, passed, skipped, warned
from kasboot.errors import ExitCode, KasbootError
from kasboot.flux.health import Phase


def _bootstrap_fix(ctx: DoctorContext, why: str) -> str:
    return f"{why}: `kasboot bootstrap {ctx.settings.agent}` with the same options"


@dataclass
class AgentReading:
    """The agent's state, read once before the lines that need it."""

    state: AgentState
    project: str | None
    gitlab_error: KasbootError | None = None
    cluster_error: KasbootError | None = None


def read_agent(ctx: DoctorContext) -> AgentReading:
    """Read the agent; tell later checks where its agentk runs when it was found through
    its token somewhere else than the options say."""
    project = ctx.project.path if ctx.project is not None else None
    reading = AgentReading(AgentState(name=ctx.settings.agent, project=project or ""), project)
    state = reading.state
    if ctx.gitlab is not None and project is not None:
        try:
            read_gitlab_side(ctx.gitlab, project, state)
        except KasbootError as error:
            reading.gitlab_error = error
    if ctx.cluster is not None and ctx.cluster_answers:
        try:
            if project is not None and state.registered:
                # How the agent was bootstrapped, from its record: later checks use it too.
                ctx.settings, state.record_at = recorded_settings(
                    ctx.cluster, project, ctx.settings
                )
            read_cluster_side(ctx.cluster, ctx.settings, state)
        except KasbootError as error:
            reading.cluster_error = error
    ctx.agent = state.agent
    if state.located_by_token and state.secret is not None and state.release is not None:
        ctx.agentk_at = (state.secret.namespace, state.release.name)
    return reading


def agent_checks(ctx: DoctorContext, reading: AgentReading) -> list[Check]:
    state = reading.state
    lines = [_registered(ctx, state, reading.project, reading.gitlab_error)]
    if state.registered:
        lines.append(_agent_config(ctx))
        lines.append(_tokens(ctx, state))
    lines.append(_secret(ctx, state, reading.cluster_error))
    lines.append(_release(ctx, state, reading.cluster_error))
    if state.registered:
        lines.append(_connected(ctx, state))
    lines.append(_collisions(ctx, state))
    return lines


def _registered(
    ctx: DoctorContext, state: AgentState, project: str | None, error: KasbootError | None
) -> Check:
    title = "Agent registered"
    if error is not None:
        return failed_with("agent", title, error)
    if project is None:
        return skipped("agent", title, "the project could not be read")
    if state.agent is None:
        return failed(
            "agent",
            title,
            f"no agent {state.name!r} in {project}",
            _bootstrap_fix(ctx, "register it"),
            ExitCode.GITLAB,
        )
    created = state.agent.get("created_at") or "?"
    return passed("agent", title, f"{state.name} (id {state.agent['id']}), created {created}")


def _agent_config(ctx: DoctorContext) -> Check:
    """KAS reads .gitlab/agents/<name>/config.yaml from the project's default branch."""
    title = "Agent config"
    if ctx.gitlab is None or ctx.project is None:
        return skipped("agent-config", title, "the project could not be read")
    path = ctx.settings.agent_config_path
    branch = ctx.project.default_branch
    try:
        found = ctx.gitlab.get_file(ctx.project.path, path, branch)
    except KasbootError as error:
        return failed_with("agent-config", title, error)
    if found is None:
        return warned(
            "agent-config",
            title,
            f"no {path} on {branch}: KAS runs the agent with defaults (no user_access, "
            "no ci_access)",
            _bootstrap_fix(ctx, "write it (on the default branch, where KAS reads it)"),
        )
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        parsed = YAML(typ="safe", pure=True).load(found.text)
    except (YAMLError, UnicodeDecodeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
        return failed(
            "agent-config",
            title,
            f"{path} on {branch} is not valid YAML: {first}",
            f"fix the YAML of {path}",
            ExitCode.FLUX,
        )
    keys = ", ".join(sorted(parsed)) if isinstance(parsed, dict) else "empty"
    return passed("agent-config", title, f"{path} on {branch} ({keys})")


def _tokens(ctx: DoctorContext, state: AgentState) -> Check:
    title = "Agent tokens"
    if not state.tokens:
        return failed(
            "agent-tokens",
            title,
            "no active token: the agent cannot authenticate",
            _bootstrap_fix(ctx, "mint one and store it in the Secret"),
            ExitCode.FLUX,
        )
    listed = ", ".join(
        f"{t.id} {t.name} ({_last_used(t.last_used_at, ctx.now)})" for t in state.tokens
    )
    return passed("agent-tokens", title, f"{len(state.tokens)} active: {listed}")


def _last_used(moment: datetime | None, now: datetime) -> str:
    return f"last used {ago(moment, now)}" if moment else "never used"


def _secret(ctx: DoctorContext, state: AgentState, error: KasbootError | None) -> Check:
    title = "Token Secret"
    if error is not None:
        return failed_with("agent-secret", title, error)
    secret = state.secret
    if secret is None:
        return skipped("agent-secret", title, "the cluster did not answer")
    ref = f"Secret {secret.namespace}/{secret.name}"
    fix = _bootstrap_fix(ctx, "store an active token in it")
    if not secret.present:
        return failed("agent-secret", title, f"{ref} does not exist", fix, ExitCode.FLUX)
    if not secret.has_token_key:
        return failed("agent-secret", title, f"{ref} has no key `token`", fix, ExitCode.FLUX)
    if secret.token_id is None:
        return warned(
            "agent-secret",
            title,
            f"{ref} holds a token without the token-id annotation: which one cannot be told",
            fix,
        )
    if not state.registered:
        return warned("agent-secret", title, f"{ref} holds token {secret.token_id}")
    if secret.token_id not in state.active_token_ids:
        return failed(
            "agent-secret",
            title,
            f"{ref} holds token {secret.token_id}, which is not an active token of "
            f"{state.name} (revoked, or another agent's)",
            fix,
            ExitCode.FLUX,
        )
    return passed(
        "agent-secret", title, f"{ref} holds active token {secret.token_id}{_located(state)}"
    )


def _located(state: AgentState) -> str:
    if state.located_by_token:
        return " (found through the agent's token, not at the names given)"
    if state.record_at:
        return f" (names from the agent's record on {state.record_at})"
    return ""


def _release(ctx: DoctorContext, state: AgentState, error: KasbootError | None) -> Check:
    title = "HelmRelease"
    if error is not None:
        return failed_with("agent-release", title, error)
    release = state.release
    if release is None:
        return skipped("agent-release", title, "the cluster did not answer")
    ref = f"HelmRelease {release.namespace}/{release.name}"
    if not release.present:
        settings = ctx.settings
        return failed(
            "agent-release",
            title,
            f"{ref} does not exist",
            f"is {settings.helm_release_path} committed, and applied by a Flux Kustomization? "
            "(see the Flux topology line; `flux get kustomizations -A`)",
            ExitCode.FLUX,
        )
    if release.ready:
        return passed("agent-release", title, f"{ref} Ready: {release.message}{_located(state)}")
    if release.phase is Phase.PROGRESSING:
        return warned("agent-release", title, f"{ref} is reconciling: {release.message}")
    found = release.diagnosis
    if found is not None:
        return failed("agent-release", title, f"{ref}: {found.cause}", found.fix, ExitCode.FLUX)
    return failed(
        "agent-release",
        title,
        f"{ref}: {release.reason}: {release.message}",
        f"see `flux get helmreleases -n {release.namespace}` and its events",
        ExitCode.FLUX,
    )


def _connected(ctx: DoctorContext, state: AgentState) -> Check:
    title = "Agent connected"
    latest = state.last_contact
    if latest is not None and state.connected(ctx.now):
        when = ago(latest.last_used_at, ctx.now)
        return passed("agent-connected", title, f"last contact {when} (token {latest.id})")
    if latest is None:
        summary = "no token of the agent was ever used: agentk has never connected"
        fix = "see the HelmRelease and Secret lines; `kubectl logs` of the agentk pods"
    else:
        summary = (
            f"last contact {ago(latest.last_used_at, ctx.now)} (token {latest.id}); GitLab "
            f"shows an agent as connected for {CONNECTED_WITHIN_SECONDS // 60} minutes after "
            "its last contact"
        )
        fix = "check that the agentk pods run and can reach KAS (`kubectl logs` of agentk)"
    finding = read_agentk_logs(ctx.cluster, state) if ctx.cluster is not None else None
    if finding is not None and finding.diagnosis is not None:
        found = finding.diagnosis
        summary = f"{summary}; {finding.read_from}: {found.cause} [{found.code}]"
        fix = found.fix
    elif finding is not None:
        summary = f"{summary}; {finding.read_from}"
    return failed("agent-connected", title, summary, fix, ExitCode.FLUX)


def _collisions(ctx: DoctorContext, state: AgentState) -> Check:
    title = "Name collisions"
    if ctx.cluster is None or not ctx.cluster_answers or ctx.flux_version is None:
        return skipped("collisions", title, "needs the cluster with Flux")
    try:
        own = (
            frozenset({(state.release.namespace, state.release.name)})
            if state.located_by_token and state.release is not None
            else frozenset()
        )
        found = release_collisions(ctx, ctx.cluster.list_objects("HelmRelease"), own)
        found += _secret_collision(ctx, state)
    except KasbootError as error:
        return failed_with("collisions", title, error)
    if found:
        return failed(
            "collisions",
            title,
            "; ".join(found),
            "give this agent its own --helm-release-name, --helm-release-target-namespace "
            "and --gitlab-agent-token-secret-name",
            ExitCode.PREFLIGHT,
        )
    return passed("collisions", title, "no other agent's release, namespace or Secret in the way")


def release_collisions(
    ctx: DoctorContext,
    releases: list[dict[str, Any]],
    own: frozenset[tuple[str, str]] = frozenset(),
) -> list[str]:
    """Other HelmReleases that would install the same Helm release, or read the same token
    Secret, as this agent's (``own``: more (namespace, name) of the agent's own)."""
    settings = ctx.settings
    target = settings.helm_release_target_namespace
    ours = own | {(settings.helm_release_namespace, settings.helm_release_name)}
    found = []
    for obj in releases:
        meta = obj["metadata"]
        if (meta["namespace"], meta["name"]) in ours:
            continue
        ref = f"HelmRelease {meta['namespace']}/{meta['name']}"
        other_target, other_release = release_identity(obj)
        if (other_target, other_release) == (target, settings.helm_release_name):
            found.append(f"{ref} installs the same Helm release {target}/{other_release}")
        elif (
            other_target == target
            and token_secret_name(obj, other_release) == settings.gitlab_agent_token_secret_name
        ):
            found.append(
                f"{ref} reads the same Secret {target}/{settings.gitlab_agent_token_secret_name}"
            )
    return found


def _secret_collision(ctx: DoctorContext, state: AgentState) -> list[str]:
    """The Secret is kasboot's for ANOTHER agent (its kasboot/agent annotation), or holds
    a token of another agent of the project (asked only when the token is not this
    agent's)."""
    secret = state.secret
    identity = f"{state.project}/{state.name}"
    if secret is not None and secret.managed_for and secret.managed_for != identity:
        return [
            f"Secret {secret.namespace}/{secret.name} holds the token of agent "
            f"{secret.managed_for}, not of {identity}"
        ]
    if (
        ctx.gitlab is None
        or ctx.project is None
        or secret is None
        or secret.token_id is None
        or secret.token_id in state.active_token_ids
    ):
        return []
    project = ctx.project.path
    for agent in ctx.gitlab.list_agents(project):
        if agent.get("name") == state.name:
            continue
        tokens = ctx.gitlab.active_tokens(project, int(agent["id"]))
        if any(int(token["id"]) == secret.token_id for token in tokens):
            return [
                f"Secret {secret.namespace}/{secret.name} holds token {secret.token_id} of "
                f"agent {agent.get('name')!r}"
            ]
    return []
