"""Doctor's line on plugin steps (``kasboot.steps`` entry points): which are installed
and where they run, or which one is broken and would make a bootstrap refuse."""

from __future__ import annotations

from collections.abc import Mapping

from kasboot.doctor.model import Check, failed, passed, skipped
from kasboot.errors import ExitCode


def check_plugins(env: Mapping[str, str]) -> Check | None:
    """None when no plugin is installed (the report stays as it was)."""
    from kasboot.plugins import DISABLE_VARIABLE, discover, plugins_disabled
    from kasboot.steps import bootstrap_steps

    title = "Plugin steps"
    if plugins_disabled(env):
        return skipped("plugins", title, f"{DISABLE_VARIABLE} is set: plugin steps are not run")
    plugins = discover([step.name for step in bootstrap_steps()], env)
    if not plugins:
        return None
    broken = [plugin for plugin in plugins if plugin.problem]
    if broken:
        return failed(
            "plugins",
            title,
            "; ".join(f"{plugin.label} {plugin.problem}" for plugin in broken),
            f"fix or uninstall the broken plugin, or set {DISABLE_VARIABLE}=1; "
            "bootstrap refuses to run while a plugin is broken",
            ExitCode.PREFLIGHT,
        )
    return passed(
        "plugins",
        title,
        "; ".join(
            f"{plugin.step.name} ({plugin.placement}) from {plugin.distribution or plugin.target}"
            for plugin in plugins
        ),
    )
