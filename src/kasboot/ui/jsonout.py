"""--output json: exactly one JSON document per run, in one envelope for every command
(`command`, `ok`, `exit_code`, `error`, `project`, `agent`, `kasboot_version`,
`generated_at`), with every time in one format (RFC 3339, UTC, whole seconds:
`2026-01-31T12:00:00Z`). The schema is shipped in the package
(kasboot/schemas/output.schema.json). Documents are built from step reports, ids and
names only, so no token can reach them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kasboot import __version__
from kasboot.pipeline import StepReport

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "output.schema.json"
_TIME_KEYS = ("last_contact",)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_time(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return timestamp(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))


def _times(value: Any) -> Any:
    """Every `…_at` (and `last_contact`) value in one format, however GitLab or the
    cluster spelled it."""
    if isinstance(value, dict):
        return {
            key: _as_time(item) if key.endswith("_at") or key in _TIME_KEYS else _times(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_times(item) for item in value]
    return value


def error_json(error: Any) -> dict[str, Any] | None:
    if error is None:
        return None
    return {"message": error.message, "hint": error.hint, "exit_code": int(error.exit_code)}


def _agent(body: dict[str, Any]) -> dict[str, Any] | None:
    agent = body.get("agent")
    if isinstance(agent, str):  # status/doctor name it; the envelope has one shape
        return {"id": body.get("agent_id"), "name": agent}
    return agent if isinstance(agent, dict) else None


def envelope(
    command: str,
    body: dict[str, Any],
    *,
    exit_code: int,
    error: Any = None,
    ok: bool | None = None,
) -> dict[str, Any]:
    """The common keys first, then the command's own."""
    document: dict[str, Any] = {
        "command": command,
        "ok": (error is None and exit_code == 0) if ok is None else ok,
        "exit_code": int(exit_code),
        "error": error_json(error),
        "project": body.get("project"),
        "agent": _agent(body),
        "kasboot_version": __version__,
        "generated_at": timestamp(datetime.now(timezone.utc)),
    }
    for key, value in body.items():
        document.setdefault(key, value)
    return _times(document)


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False)


def steps_json(reports: list[StepReport]) -> list[dict[str, Any]]:
    return [
        {
            "name": report.name,
            "title": report.title,
            "result": report.result.value,
            "elapsed_seconds": round(report.elapsed, 3),
            "summary": report.summary,
            "changes": [
                {"action": c.action, "target": c.target, "detail": c.detail} for c in report.changes
            ],
        }
        for report in reports
    ]


def report_document(
    command: str,
    reports: list[StepReport],
    outcome: dict[str, Any],
    error: Any = None,
    *,
    exit_code: int | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """A step-running command's document (bootstrap, plan, token, uninstall)."""
    code = int(error.exit_code) if error is not None else (exit_code or 0)
    body = {**outcome, **(extra or {}), "steps": steps_json(reports)}
    return dumps(envelope(command, body, exit_code=code, error=error, ok=error is None))


def error_document(command: str, message: str, hint: str | None, exit_code: int) -> str:
    """A run that ended before its command could report (a usage error click caught,
    a missing argument): still one document with the common keys."""

    document = envelope(command, {}, exit_code=exit_code, ok=False)
    document["error"] = {"message": message, "hint": hint, "exit_code": int(exit_code)}
    return dumps(document)
