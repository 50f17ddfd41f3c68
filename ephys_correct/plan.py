"""Experiment planning: what a pipette/bath pair does, and what to change to hit a target.

:func:`plan_solutions` gathers, for a pipette solution and a bath, the liquid
junction potential by both methods, the reversal potentials (ideal and
activity-corrected), ionic strengths, osmolarity estimates (ideal,
osmotic-coefficient corrected, measured) and charge balances; with targets
it also solves, one after the other, how much of a named compound to weigh.

:func:`solve_target` adjusts one compound of a recipe until a quantity hits a
value: the recipe is rebuilt with :func:`dataclasses.replace` of its
``components_mm`` and turned into ions by :meth:`Recipe.to_solution`, so a
pH titrant recomputed by the recipe keeps it electroneutral.  The amount is
found with :func:`scipy.optimize.brentq` inside a bracket located on a grid
of amounts.

Target quantities (``--target NAME=VALUE``)
--------------------------------------------
``E_<ion>``        activity-corrected reversal potential, mV (inside = pipette, outside = bath)
``E_<ion>_ideal``  reversal potential from concentrations, mV
``LJP``            Henderson V_L (bath relative to pipette), mV
``LJP_np``         Nernst-Planck V_L, mV
``osm``            osmotic-coefficient-corrected osmolality of the varied side, mOsm/kg
                   (what an osmometer reads: aim at this, not at the ideal sum)
``osm_ideal``      ideal osmolarity (sum of particles) of the varied side, mOsm/L
``I``              ionic strength of the varied side, mM
``Ca_free``        free Ca2+ of the varied side after metal-ligand speciation, mM
                   (``Ca_free=100e-6`` is 100 nM)
``Mg_free``        free Mg2+, mM

The varied compound is ``"A"`` (its amount changes) or ``"A:B"`` (an exchange:
A goes up and B down by the same amount, e.g. ``KCl:K-gluconate`` sets E_Cl
at constant K+).  Whole-cell geometry is assumed: the pipette solution is the
cytoplasm.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ephys_correct._html import table as html_table, tables as html_tables
from ephys_correct.chemistry.speciation import free_ion_solution
from .errors import (
    ConcentrationError,
    ConvergenceError,
    ElectroneutralityError,
    ModelValidityWarning,
    ParameterError,
    suggest,
)
from ephys_correct.chemistry.ions import canonical_ion_name
from ephys_correct.chemistry.recipes import Recipe, load_recipe, parse_recipe
from ephys_correct.chemistry.solutions import Solution
from ephys_correct.chemistry.solutions_db import load_solution
from ephys_correct.chemistry.compounds import load_compounds
from ephys_correct.potentials.reversal import reversal_potential
from ephys_correct.potentials.ljp import liquid_junction_potential
from ephys_correct.chemistry.activity import check_model
from ephys_correct._validate import check_choice, check_concentration, check_number, check_temperature_c
from ephys_correct.chemistry.summary import solution_summary
from ephys_correct._fileio import to_jsonable
from ephys_correct.chemistry.solutions_db import as_solution
from ephys_correct.report.reversal_table import reversal_potentials

__all__ = [
    "QUANTITIES",
    "DEFAULT_VARY",
    "Target",
    "parse_target",
    "TargetSolution",
    "Plan",
    "plan_solutions",
    "solve_target",
    "scan_component",
    "adjusted_recipe",
]

#: quantity -> (unit, description)
QUANTITIES = {
    "E": ("mV", "activity-corrected reversal potential (inside = pipette)"),
    "E_ideal": ("mV", "reversal potential from concentrations"),
    "LJP": ("mV", "Henderson LJP, V_L = V(bath) - V(pipette)"),
    "LJP_np": ("mV", "Nernst-Planck LJP, V_L = V(bath) - V(pipette)"),
    "osm": ("mOsm/kg", "estimated osmolality (molal, Pitzer phi; what an osmometer reads)"),
    "osm_ideal": ("mOsm/L", "ideal osmolarity (sum of particles)"),
    "I": ("mM", "ionic strength"),
    "Ca_free": ("mM", "free Ca2+ after metal-ligand speciation"),
    "Mg_free": ("mM", "free Mg2+ after metal-ligand speciation"),
}
#: compound varied when none is named, per quantity (E targets: per ion)
DEFAULT_VARY = {"E_Cl-": "KCl", "E_K+": "K-gluconate", "E_Na+": "NaCl", "osm": "sucrose",
                "osm_ideal": "sucrose", "Ca_free": "CaCl2", "Mg_free": "MgCl2"}
#: |achieved - target| accepted, per unit
_TOLERANCE = {"mV": 1e-3, "mOsm/kg": 1e-3, "mOsm/L": 1e-3, "mM": 1e-9}
_SIDES = ("pipette", "bath")
DEFAULT_ACTIVITY_MODEL = "truesdell-jones"


# =========================================================================== targets
@dataclass(frozen=True)
class Target:
    """A quantity to hit.

    Made by :func:`parse_target`; the fields are also the attributes.

    Parameters
    ----------
    quantity : str
        A key of :data:`QUANTITIES`.
    value : float
        In :attr:`unit`.
    ion : str or None
        Canonical ion of an ``E`` / ``E_ideal`` target.
    """

    quantity: str
    value: float
    ion: str | None = None

    @property
    def unit(self) -> str:
        """Unit of :attr:`value`."""
        return QUANTITIES[self.quantity][0]

    @property
    def label(self) -> str:
        """``E_Cl-``, ``E_Cl-_ideal``, ``osm``, ..."""
        if self.quantity == "E":
            return f"E_{self.ion}"
        if self.quantity == "E_ideal":
            return f"E_{self.ion}_ideal"
        return self.quantity

    def __str__(self) -> str:
        return f"{self.label}={self.value:g} {self.unit}"


def parse_target(text: str | Target) -> Target:
    """Parse ``"E_Cl=-70"``, ``"osm=290"``, ``"LJP=0"``, ``"Ca_free=100e-6"``.

    Parameters
    ----------
    text : str or Target
        ``NAME=VALUE`` with NAME ``E_<ion>``, ``E_<ion>_ideal`` or a key of
        :data:`QUANTITIES` (case-insensitive; also ``osmolality``,
        ``osmolarity``, ``ionic_strength``, ``ljp_henderson``,
        ``ljp_nernst_planck``); a Target is returned as it is.

    Returns
    -------
    Target
        With the canonical ion for ``E`` targets.

    Raises
    ------
    ParameterError
        Unknown quantity, a value that is not a number, or no ``=``.
    UnknownIonError
        ``E_<ion>`` with an unknown ion.

    Examples
    --------
    >>> parse_target("E_Cl=-70")
    Target(quantity='E', value=-70.0, ion='Cl-')
    """
    if isinstance(text, Target):
        return text

    if not isinstance(text, str) or "=" not in text:
        raise ParameterError(f"A target is NAME=VALUE (e.g. 'E_Cl=-70', 'osm=290'), got {text!r}.")
    name, _, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    try:
        value = float(raw)
    except ValueError:
        raise ParameterError(f"Target {text!r}: {raw!r} is not a number.") from None
    value = check_number(value, what="the value", where=f"Target {text!r}")
    m = re.fullmatch(r"E_(.+?)(_ideal)?", name, flags=re.IGNORECASE)
    if m and name.lower() not in {q.lower() for q in QUANTITIES}:
        ion = canonical_ion_name(m.group(1))
        return Target("E_ideal" if m.group(2) else "E", value, ion)
    lookup = {q.lower(): q for q in QUANTITIES if not q.startswith("E")}
    lookup.update({"osmolality": "osm", "osmolarity": "osm_ideal", "ljp_henderson": "LJP",
                   "ljp_nernst_planck": "LJP_np", "ionic_strength": "I"})
    q = lookup.get(name.lower())
    if q is None:
        raise ParameterError(
            f"Unknown target quantity {name!r}; allowed: E_<ion>, E_<ion>_ideal, "
            f"{', '.join(k for k in QUANTITIES if not k.startswith('E'))}." + suggest(name, lookup)
        )
    if q in ("osm", "osm_ideal", "I", "Ca_free", "Mg_free") and value < 0:
        raise ParameterError(f"Target {text!r}: {q} cannot be negative.")
    return Target(q, value)


# =========================================================================== recipes
def _recipe_of(obj: Any):
    """A Recipe from a Recipe, recipe path, solutions_db name or recipe-backed Solution."""

    if isinstance(obj, Recipe):
        return obj
    if isinstance(obj, Solution):
        sol = obj
    elif isinstance(obj, Mapping):
        return parse_recipe({"name": "custom", "ions_mm": dict(obj)})
    else:
        p = str(obj)
        if p.lower().endswith(".toml") or os.path.exists(p):
            return load_recipe(p)
        sol = load_solution(p)
    if sol.path and not sol.rebalanced:
        return load_recipe(sol.path)
    if not sol.neutrals_mm:
        return parse_recipe({"name": sol.name, "role": sol.role, "ions_mm": dict(sol.ions_mm)})
    raise ParameterError(
        f"solution {sol.name!r} has no recipe file (it was built from ions with neutral solutes); "
        "varying a compound needs a recipe: pass a recipe path or solutions_db name."
    )


def _parse_vary(vary: str) -> tuple[str, str | None]:
    table = load_compounds()
    if not isinstance(vary, str) or not vary.strip():
        raise ParameterError(f"'vary' must name a compound (e.g. 'KCl' or 'KCl:K-gluconate'), got {vary!r}.")
    up, _, down = vary.partition(":")
    up_c = table.canonical(up.strip())
    down_c = table.canonical(down.strip()) if down.strip() else None
    if down_c == up_c:
        raise ParameterError(f"'vary' {vary!r}: an exchange needs two different compounds.")
    return up_c, down_c


def adjusted_recipe(recipe: Any, vary: str, amount_mm: float):
    """A copy of *recipe* with compound *vary* at *amount_mm* (mM).

    With ``vary="A:B"`` A is set to *amount_mm* and B changed by the opposite
    amount (A + B constant).  The copy has no file path and no file hash (it
    is not the file any more).

    Parameters
    ----------
    recipe : Recipe, recipe path, solutions_db name, Solution or mapping
        The recipe to change (a Solution needs its recipe file, or must be
        made of ions only; a mapping is ion -> mM).
    vary : str
        Compound ``"A"`` or exchange ``"A:B"`` (names or aliases of
        ``data/compounds.toml``).
    amount_mm : float
        The new amount of A, mM (finite, >= 0).

    Returns
    -------
    Recipe
        The adjusted copy (compounds at 0 mM are dropped); build the solution
        with its ``to_solution()``, which re-titrates.

    Raises
    ------
    ConcentrationError
        A negative amount results.
    """
    rec = _recipe_of(recipe)
    up, down = _parse_vary(vary)
    comps = dict(rec.components_mm)
    a = check_concentration(amount_mm, what=f"amount_mm (of {up!r})", where="adjusted_recipe")
    delta = a - comps.get(up, 0.0)
    comps[up] = a
    if down is not None:
        b = comps.get(down, 0.0) - delta
        if b < -1e-12:
            raise ConcentrationError(
                f"exchanging {up!r} for {down!r}: {up} {a:.4g} mM needs {down} {b:.4g} mM (negative).")
        comps[down] = max(b, 0.0)
    comps = {k: v for k, v in comps.items() if v > 0}
    return dataclasses.replace(rec, components_mm=MappingProxyType(comps), path=None, source_sha256="")


def _bounds_for(rec, up: str, down: str | None, bounds_mm: tuple[float, float] | None) -> tuple[float, float]:
    if down is not None:
        hi = rec.components_mm.get(up, 0.0) + rec.components_mm.get(down, 0.0)
        lo = 0.0
        if bounds_mm is not None:
            lo, hi = max(lo, bounds_mm[0]), min(hi, bounds_mm[1])
        return lo, hi
    if bounds_mm is None:
        return 0.0, max(500.0, 4 * rec.components_mm.get(up, 0.0))
    lo, hi = (float(b) for b in bounds_mm)
    if not (0 <= lo < hi and math.isfinite(hi)):
        raise ParameterError(f"'bounds_mm' must be (lo, hi) with 0 <= lo < hi, got {bounds_mm!r}.")
    return lo, hi


# =========================================================================== quantities
def _free_metal(sol, metal: str, temperature_c: float, activity_model: str) -> float:
    if sol.ph is None:
        raise ParameterError(f"solution {sol.name!r} has no pH; free {metal} needs the pH (recipe [ph] value).")
    # the pH at the recording temperature is computed from the recipe (proton balance at T)
    spec = free_ion_solution(sol, temperature_c=temperature_c,
                             activity_model="truesdell-jones" if activity_model == "ideal" else activity_model)
    return float(spec.ions_mm.get(metal, 0.0))


def _quantity(target: Target, sol, other, side: str, *, temperature_c: float, ljp_temperature_c: float,
              activity_model: str, free_ions: bool = True) -> float:
    q = target.quantity
    if q in ("E", "E_ideal", "LJP", "LJP_np"):
        if other is None:
            raise ParameterError(f"target {target.label} needs the solution on the other side ('other').")
        pip, bath = (sol, other) if side == "pipette" else (other, sol)
        if q in ("LJP", "LJP_np"):
            method = "henderson" if q == "LJP" else "nernst-planck"
            return float(liquid_junction_potential(pip, bath, temperature_c=ljp_temperature_c, method=method,
                                                   free_ions=free_ions))

        model = "ideal" if q == "E_ideal" else activity_model
        return float(reversal_potential(target.ion, inside=pip, outside=bath, temperature_c=temperature_c,
                                        activity_model=model, free_ions=free_ions))
    if q == "osm":
        est = sol.osmolarity().estimate_mosm_kg
        if est is None:
            raise ParameterError(f"no osmolality estimate for {sol.name!r}.")
        return float(est)
    if q == "osm_ideal":
        return float(sol.osmolarity().ideal_mosm_l)
    if q == "I":
        return float(sol.ionic_strength_mm())
    if q == "Ca_free":
        return _free_metal(sol, "Ca2+", temperature_c, activity_model)
    if q == "Mg_free":
        return _free_metal(sol, "Mg2+", temperature_c, activity_model)
    raise ParameterError(f"unknown quantity {q!r}")  # pragma: no cover - parse_target guards


# =========================================================================== solving
@dataclass(frozen=True)
class TargetSolution:
    """The amount of a compound that makes a quantity hit its target.

    Returned by :func:`solve_target`; the fields are also the attributes.

    Parameters
    ----------
    target : Target
        What was solved for.
    side : {"pipette", "bath"}
        Solution that was changed.
    vary : str
        Compound (``"A"``) or exchange (``"A:B"``), canonical names.
    amount_before_mm, amount_mm : float
        Amount of the (first) compound before and after, mM.
    exchange_amount_before_mm, exchange_amount_mm : float or None
        Amount of B for an exchange ``A:B``.
    value_before, value : float
        The quantity before and after (in ``target.unit``).
    recipe : Recipe
        The adjusted recipe (no file path).
    solution : Solution
        Its ions (electroneutral: ``to_solution`` checks the balance).
    charge_balance_meq, charge_tolerance_meq : float
        Charge balance of the adjusted solution and its tolerance, mEq/L.
    titrant, titrant_mm_before, titrant_mm : str or None, float or None
        The pH titrant and its amount before and after, when the recipe sets it.
    evaluations : int
        Solutions built while solving.
    """

    target: Target
    side: str
    vary: str
    amount_before_mm: float
    amount_mm: float
    exchange_amount_before_mm: float | None
    exchange_amount_mm: float | None
    value_before: float
    value: float
    recipe: Any = field(repr=False)
    solution: Any = field(repr=False)
    charge_balance_meq: float = 0.0
    charge_tolerance_meq: float = 0.0
    titrant: str | None = None
    titrant_mm_before: float | None = None
    titrant_mm: float | None = None
    evaluations: int = 0

    @property
    def delta_mm(self) -> float:
        """Change of the varied compound, mM."""
        return self.amount_mm - self.amount_before_mm

    @property
    def residual(self) -> float:
        """``value - target.value``."""
        return self.value - self.target.value

    def _repr_html_(self) -> str:
        """Notebook view: the target, the compound changed, its amount before and after, the value reached."""
        rows = [("target", self.target.label), ("wanted", self.target.value), ("unit", self.target.unit),
                ("side", self.side), ("vary", self.vary), ("amount before (mM)", self.amount_before_mm),
                ("amount after (mM)", self.amount_mm), ("value before", self.value_before),
                ("value reached", self.value), ("charge balance (mEq/L)", self.charge_balance_meq)]
        if self.titrant:
            rows += [("titrant", self.titrant), ("titrant after (mM)", self.titrant_mm)]
        return html_table("Target solution", rows)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary.

        Returns
        -------
        dict
            The fields, with the recipe's components and the solution's ions
            as plain dicts.
        """
        return {
            "target": self.target.label, "target_value": self.target.value, "unit": self.target.unit,
            "side": self.side, "vary": self.vary,
            "amount_before_mm": self.amount_before_mm, "amount_mm": self.amount_mm, "delta_mm": self.delta_mm,
            "exchange_amount_before_mm": self.exchange_amount_before_mm,
            "exchange_amount_mm": self.exchange_amount_mm,
            "value_before": self.value_before, "value": self.value, "residual": self.residual,
            "charge_balance_meq": self.charge_balance_meq, "charge_tolerance_meq": self.charge_tolerance_meq,
            "titrant": self.titrant, "titrant_mm_before": self.titrant_mm_before, "titrant_mm": self.titrant_mm,
            "components_mm": dict(self.recipe.components_mm),
            "ions_mm": dict(self.solution.ions_mm),
            "evaluations": self.evaluations,
        }


