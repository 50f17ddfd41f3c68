"""Acid-base charge states and metal-ligand speciation (free Ca2+, Mg2+ with chelators).

Two layers:

* **Acid-base charge states** (:func:`protonation_fractions`, :func:`mean_charge`,
  :func:`mean_proton_count`, :func:`proton_count`): the fraction of each protonation form of a
  buffer, chelator or nucleotide at a given pH, temperature and ionic strength. Used by the
  recipe titration in :mod:`ephys_correct.solutions`.
* **Metal-ligand speciation** (:func:`speciate_solution`, :func:`free_calcium`,
  :func:`free_magnesium` and their inverses): mass-action equilibria of Ca2+, Mg2+ (and K+/Na+
  where constants exist) with EGTA, BAPTA, EDTA, ATP, ADP, GTP, phosphocreatine, citrate and
  phosphate at a pH fixed by the experimenter's pH meter.

Conventions
-----------
* **pH** is ``-log10 a(H+)``, the activity a calibrated pH meter reads. Free [H+] is
  ``10**-pH / gamma(H+)`` with gamma from the activity model.
* **Constants** (``data/ligands.toml``) are association constants stored at the ionic strength
  and temperature of measurement, with the reaction enthalpy where one is published. Each is
  taken to I = 0 at its own temperature with the chosen activity model (the same model that is
  then used at the solution's ionic strength, so the correction is internally consistent), moved
  to the working temperature with the van 't Hoff equation (constant Delta H), and brought back
  to the solution's ionic strength (Bers, Patton & Nuccitelli 1994, 2010).
* **Concentrations** are molar (mM at the edges); the activity model works on the molal scale,
  and molar ~ molal is assumed (error < 1 % below 0.2 M at 20-37 degC). Ionic strengths of the
  stored constants are taken as given (mol/L).
* Neutral species are given gamma = 1 (no salting-out term).

Species names follow the ion table (``HEPES-``, ``HEGTA3-``, ``MgATP2-``...); neutral forms use
plain names (``HEPES``, ``H4BAPTA``, ``MgPCr``, ``CO2``). Every number's source is in
``data/sources_speciation.toml``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from ephys_correct.chemistry._speciation_solver import (
    METAL_CHARGES,
    ActivityCache,
    EquilibriumSystem,
    load_ligand_table,
    log_k0,
)
from ephys_correct.errors import (
    ConvergenceError,
    ModelValidityWarning,
    ParameterError,
)
from ephys_correct.chemistry._roots import secant_root
from ephys_correct.chemistry.acidbase import (
    _check_conditions, _check_ionic_strength_mm, _check_ph, _check_temperature, get_ligand)


#: the toolkit-wide default activity model
from ephys_correct.chemistry.activity import DEFAULT_MODEL as DEFAULT_ACTIVITY_MODEL  # noqa: E402
from ephys_correct.chemistry.ions import canonical_ion_name
from ephys_correct.chemistry.ions import get_ion
from ephys_correct.chemistry.solutions_db import as_solution
from ephys_correct.chemistry.ions import load_ion_table
from ephys_correct.chemistry.compounds import get_compound
from ephys_correct._validate import check_concentration, check_temperature_c, message


# ------------------------------------------------------------------------ metal speciation
#: relative tolerance of the mass-balance check on every result
MASS_BALANCE_RTOL = 1e-9
_BINDING_METALS = ("Ca2+", "Mg2+")


@dataclass(frozen=True)
class SpeciationResult:
    """Equilibrium composition of metals, ligands and their complexes.

    Attributes
    ----------
    species_mm : Mapping[str, float]
        Every modelled species (free metals, every ligand form, every complex), mM.
    free_mm : Mapping[str, float]
        Free metal ions (``"Ca2+"``, ``"Mg2+"``...), mM.
    totals_mm : Mapping[str, float]
        Totals of every ligand (by ligand name) and metal, mM.
    pH, temperature_c, ionic_strength_mm : float
        Conditions; the ionic strength is the one the constants were corrected to.
    activity_model : str
    h_free_mm : float
        Free [H+] = 10**-pH / gamma(H+), mM.
    iterations : int
        Newton iterations of the last solve.
    mass_balance_max_rel_error : float
        Largest relative mass-balance residual over all components (checked <= 1e-9).
    constants : tuple of dict
        Every stored constant used: equation, stored log K, its I and T, enthalpy, source,
        locator, and ``log_k0_at_t`` (thermodynamic, at the working temperature).
    activity : Mapping[str, dict]
        Info dict returned by the activity model for each charged species.
    notes : tuple of str
        Assumptions and warnings that apply to this result.
    """

    species_mm: Mapping[str, float]
    free_mm: Mapping[str, float]
    totals_mm: Mapping[str, float]
    pH: float
    temperature_c: float
    ionic_strength_mm: float
    activity_model: str
    h_free_mm: float
    iterations: int
    mass_balance_max_rel_error: float
    constants: tuple[dict, ...]
    activity: Mapping[str, dict]
    notes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict provenance record (JSON-friendly)."""
        return {
            "pH": self.pH,
            "temperature_c": self.temperature_c,
            "ionic_strength_mm": self.ionic_strength_mm,
            "activity_model": self.activity_model,
            "h_free_mm": self.h_free_mm,
            "totals_mm": dict(self.totals_mm),
            "free_mm": dict(self.free_mm),
            "iterations": self.iterations,
            "mass_balance_max_rel_error": self.mass_balance_max_rel_error,
            "constants": [dict(c) for c in self.constants],
            "activity": {k: dict(v) for k, v in self.activity.items()},
            "notes": list(self.notes),
        }


