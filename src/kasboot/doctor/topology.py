"""The doctor's Flux topology line: the guard as bootstrap's pre-flight runs it, on
the files bootstrap would add.

Without a manifest path (doctor without AGENT, or an agent without a record) the
doctor does not check the repository root — which no Kustomization applies in a
`flux bootstrap --path clusters/<name>` layout, so a healthy, freshly bootstrapped
setup failed with exit 3 — but a directory under the path the Flux source's
Kustomization applies (``<its path>/gitlab-agent``), and says which. A fix that asks for
another --manifest-path names a concrete one."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from kasboot.doctor.context import DoctorContext
from kasboot.doctor.model import Check, failed, failed_with, passed, skipped, warned
from kasboot.errors import ExitCode, KasbootError, PreflightError

if TYPE_CHECKING:
    from kasboot.flux.build import FluxKustomization
    from kasboot.flux.topology import TopologyVerdict
    from kasboot.steps.context import BootstrapContext

AGENT_DIRECTORY = "gitlab-agent"  # as in glab's and kasboot's examples
TITLE = "Flux topology"


def suggested_manifest_path(bootstrap: BootstrapContext) -> str | None:
    """``<path>/gitlab-agent`` under the path of the Kustomization that applies the Flux
    source (the one named like the source first: `flux bootstrap` names both
    flux-system), None when no Kustomization uses the source."""
    from kasboot.steps.guard import source_kustomizations

    found: list[FluxKustomization] = source_kustomizations(bootstrap)
    if not found:
        return None
    settings = bootstrap.settings
    found.sort(
        key=lambda k: (
            (k.namespace, k.name) != (settings.flux_source_namespace, settings.flux_source_name),
            k.ref,
        )
    )
    base = found[0].repo_path
    return f"{base}/{AGENT_DIRECTORY}" if base else AGENT_DIRECTORY


def _guard(bootstrap: BootstrapContext, branch: str) -> TopologyVerdict | None:
    from kasboot.agent_config import merge_agent_config
    from kasboot.steps.guard import run_guard
    from kasboot.steps.manifests import rendered_manifests

    settings = bootstrap.settings
    config = bootstrap.gitlab.get_file(bootstrap.project_path, settings.agent_config_path, branch)
    planned = {
        settings.agent_config_path: merge_agent_config(
            config.text if config else None, bootstrap.project_path
        ),
        **rendered_manifests(bootstrap),
    }
    return run_guard(bootstrap, planned)


def check_topology(ctx: DoctorContext) -> Check:
    if ctx.gitlab is None or ctx.project is None or ctx.cluster is None:
        return skipped("topology", TITLE, "needs the project and the cluster")
    if ctx.flux_version is None:
        return skipped("topology", TITLE, "Flux is not installed")
    bootstrap = ctx.bootstrap_context()
    chosen = ""
    try:
        if not bootstrap.settings.manifest_path:
            chosen = suggested_manifest_path(bootstrap) or ""
            if chosen:
                bootstrap.settings = dataclasses.replace(bootstrap.settings, manifest_path=chosen)
        verdict = _guard(bootstrap, bootstrap.branch)
    except PreflightError as refusal:
        fixes = (refusal.hint or "").removeprefix("fixes: ") or None
        if fixes and "use a --manifest-path under" in fixes:
            example = chosen or _suggestion_or_none(bootstrap)
            if example:
                fixes += f", e.g. --manifest-path {example}"
        message = refusal.message + (f" (checked --manifest-path {chosen})" if chosen else "")
        return failed("topology", TITLE, message, fixes, ExitCode.PREFLIGHT)
    except KasbootError as error:
        return failed_with("topology", TITLE, error)
    if verdict is None:
        return skipped("topology", TITLE, "no Flux Git/OCI source to predict")
    names = ", ".join(k.ref for k in verdict.manifest_reconciled_by) or "-"
    directory = bootstrap.settings.manifest_path or "."
    summary = f"Flux builds {ctx.branch} with the agent's files; {directory}/ applied by {names}"
    if chosen:
        summary += " (no --manifest-path given: checked this one, under what Flux applies)"
    # The partial view's notes are in guard_partial already (steps/guard.py).
    notes = [n for n in verdict.notes if n not in verdict.partial_notes] + (
        [f"guard {bootstrap.guard_partial}"] if bootstrap.guard_partial else []
    )
    if notes:
        return warned("topology", TITLE, summary + "; " + "; ".join(notes))
    return passed("topology", TITLE, summary)


def _suggestion_or_none(bootstrap: BootstrapContext) -> str | None:
    try:
        return suggested_manifest_path(bootstrap)
    except KasbootError:
        return None
