"""The cyclic garbage collector, paused while a command starts.

Start-up imports a thousand modules (the GitLab and Kubernetes clients, pydantic,
urllib3, kasboot's steps): about 100,000 container objects, none of them garbage, and
the collector would walk them over and over on the way (a tenth of the import time).
The process's own entry point pauses it (cli.main); it resumes once the command's
modules are loaded — when the command is resolved, or for bootstrap once its steps
are imported, which happens while pre-flight's first reads travel — and the objects
start-up made move to the permanent generation first, so that later collections never
walk them again. A caller that runs kasboot inside its own process is left alone."""

from __future__ import annotations

import gc

_state = {"paused": False}
# Commands that resume the collector themselves, later (bootstrap.run_bootstrap).
RESUMED_LATER = frozenset({"bootstrap", "plan"})


def pause() -> None:
    if gc.isenabled():
        gc.disable()
        _state["paused"] = True


def resume() -> None:
    """Resume the collector if pause() stopped it (else nothing)."""
    if _state["paused"]:
        _state["paused"] = False
        gc.freeze()
        gc.enable()