def _ligand_totals(ligands_mm: Mapping[str, Any] | None, where: str, what: str = "ligands_mm") -> dict[str, float]:
    if ligands_mm is None:
        return {}
    if not isinstance(ligands_mm, Mapping):
        raise ParameterError(
            f"Invalid value for the {what!r} parameter: got {type(ligands_mm).__name__}; "
            "expected a mapping ligand name -> total mM."
        )
    out: dict[str, float] = {}
    for k, v in ligands_mm.items():
        lig = get_ligand(k)
        out[lig.name] = out.get(lig.name, 0.0) + check_concentration(v, what=f"{what}[{k!r}]", where=where)
    return out


def _background(background_ions_mm: Mapping[str, Any] | None, where: str) -> dict[str, float]:
    if background_ions_mm is None:
        return {}
    out: dict[str, float] = {}
    for k, v in background_ions_mm.items():
        name = canonical_ion_name(k)
        if name in _BINDING_METALS or load_ligand_table().find_species(name) is not None:
            raise ParameterError(
                f"Invalid entry in 'background_ions_mm': {k!r} takes part in the equilibria; "
                "give metals as total_ca_mm/total_mg_mm and ligands in ligands_mm."
            )
        out[name] = out.get(name, 0.0) + check_concentration(v, what=f"background_ions_mm[{k!r}]", where=where)
    return out


def _ionic_strength_of(species_mm: Mapping[str, float], charges: Mapping[str, int],
                       background_mm: Mapping[str, float]) -> float:
    i = 0.5 * sum(charges[k] ** 2 * c for k, c in species_mm.items())
    i += 0.5 * sum(get_ion(k).charge ** 2 * c for k, c in background_mm.items())
    return i


def speciate(
    *,
    ligands_mm: Mapping[str, float],
    metals_mm: Mapping[str, float],
    pH: float,
    temperature_c: float,
    ionic_strength_mm: float | None = None,
    background_ions_mm: Mapping[str, float] | None = None,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
) -> SpeciationResult:
    """Solve the metal-ligand-proton equilibria for given totals.

    Parameters
    ----------
    ligands_mm : Mapping[str, float]
        Ligand name (or alias) -> total mM, whatever its protonation form or complexation.
    metals_mm : Mapping[str, float]
        ``"Ca2+"``, ``"Mg2+"`` (and ``"K+"``, ``"Na+"``, which only bind where a constant
        exists) -> total mM.
    pH : float
        -log10 a(H+) (pH-meter reading) at *temperature_c*; held fixed (the experimenter
        titrates to it).
    temperature_c : float
        degC, no default.
    ionic_strength_mm : float, optional
        Ionic strength the constants are corrected to. When omitted it is computed from the
        equilibrium composition plus *background_ions_mm* (iterated to self-consistency); one of
        the two must be given (as MaxChelator asks for the ionic strength explicitly).
    background_ions_mm : Mapping[str, float], optional
        Every other ion of the solution (e.g. ``{"K+": 140, "Cl-": 140}``), mM: contributes to the
        ionic strength; K+ and Na+ also bind where a present ligand has a constant for them
        (ATP, ADP, GTP), exactly as if given in *metals_mm*. Counter-ions of the metal salts and
        ligand salts are *not* added automatically.
    activity_model : str, default "truesdell-jones"

    Returns
    -------
    SpeciationResult

    Raises
    ------
    ParameterError
        Neither or both of *ionic_strength_mm* and *background_ions_mm*; bad pH/temperature.
    ConcentrationError
        Negative or non-finite amounts.
    ConvergenceError
        The solver did not converge, or the mass balance is off by more than 1e-9 (relative).

    Warns
    -----
    ModelValidityWarning
        A Ca2+/Mg2+ + ligand pair present without a stored constant (the binding is then not
        modelled); pH or temperature outside the validity range.

    Notes
    -----
    Complexes are 1:1 (ML and MHL). Activity coefficients from the activity model on the molal
    scale, molar ~ molal assumed; neutral species gamma = 1. Free H+ and OH- are not added to the
    ionic strength (< 1e-4 mM at pH 5-9).
    """
    return _speciate(*_speciate_inputs(ligands_mm, metals_mm, pH, temperature_c, ionic_strength_mm,
                                       background_ions_mm, "speciate"), activity_model)


