"""Plugin steps: third-party packages add bootstrap steps through the ``kasboot.steps``
entry point group.

An entry point names a class (or any callable) that returns a step object like the
built-in ones: ``name``, ``title``, ``plan(ctx)`` and optionally ``apply``, ``summary``,
``skipped`` and ``is_check``, plus exactly one of ``before`` / ``after`` naming the
built-in step it goes next to (``kasboot plan`` runs its ``plan`` only, as for every
step). A plugin that cannot be loaded, or does not keep that contract, is *broken*: a
bootstrap then refuses before its first write (a plugin may be a policy gate, and
running without it would be unsafe), doctor reports it, and nothing prints a traceback.
``KASBOOT_NO_PLUGINS=1`` runs without any plugin.

Plugins run in kasboot's process with its rights; the adapter only makes sure their
failures become one-line errors and that the agent token cannot reach the output
through their change descriptions or summaries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kasboot.errors import ExitCode, KasbootError, PreflightError
from kasboot.pipeline import Change, Step

ENTRY_POINT_GROUP = "kasboot.steps"
DISABLE_VARIABLE = "KASBOOT_NO_PLUGINS"
_STEP_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
REDACTED = "[REDACTED]"


class PluginFailure(KasbootError):
    """A plugin step raised something that is not one of kasboot's errors."""

    exit_code = ExitCode.INTERNAL


@dataclass(frozen=True)
class Plugin:
    """One ``kasboot.steps`` entry point, loaded or not."""

    entry_point: str  # the entry point's name
    target: str  # "module:attribute"
    distribution: str  # "package 1.2.3", or "" when the metadata does not say
    step: Any = None  # the loaded step object; None when broken
    position: tuple[str, str] | None = None  # ("before"|"after", built-in step name)
    problem: str | None = None

    @property
    def label(self) -> str:
        origin = f" from {self.distribution}" if self.distribution else ""
        return f"{self.entry_point} ({self.target}){origin}"

    @property
    def placement(self) -> str:
        return f"{self.position[0]} {self.position[1]}" if self.position else "?"


