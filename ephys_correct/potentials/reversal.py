"""Reversal potentials: Nernst with activities, Goldman-Hodgkin-Katz, Gibbs-Donnan.

Conventions
-----------
* Potentials are membrane potentials ``V_in - V_out`` in mV; "inside" is the cytoplasmic side
  (the pipette in whole-cell and outside-out patches, the bath in inside-out patches).
* Nernst: ``E = (RT / zF) ln(a_out / a_in)``, ``a = gamma c``; gamma from :mod:`ephys_correct.activity`
  (default ``"truesdell-jones"``, the toolkit's one convention; ``"ideal"``: concentrations).
* Currents (:func:`ghk_current`): membrane-current convention, outward (cations leaving) positive.
* Donnan: ``donnan_potential_mv = V_compartment - V_bath``.

Inputs ``inside``/``outside``/``bath`` are anything
:func:`ephys_correct.solutions.as_solution` accepts: a Solution, a
solutions_db name, a recipe path or a mapping ion -> mM (checked for
electroneutrality).  mM are treated as mmol/kg by the activity models (molar ~
molal).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ephys_correct.chemistry import activity as _act
from ephys_correct._constants import FARADAY, GAS_CONSTANT, kelvin, thermal_voltage_mv
from ephys_correct._validate import (
    as_number, check_choice, check_concentration, check_integer, check_nonnegative, check_number, check_positive,
    check_temperature_c, message)
from ephys_correct.errors import ConvergenceError, ElectroneutralityError, ParameterError
from ephys_correct.chemistry.ions import canonical_ion_name, canonical_ions, load_ion_table
from ephys_correct.chemistry.solutions_db import as_solution
from ephys_correct.chemistry.speciation import free_ion_solution
from ephys_correct._version import __version__

__all__ = [
    "reversal_potential",
    "reversal_rows",
    "COLUMN_UNITS",
    "ghk_potential",
    "ghk_current",
    "donnan_equilibrium",
    "GHKResult",
    "DonnanResult",
    "BINDING_SPECIES_MARKERS",
]

#: substrings (case-insensitive) of species names that bind Ca2+/Mg2+/H+
BINDING_SPECIES_MARKERS = ("EGTA", "BAPTA", "EDTA", "ATP", "GTP", "ADP", "PCr",
                           "phosphocreatine", "citrate", "Cit")
_ZERO_CHOICES = ("raise", "inf")

COLUMN_UNITS = {
    "ion": "", "charge": "", "c_in_mM": "mM", "c_out_mM": "mM", "gamma_in": "",
    "gamma_out": "", "a_in_mM": "mM", "a_out_mM": "mM", "E_rev_ideal_mV": "mV",
    "E_rev_mV": "mV", "delta_mV": "mV", "bound_total_warning": "",
}


# --------------------------------------------------------------------------- helpers
@dataclass(frozen=True)
class _Side:
    name: str
    ions_mm: Mapping[str, float]
    neutral_names: tuple[str, ...]
    speciated: bool
    ph: Mapping[str, Any] | None = None


def _side(obj: Any, label: str, *, free_ions: bool = False, temperature_c: float | None = None,
          activity_model: str = _act.DEFAULT_MODEL, ph: float | None = None) -> _Side:
    if obj is None:
        raise ParameterError(f"The {label!r} solution is required (got None).")
    sol = as_solution(obj)
    if free_ions:
        sol = free_ion_solution(sol, temperature_c=temperature_c, activity_model=activity_model, pH_at_recording=ph)
    ions = canonical_ions(sol.ions_mm, label)
    neutrals = tuple(str(k) for k in getattr(sol, "neutrals_mm", {}) or {})
    sp = getattr(sol, "speciation", None)
    return _Side(sol.name, MappingProxyType(ions), neutrals, sp is not None, None if sp is None else
                 {k: sp.get(k) for k in ("recipe_ph", "recipe_ph_temperature_c", "ph_used", "ph_source")})


def _gammas(side: _Side, temperature_c: float, model: str, ions: list[str]):
    if model == "ideal":
        return {i: 1.0 for i in ions}, None
    present = [i for i in ions if side.ions_mm.get(i, 0.0) > 0]
    res = _act.activity_coefficients(dict(side.ions_mm), temperature_c=temperature_c, model=model,
                                     ions=present)
    return dict(res), res


def _binding_note(ion: str, charge: int, *sides: tuple[str, _Side]) -> str:
    if not (ion == "H+" or charge >= 2):
        return ""
    notes = []
    for label, side in sides:
        names = [n for n in (*side.ions_mm, *side.neutral_names)
                 if n != ion and any(m.lower() in n.lower() for m in BINDING_SPECIES_MARKERS)
                 and (side.ions_mm.get(n, 1.0) > 0)]
        if names and not side.speciated:
            notes.append(f"{label} ({side.name}) contains {', '.join(sorted(set(names)))}")
    if not notes:
        return ""
    return (f"E({ion}) computed from the concentration given, a total unless the recipe was "
            f"speciated, while the {'; '.join(notes)}: the free {ion} can be far lower. "
            "Speciate the solution (Solution.speciate) or give the free concentration.")


def _nernst_mv(z: int, a_in: float, a_out: float, temperature_c: float, zero: str,
               ion: str) -> float:
    if a_in > 0 and a_out > 0:
        return thermal_voltage_mv(temperature_c) / z * math.log(a_out / a_in)
    if a_in == 0 and a_out == 0:
        raise ParameterError(
            f"{ion} is absent (0 mM) on both sides: its reversal potential is undefined."
        )
    if zero != "inf":
        side = "inside" if a_in == 0 else "outside"
        raise ParameterError(
            f"{ion} is 0 mM on the {side}: the Nernst potential is infinite. "
            "Pass zero='inf' to get +/-inf explicitly."
        )
    sign = 1.0 if a_in == 0 else -1.0  # ln(a_out/a_in) -> +inf when a_in = 0
    return math.copysign(math.inf, sign / z)


# --------------------------------------------------------------------------- Nernst
def reversal_potential(ion: str, *, inside: Any, outside: Any, temperature_c: float,
                       activity_model: str = _act.DEFAULT_MODEL, zero: str = "raise", free_ions: bool = True) -> float:
    """Nernst (reversal) potential of one ion, mV, as V_in - V_out.

    ``E = (RT / zF) ln(a_out / a_in)``, ``a = gamma c``.

    Parameters
    ----------
    ion : str
        Ion name (canonical or alias).
    inside, outside : Solution, mapping ion -> mM, solutions_db name or recipe path
        Cytoplasmic and extracellular solutions.
    temperature_c : float
        Recording temperature, degC (no default).
    activity_model : str
        ``"truesdell-jones"`` (default), ``"extended-debye-huckel"``, ``"davies"`` or
        ``"ideal"`` (concentrations).
    zero : {"raise", "inf"}
        A side with 0 mM of *ion*: raise ParameterError (default) or return
        +/-inf by explicit choice.  0 mM on both sides always raises.
    free_ions : bool, default True
        Speciate first (pH at *temperature_c* from the recipe); False: totals, as asked.

    Returns
    -------
    float
        E_rev in mV.

    Raises
    ------
    UnknownIonError, ParameterError, ConcentrationError

    Notes
    -----
    gamma at each solution's ionic strength; mM taken as mmol/kg (molar ~ molal).

    Examples
    --------
    >>> e = reversal_potential("K+", inside={"K+": 140, "Cl-": 140},
    ...                        outside={"K+": 14, "Cl-": 14}, temperature_c=25,
    ...                        activity_model="ideal")
    >>> round(e, 2)
    -59.16
    """
    _act.check_model(activity_model, "activity_model", where="reversal_potential")
    check_choice(zero, _ZERO_CHOICES, what="zero", where="reversal_potential")
    t = check_temperature_c(temperature_c, where="reversal_potential")
    canon = canonical_ion_name(ion)
    z = load_ion_table()[canon].charge
    sm = _act.DEFAULT_MODEL if activity_model == "ideal" else activity_model
    s_in, s_out = (_side(o, lab, free_ions=free_ions, temperature_c=t, activity_model=sm)
                   for o, lab in ((inside, "inside"), (outside, "outside")))
    c_in, c_out = s_in.ions_mm.get(canon, 0.0), s_out.ions_mm.get(canon, 0.0)
    g_in = _gammas(s_in, t, activity_model, [canon])[0].get(canon, 1.0) if c_in > 0 else 1.0
    g_out = _gammas(s_out, t, activity_model, [canon])[0].get(canon, 1.0) if c_out > 0 else 1.0
    return _nernst_mv(z, g_in * c_in, g_out * c_out, t, zero, canon)


def _package_version() -> str:
    return __version__


def reversal_rows(inside: Any, outside: Any, *, temperature_c: float,
                        activity_model: str = _act.DEFAULT_MODEL,
                        inside_override_mm: Mapping[str, float] | None = None,
                        ions: Iterable[str] | None = None,
                        free_ions: bool = True,
                        pH_at_recording: Mapping[str, float] | None = None):
    """Per-ion reversal potentials (ideal and activity-corrected) as plain rows.

    :func:`ephys_correct.report.reversal_table.reversal_potentials` makes the annotated
    DataFrame of them (pandas lives in the report layer).

    Parameters
    ----------
    inside, outside : Solution, mapping ion -> mM, solutions_db name or recipe path
    temperature_c : float
        Recording temperature, degC.
    activity_model : str
        Default ``"truesdell-jones"``.
    inside_override_mm : mapping ion -> mM, optional
        Replace the inside concentration of these ions, e.g. ``{"Cl-": 10}``
        for a gramicidin-perforated patch where [Cl-]i is the cell's, not the
        pipette's.  Only the concentration is replaced: gamma_in is evaluated
        at the ionic strength of *inside* as given.  Recorded in ``attrs``.
    ions : iterable of str, optional
        Only these ions (each must be present on both sides); default: every
        ion present (> 0 mM) on both sides.
    free_ions : bool, default True
        Speciate both sides first (:func:`ephys_correct.chemistry.speciation.free_ion_solution`)
        at *temperature_c* and its pH; recorded in ``attrs``.  False: totals, as asked.
    pH_at_recording : Mapping[str, float], optional
        Measured pH at *temperature_c*, ``{"inside": pH, "outside": pH}``.

    Returns
    -------
    rows : list of dict
        One per ion, keys ``ion, charge, c_in_mM, c_out_mM, gamma_in, gamma_out, a_in_mM,
        a_out_mM, E_rev_ideal_mV, E_rev_mV, delta_mV, bound_total_warning``
        (``delta_mV = E_rev_mV - E_rev_ideal_mV``).
    attrs : dict
        ``units``
        (per column), ``temperature_c``, ``activity_model``, ``inside``,
        ``outside`` (names), ``inside_override_mm``, ``ionic_strength_*_mM``,
        ``gamma_models`` (model actually used per ion and side), ``convention``
        and ``package_version``.

    Notes
    -----
    ``bound_total_warning`` is non-empty for Ca2+, Mg2+ (any cation of charge
    >= 2) and H+ when the same solution contains EGTA, BAPTA, EDTA, ATP, GTP,
    ADP, phosphocreatine or citrate species and was not speciated: the value
    given is then a total, and E computed from it is wrong, often by tens of mV.
    mM are treated as mmol/kg (molar ~ molal).

    Examples
    --------
    >>> rows, attrs = reversal_rows({"K+": 140, "Cl-": 140}, {"K+": 5, "Na+": 145, "Cl-": 150},
    ...                             temperature_c=25)
    >>> [r["ion"] for r in rows]
    ['K+', 'Cl-']
    """
    _act.check_model(activity_model, "activity_model", where="reversal_rows")
    t = check_temperature_c(temperature_c, where="reversal_rows")
    # speciation needs an activity model for its constants even when E is computed ideally
    model = _act.DEFAULT_MODEL if activity_model == "ideal" else activity_model
    phs = dict(pH_at_recording or {})
    for side in phs:
        check_choice(side, ("inside", "outside"), what="pH_at_recording key", where="reversal_rows")
    s_in, s_out = (_side(obj, lab, free_ions=free_ions, temperature_c=t, activity_model=model, ph=phs.get(lab))
                   for obj, lab in ((inside, "inside"), (outside, "outside")))
    table = load_ion_table()
    c_in_all = dict(s_in.ions_mm)
    override = {}
    if inside_override_mm:
        override = canonical_ions(inside_override_mm, "inside_override_mm")
    if ions is None:
        wanted = [i for i, c in c_in_all.items()
                  if (override.get(i, c) > 0) and s_out.ions_mm.get(i, 0.0) > 0]
        wanted += [i for i in override if i not in wanted and i not in c_in_all
                   and override[i] > 0 and s_out.ions_mm.get(i, 0.0) > 0]
    else:
        if isinstance(ions, str):
            ions = [ions]
        wanted = []
        for name in ions:
            canon = canonical_ion_name(name)
            ci = override.get(canon, c_in_all.get(canon, 0.0))
            if ci <= 0 or s_out.ions_mm.get(canon, 0.0) <= 0:
                raise ParameterError(
                    f"Ion {canon!r} is not present on both sides (inside {ci:g} mM, outside "
                    f"{s_out.ions_mm.get(canon, 0.0):g} mM); use reversal_potential(..., zero='inf') "
                    "for a one-sided ion."
                )
            if canon not in wanted:
                wanted.append(canon)
    res_in = res_out = None
    if activity_model == "ideal":
        g_in = {i: 1.0 for i in wanted}
        g_out = {i: 1.0 for i in wanted}
    else:
        # inside gamma: ionic strength of the inside solution as given; ions only in the
        # override (absent from the pipette) get their gamma at that ionic strength too
        res_in = _act.activity_coefficients(c_in_all, temperature_c=t, model=activity_model,
                                            ions=[i for i in wanted if i in c_in_all])
        res_out = _act.activity_coefficients(dict(s_out.ions_mm), temperature_c=t,
                                             model=activity_model, ions=wanted)
        g_in = dict(res_in)
        i_m = res_in.ionic_strength_mm / 1000.0
        for i in wanted:
            if i not in g_in:
                lg, _ = _act.log10_gamma(table[i].charge, i_m, t, activity_model, ion=i)
                g_in[i] = 10.0 ** lg
        g_out = dict(res_out)
    rows = []
    for i in wanted:
        z = table[i].charge
        ci = override.get(i, c_in_all.get(i, 0.0))
        co = s_out.ions_mm[i]
        e_ideal = _nernst_mv(z, ci, co, t, "raise", i)
        e_act = _nernst_mv(z, g_in[i] * ci, g_out[i] * co, t, "raise", i)
        rows.append({
            "ion": i, "charge": z, "c_in_mM": ci, "c_out_mM": co,
            "gamma_in": g_in[i], "gamma_out": g_out[i],
            "a_in_mM": g_in[i] * ci, "a_out_mM": g_out[i] * co,
            "E_rev_ideal_mV": e_ideal, "E_rev_mV": e_act, "delta_mV": e_act - e_ideal,
            "bound_total_warning": _binding_note(i, z, ("inside", s_in), ("outside", s_out)),
        })
    gamma_models = {}
    for i in wanted:
        gamma_models[i] = {
            "inside": (res_in.per_ion[i]["model"] if res_in is not None and i in res_in.per_ion
                       else activity_model),
            "outside": res_out.per_ion[i]["model"] if res_out is not None else activity_model,
        }
        for side, res in (("inside", res_in), ("outside", res_out)):
            if res is not None and i in res.per_ion and res.per_ion[i]["fallback_reason"]:
                gamma_models[i][f"{side}_fallback"] = res.per_ion[i]["fallback_reason"]
    attrs = {
        "units": dict(COLUMN_UNITS),
        "temperature_c": t,
        "activity_model": activity_model,
        "free_ions": bool(free_ions),
        "concentration_basis": "free ions (speciated)" if free_ions else "totals (free_ions=False)",
        "ph": {"inside": s_in.ph, "outside": s_out.ph},
        "applied_to": "concentrations" if activity_model == "ideal" else "activities",
        "inside": s_in.name,
        "outside": s_out.name,
        "inside_override_mm": dict(override),
        "ionic_strength_inside_mM": _act.ionic_strength_mm(c_in_all),
        "ionic_strength_outside_mM": _act.ionic_strength_mm(dict(s_out.ions_mm)),
        "gamma_models": gamma_models,
        "convention": "E = (RT/zF) ln(a_out/a_in), V_in - V_out; mM treated as mmol/kg",
        "package_version": _package_version(),
    }
    return rows, attrs


# --------------------------------------------------------------------------- GHK
@dataclass(frozen=True)
class GHKResult:
    """Zero-current (GHK voltage equation) potential.

    ``float(result)`` is the potential in mV (V_in - V_out).  Returned by
    :func:`ghk_potential`; the fields are also the attributes.

    Parameters
    ----------
    potential_mv : float
        The reversal (zero-current) potential, mV.
    method : str
        ``"quadratic"`` (closed form, charges in {+-1, +-2}; Lewis 1979) or
        ``"brentq"`` (numerical root of the total GHK current).
    applied_to : {"activities", "concentrations"}
        What the permeability ratios multiplied.
    activity_model : str
        The activity model used.
    permeabilities : Mapping[str, float]
        As given (only ratios matter).
    temperature_c : float
        Temperature, degC.
    a_in_mm, a_out_mm : Mapping[str, float]
        Activities (or concentrations for ``"ideal"``) used, mM.
    """

    potential_mv: float
    method: str
    applied_to: str
    activity_model: str
    permeabilities: Mapping[str, float]
    temperature_c: float
    a_in_mm: Mapping[str, float]
    a_out_mm: Mapping[str, float]

    def __float__(self) -> float:
        return float(self.potential_mv)

    def as_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict.

        Returns
        -------
        dict
            Field name -> value; mappings become plain dicts.
        """
        return _fields_as_dict(self)