def _speciate_inputs(ligands_mm, metals_mm, pH, temperature_c, ionic_strength_mm, background_ions_mm,
                     where: str) -> tuple[dict[str, float], dict[str, float], float, float, float | None,
                                          dict[str, float]]:
    """The arguments of :func:`speciate`, checked once: (ligand totals, metal totals, pH, degC,
    fixed ionic strength or None, background ions)."""
    table = load_ligand_table()
    lig_tot = _ligand_totals(ligands_mm, where)
    met_tot: dict[str, float] = {}
    if not isinstance(metals_mm, Mapping):
        raise ParameterError(f"Invalid value for the 'metals_mm' parameter: got {metals_mm!r}; expected a mapping.")

    for k, v in metals_mm.items():
        name = canonical_ion_name(k)
        if name not in METAL_CHARGES:
            raise ParameterError(
                f"Invalid key in 'metals_mm': {k!r}; supported metals are {', '.join(METAL_CHARGES)}."
            )
        met_tot[name] = met_tot.get(name, 0.0) + check_concentration(v, what=f"metals_mm[{k!r}]", where=where)
    if (ionic_strength_mm is None) == (background_ions_mm is None):
        raise ParameterError(
            "Give exactly one of 'ionic_strength_mm' (the ionic strength the constants are "
            "corrected to, mM) or 'background_ions_mm' (the other ions of the solution, from which "
            f"the ionic strength is computed); got ionic_strength_mm={ionic_strength_mm!r}, "
            f"background_ions_mm={background_ions_mm!r}."
        )
    ph = _check_ph(pH, where=where)
    for lig in lig_tot:
        if lig_tot[lig] > 0:
            _check_ph(ph, warn_for=table[lig], stacklevel=4)
    t = _check_temperature(temperature_c, where, stacklevel=4)
    fixed_i = None if ionic_strength_mm is None else _check_ionic_strength_mm(ionic_strength_mm, where=where)
    return lig_tot, met_tot, ph, t, fixed_i, _background(background_ions_mm, where)


def _speciate(lig_tot: Mapping[str, float], met_tot: Mapping[str, float], ph: float, t: float,
              fixed_i: float | None, background: Mapping[str, float], activity_model: str) -> SpeciationResult:
    """The kernel of :func:`speciate` on checked values (from :func:`_speciate_inputs`)."""
    table = load_ligand_table()
    met_tot, background = dict(met_tot), dict(background)
    lg = ActivityCache(activity_model, "speciate")

    # metals that bind nothing present stay free; K+/Na+ enter only where a constant exists
    binding = {m for lig in lig_tot if lig_tot[lig] > 0 for m in table[lig].metals}
    for m in [m for m in background if m in binding and m in METAL_CHARGES]:
        met_tot[m] = met_tot.get(m, 0.0) + background.pop(m)  # K+/Na+ bind ATP, ADP, GTP
    active_metals = {m: c for m, c in met_tot.items() if c > 0 and (m in binding or m in _BINDING_METALS)}
    passive_metals = {m: c for m, c in met_tot.items() if m not in active_metals and c > 0}
    notes = []
    missing = [
        f"{m} + {lig}"
        for lig, c in lig_tot.items()
        if c > 0 and table[lig].binds_metals
        for m in _BINDING_METALS
        if met_tot.get(m, 0.0) > 0 and m not in table[lig].metals
    ]
    if missing:
        msg = (f"no stored constant for {', '.join(missing)}: that binding is not modelled and the "
               "free metal is overestimated.")
        notes.append(msg)
        warnings.warn(msg, ModelValidityWarning, stacklevel=3)
    for lig, c in lig_tot.items():
        if c > 0 and not table[lig].binds_metals and table[lig].metal_note:
            notes.append(f"{lig}: {table[lig].metal_note}.")

    system = EquilibriumSystem(
        {k: v / 1000.0 for k, v in lig_tot.items()},
        {k: v / 1000.0 for k, v in active_metals.items()},
        pH=ph, temperature_c=t, lg=lg, table=table,
    )
    charges = {row.name: row.charge for row in system.rows}
    charges.update({m: METAL_CHARGES[m] for m in passive_metals})

    def composition(i_m: float, guess):
        x, c, its = system.solve(i_m, guess)
        sp = {row.name: float(ci) * 1000.0 for row, ci in zip(system.rows, c)}
        for m, cm in passive_metals.items():
            sp[m] = cm
        return x, sp, its

    if fixed_i is not None:
        i_mm = fixed_i
        x, sp_mm, its = composition(i_mm / 1000.0, None)
    else:
        i_mm = _ionic_strength_of({**{r.name: 0.0 for r in system.rows}, **passive_metals}, charges, background)
        i_mm += 0.5 * sum(_total_charge_sq(table, lig) * c for lig, c in lig_tot.items())
        i_mm += 0.5 * sum(METAL_CHARGES[m] ** 2 * c for m, c in active_metals.items())
        x = None
        for _ in range(200):
            x, sp_mm, its = composition(i_mm / 1000.0, x)
            new = _ionic_strength_of(sp_mm, charges, background)
            if abs(new - i_mm) <= 1e-12 * max(new, 1e-9):
                i_mm = new
                break
            i_mm = new
        else:
            raise ConvergenceError(
                f"speciation: the ionic strength did not converge (last {i_mm} mM)."
            )
        x, sp_mm, its = composition(i_mm / 1000.0, x)

    # mass balance check (relative, every component)
    worst = 0.0
    for comp, total in zip(system.components, system.totals):
        got = sum(c for row, c in zip(system.rows, sp_mm.values())
                  if comp in (row.ligand, row.metal)) / 1000.0
        err = abs(got - total) / total
        worst = max(worst, err)
        if not err <= MASS_BALANCE_RTOL:
            raise ConvergenceError(
                f"speciation: mass balance of {comp!r} is off by {err:.3g} (relative; limit "
                f"{MASS_BALANCE_RTOL}); total {total * 1000} mM, species sum {got * 1000} mM."
            )
    plg = system.pinned(i_mm / 1000.0)
    gamma_h = plg("H+", 1, i_mm / 1000.0, t)
    used = []
    for rx in system.reactions:
        d = rx.as_dict()
        d["log_k0_at_t"] = float(log_k0(rx, t, table, plg))
        used.append(d)
    if fixed_i is not None:
        notes.append("ionic strength fixed by the caller (ionic_strength_mm).")
    notes.append("neutral species: activity coefficient 1; molar ~ molal assumed.")
    return SpeciationResult(
        species_mm=MappingProxyType(sp_mm),
        free_mm=MappingProxyType({m: sp_mm[m] for m in met_tot if m in sp_mm}),
        totals_mm=MappingProxyType({**lig_tot, **met_tot}),
        pH=ph,
        temperature_c=t,
        ionic_strength_mm=i_mm,
        activity_model=activity_model,
        h_free_mm=float(1000.0 * 10.0 ** (-ph - gamma_h)),
        iterations=its,
        mass_balance_max_rel_error=float(worst),
        constants=tuple(used),
        activity=MappingProxyType(dict(lg.infos)),
        notes=tuple(notes),
    )


