"""--output json: one JSON document of what happened (steps, ids, changes). It is built
only from step reports and ids, so no token can reach it."""

from __future__ import annotations

import json
from typing import Any

from kasboot.pipeline import StepReport


def report_document(
    command: str, reports: list[StepReport], outcome: dict[str, Any], error: Any = None
) -> str:
    document: dict[str, Any] = {
        "command": command,
        "ok": error is None,
        "steps": [
            {
                "name": report.name,
                "title": report.title,
                "result": report.result.value,
                "elapsed_seconds": round(report.elapsed, 3),
                "summary": report.summary,
                "changes": [
                    {"action": c.action, "target": c.target, "detail": c.detail}
                    for c in report.changes
                ],
            }
            for report in reports
        ],
        **outcome,
    }
    if error is not None:
        document["error"] = {
            "message": error.message,
            "hint": error.hint,
            "exit_code": int(error.exit_code),
        }
    return json.dumps(document, indent=2, sort_keys=False)
