"""Solution recipes (what is weighed) and solutions (what is in the beaker).

A :class:`Recipe` is the parsed recipe file: compounds in mM as weighed, the
pH handling, the source.  :meth:`Recipe.to_solution` turns it into a
:class:`Solution`: ion concentrations in mM (charged species only, canonical
names), neutral solutes, the titration estimate, charge balance and osmolarity.

pH handling (one of three explicit forms in a recipe's ``[ph]`` table)
---------------------------------------------------------------------
``titrant given``
    The titrant is a component (``KOH = 5``).  Acid-base components take the
    charge they have at the stated ``[ph] value`` (if given) or at the pH that
    makes the solution electroneutral (estimated, and reported).
``target``
    ``[ph] value``, ``titrant`` and ``temperature_c`` (the temperature at
    which the pH was set).  The charge state of every acid-base component is
    computed at that pH and temperature, and the titrant amount is solved from
    the charge balance.
``bicarbonate``
    ``[ph] buffer = "bicarbonate"`` and ``value`` (carbogen-bubbled ACSF): no
    titrant.  Bicarbonate is counted as HCO3-; protons released by the other
    acid-base components (e.g. H2PO4- -> HPO4 2-) convert the equivalent
    amount of HCO3- to CO2, which leaves with the gas.

Charge balance
--------------
``|sum z c| <= max(0.5 mM, 0.5 % of (sum |z| c)/2)``.  Beyond it
:class:`~ephys_correct.errors.ElectroneutralityError` is raised, unless the
caller opts in with ``rebalance_with="<ion>"``, which adds or removes that ion
and records it in :attr:`Solution.rebalanced`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ._frozen import FrozenMappings
from ._resources import read_toml, tomllib
from .errors import (
    ConcentrationError,
    DataFileError,
    ElectroneutralityError,
    EphysCorrectError,
    ParameterError,
    RecipeError,
    UnknownCompoundError,
    UnknownIonError,
    UnknownSolutionError,
    suggest,
)
from .ions import load_ion_table

__all__ = [
    "Compound",
    "Recipe",
    "Solution",
    "TitrationEstimate",
    "Rebalance",
    "Osmolarity",
    "load_recipe",
    "load_solution",
    "as_solution",
    "list_solutions",
    "get_compound",
    "load_compounds",
    "solutions_db_dirs",
    "charge_tolerance_mm",
    "CHARGE_TOLERANCE_ABS_MM",
    "CHARGE_TOLERANCE_REL",
    "SCHEMA_VERSION",
]

SCHEMA_VERSION = 1
#: absolute floor of the charge-balance tolerance, mM (mEq/L)
CHARGE_TOLERANCE_ABS_MM = 0.5
#: relative charge-balance tolerance, fraction of (sum |z| c)/2
CHARGE_TOLERANCE_REL = 0.005
DEFAULT_ACTIVITY_MODEL = "truesdell-jones"

_ROLES = ("pipette", "bath", "bridge")
_TOP_KEYS = {
    "schema_version", "name", "role", "source", "doi", "url", "notes", "description",
    "components_mm", "ions_mm", "ph", "osmolality", "tags", "temperature_c", "additives",
}
_PH_KEYS = {"value", "temperature_c", "titrant", "buffer", "note"}
_OSM_KEYS = {"measured_mosm_kg", "note"}


def charge_tolerance_mm(ions_mm: Mapping[str, float]) -> float:
    """The charge-balance tolerance for a composition (see module docstring)."""
    table = load_ion_table()
    half_total = 0.5 * sum(abs(table[i].charge) * c for i, c in ions_mm.items())
    return max(CHARGE_TOLERANCE_ABS_MM, CHARGE_TOLERANCE_REL * half_total)


# --------------------------------------------------------------------------- compounds
def _cnorm(name: str) -> str:
    return re.sub(r"[\s\-_()]+", "", str(name)).lower()


@dataclass(frozen=True)
class Compound(FrozenMappings):
    """One weighable compound and what it releases per formula unit."""

    name: str
    releases: Mapping[str, float]
    ligands: Mapping[str, float]
    neutral: Mapping[str, float]
    protons: float = 0.0
    aliases: tuple[str, ...] = ()
    titrant: bool = False
    note: str = ""


class _CompoundTable(Mapping[str, Compound]):
    def __init__(self, compounds: list[Compound]):
        self._c = {c.name: c for c in compounds}
        self._lookup: dict[str, str] = {}
        for c in compounds:
            for key in (c.name, *c.aliases):
                k = _cnorm(key)
                if k in self._lookup and self._lookup[k] != c.name:
                    raise DataFileError(
                        f"compounds.toml: {key!r} names both {self._lookup[k]!r} and {c.name!r}."
                    )
                self._lookup[k] = c.name

    def __getitem__(self, name: str) -> Compound:
        return self._c[self.canonical(name)]

    def __iter__(self):
        return iter(self._c)

    def __len__(self) -> int:
        return len(self._c)

    def canonical(self, name: str) -> str:
        try:
            return self._lookup[_cnorm(name)]
        except KeyError:
            names = list(self._c) + [a for c in self._c.values() for a in c.aliases]
            raise UnknownCompoundError(
                f"Unknown compound {name!r}." + suggest(str(name), names)
            ) from None


@lru_cache(maxsize=1)
def load_compounds() -> _CompoundTable:
    """The packaged compound table (``ephys_correct/data/compounds.toml``)."""
    ions = load_ion_table()
    out = []
    for name, d in read_toml("compounds.toml")["compounds"].items():
        releases = {}
        for ion, n in d.get("releases", {}).items():
            canon = ions.canonical(ion)  # unknown ion in the data file -> error
            if canon != ion:
                raise DataFileError(f"compounds.toml [{name}]: use canonical {canon!r}, not {ion!r}.")
            releases[canon] = float(n)
        out.append(
            Compound(
                name=name,
                releases=MappingProxyType(releases),
                ligands=MappingProxyType({k: float(v) for k, v in d.get("ligands", {}).items()}),
                neutral=MappingProxyType({k: float(v) for k, v in d.get("neutral", {}).items()}),
                protons=float(d.get("protons", 0)),
                aliases=tuple(d.get("aliases", ())),
                titrant=bool(d.get("titrant", False)),
                note=d.get("note", ""),
            )
        )
    return _CompoundTable(out)


def get_compound(name: str) -> Compound:
    """The :class:`Compound` called *name* (aliases, case, spaces and hyphens ignored)."""
    return load_compounds()[name]


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class TitrationEstimate(FrozenMappings):
    """How the acid-base state of a recipe was established.

    Attributes
    ----------
    mode : str
        ``"target"``, ``"titrant-given"``, ``"bicarbonate"``.
    titrant : str or None
        Compound used as titrant.
    titrant_mm : float or None
        Titrant amount (computed for ``"target"``, as given otherwise).
    ph : float
        pH used for the charge states (stated, or estimated from electroneutrality).
    ph_estimated : bool
        True when *ph* was solved from the charge balance rather than stated.
    ph_temperature_c : float
        Temperature of the pKa values used.
    ligand_charge : Mapping[str, float]
        Mean charge of each acid-base component at *ph*.
    species_mm : Mapping[str, float]
        Concentration of every protonation form.
    bicarbonate_to_co2_mm : float
        HCO3- converted to CO2 (bicarbonate mode only).
    activity_model : str
        Model used to correct the pKa values for ionic strength.
    """

    mode: str
    titrant: str | None
    titrant_mm: float | None
    ph: float
    ph_estimated: bool
    ph_temperature_c: float
    ligand_charge: Mapping[str, float]
    species_mm: Mapping[str, float]
    bicarbonate_to_co2_mm: float = 0.0
    activity_model: str = DEFAULT_ACTIVITY_MODEL
    ionic_strength_mm: float = float("nan")

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["ligand_charge"] = dict(self.ligand_charge)
        d["species_mm"] = dict(self.species_mm)
        return d


@dataclass(frozen=True)
class Rebalance:
    """An explicit, opted-in change of one ion to make a solution electroneutral."""

    ion: str
    delta_mm: float
    imbalance_before_meq: float


@dataclass(frozen=True)
class Osmolarity:
    """Osmolarity and osmolality of a solution, each number labelled as what it is.

    Attributes
    ----------
    ideal_mosm_l : float
        Ideal osmolarity: the sum of all solute particles per litre of solution, mOsm/L, with no
        interactions and no molar -> molal conversion. Not an osmolality and not a bound: salines
        read 7-10 % below it, sucrose-rich cutting solutions can read above it.
    estimate_mosm_kg : float or None
        Estimated osmolality, mOsm/kg water, what an osmometer reads
        (:func:`ephys_correct.activity.osmolality`: molal conversion, Pitzer osmotic
        coefficients, MgSO4/CaSO4 pairs, nonelectrolyte osmotic coefficients).
    estimate_method : str
        How *estimate_mosm_kg* was obtained, with every assumption that applied.
    measured_mosm_kg : float or None
        Value measured by osmometer, when the recipe gives one.
    details : Mapping or None
        Intermediate numbers of the estimate (water_kg_per_l, phi_ionic, ion_pairs_mm,
        neutral_phi) and the additives counted.
    """

    ideal_mosm_l: float
    estimate_mosm_kg: float | None
    estimate_method: str
    measured_mosm_kg: float | None
    details: Mapping[str, Any] | None = None

    #: what each number is (shown by ``ephys-correct solutions show`` and in JSON output)
    LABELS = MappingProxyType({
        "ideal_mosm_l": "ideal osmolarity: sum of particles per litre (mOsm/L), not an osmolality",
        "estimate_mosm_kg": "estimated osmolality (mOsm/kg water), what an osmometer reads",
        "measured_mosm_kg": "measured osmolality (mOsm/kg), as stated by the recipe's source",
    })

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "details"}
        d["details"] = None if self.details is None else dict(self.details)
        d["labels"] = dict(self.LABELS)
        return d


def _freeze(m: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(m))


@dataclass(frozen=True)
class Solution(FrozenMappings):
    """A solution as ions (mM, canonical names) and neutral solutes.

    Attributes
    ----------
    name : str
    ions_mm : Mapping[str, float]
        Read-only mapping canonical ion name -> mM (charged species only).
    neutrals_mm : Mapping[str, float]
        Uncharged solutes (glucose, HEPES zwitterion, ...) -> mM, for osmolarity.
    role : {"pipette", "bath", "bridge"} or None
    source : str or None
        Citation of the recipe.
    path : str or None
        Recipe file, when the solution came from one.
    source_sha256 : str
        SHA-256 of the bytes of the recipe file the solution came from ("" when
        it was not read from a file).  Identity of the *file*.
    derived_from : Mapping or None
        How this solution was derived from another one (operation and its
        conditions, and the parent's composition digest), e.g. free-ion
        speciation at a pH and temperature.  None for a solution as read.
    titration : TitrationEstimate or None
    rebalanced : Rebalance or None
    measured_osmolality_mosm_kg : float or None
    ph, ph_temperature_c : float or None
    speciation : Mapping or None
        Provenance of :meth:`speciate`, when the ions are free ions + complexes.
    additives : tuple of Mapping
        The recipe's ``[additives]`` (drugs, dyes, tracers): one provenance record each, saying
        how it was counted (ions, or osmolality only); see :mod:`ephys_correct._additives`.
    """

    name: str
    ions_mm: Mapping[str, float]
    neutrals_mm: Mapping[str, float] = field(default_factory=dict)
    role: str | None = None
    source: str | None = None
    path: str | None = None
    source_sha256: str = ""
    titration: TitrationEstimate | None = None
    rebalanced: Rebalance | None = None
    measured_osmolality_mosm_kg: float | None = None
    ph: float | None = None
    ph_temperature_c: float | None = None
    speciation: Mapping[str, Any] | None = None
    derived_from: Mapping[str, Any] | None = None
    additives: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "ions_mm", _freeze(self.ions_mm))
        object.__setattr__(self, "neutrals_mm", _freeze(self.neutrals_mm))
        if self.derived_from is not None:
            object.__setattr__(self, "derived_from", _freeze_tree(self.derived_from))

    # ---------------------------------------------------------------- identity
    @property
    def composition_sha256(self) -> str:
        """SHA-256 of the composition rounded to :data:`IDENTITY_SIGNIFICANT_DIGITS`.

        Never a hash of full-precision floats: two builds of numpy/scipy that agree
        to 1e-12 give the same digest.
        """
        return _composition_hash(self.ions_mm, self.neutrals_mm)

    def identity(self) -> dict[str, Any]:
        """Structural identity: file bytes, rounded composition, derivation.

        Returns
        -------
        dict
            ``name``, ``source_sha256`` (the recipe file's bytes, "" if none),
            ``composition_sha256`` (rounded composition) and ``derived_from``
            (operation and conditions, floats rounded), JSON-ready.
        """
        return {
            "name": self.name,
            "source_sha256": self.source_sha256,
            "composition_sha256": self.composition_sha256,
            "derived_from": None if self.derived_from is None else _rounded(self.derived_from),
        }

    @property
    def identity_key(self) -> tuple:
        """Hashable form of :meth:`identity` (for caches and comparisons)."""
        ident = self.identity()
        return (ident["source_sha256"], ident["composition_sha256"],
                json.dumps(ident["derived_from"], sort_keys=True))

    def derive(self, operation: str, **conditions: Any) -> dict[str, Any]:
        """The ``derived_from`` record for a solution derived from this one."""
        return {"operation": operation, "conditions": conditions,
                "parent": {"name": self.name, "source_sha256": self.source_sha256,
                           "composition_sha256": self.composition_sha256,
                           "derived_from": None if self.derived_from is None
                           else _rounded(self.derived_from)}}

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_ions(
        cls,
        ions_mm: Mapping[str, float],
        *,
        name: str = "custom",
        neutrals_mm: Mapping[str, float] | None = None,
        role: str | None = None,
        source: str | None = None,
        rebalance_with: str | None = None,
        check_balance: bool = True,
        ph: float | None = None,
        ph_temperature_c: float | None = None,
    ) -> "Solution":
        """Build a solution from ion concentrations (mM) for people who think in ions.

        Parameters
        ----------
        ions_mm : mapping
            Ion name (canonical or alias) -> mM.
        name : str
        neutrals_mm : mapping, optional
            Uncharged solutes -> mM (osmolarity only).
        role : {"pipette", "bath", "bridge"}, optional
        rebalance_with : str, optional
            Explicit opt-in: adjust this ion to remove a charge imbalance beyond
            the tolerance; recorded in :attr:`rebalanced`.
        check_balance : bool
            Raise :class:`ElectroneutralityError` beyond the tolerance (default).

        Examples
        --------
        >>> s = Solution.from_ions({"K": 145, "Cl-": 145}, name="KCl")
        >>> dict(s.ions_mm)
        {'K+': 145.0, 'Cl-': 145.0}
        """
        where = f"solution {name!r}"
        ions = _canonical_amounts(ions_mm, where, kind="ion")
        neutrals = {str(k): _check_amount(v, where, str(k)) for k, v in (neutrals_mm or {}).items()}
        _check_role(role, where)
        ions, rebalance = _balance(ions, where, rebalance_with, check_balance)
        return cls(name=name, ions_mm=ions, neutrals_mm=neutrals, role=role, source=source,
                   rebalanced=rebalance, ph=ph, ph_temperature_c=ph_temperature_c)

    # ---------------------------------------------------------------- properties
    def ionic_strength_mm(self) -> float:
        """Ionic strength I = 1/2 sum z^2 c, in mM (mmol/L ~ mmol/kg)."""
        return _istrength(self.ions_mm)

    def charge_balance_meq(self) -> float:
        """Net charge sum z c, mEq/L (0 for an electroneutral solution)."""
        return _net(self.ions_mm)

    def charge_tolerance_mm(self) -> float:
        """Charge-balance tolerance for this composition (module docstring)."""
        return charge_tolerance_mm(self.ions_mm)

    def osmolarity(self) -> Osmolarity:
        """Ideal osmolarity, estimated osmolality and measured value (see :class:`Osmolarity`)."""
        from . import activity
        from ._additives import osmotic_particles_mm, osmotic_volume_ml_per_l

        extra = osmotic_particles_mm(self.additives)
        est = activity.osmolality(self.ions_mm, self.neutrals_mm, extra_particles_mm=extra,
                                  extra_volume_ml_per_l=osmotic_volume_ml_per_l(self.additives))
        details = est.as_dict()
        details.pop("method")
        details["additives_counted_mosm_l"] = dict(extra)
        return Osmolarity(est.ideal_osmolarity_mosm_l, est.osmolality_mosm_kg, est.method,
                          self.measured_osmolality_mosm_kg, MappingProxyType(details))

    def speciate(self, *, pH: float | None = None, temperature_c: float,
                 activity_model: str = DEFAULT_ACTIVITY_MODEL) -> "Solution":
        """Free ions plus metal-ligand complexes (see :mod:`ephys_correct.speciation`)."""
        from .speciation import speciate_solution

        return speciate_solution(self, pH=pH, temperature_c=temperature_c,
                                 activity_model=activity_model)

    def with_ions(self, changes: Mapping[str, float], *, name: str | None = None,
                  check_balance: bool = True) -> "Solution":
        """A copy with some ion concentrations replaced (mM); recipe provenance dropped."""
        ions = dict(self.ions_mm)
        ions.update(_canonical_amounts(changes, f"solution {self.name!r}", kind="ion"))
        ions, _ = _balance(ions, f"solution {name or self.name!r}", None, check_balance)
        return replace(self, name=name or self.name, ions_mm=ions, path=None, titration=None,
                       derived_from=self.derive("with_ions", changes=dict(changes)))

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (used by ``ephys-correct solutions show``)."""
        osm = self.osmolarity()
        return {
            "name": self.name,
            "role": self.role,
            "source": self.source,
            "path": self.path,
            "identity": self.identity(),
            "ions_mM": dict(self.ions_mm),
            "neutrals_mM": dict(self.neutrals_mm),
            "charge_balance_meq": self.charge_balance_meq(),
            "charge_tolerance_meq": self.charge_tolerance_mm(),
            "ionic_strength_mM": self.ionic_strength_mm(),
            "osmolarity": osm.as_dict(),
            "ph": self.ph,
            "ph_temperature_c": self.ph_temperature_c,
            "titration": None if self.titration is None else self.titration.as_dict(),
            "rebalanced": None if self.rebalanced is None else dict(self.rebalanced.__dict__),
            "speciation": None if self.speciation is None else dict(self.speciation),
            "additives": [dict(r) for r in self.additives],
        }


#: significant digits kept when a composition (or a derivation's numbers) is hashed
IDENTITY_SIGNIFICANT_DIGITS = 6


def _round_sig(x: float) -> str:
    return format(float(x), f".{IDENTITY_SIGNIFICANT_DIGITS}g")


def _rounded(obj: Any) -> Any:
    """JSON-ready copy with every float as a string of 6 significant digits."""
    if isinstance(obj, Mapping):
        return {str(k): _rounded(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_rounded(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (str, int)):
        return obj
    if isinstance(obj, float) or hasattr(obj, "__float__"):
        return _round_sig(obj)
    return str(obj)


def _freeze_tree(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return MappingProxyType({k: _freeze_tree(v) for k, v in obj.items()})
    if isinstance(obj, list):
        return tuple(_freeze_tree(v) for v in obj)
    return obj


def _composition_hash(ions: Mapping[str, float], neutrals: Mapping[str, float]) -> str:
    blob = json.dumps({"ions": _rounded(dict(ions)), "neutrals": _rounded(dict(neutrals))},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- validation
def _check_amount(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            import numpy as np

            if isinstance(value, np.generic) and np.issubdtype(type(value), np.number):
                value = float(value)
            else:
                raise TypeError
        except TypeError:
            raise RecipeError(
                f"{where}: amount of {key!r} must be a number in mM, got {value!r}."
            ) from None
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        raise ConcentrationError(f"{where}: amount of {key!r} is {value!r}; it must be finite.")
    if v < 0:
        raise ConcentrationError(f"{where}: amount of {key!r} is negative ({value!r} mM).")
    return v


def _canonical_amounts(mapping: Mapping[str, Any], where: str, *, kind: str) -> dict[str, float]:
    if not isinstance(mapping, Mapping):
        raise RecipeError(f"{where}: expected a mapping of {kind} -> mM, got {type(mapping).__name__}.")
    table = load_ion_table()
    out: dict[str, float] = {}
    origin: dict[str, str] = {}
    for key, value in mapping.items():
        try:
            canon = table.canonical(key)
        except UnknownIonError as exc:
            raise UnknownIonError(f"{where}: {exc}") from None
        if canon in out:
            raise RecipeError(
                f"{where}: {key!r} and {origin[canon]!r} both name the ion {canon!r}."
            )
        out[canon] = _check_amount(value, where, str(key))
        origin[canon] = str(key)
    return out


def _check_role(role: str | None, where: str) -> None:
    if role is not None and role not in _ROLES:
        raise RecipeError(
            f"{where}: invalid value for 'role': allowed values are {list(_ROLES)}, got {role!r}."
        )


def _imbalance_message(ions: Mapping[str, float], net: float, tol: float, where: str) -> str:
    table = load_ion_table()
    cations = sum(table[i].charge * c for i, c in ions.items() if table[i].charge > 0)
    anions = -sum(table[i].charge * c for i, c in ions.items() if table[i].charge < 0)
    return (
        f"{where}: not electroneutral: cations {cations:.3f} mEq/L, anions {anions:.3f} mEq/L, "
        f"net {net:+.3f} mEq/L exceeds the tolerance {tol:.3f} mEq/L. Check the amounts "
        "(a missing titrant or a buffer counted in the wrong charge form are the usual "
        "causes), or opt in explicitly with rebalance_with='<ion>'."
    )


def _balance(ions: dict[str, float], where: str, rebalance_with: str | None,
             check: bool) -> tuple[dict[str, float], Rebalance | None]:
    table = load_ion_table()
    net = _net(ions)
    tol = charge_tolerance_mm(ions)
    if abs(net) <= tol or (not check and rebalance_with is None):
        return ions, None
    if rebalance_with is None:
        raise ElectroneutralityError(_imbalance_message(ions, net, tol, where))
    ion = table.canonical(rebalance_with)
    z = table[ion].charge
    delta = -net / z
    new = ions.get(ion, 0.0) + delta
    if new < 0:
        raise ElectroneutralityError(
            f"{where}: rebalancing with {ion!r} would need {new:.3f} mM (negative); "
            f"the net charge is {net:+.3f} mEq/L: choose an ion of the other sign."
        )
    ions = dict(ions)
    ions[ion] = new
    return ions, Rebalance(ion, delta, net)


# --------------------------------------------------------------------------- recipes
@dataclass(frozen=True)
class PhSpec:
    """The ``[ph]`` table of a recipe."""

    mode: str  # "none", "titrant-given", "target", "bicarbonate"
    value: float | None = None
    temperature_c: float | None = None
    titrant: str | None = None


@dataclass(frozen=True)
class Recipe(FrozenMappings):
    """A recipe as written: compounds as weighed, in mM.

    Use :meth:`to_solution` to get the ions.
    """

    name: str
    role: str | None
    components_mm: Mapping[str, float]
    ions_mm: Mapping[str, float]
    ph: PhSpec
    source: str | None = None
    doi: str | None = None
    notes: str | None = None
    measured_osmolality_mosm_kg: float | None = None
    path: str | None = None
    source_sha256: str = ""
    additives: tuple = ()

    def to_solution(self, *, activity_model: str = DEFAULT_ACTIVITY_MODEL,
                    rebalance_with: str | None = None) -> Solution:
        """Turn the recipe into ions: titration, charge states, charge balance.

        Raises
        ------
        ElectroneutralityError
            Charge imbalance beyond the tolerance and no ``rebalance_with``.
        """
        where = f"{self.path or 'recipe'} ({self.name!r})"
        strong: dict[str, float] = dict(self.ions_mm)
        ligands: dict[str, float] = {}
        neutrals: dict[str, float] = {}
        protons_weighed = 0.0
        compounds = load_compounds()
        for cname, mm in self.components_mm.items():
            comp = compounds[cname]
            for ion, n in comp.releases.items():
                strong[ion] = strong.get(ion, 0.0) + n * mm
            for lig, n in comp.ligands.items():
                ligands[lig] = ligands.get(lig, 0.0) + n * mm
            for neu, n in comp.neutral.items():
                neutrals[neu] = neutrals.get(neu, 0.0) + n * mm
            protons_weighed += comp.protons * mm
        from ._additives import apply_additives

        add_ions, add_protons, add_records = apply_additives(self.additives)
        for ion, c in add_ions.items():
            strong[ion] = strong.get(ion, 0.0) + c
        protons_weighed += add_protons
        titration = None
        ions = strong
        if ligands or self.ph.mode == "target":
            ions, neutrals, titration = _titrate(self, strong, ligands, neutrals, protons_weighed,
                                                 activity_model, where)
        ions = {k: v for k, v in ions.items()}
        ions, rebalance = _balance(ions, where, rebalance_with, True)
        return Solution(
            name=self.name, ions_mm=ions, neutrals_mm=neutrals, role=self.role,
            source=self.source, path=self.path, source_sha256=self.source_sha256, titration=titration,
            rebalanced=rebalance, measured_osmolality_mosm_kg=self.measured_osmolality_mosm_kg,
            ph=None if titration is None else titration.ph,
            ph_temperature_c=None if titration is None else titration.ph_temperature_c,
            additives=add_records,
        )


def _ligand_state(ligands: Mapping[str, float], *, ph: float, temperature_c: float,
                  ionic_strength_mm: float, activity_model: str,
                  exclude: tuple[str, ...] = ("bicarbonate",)) -> tuple[dict, dict]:
    """Species concentrations and mean charge of each acid-base component at pH."""
    from .speciation import protonation_fractions

    species: dict[str, float] = {}
    charge: dict[str, float] = {}
    table = load_ion_table()
    for lig, total in ligands.items():
        if lig in exclude:
            continue
        fr = protonation_fractions(lig, pH=ph, temperature_c=temperature_c,
                                   ionic_strength_mm=ionic_strength_mm,
                                   activity_model=activity_model)
        q = 0.0
        for sp, f in fr.items():
            species[sp] = species.get(sp, 0.0) + f * total
            if sp in table._ions:  # exact canonical names only: neutral forms are not ions
                q += f * table[sp].charge
        charge[lig] = q
    return species, charge


def _reference_charge(ligand: str) -> int:
    from .speciation import reference_charge

    return reference_charge(ligand)


def _split_species(species: Mapping[str, float]) -> tuple[dict, dict]:
    table = load_ion_table()
    ions, neutral = {}, {}
    for sp, c in species.items():
        if sp in table._ions:
            ions[sp] = ions.get(sp, 0.0) + c
        else:
            neutral[sp] = neutral.get(sp, 0.0) + c
    return ions, neutral


def _net(ions: Mapping[str, float]) -> float:
    table = load_ion_table()
    return sum(table[i].charge * c for i, c in ions.items())


def _istrength(ions: Mapping[str, float]) -> float:
    table = load_ion_table()
    return 0.5 * sum(table[i].charge ** 2 * c for i, c in ions.items())


def _titrate(recipe: Recipe, strong: dict, ligands: dict, neutrals: dict, protons_weighed: float,
             activity_model: str, where: str):
    spec = recipe.ph
    bicarb = ligands.get("bicarbonate", 0.0)
    if spec.mode == "none":
        raise RecipeError(
            f"{where}: contains acid-base components {sorted(ligands)} but no [ph] table. "
            "Give [ph] value + titrant + temperature_c (target pH), or the titrant amount as a "
            "component with [ph] temperature_c, or [ph] buffer = 'bicarbonate'."
        )
    if spec.temperature_c is None:
        raise RecipeError(
            f"{where}: [ph] temperature_c is required: the temperature at which the pH was set "
            "(pKa values depend on it; e.g. HEPES -0.014 pH/K)."
        )
    t_ph = spec.temperature_c

    def state(ph: float, ions_now: Mapping[str, float]):
        ist = _istrength(ions_now)
        return _ligand_state(ligands, ph=ph, temperature_c=t_ph, ionic_strength_mm=ist,
                             activity_model=activity_model)

    def assemble(species: Mapping[str, float], extra: Mapping[str, float], hco3: float):
        sp_ions, sp_neutral = _split_species(species)
        ions = dict(strong)
        for k, v in list(sp_ions.items()) + list(extra.items()):
            ions[k] = ions.get(k, 0.0) + v
        if bicarb:
            ions["HCO3-"] = ions.get("HCO3-", 0.0) + hco3
        return ions, sp_neutral

    mode_name = {"target": "target", "titrant-given": "titrant-given", "bicarbonate": "bicarbonate"}[spec.mode]
    if spec.mode == "target":
        titrant = load_compounds()[spec.titrant]
        ions, species, charge = dict(strong), {}, {}
        if bicarb:
            ions["HCO3-"] = bicarb
        amount = 0.0
        for _ in range(30):
            species, charge = state(spec.value, ions)
            # charge carried per mM of titrant at this pH
            per = sum(load_ion_table()[i].charge * n for i, n in titrant.releases.items())
            per += sum(charge_of(lig, spec.value, t_ph, _istrength(ions), activity_model) * n
                       for lig, n in titrant.ligands.items())
            base_ions, _ = assemble(species, {}, bicarb)
            net0 = _net(base_ions)
            if per == 0:
                raise RecipeError(f"{where}: titrant {titrant.name!r} carries no charge at pH {spec.value}.")
            new_amount = -net0 / per
            extra = {i: n * new_amount for i, n in titrant.releases.items()}
            tl = {lig: n * new_amount for lig, n in titrant.ligands.items()}
            if tl:
                tsp, _ = _ligand_state(tl, ph=spec.value, temperature_c=t_ph,
                                       ionic_strength_mm=_istrength(base_ions),
                                       activity_model=activity_model)
                for k, v in tsp.items():
                    extra[k] = extra.get(k, 0.0) + v
            ions, sp_neutral = assemble(species, {k: v for k, v in extra.items()
                                                  if k in load_ion_table()._ions}, bicarb)
            for k, v in extra.items():
                if k not in load_ion_table()._ions:
                    sp_neutral[k] = sp_neutral.get(k, 0.0) + v
            if abs(new_amount - amount) < 1e-10 * max(1.0, abs(new_amount)):
                amount = new_amount
                break
            amount = new_amount
        else:  # pragma: no cover - the fixed point converges in a few steps
            raise RecipeError(f"{where}: titrant estimate did not converge.")
        if amount < 0:
            kind = "an acid (e.g. HCl)" if per > 0 else "a base (e.g. KOH)"
            raise ElectroneutralityError(
                f"{where}: reaching pH {spec.value} would need {amount:.3f} mM of "
                f"{titrant.name!r}, i.e. {kind} instead; check the titrant."
            )
        all_neutral = dict(neutrals)
        for k, v in sp_neutral.items():
            all_neutral[k] = all_neutral.get(k, 0.0) + v
        est = TitrationEstimate(mode_name, titrant.name, amount, spec.value, False, t_ph,
                                MappingProxyType(charge), MappingProxyType(species), 0.0,
                                activity_model, _istrength(ions))
        return ions, all_neutral, est

    # titrant given / bicarbonate: the pH is stated, or estimated from electroneutrality
    hco3_total = bicarb

    def at_ph(ph: float):
        ions = dict(strong)
        if bicarb:
            ions["HCO3-"] = bicarb
        species, charge = {}, {}
        co2 = 0.0
        for _ in range(4):  # ionic strength fixed point
            species, charge = state(ph, ions)
            hco3 = hco3_total
            if spec.mode == "bicarbonate" and bicarb:
                # protons released by the other components convert HCO3- to CO2
                held = sum(t * (charge[l] - _reference_charge(l)) for l, t in ligands.items()
                           if l != "bicarbonate")
                weighed = protons_weighed - bicarb * 1.0  # NaHCO3 etc. carry 1 H on CO3 2-
                co2 = weighed - held
                hco3 = hco3_total - co2
                if hco3 < 0:
                    raise ElectroneutralityError(
                        f"{where}: the acid-base components release {co2:.3f} mM protons, more "
                        f"than the {hco3_total:.3f} mM bicarbonate can take up."
                    )
            ions, sp_neutral = assemble(species, {}, hco3)
        return ions, sp_neutral, species, charge, co2

    estimated = spec.value is None
    if spec.mode == "bicarbonate" and estimated:
        raise RecipeError(f"{where}: [ph] buffer = 'bicarbonate' needs the pH value set by the CO2 (e.g. 7.4).")
    if estimated:
        from scipy.optimize import brentq

        import warnings

        from .errors import ModelValidityWarning

        def f(ph: float) -> float:
            return _net(at_ph(ph)[0])

        lo, hi = 1.0, 13.0
        # the search visits pH values far outside the constants' range; only the root's
        # own validity matters, and at_ph(ph) below warns again if the root is outside it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelValidityWarning)
            flo, fhi = f(lo), f(hi)
            if flo * fhi > 0:
                raise ElectroneutralityError(
                    f"{where}: no pH between {lo} and {hi} makes the recipe electroneutral "
                    f"(net charge {flo:+.3f} to {fhi:+.3f} mEq/L); check the amounts and the titrant."
                )
            ph = brentq(f, lo, hi, xtol=1e-10)
    else:
        ph = spec.value
    ions, sp_neutral, species, charge, co2 = at_ph(ph)
    all_neutral = dict(neutrals)
    for k, v in sp_neutral.items():
        all_neutral[k] = all_neutral.get(k, 0.0) + v
    if co2:
        all_neutral["CO2"] = all_neutral.get("CO2", 0.0) + co2
    titrants = [c for c in recipe.components_mm if load_compounds()[c].titrant]
    est = TitrationEstimate(mode_name, titrants[0] if titrants else None,
                            recipe.components_mm[titrants[0]] if titrants else None,
                            ph, estimated, t_ph, MappingProxyType(charge),
                            MappingProxyType(species), co2, activity_model, _istrength(ions))
    return ions, all_neutral, est


def charge_of(ligand: str, ph: float, temperature_c: float, ionic_strength_mm: float,
              activity_model: str) -> float:
    """Mean charge of an acid-base component at pH (via the speciation data)."""
    _, charge = _ligand_state({ligand: 1.0}, ph=ph, temperature_c=temperature_c,
                              ionic_strength_mm=ionic_strength_mm, activity_model=activity_model,
                              exclude=())
    return charge[ligand]


def _recipe_error(path: str, msg: str) -> RecipeError:
    return RecipeError(f"{path}: {msg}")


def parse_recipe(data: Mapping[str, Any], *, path: str = "<recipe>", source_sha256: str = "",
                 require_schema: bool = False) -> Recipe:
    """Validate a recipe mapping (as parsed from TOML) and build a :class:`Recipe`.

    Recipe *files* must state ``schema_version`` (``require_schema=True`` in
    :func:`load_recipe`); a mapping built in code may omit it (version 1).
    """
    unknown = set(data) - _TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise _recipe_error(path, f"unknown key {key!r}." + suggest(key, _TOP_KEYS))
    if require_schema and "schema_version" not in data:
        raise _recipe_error(path, f"'schema_version' is missing (this version reads {SCHEMA_VERSION}).")
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise _recipe_error(path, f"unsupported schema_version {version!r} (this version reads {SCHEMA_VERSION}).")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _recipe_error(path, f"'name' must be a non-empty string, got {name!r}.")
    role = data.get("role")
    _check_role(role, path)
    comps_in = data.get("components_mm", {})
    ions_in = data.get("ions_mm", {})
    if not isinstance(comps_in, Mapping) or not isinstance(ions_in, Mapping):
        raise _recipe_error(path, "'components_mm' and 'ions_mm' must be tables of name = mM.")
    if not comps_in and not ions_in:
        raise _recipe_error(path, "no [components_mm] or [ions_mm]: the recipe is empty.")
    compounds = load_compounds()
    components: dict[str, float] = {}
    origin: dict[str, str] = {}
    for key, value in comps_in.items():
        try:
            canon = compounds.canonical(key)
        except UnknownCompoundError as exc:
            raise UnknownCompoundError(f"{path}: [components_mm] {exc}") from None
        if canon in components:
            raise _recipe_error(path, f"[components_mm] {key!r} and {origin[canon]!r} are the same compound ({canon!r}).")
        amount = _check_amount(value, f"{path}: [components_mm]", key)
        origin[canon] = key
        if amount > 0:
            components[canon] = amount
    ions = _canonical_amounts(ions_in, f"{path}: [ions_mm]", kind="ion")
    ph_in = data.get("ph", {})
    if not isinstance(ph_in, Mapping):
        raise _recipe_error(path, f"'ph' must be a table, got {ph_in!r}.")
    bad = set(ph_in) - _PH_KEYS
    if bad:
        key = sorted(bad)[0]
        raise _recipe_error(path, f"unknown key [ph] {key!r}." + suggest(key, _PH_KEYS))
    ph_value = ph_in.get("value")
    if ph_value is not None:
        ph_value = _check_amount(ph_value, f"{path}: [ph]", "value")
        if not 0 < ph_value < 14:
            raise _recipe_error(path, f"[ph] value {ph_value!r} is outside 0-14.")
    t_ph = ph_in.get("temperature_c")
    if t_ph is not None:
        if isinstance(t_ph, bool) or not isinstance(t_ph, (int, float)) or not math.isfinite(t_ph) or not -5 <= t_ph <= 100:
            raise _recipe_error(path, f"[ph] temperature_c must be a number of degC in -5..100, got {t_ph!r}.")
        t_ph = float(t_ph)
    titrants_present = [c for c in components if compounds[c].titrant]
    if ph_in.get("buffer") is not None:
        if ph_in["buffer"] != "bicarbonate":
            raise _recipe_error(path, f"[ph] buffer: allowed values are ['bicarbonate'], got {ph_in['buffer']!r}.")
        if ph_in.get("titrant"):
            raise _recipe_error(path, "[ph] a bicarbonate-buffered recipe has no titrant.")
        spec = PhSpec("bicarbonate", ph_value, t_ph, None)
    elif ph_in.get("titrant") is not None:
        tname = ph_in["titrant"]
        try:
            canon = compounds.canonical(tname)
        except UnknownCompoundError as exc:
            raise UnknownCompoundError(f"{path}: [ph] titrant: {exc}") from None
        if not compounds[canon].titrant:
            allowed = [c for c in compounds if compounds[c].titrant]
            raise _recipe_error(path, f"[ph] titrant {tname!r} is not a titrant; allowed: {allowed}.")
        if canon in components:
            raise _recipe_error(
                path, f"[ph] titrant {tname!r} is also given as a component: either give its amount "
                "(and no [ph] titrant) or let the pH target determine it, not both."
            )
        if ph_value is None:
            raise _recipe_error(path, "[ph] titrant given without [ph] value (the target pH).")
        spec = PhSpec("target", ph_value, t_ph, canon)
    elif titrants_present or ph_in:
        spec = PhSpec("titrant-given", ph_value, t_ph, titrants_present[0] if titrants_present else None)
    else:
        spec = PhSpec("none")
    osm_in = data.get("osmolality", {})
    if not isinstance(osm_in, Mapping) or set(osm_in) - _OSM_KEYS:
        raise _recipe_error(path, f"[osmolality] accepts only {sorted(_OSM_KEYS)}, got {osm_in!r}.")
    measured = osm_in.get("measured_mosm_kg")
    if measured is not None:
        measured = _check_amount(measured, f"{path}: [osmolality]", "measured_mosm_kg")
    from ._additives import parse_additives

    additives = parse_additives(data.get("additives"), path)
    return Recipe(name=name.strip(), role=role, components_mm=MappingProxyType(components),
                  ions_mm=MappingProxyType(ions), ph=spec, source=data.get("source"),
                  doi=data.get("doi"), notes=data.get("notes"),
                  measured_osmolality_mosm_kg=measured, path=path, source_sha256=source_sha256,
                  additives=additives)


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read and validate a recipe TOML file (never modified)."""
    p = Path(path)
    if p.is_dir():
        raise RecipeError(f"{p}: is a directory, not a recipe file.")
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"Recipe file not found: {p}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{p}: not valid TOML: {exc}") from None
    return parse_recipe(data, path=str(p), source_sha256=hashlib.sha256(raw).hexdigest(), require_schema=True)


# --------------------------------------------------------------------------- database
def solutions_db_dirs() -> list[Path]:
    """Directories searched for recipe names, in order.

    ``$EPHYS_CORRECT_SOLUTIONS_DB`` (os.pathsep-separated), ``./solutions_db``, the
    ``solutions_db/`` beside the package source (a checkout or editable install), and
    the copy a regular install puts in ``<sys.prefix>/share/ephys_correct/solutions_db``.
    """
    dirs: list[Path] = []
    env = os.environ.get("EPHYS_CORRECT_SOLUTIONS_DB")
    if env:
        dirs += [Path(d) for d in env.split(os.pathsep) if d]
    dirs.append(Path.cwd() / "solutions_db")
    dirs.append(Path(__file__).resolve().parent.parent / "solutions_db")  # source checkout
    dirs.append(Path(sys.prefix) / "share" / "ephys_correct" / "solutions_db")  # installed copy
    seen, out = set(), []
    for d in dirs:
        r = d.resolve()
        if r not in seen and r.is_dir():
            seen.add(r)
            out.append(r)
    return out


def _db_index() -> dict[str, Path]:
    index: dict[str, Path] = {}
    for d in solutions_db_dirs():
        for f in sorted(d.glob("*.toml")):
            index.setdefault(_cnorm(f.stem), f)
    return index


def list_solutions() -> list[dict[str, Any]]:
    """Recipes in the solutions database: name, id (file stem), role, source, path."""
    out = []
    for key, f in sorted(_db_index().items()):
        rec = load_recipe(f)
        out.append({"id": f.stem, "name": rec.name, "role": rec.role, "source": rec.source,
                    "path": str(f)})
    return out


def _solution_from_file(path: Path, activity_model: str, rebalance_with: str | None) -> Solution:
    try:
        st = path.stat()
    except OSError:
        return load_recipe(path).to_solution(activity_model=activity_model,
                                             rebalance_with=rebalance_with)
    return _cached_solution(str(path.resolve()), st.st_mtime_ns, st.st_size, activity_model,
                            rebalance_with)


@lru_cache(maxsize=256)
def _cached_solution(path: str, mtime_ns: int, size: int, activity_model: str,
                     rebalance_with: str | None) -> Solution:
    # Solutions are immutable, so a file unchanged since the last load (same path, size and
    # modification time) gives the same Solution; batch runs load each recipe once.
    return load_recipe(path).to_solution(activity_model=activity_model, rebalance_with=rebalance_with)


def load_solution(name_or_path: str | os.PathLike, *, activity_model: str = DEFAULT_ACTIVITY_MODEL,
                  rebalance_with: str | None = None) -> Solution:
    """Load a recipe by file path or by database name and return its :class:`Solution`.

    Parameters
    ----------
    name_or_path : str or path
        A ``.toml`` file, or the id (file stem) / name of a recipe in
        :func:`solutions_db_dirs`.
    activity_model : str
        Used for the ionic-strength correction of pKa values in the titration.
    rebalance_with : str, optional
        Explicit opt-in to fix a charge imbalance with this ion.
    """
    p = Path(name_or_path)
    if p.suffix.lower() == ".toml" or p.exists() or os.sep in str(name_or_path):
        return _solution_from_file(p, activity_model, rebalance_with)
    key = _cnorm(str(name_or_path))
    index = _db_index()
    if key not in index:
        by_name = {}
        broken = []
        for f in index.values():
            try:
                by_name[_cnorm(load_recipe(f).name)] = f
            except EphysCorrectError as exc:  # reported below, never silently dropped
                broken.append(f"{f.name}: {exc}")
        if key in by_name:
            return _solution_from_file(by_name[key], activity_model, rebalance_with)
        raise UnknownSolutionError(
            f"No recipe file or solutions_db entry called {str(name_or_path)!r} "
            f"(searched {[str(d) for d in solutions_db_dirs()]})."
            + suggest(str(name_or_path), [f.stem for f in index.values()])
            + ("" if not broken else " Recipes that could not be read: " + "; ".join(broken))
        )
    return _solution_from_file(index[key], activity_model, rebalance_with)


def as_solution(obj: Any, *, name: str | None = None) -> Solution:
    """Coerce *obj* to a :class:`Solution`.

    Accepts a Solution, a recipe path, a solutions_db name, or a mapping of
    ion name -> mM (checked for electroneutrality).
    """
    if isinstance(obj, Solution):
        return obj
    if isinstance(obj, Mapping):
        return Solution.from_ions(obj, name=name or "custom")
    if isinstance(obj, (str, os.PathLike)):
        return load_solution(obj)
    raise ParameterError(
        f"Expected a Solution, a solutions_db name, a recipe path or a mapping ion -> mM; "
        f"got {type(obj).__name__}: {obj!r}."
    )
