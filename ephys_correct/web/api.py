"""What the planner page asks for, computed with the package's public API (no web framework here).

Every function takes and returns plain JSON-ready data, so the same code serves the
HTTP endpoints of :mod:`ephys_correct.web.app` and the tests.

A recipe travels between page and server in the shape of a recipe file
(``docs/solutions.md``), except that the amounts are lists of ``[name, mM]``
pairs (a page may hold two rows of the same compound; a mapping would drop
one silently)::

    {"name": "...", "role": "pipette", "source": "...", "doi": null, "notes": null,
     "components_mm": [["KCl", 4], ...], "ions_mm": [["K+", 145], ...],
     "ph": {"value": 7.3, "titrant": "KOH", "temperature_c": 22},
     "osmolality": {"measured_mosm_kg": 290}}

Results never fall back to a default: a quantity that cannot be computed is
``None`` and the reason is in ``errors`` (where, exception type, message).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ephys_correct as ec
from ephys_correct._resources import tomllib
from ephys_correct.chemistry.activity import MODELS
from ephys_correct.errors import EphysCorrectError, ParameterError, RecipeError
from ephys_correct.plan import DEFAULT_VARY, QUANTITIES
from ephys_correct._fileio import to_jsonable
from ephys_correct._validate import check_choice, check_temperature_c
from ephys_correct.chemistry.summary import solution_summary
from ephys_correct.chemistry.compounds import load_compounds
from ephys_correct.chemistry.ions import load_ion_table
from ephys_correct.chemistry.recipes import SCHEMA_VERSION, parse_recipe

__all__ = [
    "SIDES",
    "meta",
    "shipped_recipes",
    "shipped_recipe",
    "recipe_from_json",
    "recipe_to_json",
    "recipe_to_toml",
    "recipe_filename",
    "evaluate",
    "solve",
]

SIDES = ("pipette", "bath")
_PH_KEYS = ("value", "temperature_c", "titrant", "buffer")

#: The package's computations report model limits and assumptions as warnings, and
#: ``warnings.catch_warnings`` changes process-wide state: requests that compute are
#: serialized so that each one collects exactly its own warnings.
_COMPUTE_LOCK = threading.Lock()


class _Collector:
    """Run computations, collecting warnings and per-place errors."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []
        self.warnings: list[str] = []

    def error(self, where: str, exc: BaseException) -> None:
        self.errors.append({"where": where, "type": type(exc).__name__, "message": str(exc)})

    def run(self, place: str, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``, or None with the error recorded under *place*."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return fn(*args, **kwargs)
            except (EphysCorrectError, FileNotFoundError) as exc:
                self.error(place, exc)
                return None
            finally:
                for w in caught:
                    msg = f"{place}: {w.message}"
                    if msg not in self.warnings:
                        self.warnings.append(msg)


# --------------------------------------------------------------------------- reference data
def meta() -> dict[str, Any]:
    """Names the page offers: compounds, ions, activity models, target quantities."""
    compounds = load_compounds()
    ions = load_ion_table()
    return {
        "version": ec.__version__,
        "compounds": [{"name": n, "aliases": list(c.aliases), "titrant": bool(c.titrant)}
                      for n, c in sorted(compounds.items(), key=lambda kv: kv[0].lower())],
        "ions": [{"name": n, "charge": ion.charge, "aliases": list(ion.aliases)} for n, ion in ions.items()],
        "activity_models": list(MODELS),
        "default_activity_model": "truesdell-jones",
        "quantities": {q: {"unit": u, "description": d} for q, (u, d) in QUANTITIES.items()},
        "default_vary": dict(DEFAULT_VARY),
        "sign_convention": "V_L = V(bath) - V(pipette); whole-cell Vm = Vp - V_L",
    }


def shipped_recipes() -> list[dict[str, Any]]:
    """The recipes of the solutions database (id, name, role, source); no paths."""
    return [{k: r[k] for k in ("id", "name", "role", "source")} for r in ec.list_solutions()]


def shipped_recipe(recipe_id: str) -> dict[str, Any]:
    """A recipe of the solutions database, by id (file stem), as page JSON.

    Raises
    ------
    UnknownSolutionError
        No recipe with that id (only database ids are accepted, never a path).
    """
    from ephys_correct.errors import UnknownSolutionError, suggest

    by_id = {r["id"]: r["path"] for r in ec.list_solutions()}
    if recipe_id not in by_id:
        raise UnknownSolutionError(f"No recipe with id {recipe_id!r} in the solutions database."
                                   + suggest(recipe_id, by_id))
    out = recipe_to_json(ec.load_recipe(by_id[recipe_id]))
    out["id"] = recipe_id
    return out


# --------------------------------------------------------------------------- recipes
def _pairs(value: Any, where: str, table: str) -> dict[str, Any]:
    """``[[name, mM], ...]`` (or a mapping) -> dict, refusing repeated names."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, list):
        raise RecipeError(f"{where}: [{table}] must be a list of [name, mM] rows, got {value!r}.")
    out: dict[str, Any] = {}
    for row in value:
        if not (isinstance(row, (list, tuple)) and len(row) == 2 and isinstance(row[0], str)):
            raise RecipeError(f"{where}: [{table}] row {row!r} is not [name, mM].")
        name = row[0].strip()
        if not name:
            raise RecipeError(f"{where}: [{table}] a row with an amount ({row[1]!r} mM) has no name.")
        if name in out:
            raise RecipeError(f"{where}: [{table}] {name!r} is listed twice.")
        out[name] = row[1]
    return out


def recipe_from_json(data: Any, *, where: str) -> Any:
    """Validate page JSON and build an :class:`ephys_correct.Recipe` (``path`` = *where*).

    Raises
    ------
    RecipeError, UnknownCompoundError, UnknownIonError, ConcentrationError
        As :func:`ephys_correct.solutions.parse_recipe`; messages start with *where*.
    """
    if not isinstance(data, Mapping):
        raise RecipeError(f"{where}: expected a recipe object, got {type(data).__name__}.")
    known = {"id", "name", "role", "source", "doi", "notes", "components_mm", "ions_mm", "ph", "osmolality"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RecipeError(f"{where}: unknown recipe field {unknown[0]!r}; allowed: {sorted(known)}.")
    for key in ("source", "doi", "notes"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise RecipeError(f"{where}: {key!r} must be text, got {data[key]!r}.")
    toml: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "name": data.get("name")}
    for key in ("role", "source", "doi", "notes"):
        if data.get(key) not in (None, ""):
            toml[key] = data[key]
    toml["components_mm"] = _pairs(data.get("components_mm"), where, "components_mm")
    toml["ions_mm"] = _pairs(data.get("ions_mm"), where, "ions_mm")
    ph = data.get("ph") or {}
    if not isinstance(ph, Mapping):
        raise RecipeError(f"{where}: [ph] must be an object, got {ph!r}.")
    ph = {k: v for k, v in ph.items() if v not in (None, "")}
    if ph:
        toml["ph"] = ph
    osm = data.get("osmolality") or {}
    if not isinstance(osm, Mapping):
        raise RecipeError(f"{where}: [osmolality] must be an object, got {osm!r}.")
    osm = {k: v for k, v in osm.items() if v not in (None, "")}
    if osm:
        toml["osmolality"] = osm
    return parse_recipe(toml, path=where, require_schema=True)


def _ph_json(ph) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ph.mode == "none":
        return out
    if ph.value is not None:
        out["value"] = ph.value
    if ph.mode == "target":
        out["titrant"] = ph.titrant
    if ph.mode == "bicarbonate":
        out["buffer"] = "bicarbonate"
    if ph.temperature_c is not None:
        out["temperature_c"] = ph.temperature_c
    return out


def recipe_to_json(recipe) -> dict[str, Any]:
    """An :class:`ephys_correct.Recipe` as page JSON (canonical compound and ion names)."""
    return {
        "name": recipe.name, "role": recipe.role, "source": recipe.source, "doi": recipe.doi,
        "notes": recipe.notes,
        "components_mm": [[k, v] for k, v in recipe.components_mm.items()],
        "ions_mm": [[k, v] for k, v in recipe.ions_mm.items()],
        "ph": _ph_json(recipe.ph),
        "osmolality": ({} if recipe.measured_osmolality_mosm_kg is None
                       else {"measured_mosm_kg": recipe.measured_osmolality_mosm_kg}),
    }


def _toml_str(text: str) -> str:
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_num(x: float) -> str:
    x = float(x)
    if not math.isfinite(x):  # parse_recipe refuses these before we get here
        raise RecipeError(f"cannot write the non-finite number {x!r} to a recipe file.")
    if x.is_integer() and abs(x) < 2**53:
        return str(int(x))
    return repr(x)


def _toml_value(v: Any) -> str:
    if isinstance(v, str):
        return _toml_str(v)
    return _toml_num(v)


def recipe_to_toml(recipe) -> str:
    """A recipe file (schema version 1) that :func:`ephys_correct.load_recipe` reads back equal.

    The text is parsed again before it is returned; a difference raises
    :class:`~ephys_correct.errors.RecipeError` instead of handing out a file
    that would not give the same recipe.
    """
    lines = [f"# Written by the ephys_correct {ec.__version__} planner; read it with "
             "ephys_correct.load_recipe(path) or use it as `ephys-correct ... PATH`.",
             f"schema_version = {SCHEMA_VERSION}", f"name = {_toml_str(recipe.name)}"]
    for key in ("role", "source", "doi", "notes"):
        value = getattr(recipe, key)
        if value is not None:
            lines.append(f"{key} = {_toml_str(value)}")
    for table, amounts in (("components_mm", recipe.components_mm), ("ions_mm", recipe.ions_mm)):
        if amounts:
            lines += ["", f"[{table}]"] + [f"{_toml_str(k)} = {_toml_num(v)}" for k, v in amounts.items()]
    ph = _ph_json(recipe.ph)
    if ph or recipe.ph.mode != "none":
        lines += ["", "[ph]"] + [f"{k} = {_toml_value(ph[k])}" for k in _PH_KEYS if k in ph]
    if recipe.measured_osmolality_mosm_kg is not None:
        lines += ["", "[osmolality]", f"measured_mosm_kg = {_toml_num(recipe.measured_osmolality_mosm_kg)}"]
    text = "\n".join(lines) + "\n"
    back = parse_recipe(tomllib.loads(text), path="<written recipe>", require_schema=True)
    if _recipe_key(back) != _recipe_key(recipe):
        raise RecipeError(f"recipe {recipe.name!r}: the written file does not read back equal "
                          "(please report this as a bug).")
    return text


def _recipe_key(r) -> tuple:
    return (r.name, r.role, dict(r.components_mm), dict(r.ions_mm), r.ph, r.source, r.doi, r.notes,
            r.measured_osmolality_mosm_kg)


def recipe_filename(recipe) -> str:
    """``<name as a slug>.toml``."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", recipe.name).strip("_").lower()[:80]
    return (slug or "recipe") + ".toml"