def _fields_as_dict(result: Any) -> dict[str, Any]:
    """A result dataclass's fields as a JSON-ready dict (mappings become plain dicts)."""
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in result.__dict__.items()}


def _ghk_term(p: float, z: int, a_in: float, a_out: float, u: float) -> float:
    """P z [w/(1-e^-w)] (a_in - a_out e^-w), w = z u: the GHK current / (F * const).

    Written so that no exponential overflows and small |w| keeps full precision.
    """
    w = z * u
    if abs(w) < 1e-8:  # w/(1-e^-w) = 1 + w/2 + O(w^2)
        return p * z * (1.0 + 0.5 * w) * (a_in - a_out * math.exp(-w))
    if w > 0:
        return p * z * (w / -math.expm1(-w)) * (a_in - a_out * math.exp(-w))
    return p * z * (w / math.expm1(w)) * (a_in * math.exp(w) - a_out)


def _ghk_brentq(terms: list[tuple[float, int, float, float]]) -> float:
    from scipy.optimize import brentq

    def g(u: float) -> float:
        return sum(_ghk_term(p, z, ai, ao, u) for p, z, ai, ao in terms)

    lo, hi = -1.0, 1.0
    zmax = max(abs(z) for _, z, _, _ in terms)
    limit = 600.0 / zmax
    while g(lo) > 0 and lo > -limit:
        lo *= 2.0
    while g(hi) < 0 and hi < limit:
        hi *= 2.0
    glo, ghi = g(lo), g(hi)
    if glo > 0 or ghi < 0:
        raise ParameterError(
            "The GHK zero-current potential is beyond +/-"
            f"{limit:.0f} RT/F (an ion with nonzero permeability on one side only?)."
        )
    if glo == 0:
        return lo
    if ghi == 0:
        return hi
    u, r = brentq(g, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500, full_output=True)
    if not r.converged:  # pragma: no cover - brentq on a bracketed monotone function
        raise ConvergenceError(f"GHK root search did not converge: {r.flag}")
    return u


