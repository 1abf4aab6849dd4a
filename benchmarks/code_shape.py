"""The shape of the code: lines per module and the longest functions, at a git revision.

    python benchmarks/code_shape.py            # the working tree
    python benchmarks/code_shape.py c7739df    # an earlier commit, to compare

Prints the largest modules, the longest functions (with nested closures counted in their
enclosing function) and the totals.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "src/osler"


def sources(rev: str | None) -> dict[str, str]:
    """Every module of the package: path -> text (at `rev`, or in the working tree)."""
    if rev is None:
        return {
            str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
            for p in sorted((ROOT / PACKAGE).rglob("*.py"))
        }
    listing = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", rev, PACKAGE],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()
    return {
        path: subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        for path in listing
        if path.endswith(".py")
    }


def functions(text: str) -> list[tuple[str, int]]:
    """Top-level functions and methods with their length in lines."""
    out = []
    for node in ast.parse(text).body:
        members = node.body if isinstance(node, ast.ClassDef) else [node]
        for item in members:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{node.name}.{item.name}" if item is not node else item.name
                out.append((name, (item.end_lineno or item.lineno) - item.lineno + 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", nargs="?", help="git revision (default: the working tree)")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    files = sources(args.rev)
    lines = {path: len(text.splitlines()) for path, text in files.items()}
    longest = sorted(
        ((n, f"{path.removeprefix(PACKAGE + '/')}:{name}") for path, text in files.items()
         for name, n in functions(text)),
        reverse=True,
    )
    print(f"{args.rev or 'working tree'}: {len(files)} modules, {sum(lines.values()):,} lines")
    print("largest modules:")
    for path, n in sorted(lines.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {n:5d}  {path.removeprefix(PACKAGE + '/')}")
    print("longest functions:")
    for n, name in longest[: args.top]:
        print(f"  {n:5d}  {name}")


if __name__ == "__main__":
    main()