# --------------------------------------------------------------------------- conditions
def _temperature(payload: Mapping, key: str) -> float:
    if key not in payload or payload[key] in (None, ""):
        raise ParameterError(f"{key!r} is required (degC); the planner has no default temperature.")
    return check_temperature_c(payload[key], what=key)


def _conditions(payload: Any, col: _Collector) -> dict[str, Any] | None:
    if not isinstance(payload, Mapping):
        col.error("request", ParameterError(f"expected a JSON object, got {type(payload).__name__}."))
        return None
    out = {
        "temperature_c": col.run("conditions", _temperature, payload, "temperature_c"),
        "ljp_temperature_c": col.run("conditions", _temperature, payload, "ljp_temperature_c"),
        "activity_model": payload.get("activity_model", "truesdell-jones"),
    }
    if col.run("conditions", check_choice, out["activity_model"], MODELS, what="activity_model") is None:
        out["activity_model"] = None
    return out


def _recipes(payload: Mapping, col: _Collector) -> dict[str, Any]:
    recipes = {}
    for side in SIDES:
        if side not in payload:
            col.error(side, RecipeError(f"{side} recipe: missing from the request."))
            recipes[side] = None
            continue
        recipes[side] = col.run(side, recipe_from_json, payload[side], where=f"{side} recipe")
    return recipes