def _ghk_quadratic(terms: list[tuple[float, int, float, float]], zero: str) -> float:
    m_in = m_out = d_in = d_out = 0.0
    for p, z, ai, ao in terms:
        if z == 1:
            m_in += p * ai
            m_out += p * ao
        elif z == -1:
            m_in += p * ao
            m_out += p * ai
        elif z == 2:
            d_in += p * ai
            d_out += p * ao
        elif z == -2:
            d_in += p * ao
            d_out += p * ai
        else:  # pragma: no cover - dispatch guarantees |z| in {1, 2}
            raise AssertionError(z)
    # (M_in + 4 D_in) x^2 + (M_in - M_out) x - (M_out + 4 D_out) = 0, x = exp(FV/RT)
    a = m_in + 4.0 * d_in
    b = m_in - m_out
    c = m_out + 4.0 * d_out
    if a <= 0 or c <= 0:
        if zero == "inf" and (a > 0 or c > 0):
            return math.inf if a <= 0 else -math.inf
        raise ParameterError(
            "The GHK zero-current potential is infinite: every permeant ion is absent on "
            f"the {'inside' if a <= 0 else 'outside'} (in the GHK sense). Pass zero='inf' to get "
            "+/-inf explicitly."
        )
    disc = math.sqrt(b * b + 4.0 * a * c)
    x = (2.0 * c) / (b + disc) if b > 0 else (disc - b) / (2.0 * a)
    return math.log(x)


