"""The architecture contract of the package, and the import graph it is checked against.

Used by ``tests/test_architecture.py`` (which enforces it) and by
``scripts/architecture.py`` (which writes the contract into docs/dev/architecture.md).
The graph is built from the source with :mod:`ast`, imports inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "ephys_correct"

#: rooms from the bottom up; a module may import from its own room and the rooms below it
LAYERS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("base", ("errors", "_validate", "_constants", "_frozen", "_resources", "sources", "_fileio", "_version", "_html"),
     "exceptions, checks, exact SI constants, package data and the bibliography, the one atomic writer"),
    ("chemistry", ("chemistry",), "what is in the beaker: ions, activities, compounds, recipes, solutions, "
                                  "speciation"),
    ("potentials", ("potentials",), "potentials between two solutions: LJP, bath exchange, Nernst/GHK/Donnan"),
    ("correction", ("correction",), "where recordings meet solutions: configurations, the one sign site, "
                                    "the corrected recording"),
    ("report", ("report",), "tables and figures: driving-force tables, writers/readers, NWB, plots, HTML"),
    ("batch and planning", ("batch", "plan"), "many recordings (sheets, settings, outputs, runner); planning"),
    ("faces", ("cli", "web", "__main__", "__init__"), "the command line, the browser planner, the package face"),
)
#: a leaf: imports only the base room
LEAF = ("io", "recordings in: ABF via pyabf headers + memmap, other formats via neo")
#: rooms where pandas may be imported
PANDAS_ROOMS = ("report", "batch", "plan", "cli", "web")
#: the largest module allowed (lines)
MAX_MODULE_LINES = 950


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1] if len(parts) > 2 else parts
    return ".".join(parts)


def room_of(module: str) -> str:
    """First component below the package (``chemistry``, ``errors``, ``__init__``...)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer_of(module: str) -> int | None:
    room = room_of(module)
    for k, (_, rooms, _) in enumerate(LAYERS):
        if room in rooms:
            return k
    return None


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports(path: Path, module: str) -> list[tuple[str, str, int]]:
    """(imported module or package, imported name or "", line) for every import in *path*."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    if path.name == "__init__.py" and module.endswith(".__init__"):
        pkg = module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            out += [(base, a.name, node.lineno) for a in node.names]
    return out


def graph() -> dict[str, set[str]]:
    """module -> package modules it imports (a name that is a module counts as that module)."""
    mods = package_modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for base, name, _ in imports(p, m):
            if not base.startswith("ephys_correct"):
                continue
            target = f"{base}.{name}" if f"{base}.{name}" in mods else base
            while target not in mods and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in mods and target != m and target not in ("ephys_correct", "ephys_correct.__init__"):
                edges[m].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def render_contract() -> str:
    """The contract as Markdown (the generated block of docs/dev/architecture.md)."""
    lines = ["| layer | rooms | what lives there |", "|---|---|---|"]
    for k, (name, rooms, what) in enumerate(LAYERS):
        lines.append(f"| {k} {name} | {', '.join(f'`{r}`' for r in rooms)} | {what} |")
    lines += [
        "",
        f"* A module imports only from its own layer and the layers below it; `{LEAF[0]}/` is a leaf "
        f"({LEAF[1]}) that imports only the base layer.",
        "* No import cycles, counting imports inside functions.",
        f"* pandas is imported only in {', '.join(f'`{r}`' for r in PANDAS_ROOMS)}.",
        "* No private name (`_x`) is imported from another folder.",
        f"* No module is longer than {MAX_MODULE_LINES} lines.",
        "* `ephys_correct/__init__.py` exports a small public face (see `PUBLIC_FACE` in tests/test_architecture.py).",
    ]
    return "\n".join(lines) + "\n"