# --------------------------------------------------------------------------- evaluation
def _free_ions(sol, temperature_c: float, activity_model: str):
    """The solution as free ions and complexes (one speciation, reused by every number).

    :func:`ephys_correct.speciation.free_ion_solution`: speciated at the recipe pH, the
    titrant's ion adjusted for protons released by metal binding; returned unchanged when
    nothing binds; a ParameterError naming the pH when the recipe has none but needs it.
    Its free Ca2+/Mg2+ are those of :meth:`Solution.speciate` (what the ``Ca_free`` /
    ``Mg_free`` targets use): the titrant adjustment changes only the titrant's ion.
    """
    from ephys_correct.chemistry.speciation import free_ion_solution

    return free_ion_solution(sol, temperature_c=temperature_c, activity_model=activity_model)


def _free_metals(sol, spec, temperature_c: float) -> dict[str, Any]:
    if spec.speciation is None:
        basis = "nothing binds Ca2+/Mg2+ in this solution: free = total"
    else:
        at = "" if sol.ph_temperature_c is None else f" (set at {sol.ph_temperature_c:g} degC)"
        basis = f"speciated at pH {sol.ph:g}{at} and {temperature_c:g} degC"
    return {"free_ca_mm": float(spec.ions_mm.get("Ca2+", 0.0)),
            "free_mg_mm": float(spec.ions_mm.get("Mg2+", 0.0)),
            "total_ca_mm": float(sol.ions_mm.get("Ca2+", 0.0)),
            "total_mg_mm": float(sol.ions_mm.get("Mg2+", 0.0)),
            "free_basis": basis}


