"""The closing summary of `kasboot bootstrap` (and of `plan`, where it describes the
planned state: what the world will be once applied, never "None" or applied words)."""

from __future__ import annotations

from typing import Any

from kasboot.settings import Settings


def bootstrap_summary(outcome: dict[str, Any], settings: Settings) -> list[str]:
    if not outcome:
        return []
    planned = settings.dry_run
    agent = outcome.get("agent") or {}
    lines = [
        "Planned (nothing written yet):" if planned else "Bootstrapped the GitLab agent:",
        f"  project      {outcome['project']} (branch {outcome['branch']})",
    ]
    if agent.get("id") is not None:
        lines.append(f"  agent        {agent.get('name')} (id {agent['id']})")
    else:
        lines.append(f"  agent        {settings.agent} (registered on apply)")
    for environment in outcome["environments"]:
        lines.append(f"  environment  {environment['name']} (id {environment['id']})")
    lines.append(f"  token        {_token(outcome, planned)}")
    lines.append(f"  secret       {outcome['secret']}")
    files = outcome["files"]
    if outcome["commit"]:
        lines.append(f"  commit       {outcome['commit']}: {', '.join(files)}")
    elif planned and files:
        lines.append(f"  commit       {len(files)} file(s) in one commit: {', '.join(files)}")
    else:
        lines.append("  commit       none needed (files up to date)")
    lines.append(f"  flux         {_flux(outcome, settings)}")
    return lines


def _token(outcome: dict[str, Any], planned: bool) -> str:
    token_id = outcome["token_id"]
    revoked = outcome.get("revoked_token_ids") or []
    if token_id is None:
        text = "minted on apply" if planned else "none"
    elif outcome.get("token_minted"):
        text = f"{token_id} (minted)"
    else:
        text = f"{token_id} (kept: active and held by the cluster)"
    if revoked:
        text += f"; revoked {', '.join(map(str, revoked))}"
    return text


def _flux(outcome: dict[str, Any], settings: Settings) -> str:
    if outcome.get("flux"):
        return str(outcome["flux"])
    if settings.no_reconcile:
        return "not asked to reconcile (--no-reconcile)"
    return "reconciled and watched until Ready on apply" if settings.dry_run else "-"
