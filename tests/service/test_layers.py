"""Imports point one way, down the layers of docs/architecture.md, and never in a circle.

The layers, from the top: the assemblers (`mallforum/app.py`, `cli.py`, `demo.py`), which
build the app from everything; `schema/`; `resolvers/`; `mirrors/` and `moderation/`, side
by side (neither imports the other); `models/` with the shell's foundations (the rest of
`mallforum/`). A module may import its own layer and the layers below it, never one above.
Every import counts, late ones inside functions and TYPE_CHECKING ones too: a late import
still reaches up. Import circles are looked for among the imports that run when a module is
loaded (module level, outside TYPE_CHECKING), where a circle breaks or waits on load order.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mallforum", "schema", "resolvers", "mirrors", "moderation", "models")
ASSEMBLERS = {"mallforum.app", "mallforum.cli", "mallforum.demo", "mallforum.__main__"}
#: Layer → its height; a module imports only layers of lower height, and its own.
HEIGHTS = {
    "assemblers": 5,
    "schema": 4,
    "resolvers": 3,
    "mirrors": 2,
    "moderation": 2,
    "models and foundations": 1,
}


def layer_of(module: str) -> str:
    if module in ASSEMBLERS:
        return "assemblers"
    package = module.split(".")[0]
    return "models and foundations" if package in ("models", "mallforum") else package


def modules() -> dict[str, Path]:
    """Every module of the application's packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, at_load: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of a module: all of them, or only those run when it loads."""
    if not at_load:
        yield from (n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom))
        return
    pending = list(ast.iter_child_nodes(tree))
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
        elif isinstance(node, ast.If | ast.Try | ast.With):
            pending.extend(ast.iter_child_nodes(node))


def imported(module: str, path: Path, known: set[str], at_load: bool) -> set[str]:
    """The application's modules that `module` imports (a package for its `__init__`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in _imports(tree, at_load):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        names.add(base)
        names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names if name in known and name != module}


def upward_imports() -> list[str]:
    found = modules()
    wrong = []
    for module, path in found.items():
        mine = layer_of(module)
        for target in sorted(imported(module, path, set(found), at_load=False)):
            theirs = layer_of(target)
            if theirs != mine and HEIGHTS[theirs] >= HEIGHTS[mine]:
                wrong.append(f"{module} ({mine}) imports {target} ({theirs})")
    return wrong


def import_circles() -> list[list[str]]:
    """The circles among load-time imports, each once, from its smallest module."""
    found = modules()
    graph = {m: imported(m, p, set(found), at_load=True) for m, p in found.items()}
    circles: set[tuple[str, ...]] = set()

    def walk(start: str, at: str, trail: list[str]) -> None:
        for target in graph[at]:
            if target == start:
                circles.add(tuple(trail))
            elif target > start and target not in trail:
                walk(start, target, [*trail, target])

    for module in sorted(graph):
        walk(module, module, [module])
    return [list(circle) for circle in sorted(circles)]


def test_no_layer_imports_one_above_it():
    wrong = upward_imports()
    assert not wrong, "imports reaching up:\n" + "\n".join(wrong)


def test_no_module_imports_itself_back_through_others():
    circles = import_circles()
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_the_layer_test_sees_an_upward_import_and_a_circle(tmp_path):
    """The reader itself: a late import reaching up counts, a TYPE_CHECKING one does not
    make a circle."""
    late = tmp_path / "late.py"
    late.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import schema.topics\n"
        "def f():\n    from resolvers import boards\n"
    )
    known = {"schema.topics", "resolvers.boards", "resolvers"}
    assert imported("models.late", late, known, at_load=False) == {
        "schema.topics",
        "resolvers",
        "resolvers.boards",
    }
    assert imported("models.late", late, known, at_load=True) == set()
    assert layer_of("mallforum.app") == "assemblers"
    assert layer_of("mallforum.redis_store") == "models and foundations"