def _total_charge_sq(table, lig: str) -> int:
    """z^2 of the ligand's base form (starting guess for the ionic strength only)."""
    ligand = table[lig]
    return ligand.species_named(ligand.base).charge ** 2


def _resolve_solution(solution: Any):
    return as_solution(solution)


def speciate_solution(
    solution: Any,
    *,
    pH: float | None = None,
    temperature_c: float,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
):
    """Free ions plus complexes of a solution whose entries are totals.

    Parameters
    ----------
    solution : Solution or anything :func:`ephys_correct.solutions.as_solution` accepts
        Its ``ions_mm`` / ``neutrals_mm`` are read as totals: every ligand form or complex
        (``"ATP4-"``, ``"MgATP2-"``, ``"H2EGTA2-"``, ``"HEPES"``...) counts toward its ligand's
        total (and a complex toward its metal's), ``"Ca2+"``/``"Mg2+"`` toward the metal totals.
        All other ions are spectators: kept unchanged and counted in the ionic strength.
    pH : float, optional
        pH-meter reading at *temperature_c*; defaults to ``solution.ph``.
    temperature_c : float
        degC, no default.
    activity_model : str, default "truesdell-jones"

    Returns
    -------
    Solution
        A copy (``dataclasses.replace``) whose ``ions_mm`` hold free ions, every charged ligand
        form and complex, and whose ``neutrals_mm`` hold the neutral forms/complexes plus the
        other neutral solutes; ``speciation`` holds the provenance (:meth:`SpeciationResult.as_dict`
        plus the charge balance before/after and the protons released at fixed pH).

    Raises
    ------
    ParameterError
        No pH given and ``solution.ph`` is None.
    ConvergenceError
        See :func:`speciate`.

    Warns
    -----
    ModelValidityWarning
        The pH was set at another temperature than *temperature_c* (it is used unchanged);
        see also :func:`speciate`.

    Notes
    -----
    The ionic strength is iterated to self-consistency over the speciated composition. Totals of
    every metal and ligand are conserved to 1e-9 (relative). The pH is held fixed, so protons
    released on complexation (e.g. Mg2+ + HATP3- -> MgATP2- + H+) leave the balance: the charge
    balance changes by ``-protons_released_mm`` and a recipe titrated without speciation is short
    of that much base; both numbers are in the provenance.
    """
    import dataclasses


    sol = _resolve_solution(solution)
    if pH is None:
        if sol.ph is None:
            raise ParameterError(
                f"speciate_solution: no pH given and solution {sol.name!r} has no pH "
                "(pass pH=, the pH-meter reading at temperature_c)."
            )
        pH = sol.ph
        t_ph = getattr(sol, "ph_temperature_c", None)
        if t_ph is not None and abs(float(t_ph) - float(temperature_c)) > 0.5:
            warnings.warn(
                f"solution {sol.name!r}: its pH {sol.ph} was set at {t_ph} degC and is used "
                f"unchanged at {temperature_c} degC; pass pH= for the pH at that temperature.",
                ModelValidityWarning,
                stacklevel=2,
            )
    table = load_ligand_table()
    ion_table = load_ion_table()
    lig_tot: dict[str, float] = {}
    met_tot: dict[str, float] = {}
    spectators: dict[str, float] = {}
    other_neutrals: dict[str, float] = {}
    h_in = 0.0
    for kind, mapping in (("ion", sol.ions_mm), ("neutral", sol.neutrals_mm)):
        for name, c in mapping.items():
            c = check_concentration(c, what=f"{kind} {name!r}", where=f"speciate_solution: solution {sol.name!r}")
            sp = table.find_species(name)
            if sp is not None:
                lig_tot[sp.ligand] = lig_tot.get(sp.ligand, 0.0) + c
                h_in += sp.h * c
                if sp.metal is not None:
                    met_tot[sp.metal] = met_tot.get(sp.metal, 0.0) + c
            elif kind == "ion" and ion_table.canonical(name) in METAL_CHARGES:
                m = ion_table.canonical(name)
                met_tot[m] = met_tot.get(m, 0.0) + c
            elif kind == "ion":
                spectators[name] = spectators.get(name, 0.0) + c
            else:
                other_neutrals[name] = other_neutrals.get(name, 0.0) + c
    # K+ / Na+ take part only where a present ligand has a constant for them
    binding = {m for lig, c in lig_tot.items() if c > 0 for m in table[lig].metals}
    for m in list(met_tot):
        if m not in _BINDING_METALS and m not in binding:
            spectators[m] = spectators.get(m, 0.0) + met_tot.pop(m)
    res = speciate(
        ligands_mm=lig_tot,
        metals_mm=met_tot,
        pH=pH,
        temperature_c=temperature_c,
        background_ions_mm=spectators,
        activity_model=activity_model,
    )
    ions = dict(spectators)
    neutrals = dict(other_neutrals)
    h_out = 0.0
    for name, c in res.species_mm.items():
        sp = table.find_species(name)
        if sp is not None:
            h_out += sp.h * c
            charge = sp.charge
        else:
            charge = METAL_CHARGES[name]
        if charge == 0:
            neutrals[name] = neutrals.get(name, 0.0) + c
        elif c > 0:
            ions[name] = ions.get(name, 0.0) + c

    def net(m: Mapping[str, float]) -> float:
        return sum(ion_table[k].charge * v for k, v in m.items())

    record = res.as_dict()
    record.update(
        {
            "charge_balance_in_meq": net(sol.ions_mm),
            "charge_balance_out_meq": net(ions),
            "protons_released_mm": h_in - h_out,
            "input": {"ions_mm": dict(sol.ions_mm), "neutrals_mm": dict(sol.neutrals_mm)},
        }
    )
    return dataclasses.replace(
        sol,
        ions_mm=ions,
        neutrals_mm=neutrals,
        speciation=MappingProxyType(record),
        derived_from=sol.derive("speciate", pH=float(pH), temperature_c=float(temperature_c),
                                activity_model=str(activity_model)),
    )


