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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any
from ephys_correct._frozen import FrozenMappings
from ephys_correct._validate import as_number, check_choice, message
from ephys_correct._html import table as html_table, tables as html_tables
from ephys_correct.errors import (
    ConcentrationError,
    ElectroneutralityError,
    RecipeError,
    UnknownCompoundError,
    UnknownIonError,
)
from ephys_correct.chemistry.additives import osmotic_particles_mm, osmotic_volume_ml_per_l
from ephys_correct.chemistry.ions import load_ion_table
from ephys_correct.chemistry.osmolality import osmolality


#: absolute floor of the charge-balance tolerance, mM (mEq/L)
CHARGE_TOLERANCE_ABS_MM = 0.5
#: relative charge-balance tolerance, fraction of (sum |z| c)/2
CHARGE_TOLERANCE_REL = 0.005
from ephys_correct.chemistry.activity import DEFAULT_MODEL as DEFAULT_ACTIVITY_MODEL  # noqa: E402

_ROLES = ("pipette", "bath", "bridge")


def charge_tolerance_mm(ions_mm: Mapping[str, float]) -> float:
    """The charge-balance tolerance for a composition (see module docstring)."""
    table = load_ion_table()
    half_total = 0.5 * sum(abs(table[i].charge) * c for i, c in ions_mm.items())
    return max(CHARGE_TOLERANCE_ABS_MM, CHARGE_TOLERANCE_REL * half_total)


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
        (:func:`ephys_correct.chemistry.osmolality.osmolality`: molal conversion, Pitzer osmotic
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
        """JSON-ready dictionary with the labels."""
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
        Provenance of :func:`~ephys_correct.chemistry.speciation.speciate_solution`, when the
        ions are free ions + complexes.
    additives : tuple of Mapping
        The recipe's ``[additives]`` (drugs, dyes, tracers): one provenance record each, saying
        how it was counted (ions, or osmolality only); see :mod:`ephys_correct.chemistry.additives`.
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
        # computed once per (immutable) Solution: a correction asks for it many times
        h = self.__dict__.get("_composition_sha256")
        if h is None:
            h = _composition_hash(self.ions_mm, self.neutrals_mm)
            object.__setattr__(self, "_composition_sha256", h)
        return h

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
        extra = osmotic_particles_mm(self.additives)
        est = osmolality(self.ions_mm, self.neutrals_mm, extra_particles_mm=extra,
                                  extra_volume_ml_per_l=osmotic_volume_ml_per_l(self.additives))
        details = est.as_dict()
        details.pop("method")
        details["additives_counted_mosm_l"] = dict(extra)
        return Osmolarity(est.ideal_osmolarity_mosm_l, est.osmolality_mosm_kg, est.method,
                          self.measured_osmolality_mosm_kg, MappingProxyType(details))

    def with_ions(self, changes: Mapping[str, float], *, name: str | None = None,
                  check_balance: bool = True) -> "Solution":
        """A copy with some ion concentrations replaced (mM); recipe provenance dropped."""
        ions = dict(self.ions_mm)
        ions.update(_canonical_amounts(changes, f"solution {self.name!r}", kind="ion"))
        ions, _ = _balance(ions, f"solution {name or self.name!r}", None, check_balance)
        return replace(self, name=name or self.name, ions_mm=ions, path=None, titration=None,
                       derived_from=self.derive("with_ions", changes=dict(changes)))

    def _repr_html_(self) -> str:
        """Notebook view: ionic strength, charge balance, osmolarity, pH and the ions (mM)."""
        osm = self.osmolarity()
        rows = [("role", self.role or ""), ("ionic strength (mM)", self.ionic_strength_mm()),
                ("charge balance (mEq/L)", self.charge_balance_meq()),
                ("osmolarity, ideal (mOsm/L)", osm.ideal_mosm_l)]
        if osm.estimate_mosm_kg is not None:
            rows.append(("osmolality, estimate (mOsm/kg)", osm.estimate_mosm_kg))
        if osm.measured_mosm_kg is not None:
            rows.append(("osmolality, measured (mOsm/kg)", osm.measured_mosm_kg))
        if self.ph is not None:
            rows.append(("pH", self.ph))
        if self.source:
            rows.append(("source", self.source))
        amounts = [(k, "ion", v) for k, v in self.ions_mm.items()]
        amounts += [(k, "neutral", v) for k, v in self.neutrals_mm.items()]
        return html_tables(html_table(f"Solution {self.name}", rows),
                            html_table("composition", amounts, columns=("species", "kind", "mM")))

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
#: no solute reaches this (pure water is 55 500 mM); larger amounts are refused, which also keeps
#: every sum of charges and ionic strengths finite
MAX_CONCENTRATION_MM = 1e5


def _check_amount(value: Any, where: str, key: str) -> float:
    what, hint = repr(key), "amounts are finite numbers >= 0 (mM)"
    v = as_number(value)
    if v is None:
        raise RecipeError(message(what, value, "not a number", "give the amount as a number of mM", where=where))
    if not math.isfinite(v):
        raise ConcentrationError(message(what, value, "not a finite number", hint, where=where))
    if v > MAX_CONCENTRATION_MM:
        raise ConcentrationError(message(
            what, value, f"more than {MAX_CONCENTRATION_MM:g} mM", "water itself is 55 500 mM: not a concentration",
            where=where))
    if v < 0:
        raise ConcentrationError(message(what, value, "negative", hint, where=where))
    return v


def _canonical_amounts(mapping: Mapping[str, Any], where: str, *, kind: str, names: Any = None,
                       drop_zero: bool = False) -> dict[str, float]:
    """Canonical name -> checked amount (mM) of a table of ions (or, with *names*, compounds).

    Unknown names raise the table's error, two keys naming one thing a RecipeError, amounts
    are checked by :func:`_check_amount`; *drop_zero* leaves out amounts of 0.
    """
    if not isinstance(mapping, Mapping):
        raise RecipeError(f"{where}: expected a mapping of {kind} -> mM, got {type(mapping).__name__}.")
    table = load_ion_table() if names is None else names
    unknown = UnknownIonError if names is None else UnknownCompoundError
    out: dict[str, float] = {}
    origin: dict[str, str] = {}
    for key, value in mapping.items():
        try:
            canon = table.canonical(key)
        except unknown as exc:
            raise unknown(f"{where}: {exc}") from None
        if canon in origin:
            raise RecipeError(
                f"{where}: {key!r} and {origin[canon]!r} both name the {kind} {canon!r}."
            )
        amount = _check_amount(value, where, str(key))
        origin[canon] = str(key)
        if amount > 0 or not drop_zero:
            out[canon] = amount
    return out


def _check_role(role: str | None, where: str) -> None:
    if role is not None:
        check_choice(role, _ROLES, what="role", where=where, error=RecipeError)


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


def _net(ions: Mapping[str, float]) -> float:
    table = load_ion_table()
    return sum(table[i].charge * c for i, c in ions.items())


def _istrength(ions: Mapping[str, float]) -> float:
    table = load_ion_table()
    return 0.5 * sum(table[i].charge ** 2 * c for i, c in ions.items())