def ghk_potential(inside: Any, outside: Any, *, permeabilities: Mapping[str, float],
                  temperature_c: float, activity_model: str = _act.DEFAULT_MODEL,
                  method: str = "auto", zero: str = "raise") -> GHKResult:
    """Goldman-Hodgkin-Katz zero-current potential with mono- and divalent ions.

    Solves ``sum_i P_i z_i^2 (FV/RT) (a_in,i - a_out,i e^(-z_i FV/RT)) /
    (1 - e^(-z_i FV/RT)) = 0``.  For charges in {+-1, +-2} this is the
    quadratic (Lewis 1979)::

        (M_in + 4 D_in) x^2 + (M_in - M_out) x - (M_out + 4 D_out) = 0,  x = e^(FV/RT)

    with ``M_in = sum_cat1 P a_in + sum_an1 P a_out``, ``M_out = sum_cat1 P a_out +
    sum_an1 P a_in``, and ``D_in``/``D_out`` the same sums over divalent ions.
    Other charges use a bracketed Brent root of the total current.

    Parameters
    ----------
    inside, outside : Solution, mapping ion -> mM, solutions_db name or recipe path
    permeabilities : mapping ion -> float
        Permeabilities (any unit; only the ratios matter), >= 0, at least one > 0.
    temperature_c : float
    activity_model : str
        Default ``"truesdell-jones"``: permeability ratios multiply *activities*.
        ``"ideal"``: they multiply concentrations (the classical usage); the
        result records which (``applied_to``).  gamma alone can move a fitted
        P_Ca/P_Na by a factor of about 2.
    method : {"auto", "quadratic", "brentq"}
        ``"auto"``: quadratic when every permeant charge is in {+-1, +-2}.
    zero : {"raise", "inf"}
        When every permeant ion is missing on one side.

    Returns
    -------
    GHKResult

    Notes
    -----
    mM are treated as mmol/kg (molar ~ molal) for gamma.

    Examples
    --------
    >>> r = ghk_potential({"K+": 140, "Na+": 15, "Cl-": 155}, {"K+": 5, "Na+": 145, "Cl-": 150},
    ...                   permeabilities={"K+": 1, "Na+": 0.04}, temperature_c=37,
    ...                   activity_model="ideal")
    >>> round(float(r), 2)
    -68.59
    """
    _act.check_model(activity_model, "activity_model", where="ghk_potential")
    check_choice(method, ("auto", "quadratic", "brentq"), what="method", where="ghk_potential")
    check_choice(zero, _ZERO_CHOICES, what="zero", where="ghk_potential")
    t = check_temperature_c(temperature_c, where="ghk_potential")
    if not isinstance(permeabilities, Mapping) or not permeabilities:
        raise ParameterError(message("permeabilities", permeabilities, "not a non-empty mapping",
                                     "give a mapping ion -> permeability (cm/s)", where="ghk_potential"))
    perm: dict[str, float] = {}
    for name, p in permeabilities.items():
        canon = canonical_ion_name(name)
        pv = check_nonnegative(p, what=f"permeabilities[{name!r}]", where="ghk_potential")
        if canon in perm:
            raise ParameterError(f"permeabilities: {name!r} and another key both name {canon!r}.")
        perm[canon] = pv
    if not any(v > 0 for v in perm.values()):
        raise ParameterError("permeabilities: at least one permeability must be > 0.")
    s_in, s_out = _side(inside, "inside"), _side(outside, "outside")
    table = load_ion_table()
    permeant = [i for i, p in perm.items() if p > 0]
    g_in = _gammas(s_in, t, activity_model, [i for i in permeant if s_in.ions_mm.get(i, 0) > 0])[0]
    g_out = _gammas(s_out, t, activity_model, [i for i in permeant if s_out.ions_mm.get(i, 0) > 0])[0]
    a_in = {i: g_in.get(i, 1.0) * s_in.ions_mm.get(i, 0.0) for i in permeant}
    a_out = {i: g_out.get(i, 1.0) * s_out.ions_mm.get(i, 0.0) for i in permeant}
    terms = [(perm[i], table[i].charge, a_in[i], a_out[i]) for i in permeant]
    quadratic_ok = all(abs(z) in (1, 2) for _, z, _, _ in terms)
    if method == "quadratic" and not quadratic_ok:
        raise ParameterError(
            "method='quadratic' needs every permeant charge in {+-1, +-2}; got "
            + ", ".join(f"{i} ({table[i].charge:+d})" for i in permeant) + "."
        )
    use = "quadratic" if (method == "quadratic" or (method == "auto" and quadratic_ok)) else "brentq"
    if use == "quadratic":
        u = _ghk_quadratic(terms, zero)
    else:
        # the one-sided case makes the total current single-signed: no root
        ins = sum(p * (ai if z > 0 else ao) for p, z, ai, ao in terms)
        outs = sum(p * (ao if z > 0 else ai) for p, z, ai, ao in terms)
        if ins <= 0 or outs <= 0:
            if zero == "inf" and (ins > 0 or outs > 0):
                u = math.inf if ins <= 0 else -math.inf
            else:
                raise ParameterError(
                    "The GHK zero-current potential is infinite: every permeant ion is absent "
                    "on one side. Pass zero='inf' to get +/-inf explicitly."
                )
        else:
            u = _ghk_brentq(terms)
    v_mv = u * thermal_voltage_mv(t)
    return GHKResult(v_mv, use, "concentrations" if activity_model == "ideal" else "activities",
                     activity_model, MappingProxyType(dict(perm)), t,
                     MappingProxyType(a_in), MappingProxyType(a_out))