def _titrant(sol) -> tuple[str | None, float | None]:
    t = sol.titration
    if t is None or t.titrant is None:
        return None, None
    return t.titrant, t.titrant_mm


def solve_target(
    recipe_or_name: Any,
    *,
    target: str | Target,
    vary: str | None = None,
    temperature_c: float,
    other: Any = None,
    side: str = "pipette",
    ljp_temperature_c: float | None = None,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
    bounds_mm: tuple[float, float] | None = None,
    free_ions: bool = True,
) -> TargetSolution:
    """Adjust one compound of a recipe until *target* is met.

    Parameters
    ----------
    recipe_or_name : Recipe, recipe path, solutions_db name or Solution
        The recipe that is changed (on *side*).
    target : str or Target
        ``"E_Cl=-70"``, ``"osm=290"``, ... (see the module docstring).
    vary : str, optional
        Compound to change (``"KCl"``) or exchange (``"KCl:K-gluconate"``);
        default from :data:`DEFAULT_VARY`.
    temperature_c : float
        Recording temperature for reversal potentials and speciation, degC.
    other : Solution, name, path or mapping, optional
        The solution across the junction (needed for E and LJP targets).
    side : {"pipette", "bath"}
        Which solution *recipe_or_name* is.
    ljp_temperature_c : float, optional
        Temperature at which the pipette offset is zeroed (LJP targets);
        default *temperature_c*.
    activity_model : str
        For E targets, speciation and the titration.
    bounds_mm : (float, float), optional
        Range searched for the amount; default 0 .. max(500, 4 x current)
        (an exchange: 0 .. A + B).
    free_ions : bool, default True
        E and LJP targets from speciated solutions (pH at each temperature); False: totals.

    Returns
    -------
    TargetSolution

    Raises
    ------
    ConvergenceError
        The target is out of reach within the range (the message gives the
        range of values that can be reached).
    ParameterError, UnknownCompoundError, UnknownIonError

    Examples
    --------
    >>> sol = solve_target({"K+": 140, "gluconate-": 130, "Cl-": 10}, target="E_Cl=-60",
    ...                    vary="KCl", other={"Na+": 150, "Cl-": 150}, temperature_c=25)
    >>> round(sol.amount_mm, 2), round(sol.value, 2)
    (4.46, -60.0)
    """
    tgt = parse_target(target)
    check_choice(side, _SIDES, what="side", where="solve_target")
    check_model(activity_model, "activity_model", where="solve_target")
    if vary is None:
        vary = DEFAULT_VARY.get(tgt.label)
        if vary is None:
            raise ParameterError(f"target {tgt.label}: name the compound to change (vary=..., --vary).")
    up, down = _parse_vary(vary)
    vary_name = up if down is None else f"{up}:{down}"
    rec = _recipe_of(recipe_or_name)
    other_sol = None if other is None else (other if hasattr(other, "ions_mm") else as_solution(other))
    t_ljp = temperature_c if ljp_temperature_c is None else ljp_temperature_c
    lo, hi = _bounds_for(rec, up, down, bounds_mm)
    n_eval = 0
    cache: dict[float, tuple[float, Any, Any]] = {}

    def evaluate(x: float):
        nonlocal n_eval
        if x in cache:
            return cache[x]
        r = adjusted_recipe(rec, vary_name, x)
        n_eval += 1
        with warnings.catch_warnings():
            # exploring amounts far from the answer may leave a model's range: the
            # final solution is re-evaluated below with warnings on
            warnings.simplefilter("ignore", ModelValidityWarning)
            sol = r.to_solution(activity_model=activity_model)
            v = _quantity(tgt, sol, other_sol, side, temperature_c=temperature_c, ljp_temperature_c=t_ljp,
                          activity_model=activity_model, free_ions=free_ions)
        cache[x] = (v, r, sol)
        return cache[x]

    def f(x: float) -> float:
        return evaluate(x)[0] - tgt.value

    start = rec.components_mm.get(up, 0.0)
    base_sol = rec.to_solution(activity_model=activity_model)
    value_before = _quantity(tgt, base_sol, other_sol, side, temperature_c=temperature_c,
                             ljp_temperature_c=t_ljp, activity_model=activity_model, free_ions=free_ions)
    # a grid of amounts (dense near 0 and around the current amount) to find a sign change
    import numpy as np
    from scipy.optimize import brentq

    grid = set(np.linspace(lo, hi, 17).tolist())
    if hi > 0:
        grid |= set(np.geomspace(max(lo, hi * 1e-5, 1e-6), hi, 17).tolist())
    grid |= {min(max(start, lo), hi)}
    points: list[tuple[float, float]] = []
    for x in sorted(grid):
        try:
            y = f(x)
        except (ParameterError, ConcentrationError, ElectroneutralityError, ConvergenceError):
            continue  # e.g. 0 mM Cl- (E_Cl infinite), or a titrant that cannot reach the pH
        if math.isfinite(y):
            if y == 0.0:
                points = [(x, y)]
                break
            points.append((x, y))
    if not points:
        raise ConvergenceError(f"target {tgt}: no amount of {vary_name} in {lo:g}..{hi:g} mM gives a valid solution.")
    brackets = [(a, b) for (a, fa), (b, fb) in zip(points, points[1:]) if fa * fb < 0]
    exact = [x for x, y in points if y == 0.0]
    if exact:
        x_star = exact[0]
    elif brackets:
        # the sign change nearest to the current amount
        a, b = min(brackets, key=lambda ab: min(abs(ab[0] - start), abs(ab[1] - start)))
        x_star = brentq(f, a, b, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=200)
    else:
        values = [y + tgt.value for _, y in points]
        raise ConvergenceError(
            f"target {tgt} is out of reach by changing {vary_name} on the {side} side: over "
            f"{points[0][0]:g}..{points[-1][0]:g} mM {tgt.label} spans {min(values):.4g}..{max(values):.4g} "
            f"{tgt.unit}. Change another compound, or widen bounds_mm / --range."
        )
    r_star = adjusted_recipe(rec, vary_name, float(x_star))
    sol_star = r_star.to_solution(activity_model=activity_model)
    value = _quantity(tgt, sol_star, other_sol, side, temperature_c=temperature_c, ljp_temperature_c=t_ljp,
                      activity_model=activity_model, free_ions=free_ions)
    n_eval += 1
    tol = max(_TOLERANCE[tgt.unit], 1e-7 * abs(tgt.value)) if tgt.unit != "mM" else max(1e-9, 1e-6 * abs(tgt.value))
    if abs(value - tgt.value) > tol:
        raise ConvergenceError(f"target {tgt}: solver stopped at {value:.6g} {tgt.unit} ({vary_name} {x_star:.6g} mM).")
    titrant, t_before = _titrant(base_sol)
    _, t_after = _titrant(sol_star)
    return TargetSolution(
        target=tgt, side=side, vary=vary_name,
        amount_before_mm=float(start), amount_mm=float(x_star),
        exchange_amount_before_mm=None if down is None else float(rec.components_mm.get(down, 0.0)),
        exchange_amount_mm=None if down is None else float(r_star.components_mm.get(down, 0.0)),
        value_before=float(value_before), value=float(value), recipe=r_star, solution=sol_star,
        charge_balance_meq=float(sol_star.charge_balance_meq()),
        charge_tolerance_meq=float(sol_star.charge_tolerance_mm()),
        titrant=titrant, titrant_mm_before=t_before, titrant_mm=t_after, evaluations=n_eval,
    )