def _side_summary(sol, spec, spec_error: str | None, cond: Mapping) -> dict[str, Any]:
    t = sol.titration
    out = {k: v for k, v in solution_summary(sol).items() if k != "path"}
    out.update({
        "ph_estimated": None if t is None else bool(t.ph_estimated),
        "ions_mm": {k: float(v) for k, v in sol.ions_mm.items()},
        "neutrals_mm": {k: float(v) for k, v in sol.neutrals_mm.items()},
        "free_ca_mm": None, "free_mg_mm": None, "total_ca_mm": None, "total_mg_mm": None, "free_basis": None,
        "free_error": None,
    })
    if spec is not None:
        out.update(_free_metals(sol, spec, cond["temperature_c"]))
    else:
        out["free_error"] = spec_error
    return out


def _reversal(pip, bath, specs: Mapping, spec_errors: Mapping, cond: Mapping,
              col: _Collector) -> dict[str, Any] | None:
    kw = dict(temperature_c=cond["temperature_c"], activity_model=cond["activity_model"])
    if specs["pipette"] is not None and specs["bath"] is not None:
        # already speciated: free_ions=True uses them as they are
        df = col.run("reversal potentials", ec.reversal_potentials, specs["pipette"], specs["bath"],
                     free_ions=True, **kw)
        basis, note = "free ions", "free Ca2+, Mg2+ after binding to EGTA, ATP, ... at each recipe's pH"
    else:
        # free ions need the pH of a solution with binding partners: say so, and give totals
        note = "totals, not free ions: " + "; ".join(e for e in spec_errors.values() if e)
        basis = "totals"
        df = col.run("reversal potentials", ec.reversal_potentials, pip, bath, **kw)
    if df is None:
        return None
    rows = []
    for rec in df.to_dict(orient="records"):
        row = to_jsonable({k: rec[k] for k in ("ion", "charge", "c_in_mM", "c_out_mM", "E_rev_ideal_mV", "E_rev_mV",
                                               "delta_mV", "bound_total_warning")})
        row["charge"] = int(row["charge"])
        rows.append(row)
    return {"basis": basis, "note": note, "rows": rows}