# ---------------------------------------------------------------------- planning helpers
def _free_inputs(metal: str, where: str, total_ca_mm: Any, total_mg_mm: Any, ligands_mm, pH, temperature_c,
                 ionic_strength_mm, background_ions_mm) -> tuple:
    """Checked inputs of :func:`_speciate` for :func:`free_calcium` and its kin (*metal*'s total first)."""
    given = {"Ca2+": ("total_ca_mm", total_ca_mm), "Mg2+": ("total_mg_mm", total_mg_mm)}
    order = (metal, "Mg2+" if metal == "Ca2+" else "Ca2+")
    totals = {m: check_concentration(given[m][1], what=given[m][0], where=where) for m in order}
    return _speciate_inputs(ligands_mm, totals, pH, temperature_c, ionic_strength_mm, background_ions_mm, where)


def _free(metal: str, where: str, total_ca_mm: Any, total_mg_mm: Any, *, activity_model: str, **conditions) -> float:
    """Free *metal* (mM) of :func:`free_calcium` / :func:`free_magnesium`."""
    inputs = _free_inputs(metal, where, total_ca_mm, total_mg_mm, **conditions)
    return float(_speciate(*inputs, activity_model).free_mm.get(metal, 0.0))


def free_calcium(
    *,
    total_ca_mm: float,
    ligands_mm: Mapping[str, float],
    pH: float,
    temperature_c: float,
    total_mg_mm: float = 0.0,
    ionic_strength_mm: float | None = None,
    background_ions_mm: Mapping[str, float] | None = None,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
) -> float:
    """Free [Ca2+] (mM) for given totals, as MaxChelator computes it.

    Parameters
    ----------
    total_ca_mm : float
        Total calcium, mM.
    ligands_mm : Mapping[str, float]
        Ligand name -> total mM (e.g. ``{"EGTA": 10, "ATP": 4}``).
    pH : float
        pH-meter reading at *temperature_c*.
    temperature_c : float
        degC, no default.
    total_mg_mm : float, default 0
        Total magnesium, mM (competes for the ligands).
    ionic_strength_mm, background_ions_mm
        Exactly one is required (see :func:`speciate`): the ionic strength in mM, or the other
        ions of the solution from which it is computed.
    activity_model : str, default "truesdell-jones"

    Returns
    -------
    float
        Free Ca2+ concentration, mM (multiply by 1e6 for nM).

    Examples
    --------
    >>> ca = free_calcium(total_ca_mm=5.0, ligands_mm={"EGTA": 10.0}, pH=7.2,
    ...                   temperature_c=22.0, ionic_strength_mm=150.0)
    >>> 100e-6 < ca < 250e-6   # ~150 nM
    True
    """
    return _free("Ca2+", "free_calcium", total_ca_mm, total_mg_mm, ligands_mm=ligands_mm, pH=pH,
                 temperature_c=temperature_c, ionic_strength_mm=ionic_strength_mm,
                 background_ions_mm=background_ions_mm, activity_model=activity_model)