# =========================================================================== scanning
def scan_component(
    recipe_or_name: Any,
    *,
    vary: str,
    other: Any,
    temperature_c: float,
    side: str = "pipette",
    amounts_mm: Sequence[float] | None = None,
    n: int = 41,
    ljp_temperature_c: float | None = None,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
    nernst_planck: bool = True,
):
    """Reversal potentials, LJP and osmolality as one compound is varied.

    Parameters
    ----------
    recipe_or_name : Recipe, path, name or Solution
        The recipe on *side* that is varied.
    vary : str
        Compound or exchange ``"A:B"``.
    other : solution
        The other side.
    temperature_c : float
        Recording temperature, degC (reversal potentials).
    side : {"pipette", "bath"}
        Which solution *recipe_or_name* is.
    amounts_mm : sequence of float, optional
        Amounts of the compound; default *n* points over 0 .. 2 x current
        (at least 0 .. 50 mM; an exchange: 0 .. A + B).
    n : int
        Number of amounts when *amounts_mm* is not given.
    ljp_temperature_c : float, optional
        Temperature of the LJP (when the offset was zeroed); default
        *temperature_c*.
    activity_model : str
        Activity model of the reversal potentials and the titration.
    nernst_planck : bool
        Also compute the Nernst-Planck LJP (about 3 ms per point).

    Returns
    -------
    pandas.DataFrame
        ``amount_mM``, ``LJP_henderson_mV``, ``LJP_nernst_planck_mV``,
        ``E_<ion>_mV`` (activity-corrected, for every ion on both sides),
        ``osm_estimate_mOsm_kg``, ``osm_ideal_mOsm_L``, ``ionic_strength_mM``;
        rows where the recipe cannot be made (e.g. the titrant would have to
        be negative) are NaN.  ``attrs``: vary, side, current_mM, temperatures.
    """
    import numpy as np
    import pandas as pd


    check_choice(side, _SIDES, what="side", where="scan_component")
    rec = _recipe_of(recipe_or_name)
    up, down = _parse_vary(vary)
    vary_name = up if down is None else f"{up}:{down}"
    other_sol = other if hasattr(other, "ions_mm") else as_solution(other)
    t_ljp = temperature_c if ljp_temperature_c is None else ljp_temperature_c
    current = rec.components_mm.get(up, 0.0)
    if amounts_mm is None:
        if down is not None:
            hi = current + rec.components_mm.get(down, 0.0)
        else:
            hi = max(50.0, 2 * current)
        amounts = np.linspace(0.0, hi, int(n))
    else:
        amounts = np.asarray(amounts_mm, dtype=float)
    rows = []
    for x in amounts:
        row: dict[str, float] = {"amount_mM": float(x)}
        try:
            sol = adjusted_recipe(rec, vary_name, float(x)).to_solution(activity_model=activity_model)
            pip, bath = (sol, other_sol) if side == "pipette" else (other_sol, sol)
            row["LJP_henderson_mV"] = float(liquid_junction_potential(pip, bath, temperature_c=t_ljp))
            if nernst_planck:
                row["LJP_nernst_planck_mV"] = float(liquid_junction_potential(
                    pip, bath, temperature_c=t_ljp, method="nernst-planck"))
            df = reversal_potentials(pip, bath, temperature_c=temperature_c, activity_model=activity_model)
            for ion, e in zip(df["ion"], df["E_rev_mV"]):
                row[f"E_{ion}_mV"] = float(e)
            osm = sol.osmolarity()
            row["osm_estimate_mOsm_kg"] = float(osm.estimate_mosm_kg) if osm.estimate_mosm_kg is not None else math.nan
            row["osm_ideal_mOsm_L"] = float(osm.ideal_mosm_l)
            row["ionic_strength_mM"] = float(sol.ionic_strength_mm())
        except (ParameterError, ConcentrationError, ElectroneutralityError, ConvergenceError):
            pass
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update({"vary": vary_name, "side": side, "current_mM": float(current),
                      "temperature_c": float(temperature_c), "ljp_temperature_c": float(t_ljp),
                      "activity_model": activity_model, "recipe": rec.name, "other": other_sol.name})
    return out


