"""The house stays easy to read: the layers import one way. The command layer (cli/)
may use the wizard and the output layer (ui/); the wizard may use ui/; never back. And
settings, validation and flux/render, which everything else builds on, import no one
that imports them. Every import counts — at module level, inside functions (lazy) and
under TYPE_CHECKING — since a circle read by people is a circle, whenever it runs."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import kasboot

ROOT = Path(kasboot.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target
            for alias in node.names:  # `from kasboot.ui import console` names a module
                yield f"{target}.{alias.name}"


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in ROOT.rglob("*.py") if "sandbox" not in p.parts}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        graph[module] = {t for t in _imports(path, module) if t in files and t != module}
    return graph


def layer(module: str) -> str | None:
    for name in ("cli", "ui", "wizard"):
        if module == f"kasboot.{name}" or module.startswith(f"kasboot.{name}."):
            return name
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_graph_is_read_from_the_source() -> None:
    graph = import_graph()
    assert "kasboot.wizard.flow" in graph["kasboot.cli.wizard"]
    assert "kasboot.bootstrap" in graph["kasboot.wizard.review"]


def test_cli_ui_and_the_wizard_import_one_way() -> None:
    allowed = {("cli", "wizard"), ("cli", "ui"), ("wizard", "ui")}
    wrong = sorted(
        f"{source} imports {target}"
        for source, targets in import_graph().items()
        for target in targets
        if layer(source) and layer(target) and layer(source) != layer(target)
        if (layer(source), layer(target)) not in allowed
    )
    assert wrong == []


def test_the_wizard_is_a_client_of_the_library_not_of_the_commands() -> None:
    graph = import_graph()
    wizard = [m for m in graph if layer(m) == "wizard"]
    assert {"kasboot.wizard.flow", "kasboot.wizard.model", "kasboot.wizard.discovery"} <= set(
        wizard
    )
    for module in wizard:
        assert not any(layer(t) == "cli" for t in reachable(graph, module)), module
    # the modules of the wizard live in its package, nowhere else
    assert not list(ROOT.glob("wizard_*.py")) and not list((ROOT / "ui").glob("wizard*.py"))
    assert not (ROOT / "interactive.py").exists()


def test_no_circle_between_settings_validation_and_flux_render() -> None:
    graph = import_graph()
    core = ("kasboot.settings", "kasboot.validation", "kasboot.flux.render")
    for module in core:
        assert module not in reachable(graph, module), f"{module} imports itself back"
    for first in core:
        for second in core:
            if first != second and second in reachable(graph, first):
                assert first not in reachable(graph, second), (first, second)
