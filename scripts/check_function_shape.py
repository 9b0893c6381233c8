"""Check that no function in the package is longer than it should be or takes more parameters than a reader can
hold: over --max-lines lines (signature and docstring included) or over --max-params parameters (self and cls
not counted) is reported, and the script exits 1.

A few signatures are allowed by name, each for a reason written below: they follow a convention that readers of
transformers code expect, or they are numba kernels, which take flat arrays because compiled code cannot take
a Python object.

    python scripts/check_function_shape.py
    python scripts/check_function_shape.py --root path/to/package --max-lines 50 --max-params 6
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "affectvlm"
ALLOWED = {
    # transformers convention: a processor's saved settings are its __init__ keywords, and its __call__ and a
    # model's forward take the named inputs users pass as **inputs
    "model/processing_affectvlm.py:AffectVLMProcessor.__init__": "processor settings as keywords",
    "model/processing_affectvlm.py:AffectVLMProcessor.__call__": "processor inputs as keywords",
    "model/modeling_affectvlm.py:AffectVLMModel.forward": "model inputs as keywords",
    # numba nopython kernels: scalars and arrays only, no dataclass can cross into compiled code
    "model/cuda_rasterizer_affectvlm.py:_zbuffer_kernel": "numba CUDA kernel",
    "model/cuda_rasterizer_affectvlm.py:_resolve_kernel": "numba CUDA kernel",
    "model/cuda_rasterizer_affectvlm.py:_cover": "numba CUDA kernel",
    "model/cuda_rasterizer_affectvlm.py:_bilinear": "numba CUDA kernel",
    "model/rasterizer_affectvlm.py:_zbuffer": "numba kernel",
    "model/rasterizer_affectvlm.py:_bilinear": "numba kernel",
    "model/rasterizer_affectvlm.py:_texel": "numba kernel",
    "model/rasterizer_affectvlm.py:_resolve": "numba kernel",
    "model/rasterizer_affectvlm.py:_centre_weights": "numba kernel",
    "model/nearest_affectvlm.py:_nearest": "numba kernel",
    "model/nearest_affectvlm.py:_search_ring": "numba kernel",
}


def functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(qualified name, node) of every function and method, nested ones included."""
    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, ast.AST]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield prefix + child.name, child
                yield from walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")

    yield from walk(tree, "")


def parameter_count(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    arguments = node.args
    names = [arg.arg for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
    return len(names) - (1 if names and names[0] in ("self", "cls") else 0)


def problems(root: Path, max_lines: int, max_params: int) -> list[str]:
    """One line per function over a limit and not allowed by name."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        for name, node in functions(ast.parse(path.read_text(), str(path))):
            if f"{relative}:{name}" in ALLOWED:
                continue
            lines, params = node.end_lineno - node.lineno + 1, parameter_count(node)
            if lines > max_lines or params > max_params:
                found.append(f"{relative}:{node.lineno} {name}: {lines} lines, {params} parameters")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="package folder (default: affectvlm/)")
    parser.add_argument("--max-lines", type=int, default=50, help="longest allowed function (default: 50)")
    parser.add_argument("--max-params", type=int, default=6, help="most parameters allowed (default: 6)")
    args = parser.parse_args(argv)
    found = problems(args.root, args.max_lines, args.max_params)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} function(s) over {args.max_lines} lines or {args.max_params} parameters")
        return 1
    print(f"OK: no function over {args.max_lines} lines or {args.max_params} parameters "
          f"({len(ALLOWED)} signatures allowed by name)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
