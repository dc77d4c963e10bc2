"""How AGENT was bootstrapped, read back from the record (kasboot.ownership) so
uninstall, token rotate, doctor and status need no repeated flags.

Where the record is: the token Secret this agent's token is in (its ``kasboot/agent``
annotation names the agent) — the Secret the flags name, else the one kasboot-managed
Secret in the cluster that names this agent. Failing that, the HelmRelease Flux applied
from kasboot's manifest (its ``kasboot.dev/agent`` annotation) gives the names.

Precedence: a flag (or KASBOOT_* variable) given explicitly is checked against the
record — equal is fine, different is a refusal naming both, never a guess; the record
then beats the config file and the defaults."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kasboot.errors import PreflightError
from kasboot.ownership import (
    FLAG_OF,
    RECORDED_FIELDS,
    object_owner,
    read_record,
    secret_owner,
    secret_ref,
    secrets_of,
)
from kasboot.settings import Settings
from kasboot.steps.context import BootstrapContext

_LOCATION = ("helm_release_target_namespace", "gitlab_agent_token_secret_name")


def _current(settings: Settings, name: str) -> Any:
    if name == "environment_name":
        return settings.env_name
    if name == "flux_environment_name":
        return settings.flux_env_name
    return getattr(settings, name)


def find_own_secret(ctx: BootstrapContext, explicit: frozenset[str]) -> dict[str, Any] | None:
    """This agent's token Secret: the one the settings name when it is this agent's,
    else the single kasboot-managed Secret naming this agent. Two of them, and the
    flags do not say which: refused (exit 3), as a guess could delete the wrong one."""
    settings = ctx.settings
    owner = ctx.agent_identity
    named = ctx.cluster.get_secret(
        settings.helm_release_target_namespace, settings.gitlab_agent_token_secret_name
    )
    if named is not None and secret_owner(named) == owner:
        return named
    candidates = secrets_of(owner, ctx.cluster.list_managed_secrets() or [])
    for name in _LOCATION:
        if name in explicit:
            key = "namespace" if name == "helm_release_target_namespace" else "name"
            wanted = getattr(settings, name)
            candidates = [s for s in candidates if (s.get("metadata") or {}).get(key) == wanted]
    if len(candidates) > 1:
        refs = ", ".join(sorted(secret_ref(s) for s in candidates))
        raise PreflightError(
            f"more than one Secret holds a token of agent {owner}: {refs}",
            hint="say which with --helm-release-target-namespace and "
            "--gitlab-agent-token-secret-name",
        )
    if not candidates:
        return None
    metadata = candidates[0].get("metadata") or {}
    return ctx.cluster.get_secret(str(metadata["namespace"]), str(metadata["name"]))


def merge_record(
    settings: Settings, explicit: frozenset[str], record: Mapping[str, Any], where: str
) -> Settings:
    """The settings with the record filled in; a flag that contradicts it is refused."""
    conflicts = []
    values: dict[str, Any] = {}
    for name, recorded in record.items():
        if name not in RECORDED_FIELDS:
            continue
        if name in explicit:
            given = _current(settings, name)
            if given != recorded:
                conflicts.append(f"{FLAG_OF[name]} {given!r} (bootstrapped with {recorded!r})")
            continue
        if isinstance(recorded, (str, bool)) or recorded is None:
            values[name] = recorded
    if conflicts:
        raise PreflightError(
            f"{'; '.join(conflicts)}: contradicts how agent {settings.agent} was "
            f"bootstrapped (recorded on {where})",
            hint="drop the flag(s): kasboot reads this agent's settings from that record",
        )
    return dataclasses.replace(settings, **values)


def _record_from_release(release: Mapping[str, Any]) -> dict[str, Any]:
    """The names a HelmRelease kasboot rendered gives back (no file paths)."""
    metadata = release.get("metadata") or {}
    spec = release.get("spec") or {}
    source = ((spec.get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
    config = (spec.get("values") or {}).get("config") or {}
    record: dict[str, Any] = {
        "helm_release_name": metadata.get("name"),
        "helm_release_namespace": metadata.get("namespace"),
        "helm_release_target_namespace": spec.get("targetNamespace"),
        "gitlab_agent_token_secret_name": config.get("secretName"),
        "helm_repository_name": source.get("name"),
        "helm_repository_namespace": source.get("namespace") or metadata.get("namespace"),
    }
    return {key: value for key, value in record.items() if isinstance(value, str) and value}


def apply_record(ctx: BootstrapContext, explicit: frozenset[str]) -> str:
    """Fill ctx.settings from the record and set ctx.token_secret; returns where the
    settings came from, for the pre-flight summary."""
    secret = find_own_secret(ctx, explicit)
    record = read_record(secret)
    if secret is not None and record is not None:
        where = f"Secret {secret_ref(secret)}"
        ctx.settings = merge_record(ctx.settings, explicit, record, where)
        ctx.token_secret = secret
        return f"settings from the record on {where}"
    releases = [
        release
        for release in ctx.cluster.list_objects("HelmRelease")
        if object_owner(release) == ctx.agent_identity
    ]
    if len(releases) == 1:
        release = releases[0]
        where = f"HelmRelease {secret_ref(release)}"
        ctx.settings = merge_record(ctx.settings, explicit, _record_from_release(release), where)
    settings = ctx.settings
    ctx.token_secret = secret or ctx.cluster.get_secret(
        settings.helm_release_target_namespace, settings.gitlab_agent_token_secret_name
    )
    if len(releases) == 1:
        return f"names from the {where} (no record on a Secret)"
    return "no record found: flags, config file and defaults"