def free_magnesium(
    *,
    total_mg_mm: float,
    ligands_mm: Mapping[str, float],
    pH: float,
    temperature_c: float,
    total_ca_mm: float = 0.0,
    ionic_strength_mm: float | None = None,
    background_ions_mm: Mapping[str, float] | None = None,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
) -> float:
    """Free [Mg2+] (mM) for given totals (see :func:`free_calcium`).

    Examples
    --------
    >>> mg = free_magnesium(total_mg_mm=4.0, ligands_mm={"ATP": 4.0}, pH=7.3,
    ...                     temperature_c=22.0, background_ions_mm={"K+": 140, "Cl-": 140})
    >>> 0.5 < mg < 0.75   # K+ competes with Mg2+ for ATP4-: pass it (metals_mm or background)
    True
    """
    return _free("Mg2+", "free_magnesium", total_ca_mm, total_mg_mm, ligands_mm=ligands_mm, pH=pH,
                 temperature_c=temperature_c, ionic_strength_mm=ionic_strength_mm,
                 background_ions_mm=background_ions_mm, activity_model=activity_model)


def _inverse(metal: str, target: float, target_name: str, where: str, other_total: Any, *, activity_model: str,
             **conditions: Any) -> float:
    from scipy.optimize import brentq

    t = check_concentration(target, what=target_name, where=where)
    if t <= 0:
        raise ParameterError(message(target_name, target, "not > 0", "give the free concentration wanted (mM)",
                                     where=where))
    # checked once; the solver then varies the metal's total in the checked inputs
    ca, mg = (0.0, other_total) if metal == "Ca2+" else (other_total, 0.0)
    lig_tot, met_tot, *rest = _free_inputs(metal, where, ca, mg, **conditions)
    capacity = sum(lig_tot.values())

    def f(total):
        met = dict(met_tot)
        met[metal] = 0.0 + total
        return float(_speciate(lig_tot, met, *rest, activity_model).free_mm.get(metal, 0.0)) - t

    lo, hi = t, t + capacity + t * 1e-6
    flo = f(lo)
    if flo >= 0:
        return lo  # no binding at all: total = free
    fhi = f(hi)
    if fhi < 0:  # cannot happen for 1:1 complexes; guard against data errors
        raise ConvergenceError(f"{target_name}: could not bracket the total (free at {hi} mM is {fhi + t} mM).")
    return float(brentq(f, lo, hi, xtol=1e-15, rtol=1e-13, maxiter=500))


def total_calcium_for_free(
    target_free_ca_mm: float,
    *,
    ligands_mm: Mapping[str, float],
    pH: float,
    temperature_c: float,
    total_mg_mm: float = 0.0,
    ionic_strength_mm: float | None = None,
    background_ions_mm: Mapping[str, float] | None = None,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
) -> float:
    """Total calcium (mM) to add for a target free [Ca2+] (inverse of :func:`free_calcium`).

    Solved with :func:`scipy.optimize.brentq` between the target (no binding) and the target plus
    the total ligand capacity (all complexes are 1:1).
    """
    return _inverse("Ca2+", target_free_ca_mm, "target_free_ca_mm", "total_calcium_for_free", total_mg_mm,
                    ligands_mm=ligands_mm, pH=pH, temperature_c=temperature_c, ionic_strength_mm=ionic_strength_mm,
                    background_ions_mm=background_ions_mm, activity_model=activity_model)


def total_magnesium_for_free(
    target_free_mg_mm: float,
    *,
    ligands_mm: Mapping[str, float],
    pH: float,
    temperature_c: float,
    total_ca_mm: float = 0.0,
    ionic_strength_mm: float | None = None,
    background_ions_mm: Mapping[str, float] | None = None,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
) -> float:
    """Total magnesium (mM) to add for a target free [Mg2+] (inverse of :func:`free_magnesium`)."""
    return _inverse("Mg2+", target_free_mg_mm, "target_free_mg_mm", "total_magnesium_for_free", total_ca_mm,
                    ligands_mm=ligands_mm, pH=pH, temperature_c=temperature_c, ionic_strength_mm=ionic_strength_mm,
                    background_ions_mm=background_ions_mm, activity_model=activity_model)


def apparent_kd(
    metal: str,
    ligand: str,
    *,
    pH: float,
    temperature_c: float,
    ionic_strength_mm: float,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
) -> float:
    """Apparent dissociation constant K'd (mM) of a metal with a ligand at pH, T and I.

    ``K'd = [M2+] [L'] / [ML']``, where [M2+] is the free metal concentration, [L'] the sum of the
    metal-free forms and [ML'] the sum of the complexes (ML and MHL) with that metal -- the
    quantity MaxChelator and calibration-kit tables report.

    Examples
    --------
    >>> kd = apparent_kd("Ca2+", "EGTA", pH=7.2, temperature_c=20.0, ionic_strength_mm=100.0)
    >>> 100e-6 < kd < 250e-6   # ~150 nM
    True
    """

    lig = get_ligand(ligand)
    m = canonical_ion_name(metal)
    if m not in lig.metals:
        raise ParameterError(
            f"Invalid value for the 'metal' parameter: no stored constant for {m!r} with {lig.name}; "
            f"known metals for {lig.name}: {', '.join(lig.metals) or 'none'}."
        )
    ph, t, i_mm = _check_conditions(pH, temperature_c, ionic_strength_mm, where="apparent_kd", ligand=lig)
    system = EquilibriumSystem({lig.name: 1.0}, {m: 1.0}, pH=ph, temperature_c=t,
                               lg=ActivityCache(activity_model, "apparent_kd"), table=load_ligand_table())
    lk = system.conditional_log_k(i_mm / 1000.0)
    top = max(lk)
    bound = sum(10.0 ** (v - top) for row, v in zip(system.rows, lk) if row.ligand and row.metal == m)
    free = sum(10.0 ** (v - top) for row, v in zip(system.rows, lk) if row.ligand and row.metal is None)
    return float(1000.0 * free / bound)


