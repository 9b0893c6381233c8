"""Check the package's import graph: no import cycles, and nothing in `<package>.io` imports a layer above it.

Every module under the package folder is parsed (never imported) and every import statement in it counts,
absolute or relative, at module level or inside a function (an import inside a function still ties the two
modules together). An import names the deepest module of the package it reaches: `from .x import y` is an
arrow to `.x.y` when that is a module, else to `.x`. Imports of other packages are left out.

Prints each cycle (the modules of every strongly connected component larger than one) and each arrow from
io to data, synthetic, training, evaluation, ui, hub or cli, and exits 1 if there is any; otherwise prints
one OK line with the number of modules and arrows.

    python scripts/check_imports.py                  # the affectvlm package next to this script
    python scripts/check_imports.py --root path/to/package
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "affectvlm"
LOW_LAYER = "io"
ABOVE_IO = ("data", "synthetic", "training", "evaluation", "ui", "hub", "cli")

Graph = dict[str, set[str]]


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the package folder `root`."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of the dotted `name` that is a module of the package, or None."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _base_of(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a `from ... import` statement imports from."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    anchor = package[: len(package) - (node.level - 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Every dotted name an import in the module reaches (`from a import b` gives a.b; the caller keeps the
    deepest part that is a module)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _base_of(node, module, is_package)
            yield from (f"{base}.{alias.name}" if alias.name != "*" else base for alias in node.names)


def import_graph(root: Path) -> Graph:
    """Module -> the package's modules it imports."""
    modules = module_files(root)
    graph: Graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = (_known(name, modules) for name in imported_names(tree, module, path.name == "__init__.py"))
        graph[module] = {target for target in targets if target is not None and target != module}
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def upward_io_imports(graph: Graph, package: str) -> list[tuple[str, str]]:
    """(io module, imported module) for every arrow from io to a layer above it."""
    io = f"{package}.{LOW_LAYER}"
    above = [f"{package}.{name}" for name in ABOVE_IO]
    return sorted((source, target) for source, targets in graph.items() if _in(source, io)
                  for target in targets if any(_in(target, layer) for layer in above))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                        help=f"the package folder to check (default: {DEFAULT_ROOT})")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not (root / "__init__.py").is_file():
        parser.error(f"{root}: not a package folder (no __init__.py)")
    graph = import_graph(root)
    found_cycles = cycles(graph)
    upward = upward_io_imports(graph, root.name)
    for component in found_cycles:
        print(f"import cycle among {len(component)} modules: {', '.join(component)}")
    for source, target in upward:
        print(f"{source} imports {target}: io must not import {', '.join(ABOVE_IO)}")
    if found_cycles or upward:
        return 1
    edges = sum(len(targets) for targets in graph.values())
    print(f"OK: {len(graph)} modules, {edges} import arrows, no cycles, "
          f"{root.name}.{LOW_LAYER} imports no layer above it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