# =========================================================================== plan
@dataclass(frozen=True)
class Plan:
    """Everything a pipette/bath pair implies, and the adjustments asked for.

    Returned by :func:`plan_solutions`; the fields are also the attributes.

    Parameters
    ----------
    pipette, bath : Solution
        As given (before any target).
    temperature_c : float
        Recording temperature (reversal potentials, speciation).
    ljp_temperature_c : float
        Temperature of the LJP (when the offset was zeroed).
    activity_model : str
        Activity model of the reversal potentials, titration and speciation.
    ljp : Mapping[str, LJPResult]
        ``"henderson"`` and ``"nernst-planck"``.
    reversal : pandas.DataFrame
        :func:`ephys_correct.reversal.reversal_potentials` (inside = pipette):
        ideal and activity-corrected columns.
    solutions : Mapping[str, dict]
        Per side: ionic strength, osmolarity (ideal, estimate, measured),
        charge balance and its tolerance, pH.
    targets : tuple of TargetSolution
        Solved in order, each on the solutions left by the previous one.
    final : Mapping[str, float] or None
        Every target quantity re-evaluated on the final solutions.
    final_ljp_mv : Mapping[str, float] or None
        LJP of the final pair, both methods.
    final_solutions : Mapping[str, Solution] or None
        ``"pipette"`` and ``"bath"`` after all targets (the given ones when
        there are none).
    notes : tuple of str
        Geometry, sign convention, temperatures and warnings (totals vs free
        ions, pH temperature), as the CLI prints them.
    """

    pipette: Any
    bath: Any
    temperature_c: float
    ljp_temperature_c: float
    activity_model: str
    ljp: Mapping[str, Any]
    reversal: Any
    solutions: Mapping[str, dict]
    targets: tuple[TargetSolution, ...] = ()
    final: Mapping[str, float] | None = None
    final_ljp_mv: Mapping[str, float] | None = None
    final_solutions: Mapping[str, Any] | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    def ljp_mv(self, method: str = "henderson") -> float:
        """V_L (mV, bath relative to pipette) by *method*.

        Parameters
        ----------
        method : {"henderson", "nernst-planck"}
            The LJP model.

        Returns
        -------
        float
            V_L of the pair as given (before the targets), at
            :attr:`ljp_temperature_c`.
        """
        return float(self.ljp[method])

    def _repr_html_(self) -> str:
        """Notebook view: LJP by both methods, each side's numbers, reversal potentials and targets."""
        rows = [("pipette", self.pipette.name), ("bath", self.bath.name),
                ("temperature (degC)", float(self.temperature_c)),
                ("LJP temperature (degC)", float(self.ljp_temperature_c)),
                ("activity model", self.activity_model)]
        rows += [(f"V_L {m} (mV)", float(r)) for m, r in self.ljp.items()]
        if self.final_ljp_mv:
            rows += [(f"V_L {m}, final (mV)", float(v)) for m, v in self.final_ljp_mv.items()]
        sides = [(k, v.get("ionic_strength_mm"), v.get("osm_ideal_mosm_l"), v.get("osm_estimate_mosm_kg"),
                  v.get("charge_balance_meq"), v.get("ph")) for k, v in self.solutions.items()]
        rev = [(r["ion"], r["E_rev_ideal_mV"], r["E_rev_mV"]) for r in self.reversal.to_dict(orient="records")]
        parts = [html_table("Plan", rows, notes=self.notes),
                 html_table("solutions", sides, columns=("side", "ionic strength (mM)", "osm ideal (mOsm/L)",
                                                         "osm estimate (mOsm/kg)", "charge (mEq/L)", "pH")),
                 html_table("reversal potentials (inside = pipette)", rev,
                            columns=("ion", "E ideal (mV)", "E activity (mV)"))]
        if self.targets:
            parts.append(html_table("targets", [
                (t.target.label, t.target.value, t.side, t.vary, t.amount_before_mm, t.amount_mm, t.value)
                for t in self.targets], columns=("target", "wanted", "side", "vary", "before (mM)",
                                                 "after (mM)", "reached")))
        return html_tables(*parts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``ephys-correct plan --json``).

        Returns
        -------
        dict
            Names, temperatures, the LJP by both methods, the reversal
            potentials (NaN as None), per-side summaries, the targets, the
            final values and the notes.
        """
        rev = self.reversal
        return {
            "pipette": self.pipette.name, "bath": self.bath.name,
            "temperature_c": self.temperature_c, "ljp_temperature_c": self.ljp_temperature_c,
            "activity_model": self.activity_model,
            "ljp_sign_convention": "V_L = V(bath) - V(pipette); whole-cell Vm = Vp - V_L",
            "ljp_mv": {m: float(r) for m, r in self.ljp.items()},
            "reversal_potentials": to_jsonable(rev.to_dict(orient="records")),
            "solutions": {k: dict(v) for k, v in self.solutions.items()},
            "targets": [t.as_dict() for t in self.targets],
            "final": None if self.final is None else dict(self.final),
            "final_ljp_mv": None if self.final_ljp_mv is None else dict(self.final_ljp_mv),
            "notes": list(self.notes),
        }


def plan_solutions(
    pipette: Any,
    bath: Any,
    *,
    temperature_c: float,
    ljp_temperature_c: float | None = None,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
    targets: Iterable[str | Target] = (),
    vary: str | Sequence[str | None] | None = None,
    side: str | Sequence[str] = "pipette",
    bounds_mm: tuple[float, float] | None = None,
    free_ions: bool = True,
) -> Plan:
    """The planning view of a pipette/bath pair, with optional targets.

    Parameters
    ----------
    pipette, bath : Solution, solutions_db name, recipe path or mapping
    temperature_c : float
        Recording temperature (reversal potentials, speciation), degC.
    ljp_temperature_c : float, optional
        Temperature at which the pipette offset is zeroed; default
        *temperature_c*.
    activity_model : str
    targets : iterable of str or Target
        Solved in order, each on the solutions left by the previous one.
    vary : str or sequence, optional
        One compound for all targets, or one per target (None: the default
        of :data:`DEFAULT_VARY`).
    side : str or sequence
        ``"pipette"`` or ``"bath"``, for all targets or one per target.
    bounds_mm : (float, float), optional
        Search range of the amounts.
    free_ions : bool, default True
        Speciated solutions for the LJP (at the zeroing temperature) and the reversal
        potentials (at the recording temperature), pH at each temperature from the recipe;
        False: totals (an explicit simplification, noted in the plan).

    Returns
    -------
    Plan

    Raises
    ------
    ConvergenceError
        A target cannot be reached.
    """
    temperature_c = check_temperature_c(temperature_c, where="plan_solutions")
    t_ljp = temperature_c if ljp_temperature_c is None else check_temperature_c(
        ljp_temperature_c, what="ljp_temperature_c", where="plan_solutions")
    pip = pipette if hasattr(pipette, "ions_mm") else as_solution(pipette, name="pipette")
    bth = bath if hasattr(bath, "ions_mm") else as_solution(bath, name="bath")
    ljp = {m: liquid_junction_potential(pip, bth, temperature_c=t_ljp, method=m, free_ions=free_ions)
           for m in ("henderson", "nernst-planck")}
    rev = reversal_potentials(pip, bth, temperature_c=temperature_c, activity_model=activity_model,
                              free_ions=free_ions)
    notes = ["Whole-cell geometry: inside = pipette solution, outside = bath.",
             "LJP sign: V_L = V(bath) - V(pipette); corrected Vm = Vp - V_L.",
             ("Concentrations: free ions (speciated at each temperature, pH computed there from the recipe)."
              if free_ions else "Concentrations: totals (free_ions=False: no speciation).")]
    if abs(t_ljp - float(temperature_c)) > 1e-9:
        notes.append(f"LJP at {t_ljp:g} degC (offset zeroing), E_rev at {float(temperature_c):g} degC (recording).")
    warns = [w for w in rev.get("bound_total_warning", []) if w]
    notes += warns
    tlist = [parse_target(t) for t in targets]
    varies = _per_target(vary, len(tlist), "vary")
    sides = _per_target(side, len(tlist), "side")
    results: list[TargetSolution] = []
    current = {"pipette": pipette if not hasattr(pipette, "ions_mm") or pipette.path else pip,
               "bath": bath if not hasattr(bath, "ions_mm") or bath.path else bth}
    cur_sol = {"pipette": pip, "bath": bth}
    for tgt, v, sd in zip(tlist, varies, sides):
        other = "bath" if sd == "pipette" else "pipette"
        res = solve_target(current[sd], target=tgt, vary=v, temperature_c=temperature_c,
                           other=cur_sol[other], side=sd, ljp_temperature_c=t_ljp,
                           activity_model=activity_model, bounds_mm=bounds_mm, free_ions=free_ions)
        results.append(res)
        current[sd] = res.recipe
        cur_sol[sd] = res.solution
        if tgt.quantity in ("Ca_free", "Mg_free"):
            notes.append(f"{tgt.label}: speciation at {float(temperature_c):g} degC; recipe pH {res.solution.ph} "
                         f"(set at {res.solution.ph_temperature_c} degC) moved to that temperature.")
    final = final_ljp = None
    if results:
        final = {}
        for tgt, sd in zip(tlist, sides):
            other = "bath" if sd == "pipette" else "pipette"
            final[tgt.label] = _quantity(tgt, cur_sol[sd], cur_sol[other], sd, temperature_c=temperature_c,
                                         ljp_temperature_c=t_ljp, activity_model=activity_model,
                                         free_ions=free_ions)
        final_ljp = {m: float(liquid_junction_potential(cur_sol["pipette"], cur_sol["bath"],
                                                        temperature_c=t_ljp, method=m, free_ions=free_ions))
                     for m in ("henderson", "nernst-planck")}
    return Plan(
        pipette=pip, bath=bth, temperature_c=float(temperature_c), ljp_temperature_c=t_ljp,
        activity_model=activity_model, ljp=MappingProxyType(ljp), reversal=rev,
        solutions=MappingProxyType({"pipette": solution_summary(pip), "bath": solution_summary(bth)}),
        targets=tuple(results), final=None if final is None else MappingProxyType(final),
        final_ljp_mv=None if final_ljp is None else MappingProxyType(final_ljp),
        final_solutions=MappingProxyType(cur_sol), notes=tuple(notes),
    )


def _per_target(value, n: int, name: str) -> list:
    if value is None or isinstance(value, str):
        return [value] * n
    items = list(value)
    if len(items) == 1:
        return items * n
    if len(items) != n:
        raise ParameterError(f"'{name}' must be one value or one per target ({n}), got {len(items)}.")
    return items
