"""Acid-base states: ligand table access, protonation fractions and mean charges at a pH,
temperature and ionic strength."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from ephys_correct._validate import check_ionic_strength, check_ph, check_temperature_c
from ephys_correct.chemistry._speciation_solver import (
    ActivityCache,
    Ligand,
    Species,
    load_ligand_table,
    ligand_charges,
    log_beta0,
    pinned,
)
from ephys_correct.errors import (
    ModelValidityWarning,
    UnknownCompoundError,
    suggest,
)
from ephys_correct.chemistry.activity import DEFAULT_MODEL as DEFAULT_ACTIVITY_MODEL


#: pH range in which the forms marked ``lumped`` in the data file are negligible
PH_VALID_RANGE = (5.0, 9.0)
#: temperature range over which constant-enthalpy van 't Hoff extrapolation is trusted
TEMPERATURE_VALID_RANGE_C = (0.0, 50.0)


class _LazyLigands(Mapping[str, Ligand]):
    """Read-only mapping ligand name -> :class:`Ligand`, loaded on first use."""

    def __getitem__(self, name: str) -> Ligand:
        return load_ligand_table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(load_ligand_table())

    def __len__(self) -> int:
        return len(load_ligand_table())

    def __repr__(self) -> str:
        return f"LIGANDS({', '.join(self)})"


#: Supported ligands (name -> :class:`Ligand`), read from ``data/ligands.toml``.
LIGANDS: Mapping[str, Ligand] = _LazyLigands()


def ligand_names() -> list[str]:
    """Names of the supported acid-base / metal-binding components."""
    return list(load_ligand_table())


def get_ligand(name: str) -> Ligand:
    """The :class:`Ligand` for a ligand name, alias (``"phosphocreatine"``) or any species name.

    Raises
    ------
    UnknownCompoundError
        With close matches when nothing matches.
    """
    return load_ligand_table().resolve(name)


def species_info(name: str) -> Species:
    """The :class:`Species` (ligand, charge, proton count, metal) of a ligand form or complex.

    Accepts canonical names and ion-table aliases (``"HPO42-"``, ``"MgATP"``).

    Raises
    ------
    UnknownCompoundError
        If *name* is not a form of any supported ligand.
    """
    sp = load_ligand_table().find_species(name)
    if sp is None:
        table = load_ligand_table()
        raise UnknownCompoundError(
            f"Unknown ligand species {name!r}: not a protonation form or complex of "
            f"{', '.join(table)}." + suggest(str(name), [s.name for s in table.all_species()])
        )
    return sp


def proton_count(species: str) -> int:
    """Dissociable protons a species carries relative to its ligand's fully deprotonated form.

    Examples: ``"H4EGTA"`` (free-acid EGTA) -> 4, ``"H2ATP2-"`` (as in Na2ATP = Na2H2ATP) -> 2,
    ``"HEPES"`` (free-acid zwitterion) -> 1, ``"Tris"`` -> 0, ``"Tris+"`` -> 1,
    ``"MgHATP-"`` -> 1, ``"H2PO4-"`` -> 2 (relative to PO4 3-), ``"CO2"`` -> 2.

    Lumped (not modelled) forms are included, so any salt can be booked.
    """
    return species_info(species).h


def reference_charge(ligand: str) -> int:
    """Charge of the ligand's fully deprotonated reference form (h = 0), e.g. EGTA -> -4."""
    lig = get_ligand(ligand)
    return lig.species_named(lig.base).charge


# ------------------------------------------------------------------------------- validation
def _check_ph(pH: Any, *, warn_for: Ligand | None = None, where: str = "", what: str = "pH",
              stacklevel: int = 3) -> float:
    v = check_ph(pH, what=what, where=where)
    if warn_for is not None and not (PH_VALID_RANGE[0] <= v <= PH_VALID_RANGE[1]):
        lumped = [s.name for s in warn_for.species if s.lumped]
        if lumped:
            warnings.warn(
                f"pH {v} is outside {PH_VALID_RANGE[0]}-{PH_VALID_RANGE[1]}, where the "
                f"unmodelled forms of {warn_for.name} ({', '.join(lumped)}) are negligible.",
                ModelValidityWarning,
                stacklevel=stacklevel,
            )
    return v