def free_ion_solution(solution: Any, *, temperature_c: float,
                      activity_model: str = DEFAULT_ACTIVITY_MODEL,
                      pH_at_recording: float | None = None):
    """The solution as free ions + complexes at *temperature_c*: speciated once, never twice.

    The switch behind ``free_ions=True`` (the default) in the LJP, reversal-potential,
    correction, driving-force and planning functions.

    Parameters
    ----------
    solution : Solution, str, path or mapping
        Anything :func:`~ephys_correct.chemistry.solutions_db.as_solution` accepts.
    temperature_c : float
        The temperature at which the solution is used (recording or zeroing), degC.
    activity_model : str
        Activity model of the speciation.
    pH_at_recording : float, optional
        A pH measured at *temperature_c* (pH-meter reading). Without it the pH at
        *temperature_c* is computed from the recipe (:func:`ph_at_temperature`).

    Returns
    -------
    Solution
        Speciated and re-titrated (:func:`retitrate_after_binding`). Its ``speciation`` record
        holds ``recipe_ph``, ``recipe_ph_temperature_c``, ``ph_used`` and ``ph_source``.
        A solution that is already speciated, or in which no metal meets a ligand that binds
        it and no pH is given, is returned unchanged.

    Raises
    ------
    ParameterError
        A metal and a ligand that binds it are present but no pH is known.

    Notes
    -----
    Results are cached per (solution identity, temperature, pH, activity model).
    """
    sol = as_solution(solution)
    if sol.speciation is not None:
        return sol
    t = check_temperature_c(temperature_c, where="free_ion_solution")  # the constants' range: where they are used
    names = set(sol.ions_mm) | set(sol.neutrals_mm)
    if not any(_is_ligand_species(n) for n in names):
        return sol
    if sol.ph is None and pH_at_recording is None:
        if not _binds_metal(sol):
            return sol  # protonation forms as given; nothing binds, nothing to speciate
        raise ParameterError(
            f"free ions (the default) need the pH of solution {sol.name!r} (its recipe has no [ph]) "
            "because it holds a metal and a ligand that binds it: give the pH in the recipe or "
            "pH_at_recording= (CLI --ph), or ask for totals explicitly (free_ions=False, CLI --totals)."
        )
    key = (sol.name, sol.identity_key, tuple(sorted(sol.ions_mm.items())),
           tuple(sorted(sol.neutrals_mm.items())), sol.ph, sol.ph_temperature_c,
           None if sol.titration is None else (sol.titration.titrant, sol.titration.mode),
           t, None if pH_at_recording is None else float(pH_at_recording), activity_model)
    hit = _FREE_CACHE.get(key)
    if hit is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            hit = _free_ion_solution(sol, t, activity_model, pH_at_recording)
        if len(_FREE_CACHE) >= 256:
            _FREE_CACHE.pop(next(iter(_FREE_CACHE)))
        hit = _FREE_CACHE[key] = (hit, tuple(caught))
    out, caught = hit
    for w in caught:  # a cached result warns as a fresh one would
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


#: (solution identity, T, pH, model) -> (speciated solution, warnings)
_FREE_CACHE: dict[tuple, tuple] = {}


def _free_ion_solution(sol, t: float, activity_model: str, measured_ph: float | None):
    import dataclasses

    if measured_ph is not None:
        ph_used = _check_ph(measured_ph, where="free_ion_solution", what="pH_at_recording")
        source = "measured at the recording temperature (pH_at_recording)"
    elif sol.ph_temperature_c is None or abs(float(sol.ph_temperature_c) - t) < 0.05:
        ph_used = float(sol.ph)
        source = ("recipe pH, set at this temperature" if sol.ph_temperature_c is not None
                  else "recipe pH; the temperature at which it was set is not stated (used unchanged)")
    else:
        ph_used = ph_at_temperature(sol, temperature_c=t, activity_model=activity_model)
        source = (f"computed: proton balance of the recipe solved again at {t:g} degC "
                  f"(pKa temperature dependence from the stored enthalpies)")
    out = retitrate_after_binding(sol, speciate_solution(sol, pH=ph_used, temperature_c=t,
                                                         activity_model=activity_model))
    record = dict(out.speciation)
    record.update({"recipe_ph": sol.ph, "recipe_ph_temperature_c": sol.ph_temperature_c,
                   "ph_used": ph_used, "ph_source": source, "ph_temperature_c_used": t})
    return dataclasses.replace(out, speciation=MappingProxyType(record))


