"""The bootstrap steps, in order. Each is small and idempotent and never prints.

The step modules load when the list is asked for, not with the package: pre-flight's
reads (steps/preflight_reads.py) start before them, so that their import overlaps the
reads' round trips."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kasboot.pipeline import Step
    from kasboot.steps.context import BootstrapContext


def bootstrap_steps() -> list[Step[BootstrapContext]]:
    from kasboot.steps.agent import RegisterAgent
    from kasboot.steps.agent_config import ConfigureAgent
    from kasboot.steps.agent_restart import ConfirmToken, FinishRestart
    from kasboot.steps.commit import CommitFiles
    from kasboot.steps.environments import AgentEnvironment, FluxEnvironment
    from kasboot.steps.manifests import RenderManifests
    from kasboot.steps.preflight import Preflight
    from kasboot.steps.proxy_secret import StoreProxySecret
    from kasboot.steps.receptive import ReceptiveUrl
    from kasboot.steps.reconcile import ReconcileFlux
    from kasboot.steps.secret import StoreTokenSecret
    from kasboot.steps.token import MintToken

    return [
        Preflight(),
        RegisterAgent(),
        ReceptiveUrl(),
        ConfigureAgent(),
        AgentEnvironment(),
        FluxEnvironment(),
        MintToken(),
        StoreTokenSecret(),
        StoreProxySecret(),
        RenderManifests(),
        CommitFiles(),
        ReconcileFlux(),
        FinishRestart(),  # a restart a crashed run left pending
        ConfirmToken(),  # the Secret's token is active before exit 0
    ]