def _check_temperature(temperature_c: Any, where: str = "", stacklevel: int = 3) -> float:
    # non-numbers and nonsense refused; outside 0-50 degC a warning
    return check_temperature_c(
        temperature_c, where=where, stacklevel=stacklevel + 1, valid_range_c=TEMPERATURE_VALID_RANGE_C,
        data="constant-enthalpy van 't Hoff extrapolation of the stored constants (measured at 20-25 degC)")


def _check_ionic_strength_mm(value: Any, name: str = "ionic_strength_mm", where: str = "") -> float:
    return check_ionic_strength(value, what=name, where=where)


def _check_conditions(pH: Any, temperature_c: Any, ionic_strength_mm: Any, *, where: str,
                      ligand: Ligand | None = None) -> tuple[float, float, float]:
    """(pH, degC, mM) of a ligand's conditions, each checked once (pH warns for *ligand*)."""
    return (_check_ph(pH, warn_for=ligand, where=where, stacklevel=4), _check_temperature(temperature_c, where, 4),
            _check_ionic_strength_mm(ionic_strength_mm, where=where))


# ------------------------------------------------------------------------- acid-base states
@dataclass(frozen=True)
class ProtonationState:
    """Protonation forms of one ligand at given pH, temperature and ionic strength.

    Attributes
    ----------
    ligand : str
    fractions : Mapping[str, float]
        Species name -> mole fraction (sums to 1), modelled metal-free forms only.
    mean_charge : float
        Sum of fraction x charge.
    mean_proton_count : float
        Sum of fraction x h (protons bound per ligand relative to the fully deprotonated form).
    apparent_pka : Mapping[str, float]
        For each protonation step (keyed by the protonated form): the pK on the pH-meter scale at
        this temperature and ionic strength, i.e. log10([HnL]/[Hn-1L]) = pKa' - pH.
    pH, temperature_c, ionic_strength_mm : float
    activity_model : str
    constants : tuple of dict
        The stored constants used, with source and locator.
    """

    ligand: str
    fractions: Mapping[str, float]
    mean_charge: float
    mean_proton_count: float
    apparent_pka: Mapping[str, float]
    pH: float
    temperature_c: float
    ionic_strength_mm: float
    activity_model: str
    constants: tuple[dict, ...] = field(default=())


def protonation_state(
    ligand: str,
    *,
    pH: float,
    temperature_c: float,
    ionic_strength_mm: float,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
) -> ProtonationState:
    """Protonation forms of *ligand* with provenance (see :func:`protonation_fractions`)."""
    lig = get_ligand(ligand)
    ph, t, i_mm = _check_conditions(pH, temperature_c, ionic_strength_mm, where="protonation_state", ligand=lig)
    table = load_ligand_table()
    lg = ActivityCache(activity_model, "protonation_state")
    i_m = i_mm / 1000.0
    lg = pinned(lg, ligand_charges(lig), i_m, t)
    beta = log_beta0(lig, t, table, lg)
    forms = lig.protonation_forms
    lg_base = lg(lig.base, lig.species_named(lig.base).charge, i_m, t)
    # log10 of [form]/[base] = log beta0 - h pH + log g(base) - log g(form)
    logs = {s.name: beta[s.name] - s.h * ph + lg_base - lg(s.name, s.charge, i_m, t) for s in forms}
    top = max(logs.values())
    weights = {k: 10.0 ** (v - top) for k, v in logs.items()}
    total = sum(weights.values())
    fractions = {k: w / total for k, w in weights.items()}
    pka = {}
    for prev, s in zip(forms, forms[1:]):
        pka[s.name] = (logs[s.name] - logs[prev.name]) + ph
    used = tuple(r.as_dict() for r in lig.reactions if r.product in fractions)
    return ProtonationState(
        ligand=lig.name,
        fractions=MappingProxyType(fractions),
        mean_charge=sum(f * lig.species_named(k).charge for k, f in fractions.items()),
        mean_proton_count=sum(f * lig.species_named(k).h for k, f in fractions.items()),
        apparent_pka=MappingProxyType(pka),
        pH=ph,
        temperature_c=t,
        ionic_strength_mm=i_mm,
        activity_model=activity_model,
        constants=used,
    )