def plugins_disabled(env: Mapping[str, str]) -> bool:
    return env.get(DISABLE_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


def discover(builtin_names: Sequence[str], env: Mapping[str, str]) -> list[Plugin]:
    """Every installed plugin step, each loaded and checked against the contract."""
    if plugins_disabled(env):
        return []
    from importlib.metadata import entry_points

    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    plugins = [_load(ep, builtin_names) for ep in found]
    return _refuse_name_clashes(plugins, builtin_names)


def _load(entry_point: Any, builtin_names: Sequence[str]) -> Plugin:
    dist = getattr(entry_point, "dist", None)
    distribution = f"{dist.name} {dist.version}" if dist is not None else ""
    base = {
        "entry_point": entry_point.name,
        "target": entry_point.value,
        "distribution": distribution,
    }
    try:
        factory = entry_point.load()
        step = factory() if callable(factory) else factory
    except Exception as error:  # any import or constructor failure is the plugin's
        return Plugin(**base, problem=f"cannot be loaded: {type(error).__name__}: {error}")
    problem = _contract_problem(step, builtin_names)
    if problem is not None:
        return Plugin(**base, problem=problem)
    return Plugin(**base, step=step, position=_position(step))


def _position(step: Any) -> tuple[str, str]:
    before = getattr(step, "before", None)
    return ("before", before) if before else ("after", getattr(step, "after", ""))


def _contract_problem(step: Any, builtin_names: Sequence[str]) -> str | None:
    name = getattr(step, "name", None)
    if not isinstance(name, str) or not _STEP_NAME.match(name):
        return "has no valid 'name' (lowercase letters, digits, '-' or '_')"
    if not isinstance(getattr(step, "title", None), str) or not step.title.strip():
        return "has no 'title'"
    if not callable(getattr(step, "plan", None)):
        return "has no plan(ctx) method"
    before, after = getattr(step, "before", None), getattr(step, "after", None)
    if bool(before) == bool(after):
        return "must name exactly one of 'before' or 'after' (a built-in step)"
    anchor = before or after
    if anchor not in builtin_names:
        return f"names an unknown step {anchor!r} (built-in steps: {', '.join(builtin_names)})"
    if before == builtin_names[0]:
        # Pre-flight validates everything before the first write; nothing goes ahead of it.
        return f"cannot run before {builtin_names[0]!r}"
    return None


def _refuse_name_clashes(plugins: list[Plugin], builtin_names: Sequence[str]) -> list[Plugin]:
    taken = set(builtin_names)
    checked: list[Plugin] = []
    for plugin in plugins:
        name = getattr(plugin.step, "name", None)
        if plugin.step is not None and name in taken:
            plugin = Plugin(
                plugin.entry_point,
                plugin.target,
                plugin.distribution,
                problem=f"uses the step name {name!r}, which another step already has",
            )
        elif name:
            taken.add(name)
        checked.append(plugin)
    return checked


def with_plugins(steps: list[Step[Any]], plugins: Sequence[Plugin]) -> list[Step[Any]]:
    """The built-in steps with the plugins' steps placed, plus a first check that
    refuses the run when a plugin is broken. Plugins anchored to one step keep their
    entry point order."""
    if not plugins:
        return steps
    placed = list(steps)
    for plugin in plugins:
        if plugin.step is None or plugin.position is None:
            continue
        where, anchor = plugin.position
        index = next(i for i, step in enumerate(placed) if step.name == anchor)
        if where == "after":
            # after the anchor and after plugins already placed after it
            index += 1
            while index < len(placed) and isinstance(placed[index], PluginStep):
                index += 1
        placed.insert(index, PluginStep(plugin))
    return [PluginCheck(plugins), *placed]


class PluginCheck:
    """Refuses the run before anything is read or written when a plugin is broken."""

    name = "plugins"
    title = "Checking plugin steps"
    is_check = True

    def __init__(self, plugins: Sequence[Plugin]) -> None:
        self.plugins = list(plugins)

    def skipped(self, ctx: Any) -> str | None:
        return None

    def plan(self, ctx: Any) -> list[Change]:
        broken = [plugin for plugin in self.plugins if plugin.problem]
        if broken:
            first = broken[0]
            raise PreflightError(
                f"plugin step {first.label} {first.problem}"
                + (f" (and {len(broken) - 1} more broken)" if len(broken) > 1 else ""),
                f"fix or uninstall it (pip uninstall {_package(first)}), or set "
                f"{DISABLE_VARIABLE}=1 to run without plugins",
            )
        return []

    def apply(self, ctx: Any, changes: list[Change]) -> None:  # pragma: no cover - a check
        return None

    def summary(self, ctx: Any) -> str:
        return "; ".join(
            f"{plugin.step.name} ({plugin.placement}) from {plugin.distribution or plugin.target}"
            for plugin in self.plugins
        )


def _package(plugin: Plugin) -> str:
    return plugin.distribution.split(" ")[0] if plugin.distribution else "<the package>"


class PluginStep:
    """A plugin's step as the runner sees it: defaults for what it leaves out, its
    unexpected exceptions turned into one-line errors, the token kept out of its text."""

    def __init__(self, plugin: Plugin) -> None:
        self.plugin = plugin
        self.inner = plugin.step
        self.name: str = self.inner.name
        self.title: str = self.inner.title
        self.is_check = bool(getattr(self.inner, "is_check", False))

    def skipped(self, ctx: Any) -> str | None:
        method = getattr(self.inner, "skipped", None)
        reason = self._call("skipped", method, ctx) if callable(method) else None
        return None if reason is None else _redact(str(reason), ctx)

    def plan(self, ctx: Any) -> list[Change]:
        changes = self._call("plan", self.inner.plan, ctx) or []
        if not isinstance(changes, list) or not all(isinstance(c, Change) for c in changes):
            raise PluginFailure(
                f"plugin step {self.plugin.label}: plan() returned {type(changes).__name__}, "
                "not a list of kasboot.pipeline.Change",
                "fix the plugin, or set KASBOOT_NO_PLUGINS=1",
            )
        return [Change(c.action, _redact(c.target, ctx), _redact(c.detail, ctx)) for c in changes]

    def apply(self, ctx: Any, changes: list[Change]) -> None:
        method = getattr(self.inner, "apply", None)
        if callable(method):
            self._call("apply", method, ctx, changes)

    def summary(self, ctx: Any) -> str:
        method = getattr(self.inner, "summary", None)
        text = self._call("summary", method, ctx) if callable(method) else ""
        return _redact(str(text or ""), ctx)

    def _call(self, what: str, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except KasbootError as error:
            error.message = _redact(error.message, args[0])
            raise
        except Exception as error:
            raise PluginFailure(
                f"plugin step {self.plugin.label} failed in {what}(): "
                f"{type(error).__name__}: {_redact(str(error), args[0])}",
                f"fix or uninstall it (pip uninstall {_package(self.plugin)}), or set "
                f"{DISABLE_VARIABLE}=1",
            ) from error


def _redact(text: str, ctx: Any) -> str:
    secret = getattr(getattr(ctx, "token", None), "secret", None)
    if isinstance(secret, str) and len(secret) >= 8 and secret in text:
        return text.replace(secret, REDACTED)
    return text