def ghk_current(ion: str, voltage_mv: float, *, inside: Any, outside: Any,
                permeability_cm_s: float, temperature_c: float,
                activity_model: str = _act.DEFAULT_MODEL, area_cm2: float | None = None) -> float:
    """GHK (constant-field) current of one ion at a membrane potential.

    ``I = P z^2 (F^2 V / RT) (a_in - a_out e^(-zFV/RT)) / (1 - e^(-zFV/RT))``

    Parameters
    ----------
    ion : str
    voltage_mv : float
        Membrane potential V_in - V_out, mV.
    inside, outside : Solution, mapping ion -> mM, solutions_db name or recipe path
    permeability_cm_s : float
        Permeability, cm/s (>= 0).
    temperature_c : float
    activity_model : str
        Default ``"truesdell-jones"`` (activities); ``"ideal"`` for concentrations.
    area_cm2 : float, optional
        Membrane area, cm^2.

    Returns
    -------
    float
        Current density in A/cm^2 when *area_cm2* is None, else current in pA.
        Membrane-current convention: outward positive (cation efflux or anion
        influx gives a positive current).

    Notes
    -----
    mM = mol/m^3 = 1e-6 mol/cm^3; for gamma, mM are treated as mmol/kg.

    Examples
    --------
    >>> i = ghk_current("K+", 0.0, inside={"K+": 140, "Cl-": 140}, outside={"K+": 5, "Cl-": 5},
    ...                 permeability_cm_s=1e-6, temperature_c=25, activity_model="ideal")
    >>> i > 0  # K+ leaves the cell at 0 mV: outward
    True
    """
    _act.check_model(activity_model, "activity_model", where="ghk_current")
    t = check_temperature_c(temperature_c, where="ghk_current")
    canon = canonical_ion_name(ion)
    z = load_ion_table()[canon].charge
    v = check_number(voltage_mv, what="voltage_mv", where="ghk_current", unit="mV")
    p = check_nonnegative(permeability_cm_s, what="permeability_cm_s", where="ghk_current", unit="cm/s")
    area = None if area_cm2 is None else check_positive(area_cm2, what="area_cm2", where="ghk_current", unit="cm2")
    s_in, s_out = _side(inside, "inside"), _side(outside, "outside")
    c_in, c_out = s_in.ions_mm.get(canon, 0.0), s_out.ions_mm.get(canon, 0.0)
    g_in = _gammas(s_in, t, activity_model, [canon])[0].get(canon, 1.0) if c_in > 0 else 1.0
    g_out = _gammas(s_out, t, activity_model, [canon])[0].get(canon, 1.0) if c_out > 0 else 1.0
    a_in, a_out = g_in * c_in * 1e-6, g_out * c_out * 1e-6  # mol/cm^3
    u = v * 1e-3 * FARADAY / (GAS_CONSTANT * kelvin(t))
    density = FARADAY * _ghk_term(p, z, a_in, a_out, u)  # A/cm^2
    if area is None:
        return density
    return density * area * 1e12