def _evaluate(payload: Any) -> dict[str, Any]:
    col = _Collector()
    out: dict[str, Any] = {"ljp_mv": None, "reversal": None, "solutions": {s: None for s in SIDES}}
    cond = _conditions(payload, col)
    if cond is None:
        return {**out, "ok": False, "errors": col.errors, "warnings": col.warnings}
    out.update(cond)
    recipes = _recipes(payload, col)
    model = cond["activity_model"] or "truesdell-jones"
    sols = {s: None if recipes[s] is None else col.run(s, recipes[s].to_solution, activity_model=model)
            for s in SIDES}
    specs: dict[str, Any] = {s: None for s in SIDES}
    spec_errors: dict[str, str | None] = {s: None for s in SIDES}
    for s in SIDES:
        if sols[s] is None:
            continue
        if cond["temperature_c"] is not None and cond["activity_model"] is not None:
            # a recipe without pH has no free-ion numbers: a limit of that recipe, said in the
            # notes and next to the numbers, not an error in the user's input
            probe = _Collector()
            specs[s] = probe.run(f"{s} free ions", _free_ions, sols[s], cond["temperature_c"], model)
            col.warnings += [w for w in probe.warnings if w not in col.warnings]
            if specs[s] is None:
                spec_errors[s] = "; ".join(e["message"] for e in probe.errors)
                col.warnings.append(f"{s}: free Ca2+/Mg2+ not computed: {spec_errors[s]}")
        out["solutions"][s] = _side_summary(sols[s], specs[s], spec_errors[s], cond)
    pip, bath = sols["pipette"], sols["bath"]
    if pip is not None and bath is not None:
        if cond["ljp_temperature_c"] is not None:
            ljp = {m: col.run(f"LJP ({m})", ec.liquid_junction_potential, pip, bath,
                              temperature_c=cond["ljp_temperature_c"], method=m)
                   for m in ("henderson", "nernst-planck")}
            out["ljp_mv"] = {m: None if r is None else float(r) for m, r in ljp.items()}
        if cond["temperature_c"] is not None and cond["activity_model"] is not None:
            out["reversal"] = _reversal(pip, bath, specs, spec_errors, cond, col)
    return {**out, "ok": not col.errors, "errors": col.errors, "warnings": col.warnings}


def evaluate(payload: Any) -> dict[str, Any]:
    """LJP, reversal potentials, osmolality, ionic strength, free Ca2+/Mg2+ of a pipette/bath pair.

    Parameters
    ----------
    payload : dict
        ``pipette`` and ``bath`` (page-JSON recipes), ``temperature_c``
        (recording: reversal potentials, speciation), ``ljp_temperature_c``
        (when the pipette offset is zeroed: the LJP), ``activity_model``.

    Returns
    -------
    dict
        ``ok``, ``errors`` (list of ``{where, type, message}``), ``warnings``,
        ``ljp_mv`` (``henderson``, ``nernst-planck``; V_L = V(bath) - V(pipette)),
        ``reversal`` (``basis``, ``note``, ``rows`` with ideal and
        activity-corrected E per ion) and ``solutions`` (per side: ionic
        strength, osmolarity/osmolality, charge balance, titrant, free Ca2+/Mg2+,
        ions). Parts that cannot be computed are None, with the reason in
        ``errors``.
    """
    with _COMPUTE_LOCK:
        return _evaluate(payload)


