"""`kasboot doctor` and `kasboot status`: read-only checks of GitLab, the token, KAS,
the cluster, Flux, versions, the Flux topology and one agent's state.

The package's names load on first use: bootstrap's steps import small helpers of it
(doctor.versions, doctor.context) and must not pay for every check module at start-up."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kasboot.doctor.model import Check, Outcome, Report
    from kasboot.doctor.run import run_doctor

__all__ = ["Check", "Outcome", "Report", "run_doctor"]
_WHERE = {"Check": "model", "Outcome": "model", "Report": "model", "run_doctor": "run"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
