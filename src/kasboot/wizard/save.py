"""The wizard's answers as a `.kasboot.yaml` (long flag names, as `--config` reads it),
so later runs in this repository start from them. An existing file keeps its comments
and other keys (ruamel round-trip); the agent name is never stored (the file serves
every agent of the repository), nor what belongs to one run or one machine."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from kasboot.option_sources import CONFIG_FILE_NAME
from kasboot.option_specs import SPECS
from kasboot.settings import Settings

# One run's or one machine's, not the repository's.
NOT_SAVED = frozenset(
    {
        "agent",
        "dry_run",
        "output",
        "verbose",
        "context",
        "kubeconfig",
        "rotate_token",
        "force",
        "skip_preflight",
        "fix",
    }
)


def config_target(cwd: Path) -> Path:
    """`.kasboot.yaml` at the root of the git clone containing ``cwd``, else in ``cwd``."""
    start = cwd.resolve()
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory / CONFIG_FILE_NAME
    return start / CONFIG_FILE_NAME


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "kind") and hasattr(value, "name"):  # ValuesFrom
        return f"{value.kind}/{value.name}"
    return str(value)


def answers(settings: Settings, baseline: Settings) -> dict[str, Any]:
    """The options whose answer differs from what a run without flags would use."""
    saved: dict[str, Any] = {}
    for spec in SPECS:
        if spec.name in NOT_SAVED:
            continue
        value = getattr(settings, spec.name)
        if value == getattr(baseline, spec.name) or value is None or value == ():
            continue
        saved[spec.flags[-1].lstrip("-")] = _plain(value)
    return saved


def save_answers(path: Path, values: dict[str, Any]) -> None:
    yaml = YAML()  # round-trip: an existing file keeps its comments and order
    document: Any = {}
    if path.is_file():
        document = yaml.load(path.read_text(encoding="utf-8")) or {}
    for key, value in values.items():
        document[key] = value
    buffer = io.StringIO()
    if not path.is_file():
        buffer.write("# kasboot options for this repository (long flag names); flags win.\n")
    yaml.dump(document, buffer)
    path.write_text(buffer.getvalue(), encoding="utf-8")
