"""Architecture: the import graph between Osler's units has no cycle and never points upward.

A unit is a package or a top-level module of osler: osler.compose.answer belongs to `compose`,
osler/models.py is `models`, osler/__init__.py (the public facade) is `__init__`. Every import
counts, at module level or inside a function, except those under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "osler"

#: Lowest first. A unit may import units of its own layer or below, never above; within a layer
#: the imports must not form a cycle. A new package or top-level module must be placed here.
LAYERS: list[list[str]] = [
    # foundations: the data model, text and list helpers, configuration
    ["models", "text", "lists", "settings", "version"],
    # domain rules over the model: references, evidence levels, readability, reader profiles
    ["citations", "evidence", "readability", "audience"],
    # persistence
    ["store"],
    # building the corpus: parsers, indexes, the glossary
    ["ingest", "index", "glossary"],
    ["retrieve"],
    # answering a question (a follow-up is resolved against the conversation first)
    ["compose", "conversation"],
    # an Answer as Markdown, HTML or terminal text (a pure function of the Answer)
    ["render"],
    # the editorial workflow: articles, versions, approval, export (rendered as Markdown)
    ["review"],
    ["service"],
    # entry points (the package root re-exports the public API: the service and its models)
    ["web", "cli", "cli_review", "batch", "evaluate", "mcp", "__main__", "__init__"],
]

#: Units placed in LAYERS before they exist in the code.
PLANNED: set[str] = set()


@dataclass(frozen=True)
class Import:
    source: str  # the importing unit
    target: str  # the imported unit
    where: str  # path:line of the import
    name: str  # the module imported


def _module_name(path: Path) -> list[str]:
    parts = ["osler", *path.relative_to(SRC).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def _unit(module: list[str]) -> str:
    """The unit of a dotted module name ("__init__" for the package root itself)."""
    return "__init__" if len(module) == 1 else module[1]


def found_units() -> set[str]:
    units = {p.stem for p in SRC.glob("*.py")}
    return units | {p.parent.name for p in SRC.glob("*/__init__.py")}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    def __init__(self, path: Path, units: set[str]) -> None:
        self.path, self.units = path, units
        self.module = _module_name(path)
        self.package = self.module if path.name == "__init__.py" else self.module[:-1]
        self.found: list[Import] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name.split("."), node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package[: len(self.package) - (node.level - 1)]
            module = base + (node.module.split(".") if node.module else [])
        else:
            module = (node.module or "").split(".")
        if module == ["osler"]:
            # `from osler import audience` imports a unit; `from osler import __version__`, the facade
            for alias in node.names:
                self._add(["osler", alias.name] if alias.name in self.units else ["osler"], node)
        else:
            self._add(module, node)

    def _add(self, module: list[str], node: ast.stmt) -> None:
        if module[0] != "osler":
            return
        source, target = _unit(self.module), _unit(module)
        if target != source:
            where = f"{self.path.relative_to(SRC.parent)}:{node.lineno}"
            self.found.append(Import(source, target, where, ".".join(module)))


def imports() -> list[Import]:
    units = found_units()
    found: list[Import] = []
    for path in sorted(SRC.rglob("*.py")):
        visitor = _Imports(path, units)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        found += visitor.found
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for imp in imports():
        edges[imp.source].add(imp.target)
    return edges


def layer_of() -> dict[str, int]:
    return {unit: i for i, layer in enumerate(LAYERS) for unit in layer}


def test_the_parser_sees_every_kind_of_import() -> None:
    source = """
from typing import TYPE_CHECKING
from osler.models import Answer
from . import lexical
from ..store import Store
from osler import __version__, audience
def f():
    import osler.compose.answer
if TYPE_CHECKING:
    from osler.web import app
else:
    import osler.text
"""
    visitor = _Imports(SRC / "index" / "example.py", found_units())
    visitor.visit(ast.parse(source))
    assert [i.target for i in visitor.found] == [
        "models",
        "store",
        "__init__",
        "audience",
        "compose",
        "text",
    ]
    assert {"models", "store"} <= graph()["ingest"]


def test_every_unit_is_placed_once() -> None:
    placed = [unit for layer in LAYERS for unit in layer]
    assert len(placed) == len(set(placed)), "a unit is in two layers"
    unplaced = found_units() - set(placed)
    assert not unplaced, f"place these units in LAYERS (tests/test_layers.py): {sorted(unplaced)}"


def test_every_placed_unit_exists_or_is_planned() -> None:
    placed = {unit for layer in LAYERS for unit in layer}
    assert not placed - found_units() - PLANNED


def test_no_cycle_between_units() -> None:
    edges = graph()
    done: set[str] = set()

    def visit(unit: str, path: list[str]) -> None:
        for target in sorted(edges.get(unit, ())):
            cycle = [*path[path.index(target) :], target] if target in path else []
            assert not cycle, f"import cycle: {' -> '.join(cycle)}"
            if target not in done:
                visit(target, [*path, target])
        done.add(unit)

    for unit in sorted(edges):
        if unit not in done:
            visit(unit, [unit])


def test_no_upward_import() -> None:
    layer = layer_of()
    upward = [
        f"{i.where}: {i.source} (layer {layer[i.source]}) imports {i.name} "
        f"({i.target}, layer {layer[i.target]})"
        for i in imports()
        if i.source in layer and i.target in layer and layer[i.source] < layer[i.target]
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


if __name__ == "__main__":  # python tests/test_layers.py prints the unit graph by layer
    layers = layer_of()
    for source, targets in sorted(graph().items(), key=lambda kv: (layers.get(kv[0], -1), kv[0])):
        print(f"{layers.get(source, '?')} {source} -> {', '.join(sorted(targets))}")
