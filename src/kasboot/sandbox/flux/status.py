"""The end of every reconcile (fluxcd/pkg ``runtime/patch`` + summarize): the handled
reconcile request is always recorded; ``observedGeneration`` only on success."""

from __future__ import annotations

from typing import Any

from kasboot.sandbox.flux.conditions import requested_at
from kasboot.sandbox.flux.kubeapi import KubeApi


def finish_status(
    api: KubeApi, kind: str, obj: dict[str, Any], status: dict[str, Any], *, succeeded: bool
) -> None:
    token = requested_at(obj)
    if token is not None:
        status["lastHandledReconcileAt"] = token
    if succeeded:
        status["observedGeneration"] = int(obj["metadata"].get("generation") or 1)
    api.patch_status(kind, obj, status)