# --------------------------------------------------------------------------- Donnan
@dataclass(frozen=True)
class DonnanResult:
    """Gibbs-Donnan equilibrium of a compartment holding impermeant charge.

    ``float(result)`` is the Donnan potential in mV.  Returned by
    :func:`donnan_equilibrium`; the fields are also the attributes.

    Parameters
    ----------
    compartment_mm : Mapping[str, float]
        Equilibrium ion concentrations in the compartment, mM (impermeant species excluded).
    bath_mm : Mapping[str, float]
        Equilibrium bath concentrations, mM (unchanged for an infinite bath).
    impermeant_mm : float
        Concentration of the impermeant species in the compartment, mM.
    impermeant_charge : int
        Its charge number.
    donnan_potential_mv : float
        V_compartment - V_bath, mV.
    ratio_r : float
        Donnan ratio r = exp(-F dV / RT): c_comp/c_bath = r^z for every permeant
        ion in ideal solution (r = [K+]c/[K+]b = [Cl-]b/[Cl-]c).
    temperature_c : float
        Temperature, degC.
    activity_model : str
        The activity model used.
    bath_volume_ratio : float
        V_bath / V_compartment (inf for an infinite reservoir).
    permeant : tuple of str
        The ions that cross (canonical names).
    iterations : int
        Activity-coefficient iterations (1 for ideal).
    notes : tuple of str
        Remarks on the result (e.g. that with activities the product rule
        holds for activities, not concentrations).
    """

    compartment_mm: Mapping[str, float]
    bath_mm: Mapping[str, float]
    impermeant_mm: float
    impermeant_charge: int
    donnan_potential_mv: float
    ratio_r: float
    temperature_c: float
    activity_model: str
    bath_volume_ratio: float
    permeant: tuple[str, ...]
    iterations: int = 1
    notes: tuple[str, ...] = field(default=())

    def __float__(self) -> float:
        return float(self.donnan_potential_mv)

    def as_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict.

        Returns
        -------
        dict
            Field name -> value; mappings become plain dicts.
        """
        return _fields_as_dict(self)


def _plain_ions(obj: Any, label: str) -> dict[str, float]:
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return canonical_ions(obj, label)
    return dict(_side(obj, label).ions_mm)


def donnan_equilibrium(bath: Any, *, impermeant_mm: float, impermeant_charge: int,
                       temperature_c: float, compartment: Any = None,
                       bath_volume_ratio: float | str = "infinite",
                       permeant: Iterable[str] | None = None,
                       activity_model: str = _act.DEFAULT_MODEL) -> DonnanResult:
    """Gibbs-Donnan equilibrium between a compartment with impermeant charge and a bath.

    What it is for: the redistribution of permeant ions caused by charge that
    cannot cross a membrane, e.g. a perforated-patch pipette (the perforation
    passes small monovalent ions, not gluconate or proteins), impermeant
    anions in a pipette, a cell's fixed charge.  It is **not** a model of the
    resting potential (no pumps, no permeability ratios: every permeant ion
    reaches electrochemical equilibrium).

    Constraints: the compartment volume is fixed (no water movement, so the
    osmotic imbalance is not relaxed); the bath is an infinite reservoir
    (``bath_volume_ratio="infinite"``, its composition fixed) or a finite
    volume ``bath_volume_ratio = V_bath / V_compartment`` that exchanges ions
    with the compartment (mass conserved).  At equilibrium every permeant ion
    obeys ``a_comp / a_bath = r^z`` and both compartments are electroneutral.

    Parameters
    ----------
    bath : Solution, mapping ion -> mM, solutions_db name or recipe path
        Bath composition (initial, for a finite bath).
    impermeant_mm : float
        Concentration of the impermeant species in the compartment, mM (> 0).
    impermeant_charge : int
        Its charge number (nonzero; e.g. -1 for gluconate, -2 for ATP-like, ...).
    temperature_c : float
    compartment : mapping ion -> mM, optional
        Initial permeant (and other) ions of the compartment, without the
        impermeant species.  Required for a finite bath (mass balance); the
        compartment (with the impermeant species) must then be electroneutral.
    bath_volume_ratio : float or "infinite"
    permeant : iterable of str, optional
        Ions that cross the membrane (default: every ion in bath and
        compartment).  Others stay where they are and count as fixed charge.
    activity_model : str
        Default ``"truesdell-jones"``; ``"ideal"`` gives the textbook result
        ([K]c[Cl]c = [K]b[Cl]b).

    Returns
    -------
    DonnanResult

    Raises
    ------
    ElectroneutralityError
        An initial solution is not electroneutral (finite bath).
    ParameterError
        Nothing can balance the fixed charge, bad parameters.
    ConvergenceError
        The activity iteration did not converge.

    Notes
    -----
    With activities, the impermeant species counts in the compartment's ionic
    strength as z^2 c / 2; mM are treated as mmol/kg (molar ~ molal).

    Examples
    --------
    >>> r = donnan_equilibrium({"K+": 150, "Cl-": 150}, impermeant_mm=100, impermeant_charge=-1,
    ...                        temperature_c=25, activity_model="ideal")
    >>> round(r.ratio_r, 6), round(r.donnan_potential_mv, 3)
    (1.387426, -8.413)
    """
    from scipy.optimize import brentq

    _act.check_model(activity_model, "activity_model", where="donnan_equilibrium")
    t = check_temperature_c(temperature_c, where="donnan_equilibrium")
    table = load_ion_table()
    cx = check_concentration(impermeant_mm, what="impermeant_mm", where="donnan_equilibrium")
    zx = check_integer(impermeant_charge, what="impermeant_charge", where="donnan_equilibrium")
    if zx == 0:
        raise ParameterError(message("impermeant_charge", impermeant_charge, "zero",
                                     "a neutral species makes no Donnan potential", where="donnan_equilibrium"))
    if isinstance(bath_volume_ratio, str):
        check_choice(bath_volume_ratio, ("infinite",), what="bath_volume_ratio", where="donnan_equilibrium")
        ratio = math.inf
    else:
        ratio = as_number(bath_volume_ratio)
        if ratio is None or not ratio > 0:
            raise ParameterError(message("bath_volume_ratio", bath_volume_ratio, "neither 'infinite' nor a number > 0",
                                         "give V_bath/V_compartment", where="donnan_equilibrium"))
    bath_ions = _plain_ions(bath, "bath")
    comp_ions = _plain_ions(compartment, "compartment")
    if math.isfinite(ratio) and compartment is None:
        raise ParameterError("A finite bath needs the initial 'compartment' composition (mass balance).")

    def net(ions):
        return sum(table[k].charge * c for k, c in ions.items())

    tol = 1e-9 * max(1.0, sum(bath_ions.values()) + sum(comp_ions.values()) + cx)
    if abs(net(bath_ions)) > max(tol, 1e-6):
        raise ElectroneutralityError(
            f"The bath is not electroneutral: sum z c = {net(bath_ions):+.4g} mM."
        )
    if math.isfinite(ratio) and abs(net(comp_ions) + zx * cx) > max(tol, 1e-6):
        raise ElectroneutralityError(
            "The compartment (with the impermeant species) is not electroneutral: sum z c = "
            f"{net(comp_ions) + zx * cx:+.4g} mM."
        )
    all_ions = list(dict.fromkeys([*comp_ions, *bath_ions]))
    if permeant is None:
        perm = all_ions
    else:
        if isinstance(permeant, str):
            permeant = [permeant]
        perm = list(dict.fromkeys(canonical_ion_name(p) for p in permeant))
        missing = [p for p in perm if p not in all_ions]
        if missing:
            raise ParameterError(f"permeant ions {missing} are in neither bath nor compartment.")
    fixed_comp = {k: c for k, c in comp_ions.items() if k not in perm}
    fixed_bath = {k: c for k, c in bath_ions.items() if k not in perm}
    q_fixed = zx * cx + net(fixed_comp)
    z_of = {i: table[i].charge for i in perm}
    if math.isfinite(ratio):
        total = {i: comp_ions.get(i, 0.0) + ratio * bath_ions.get(i, 0.0) for i in perm}
    else:
        total = {}
    if q_fixed > 0 and not any(z_of[i] < 0 and (total.get(i, 0) or bath_ions.get(i, 0)) > 0 for i in perm):
        raise ParameterError("No permeant anion can balance the positive fixed charge.")
    if q_fixed < 0 and not any(z_of[i] > 0 and (total.get(i, 0) or bath_ions.get(i, 0)) > 0 for i in perm):
        raise ParameterError("No permeant cation can balance the negative fixed charge.")

    def concentrations(s: float, g: Mapping[str, float]) -> tuple[dict, dict]:
        comp, bth = {}, {}
        for i in perm:
            z = z_of[i]
            f = g[i] * math.exp(z * s)  # c_comp / c_bath
            if math.isfinite(ratio):
                cb = total[i] / (f + ratio)
                comp[i], bth[i] = f * cb, cb
            else:
                comp[i], bth[i] = f * bath_ions.get(i, 0.0), bath_ions.get(i, 0.0)
        return comp, bth

    zmax = max((abs(z) for z in z_of.values()), default=1)
    limit = 300.0 / zmax

    def solve(g: Mapping[str, float]) -> float:
        def f(s):
            comp, _ = concentrations(s, g)
            return sum(z_of[i] * c for i, c in comp.items()) + q_fixed

        if q_fixed == 0:
            return 0.0
        lo, hi = -1.0, 1.0
        while f(lo) > 0 and lo > -limit:
            lo *= 2.0
        while f(hi) < 0 and hi < limit:
            hi *= 2.0
        if f(lo) > 0 or f(hi) < 0:
            raise ParameterError("The Donnan equilibrium is out of numerical range "
                                 "(fixed charge far beyond the permeant ions).")
        return brentq(f, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=500)

    g = {i: 1.0 for i in perm}
    s = solve(g)
    iterations = 1
    if activity_model != "ideal":
        for iterations in range(2, 202):
            comp, bth = concentrations(s, g)
            comp_all = {**comp, **fixed_comp}
            bath_all = {**bth, **fixed_bath} if math.isfinite(ratio) else dict(bath_ions)
            i_comp = (0.5 * sum(table[k].charge ** 2 * c for k, c in comp_all.items())
                      + 0.5 * zx * zx * cx) / 1000.0
            i_bath = _act.ionic_strength_mm(bath_all) / 1000.0
            g_new = {}
            for i in perm:
                lc, _ = _act.log10_gamma(z_of[i], i_comp, t, activity_model, ion=i)
                lb, _ = _act.log10_gamma(z_of[i], i_bath, t, activity_model, ion=i)
                g_new[i] = 10.0 ** (lb - lc)  # gamma_bath / gamma_comp
            s_new = solve(g_new)
            change = max(abs(g_new[i] - g[i]) for i in perm) if perm else 0.0
            g, s_old, s = g_new, s, s_new
            if change < 1e-13 and abs(s - s_old) < 1e-13:
                break
        else:
            raise ConvergenceError("Donnan activity iteration did not converge in 200 steps.")
    comp, bth = concentrations(s, g)
    comp_all = {**{k: v for k, v in comp_ions.items()}, **comp}
    for k, v in fixed_comp.items():
        comp_all[k] = v
    bath_all = {**bath_ions, **bth}
    notes = []
    if activity_model != "ideal":
        notes.append("activities: a_comp/a_bath = r^z; the product rule holds for activities, "
                     "not concentrations")
    dv = -thermal_voltage_mv(t) * s
    return DonnanResult(MappingProxyType(comp_all), MappingProxyType(bath_all), cx, zx, dv,
                        math.exp(s), t, activity_model, ratio, tuple(perm), iterations, tuple(notes))
