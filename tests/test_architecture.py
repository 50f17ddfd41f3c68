"""The architecture contract (tests/architecture.py), enforced on the import graph built from source.

Imports inside functions count.  The contract is also the generated block of
docs/dev/architecture.md (``python scripts/architecture.py --write`` rewrites it).
"""

from __future__ import annotations

import ast

import pytest
from architecture import (
    LAYERS,
    LEAF,
    MAX_MODULE_LINES,
    PANDAS_ROOMS,
    ROOT,
    cycles,
    graph,
    imports,
    layer_of,
    package_modules,
    render_contract,
    room_of,
)

MODS = package_modules()
EDGES = graph()

#: the public face: about 20 names, one concern each (everything else from its module)
PUBLIC_FACE = {
    "__version__",
    "Solution", "load_solution", "list_solutions", "load_recipe",
    "liquid_junction_potential", "LJPResult", "bath_change_offset", "BathSchedule",
    "reversal_potentials", "activity_coefficients", "free_ion_solution",
    "free_calcium", "total_calcium_for_free",
    "read_recording", "correct_recording", "driving_force_table",
    "write_table", "read_table", "run_batch", "plan_solutions",
}


def test_no_import_cycles():
    assert cycles(EDGES) == []


def test_cycle_finder_finds_a_cycle():
    """The guard itself can fail: a two-module cycle is reported."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_every_module_is_in_a_room():
    unplaced = [m for m in MODS if layer_of(m) is None and room_of(m) != LEAF[0]]
    assert unplaced == []


def _violations():
    out = []
    for m, targets in EDGES.items():
        lm, rm = layer_of(m), room_of(m)
        for t in targets:
            lt, rt = layer_of(t), room_of(t)
            if rm == LEAF[0]:
                if rt != LEAF[0] and lt != 0:
                    out.append(f"{m} -> {t}: io/ is a leaf (only the base layer below it)")
            elif rt == LEAF[0]:
                if lm is not None and lm < layer_of("ephys_correct.correction"):
                    out.append(f"{m} -> {t}: recordings are read from the correction layer up")
            elif lt is not None and lm is not None and lt > lm:
                out.append(f"{m} (layer {LAYERS[lm][0]}) -> {t} (layer {LAYERS[lt][0]}): imports upward")
    return out


def test_layer_order_holds():
    assert _violations() == []


def test_pandas_only_where_tables_are_made():
    bad = []
    for m, p in MODS.items():
        if room_of(m) in PANDAS_ROOMS:
            continue
        for base, name, line in imports(p, m):
            if base.split(".")[0] == "pandas":
                bad.append(f"{p.relative_to(ROOT)}:{line}")
    assert bad == []


def private_imports_across_folders() -> list[str]:
    """``from <module in another folder> import _name``: private names stay in their folder."""
    bad = []
    for m, p in MODS.items():
        for base, name, line in imports(p, m):
            if not base.startswith("ephys_correct") or not name.startswith("_") or name.startswith("__"):
                continue
            target = f"{base}.{name}" if f"{base}.{name}" in MODS else base
            tpath = MODS.get(target)
            if tpath is None:
                continue
            if target == f"{base}.{name}":  # a private module imported by name, e.g. `import _nernst_planck`
                tpath = MODS[base] if base in MODS else tpath
            if tpath.parent != p.parent:
                bad.append(f"{p.relative_to(ROOT)}:{line}: {name} from {base}")
    return bad


def test_no_private_name_imported_across_folders():
    assert private_imports_across_folders() == []


def test_module_sizes():
    big = {m: n for m, p in MODS.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert big == {}


def test_public_face_is_small_and_resolves():
    import ephys_correct as ec

    assert set(ec.__all__) == PUBLIC_FACE
    assert len(PUBLIC_FACE) <= 22
    for name in ec.__all__:
        assert getattr(ec, name) is not None


def test_generated_contract_is_in_the_docs():
    doc = (ROOT / "docs" / "dev" / "architecture.md").read_text(encoding="utf-8")
    begin, end = "<!-- contract:begin (scripts/architecture.py --write) -->", "<!-- contract:end -->"
    assert begin in doc and end in doc
    block = doc.split(begin, 1)[1].split(end, 1)[0].strip("\n") + "\n"
    assert block == render_contract()


@pytest.mark.parametrize("room", [r for _, rooms, _ in LAYERS[1:6] for r in rooms if (ROOT / "ephys_correct" / r).is_dir()])
def test_tests_mirror_the_rooms(room):
    assert (ROOT / "tests" / room).is_dir(), f"tests/{room}/ is missing"


def test_sign_is_applied_in_one_place():
    """Only correction/sign.py computes V_p - V_L; others call apply_ljp."""
    bad = []
    for m, p in MODS.items():
        if m == "ephys_correct.correction.sign":
            continue
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
                right = ast.unparse(node.right)
                if right in ("ljp_mv", "self.ljp_mv", "v_l", "V_L"):
                    bad.append(f"{p.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert bad == []