def protonation_fractions(
    ligand: str,
    *,
    pH: float,
    temperature_c: float,
    ionic_strength_mm: float,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
) -> dict[str, float]:
    """Mole fractions of each protonation form of an acid-base component.

    Parameters
    ----------
    ligand : str
        Ligand name (:func:`ligand_names`), alias or any of its species names.
    pH : float
        -log10 a(H+), as a calibrated pH meter reads, at *temperature_c*.
    temperature_c : float
        Temperature, degC (no default). Constants are moved from their measurement temperature
        with the van 't Hoff equation and the published reaction enthalpy.
    ionic_strength_mm : float
        Ionic strength of the solution, mM.
    activity_model : str, default "truesdell-jones"
        Model passed to :func:`ephys_correct.activity.log10_gamma`; ``"ideal"`` sets every
        gamma to 1.

    Returns
    -------
    dict
        Species name -> fraction (sums to 1), ordered by increasing proton count. Charged forms
        use canonical ion-table names, neutral forms plain names. Forms marked ``lumped`` in
        ``data/ligands.toml`` (negligible between pH 5 and 9) are not returned.

    Raises
    ------
    UnknownCompoundError
        Unknown ligand (the message suggests close names).
    ParameterError
        pH, temperature or ionic strength out of range.

    Warns
    -----
    ModelValidityWarning
        pH outside 5-9 for a ligand with unmodelled forms; temperature outside 0-50 degC.

    Notes
    -----
    Molar ~ molal is assumed for the activity model. Stored constants at I > 0 are concentration
    quotients; they are converted to I = 0 with the same activity model before use.

    Examples
    --------
    >>> fr = protonation_fractions("HEPES", pH=7.3, temperature_c=22.0,
    ...                            ionic_strength_mm=150.0, activity_model="ideal")
    >>> round(fr["HEPES-"], 2)
    0.33
    """
    return dict(
        protonation_state(
            ligand,
            pH=pH,
            temperature_c=temperature_c,
            ionic_strength_mm=ionic_strength_mm,
            activity_model=activity_model,
        ).fractions
    )


def mean_charge(
    ligand: str,
    *,
    pH: float,
    temperature_c: float,
    ionic_strength_mm: float,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
) -> float:
    """Mean charge of a metal-free acid-base component at pH (see :func:`protonation_fractions`)."""
    return protonation_state(
        ligand, pH=pH, temperature_c=temperature_c, ionic_strength_mm=ionic_strength_mm,
        activity_model=activity_model,
    ).mean_charge


def mean_proton_count(
    ligand: str,
    *,
    pH: float,
    temperature_c: float,
    ionic_strength_mm: float,
    activity_model: str = DEFAULT_ACTIVITY_MODEL,
) -> float:
    """Mean number of protons bound per ligand relative to its fully deprotonated form.

    ``mean_charge = reference_charge(ligand) + mean_proton_count``. A salt that brings ``p``
    protons per ligand (:func:`proton_count` of its form) needs ``p - mean_proton_count`` mol of
    strong base per mol to reach the pH.
    """
    return protonation_state(
        ligand, pH=pH, temperature_c=temperature_c, ionic_strength_mm=ionic_strength_mm,
        activity_model=activity_model,
    ).mean_proton_count