# --------------------------------------------------------------------------- targets
def _target_specs(payload: Mapping) -> tuple[list[str], list[str | None], list[str]]:
    specs = payload.get("targets")
    if not isinstance(specs, list) or not specs:
        raise ParameterError("no targets given: add a target (e.g. E_Cl- = -70 mV, varying KCl).")
    targets, varies, sides = [], [], []
    for i, t in enumerate(specs, 1):
        if not isinstance(t, Mapping) or not isinstance(t.get("target"), str):
            raise ParameterError(f"target {i}: expected {{'target': 'E_Cl=-70', 'vary': ..., 'side': ...}}, got {t!r}.")
        targets.append(t["target"])
        vary = t.get("vary")
        if vary is not None and not isinstance(vary, str):
            raise ParameterError(f"target {i}: 'vary' must name a compound, got {vary!r}.")
        varies.append(vary.strip() if vary and vary.strip() else None)
        side = t.get("side", "pipette")
        check_choice(side, SIDES, what="side", where=f"target {i}")
        sides.append(side)
    return targets, varies, sides


def _solve(payload: Any) -> dict[str, Any]:
    col = _Collector()
    out: dict[str, Any] = {"targets": [], "final": None, "final_ljp_mv": None,
                           "final_recipes": {s: None for s in SIDES}}
    cond = _conditions(payload, col)
    if cond is None:
        return {**out, "ok": False, "errors": col.errors, "warnings": col.warnings}
    specs = col.run("targets", _target_specs, payload)
    recipes = _recipes(payload, col)
    if col.errors or specs is None:
        return {**out, "ok": False, "errors": col.errors, "warnings": col.warnings}
    targets, varies, sides = specs
    model = cond["activity_model"]
    with tempfile.TemporaryDirectory(prefix="ephys_correct_planner_") as tmp:
        # targets change compounds of a recipe: plan_solutions reads the recipe of a
        # solution from its file, so each side is written and loaded like a user's file
        sols = {}
        for s in SIDES:
            path = Path(tmp) / f"{s}.toml"
            text = col.run(s, recipe_to_toml, recipes[s])
            if text is None:
                continue
            path.write_text(text, encoding="utf-8")
            sols[s] = col.run(s, ec.load_solution, os.fspath(path), activity_model=model)
        if col.errors or any(sols.get(s) is None for s in SIDES):
            return {**out, "ok": False, "errors": col.errors, "warnings": col.warnings}
        plan = col.run("targets", ec.plan_solutions, sols["pipette"], sols["bath"],
                       temperature_c=cond["temperature_c"], ljp_temperature_c=cond["ljp_temperature_c"],
                       activity_model=model, targets=targets, vary=varies, side=sides)
    if plan is not None:
        out["targets"] = [t.as_dict() for t in plan.targets]
        out["final"] = dict(plan.final or {})
        out["final_ljp_mv"] = dict(plan.final_ljp_mv or {})
        for t in plan.targets:  # the last target on a side leaves that side's recipe
            rec = dataclasses.replace(t.recipe, path=None)
            out["final_recipes"][t.side] = recipe_to_json(rec)
    return {**out, "ok": not col.errors, "errors": col.errors, "warnings": col.warnings}


def solve(payload: Any) -> dict[str, Any]:
    """Solve planning targets in order (``ephys-correct plan --target``).

    Parameters
    ----------
    payload : dict
        As for :func:`evaluate`, plus ``targets``: a list of
        ``{"target": "E_Cl=-70", "vary": "KCl" or null, "side": "pipette"}``
        (``vary`` null: the default compound of the quantity).

    Returns
    -------
    dict
        ``ok``, ``errors``, ``warnings``, ``targets`` (one
        :meth:`ephys_correct.plan.TargetSolution.as_dict` each), ``final``
        (every target re-evaluated on the final pair), ``final_ljp_mv`` and
        ``final_recipes`` (page JSON of each changed side, None if unchanged).
    """
    with _COMPUTE_LOCK:
        return _solve(payload)
