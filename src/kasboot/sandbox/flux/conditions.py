"""Status conditions the way fluxcd/pkg ``runtime/conditions`` writes them, and the
small status rules every controller shares (reconcile requests, durations)."""

from __future__ import annotations

import re
from typing import Any

from kasboot.sandbox.flux.kubeapi import now_rfc3339

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
FORCE_AT = "reconcile.fluxcd.io/forceAt"


def set_condition(
    conditions: list[dict[str, Any]],
    condition_type: str,
    status: str,
    reason: str,
    message: str,
    generation: int,
) -> list[dict[str, Any]]:
    """Upsert one condition; ``lastTransitionTime`` moves only when the status flips."""
    result = []
    previous = None
    for condition in conditions:
        if condition.get("type") == condition_type:
            previous = condition
        else:
            result.append(condition)
    transition = (
        previous["lastTransitionTime"]
        if previous and previous.get("status") == status and previous.get("lastTransitionTime")
        else now_rfc3339()
    )
    entry = {
        "type": condition_type,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": transition,
    }
    # Ready first, like fluxcd/pkg's summarize helper orders them
    return [entry, *result] if condition_type == "Ready" else [*result, entry]


def remove_condition(conditions: list[dict[str, Any]], condition_type: str) -> list[dict[str, Any]]:
    return [c for c in conditions if c.get("type") != condition_type]


def get_condition(obj: dict[str, Any], condition_type: str) -> dict[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == condition_type:
            return dict(condition)
    return None


def is_ready(obj: dict[str, Any] | None) -> bool:
    if obj is None:
        return False
    ready = get_condition(obj, "Ready")
    return bool(ready and ready.get("status") == "True")


def requested_at(obj: dict[str, Any]) -> str | None:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(REQUESTED_AT)
    return str(value) if value is not None else None


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str | None, default: float) -> float:
    """Seconds in a Go duration string (``1m0s``, ``10m``, ``30s``, ``1h``)."""
    if not text:
        return default
    parts = _DURATION_PART.findall(str(text))
    if not parts:
        return default
    return sum(float(value) * _UNIT_SECONDS[unit] for value, unit in parts)


def format_duration(seconds: float) -> str:
    """Go's time.Duration String() for whole seconds: ``10m0s``, ``1m0s``, ``30s``."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