def _binds_metal(sol) -> bool:
    table = load_ligand_table()
    ion_table = load_ion_table()
    ligands, metals = set(), set()
    for name in (*sol.ions_mm, *sol.neutrals_mm):
        sp = table.find_species(name)
        if sp is not None:
            ligands.add(sp.ligand)
            if sp.metal is not None:
                return True
        elif name in sol.ions_mm and ion_table.canonical(name) in _BINDING_METALS:
            metals.add(ion_table.canonical(name))
    return any(m in table[lig].metals for lig in ligands for m in metals)


def _bound_protons_mm(speciated) -> float:
    """Protons held by ligand species after speciation (mM)."""
    table = load_ligand_table()
    return float(sum(sp.h * c for name, c in (*speciated.ions_mm.items(), *speciated.neutrals_mm.items())
                     if (sp := table.find_species(name)) is not None))


def ph_at_temperature(solution: Any, *, temperature_c: float,
                      activity_model: str = DEFAULT_ACTIVITY_MODEL) -> float:
    """pH of a recipe at another temperature than the one at which its pH was set.

    Parameters
    ----------
    solution : Solution, str, path or mapping
        A solution with a pH (``solution.ph`` read at ``solution.ph_temperature_c``).
    temperature_c : float
        The temperature of interest, degC.
    activity_model : str

    Returns
    -------
    float
        -log10 a(H+) at *temperature_c*.

    Notes
    -----
    The totals (every ligand, metal and strong ion) and the total count of bound protons are
    those of the solution at its recipe pH and temperature (speciated there, metal binding
    included); the proton balance is then solved again at *temperature_c* with every constant
    moved there by the van 't Hoff equation (stored enthalpies, e.g. HEPES
    dpKa/dT = -0.014 /K). Free H+ and OH- (< 1e-4 mM at pH 5-9) are neglected in the balance.
    An unbuffered solution (no acid-base ligand) keeps its pH.
    """
    sol = as_solution(solution)
    t = _check_temperature(temperature_c, "ph_at_temperature")
    if sol.ph is None:
        raise ParameterError(f"ph_at_temperature: solution {sol.name!r} has no pH.")
    t_set = sol.ph_temperature_c
    if t_set is None or abs(float(t_set) - t) < 1e-9:
        return float(sol.ph)
    names = set(sol.ions_mm) | set(sol.neutrals_mm)
    if not any(_is_ligand_species(n) for n in names):
        return float(sol.ph)
    target = _bound_protons_mm(speciate_solution(sol, pH=sol.ph, temperature_c=float(t_set),
                                                 activity_model=activity_model))

    def excess(ph: float) -> float:
        sp = speciate_solution(sol, pH=ph, temperature_c=t, activity_model=activity_model)
        return _bound_protons_mm(sp) - target

    lo, hi = float(sol.ph) - 1.0, float(sol.ph) + 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelValidityWarning)  # trial pH values only
        root = secant_root(excess, float(sol.ph), lo, hi)
        if root is not None:
            return root
        from scipy.optimize import brentq  # the safeguard: a bracketing solver

        flo, fhi = excess(lo), excess(hi)
        if flo * fhi > 0:
            raise ConvergenceError(
                f"ph_at_temperature: no pH within {lo:g}-{hi:g} balances the protons of "
                f"{sol.name!r} at {t:g} degC.")
        return float(brentq(excess, lo, hi, xtol=1e-9, maxiter=100))


def retitrate_after_binding(original, speciated):
    """Account for protons released by metal binding when the pH was set by titration.

    The speciation holds the pH fixed, so protons released when Mg2+/Ca2+ bind
    (e.g. Ca2+ + H2EGTA2- -> CaEGTA2- + 2 H+) leave a charge deficit.  A recipe
    whose pH was set with a titrant after everything was dissolved contains that
    much more titrant; the titrant's strong ion is adjusted by the deficit and the
    change recorded in ``speciation["titrant_adjustment_mm"]``.  Without a titrant
    the solution is returned as speciated (its charge balance says what is off).
    """
    import dataclasses


    t = original.titration
    if t is None or not t.titrant or t.mode != "target":
        return speciated
    net = speciated.charge_balance_meq()
    if net == 0.0:
        return speciated
    releases = get_compound(t.titrant).releases
    if len(releases) != 1:
        return speciated
    (ion, n), = releases.items()
    delta = -net / (get_ion(ion).charge * n)  # mM of titrant
    ions = dict(speciated.ions_mm)
    ions[ion] = ions.get(ion, 0.0) + n * delta
    if ions[ion] < 0:
        return speciated
    record = dict(speciated.speciation or {})
    record["titrant_adjustment_mm"] = {"titrant": t.titrant, "delta_mm": delta}
    derived = dict(speciated.derived_from or {})
    derived["conditions"] = {**dict(derived.get("conditions", {})),
                             "retitrated_with": t.titrant, "titrant_delta_mm": delta}
    return dataclasses.replace(speciated, ions_mm=ions, speciation=MappingProxyType(record),
                               derived_from=derived)


def _is_ligand_species(name: str) -> bool:
    # species_info without its error path: building the "did you mean" of the exception
    # (difflib over every species) for each ion of a solution cost ~1 ms per correction
    return load_ligand_table().find_species(name) is not None
