"""Drugs, toxins, dyes and tracers in a recipe's ``[additives]`` section.

A recipe lists what it adds at uM or mM beside the salts::

    [additives]
    TTX = "1 uM"                      # a string "<number> <unit>"
    CNQX = { uM = 10 }                # or a table with one amount key
    biocytin = "0.2 %"                # % w/v (g per 100 mL): needs the molar mass (table)
    mydrug = { uM = 5, charge = -1, molar_mass_g_mol = 400 }   # an additive not in the table

Units: ``nM``, ``uM`` (``µM``), ``mM``, ``%`` (w/v), ``mg/mL``, ``ug/mL`` (table keys ``nM``,
``uM``, ``mM``, ``percent_w_v``, ``mg_per_ml``, ``ug_per_ml``).

Every additive counts in the osmolality (:func:`osmotic_particles_mm`). A charged one also
counts as ions -- charge balance, ionic strength, titration and LJP -- when
``|charge| x concentration >= ION_THRESHOLD_MEQ`` (0.5 mEq/L, the absolute floor of the
charge-balance tolerance); it then releases its ion-table ion, its counter-ions and its protons
exactly like a weighed compound. Below the threshold it is listed in the provenance only
(``Solution.additives``). A charged additive above the threshold without an ion-table ion is
refused unless the recipe says ``ignore_charge = true`` for it.

The table is ``data/additives.toml`` (name, aliases, formula, molar mass, charge at pH 7.3,
ion, counter-ions, protons, source); names that it does not know are looked up in the compound
table (``data/compounds.toml``), whose compounds count the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from ephys_correct._resources import read_toml
from ephys_correct.chemistry.ions import load_ion_table
from ephys_correct.chemistry.compounds import load_compounds
from ephys_correct._validate import check_concentration, check_positive
from ephys_correct.errors import DataFileError, RecipeError, UnknownAdditiveError, UnknownCompoundError, suggest

__all__ = [
    "ION_THRESHOLD_MEQ",
    "Additive",
    "AdditiveAmount",
    "load_additives",
    "get_additive",
    "parse_additives",
    "apply_additives",
    "osmotic_particles_mm",
    "osmotic_volume_ml_per_l",
]

_FILE = "ephys_correct/data/additives.toml"
#: an ionic additive is counted as ions when |charge| x mM reaches this (mEq/L): the absolute
#: floor of the charge-balance tolerance (solutions.CHARGE_TOLERANCE_ABS_MM)
ION_THRESHOLD_MEQ = 0.5
#: amount units -> factor to mM (w/v units also need the molar mass: factor to g/L)
_MOLAR_UNITS = {"nm": 1e-6, "um": 1e-3, "µm": 1e-3, "μm": 1e-3, "mm": 1.0}
_MASS_UNITS = {"%": 10.0, "mg/ml": 1.0, "ug/ml": 1e-3, "µg/ml": 1e-3, "μg/ml": 1e-3}  # -> g/L
_TABLE_KEYS = {"nM": ("nm", False), "uM": ("um", False), "mM": ("mm", False),
               "percent_w_v": ("%", True), "mg_per_ml": ("mg/ml", True), "ug_per_ml": ("ug/ml", True)}
_CUSTOM_KEYS = {"charge", "molar_mass_g_mol", "ion", "counter_ions", "protons"}
_OPTION_KEYS = {"ignore_charge"}
_DECLARE_HINT = ("declare an additive the table does not know with its charge at pH 7.3 and "
                 "its molar mass, e.g. {uM = 5, charge = -1, molar_mass_g_mol = 400}")


def _norm(name: str) -> str:
    return re.sub(r"[\s\-_()]+", "", str(name)).lower()


@dataclass(frozen=True)
class Additive:
    """One entry of the additive table (or a custom declaration).

    Attributes
    ----------
    name : str
    charge : int
        Charge of the active species at pH 7.3.
    molar_mass_g_mol : float or None
        Of the form weighed; None for a compound-table fallback (no w/v amounts then).
    ion : str or None
        Ion-table name of the active species (needed to count it as ions).
    counter_ions : Mapping[str, float]
        Strong counter-ions released per formula unit.
    protons : float
        Protons released (+) or taken up (-) per formula unit at pH 7.3.
    neutral : Mapping[str, float]
        Neutral solutes (compound-table fallback only).
    source, locator : str
    custom : bool
        True for an additive declared in the recipe.
    """

    name: str
    charge: int
    molar_mass_g_mol: float | None
    ion: str | None = None
    counter_ions: Mapping[str, float] = field(default_factory=dict)
    protons: float = 0.0
    neutral: Mapping[str, float] = field(default_factory=dict)
    source: str = ""
    locator: str = ""
    custom: bool = False
    description: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def volume_cm3_mol(self) -> float:
        """Partial molar volume estimate of the weighed form: molar mass / 1.6 g/cm3
        (``ec_estimate_volume_from_mass``), 100 cm3/mol when the molar mass is unknown."""
        return 100.0 if self.molar_mass_g_mol is None else self.molar_mass_g_mol / 1.6

    @property
    def particles(self) -> float:
        """Dissolved particles per formula unit (the active species plus its counter-ions).

        A custom additive declared without counter-ions or protons is taken as a salt with
        |charge| monovalent counter-ions.
        """
        if self.neutral and self.ion is None and self.charge == 0 and not self.counter_ions:
            return float(sum(self.neutral.values()))
        if self.custom and not self.counter_ions and self.protons == 0:
            return 1.0 + abs(self.charge)
        return 1.0 + float(sum(self.counter_ions.values()))


@dataclass(frozen=True)
class AdditiveAmount:
    """An additive as a recipe gives it, resolved to mM and to how it is counted."""

    additive: Additive
    mm: float
    given: str
    counted_as_ions: bool
    ignore_charge: bool = False

    def record(self) -> dict[str, Any]:
        """Provenance record (JSON-ready), as stored in ``Solution.additives``."""
        a = self.additive
        if self.counted_as_ions:
            how = "ions: charge balance, ionic strength, titration, LJP and osmolality"
            why = (f"|charge| x c = {abs(a.charge) * self.mm:.3g} mEq/L >= "
                   f"{ION_THRESHOLD_MEQ} mEq/L")
        else:
            how = "osmolality only (listed here)"
            if a.charge == 0:
                why = "uncharged at pH 7.3"
            elif self.ignore_charge:
                why = "ignore_charge = true in the recipe"
            else:
                why = (f"|charge| x c = {abs(a.charge) * self.mm:.3g} mEq/L < "
                       f"{ION_THRESHOLD_MEQ} mEq/L")
        return {
            "name": a.name,
            "given": self.given,
            "mm": self.mm,
            "charge_at_ph_7_3": a.charge,
            "molar_mass_g_mol": a.molar_mass_g_mol,
            "ion": a.ion,
            "counter_ions": dict(a.counter_ions),
            "counted_as": how,
            "reason": why,
            "osmotic_particles_mm": 0.0 if self.counted_as_ions else a.particles * self.mm,
            "volume_ml_per_l": 0.0 if self.counted_as_ions else self.mm / 1000.0 * a.volume_cm3_mol,
            "source": a.source,
            "locator": a.locator,
            "custom": a.custom,
        }


def _check_entry(name: str, d: Mapping[str, Any], where: str, *, require_neutral: bool = True) -> Additive:

    table = load_ion_table()
    try:
        charge = d["charge"]
        if isinstance(charge, bool) or not isinstance(charge, int):
            raise TypeError
    except (KeyError, TypeError):
        raise DataFileError(f"{where}: 'charge' (an integer, charge at pH 7.3) is required.") from None
    mm = d.get("molar_mass_g_mol")
    if mm is not None:
        check_positive(mm, what="molar_mass_g_mol", where=where, unit="g/mol", error=DataFileError)
    ion = d.get("ion")
    if ion is not None:
        canon = table.canonical(ion)  # UnknownIonError for a bad file
        if table[canon].charge != charge:
            raise DataFileError(f"{where}: ion {ion!r} has charge {table[canon].charge}, not {charge}.")
        ion = canon
    counter = {}
    for k, v in dict(d.get("counter_ions", {})).items():
        canon = table.canonical(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            raise DataFileError(f"{where}: counter_ions[{k!r}] = {v!r} must be a positive number.")
        counter[canon] = float(v)
    protons = d.get("protons", 0)
    if isinstance(protons, bool) or not isinstance(protons, (int, float)):
        raise DataFileError(f"{where}: protons = {protons!r} must be a number.")
    net = charge + sum(table[k].charge * n for k, n in counter.items()) + protons
    if abs(net) > 1e-9 and (require_neutral or "counter_ions" in d or "protons" in d):
        raise DataFileError(
            f"{where}: charge {charge:+d} + counter-ions + protons {protons:+g} = {net:+g}, not 0: "
            "the weighed form must be neutral."
        )
    return Additive(name=name, charge=int(charge), molar_mass_g_mol=None if mm is None else float(mm),
                    ion=ion, counter_ions=MappingProxyType(counter), protons=float(protons),
                    source=str(d.get("source", "")), locator=str(d.get("locator", "")),
                    description=str(d.get("description", "")),
                    aliases=tuple(d.get("aliases", ())))


class _AdditiveTable(Mapping[str, Additive]):
    def __init__(self, entries: list[Additive]):
        self._a = {a.name: a for a in entries}
        self._lookup: dict[str, str] = {}
        for a in entries:
            for key in (a.name, *a.aliases):
                k = _norm(key)
                if k in self._lookup and self._lookup[k] != a.name:
                    raise DataFileError(f"{_FILE}: {key!r} names both {self._lookup[k]!r} and {a.name!r}.")
                self._lookup[k] = a.name

    def __getitem__(self, name: str) -> Additive:
        return self._a[name]

    def __iter__(self):
        return iter(self._a)

    def __len__(self) -> int:
        return len(self._a)

    def find(self, name: str) -> Additive | None:
        k = self._lookup.get(_norm(name))
        return None if k is None else self._a[k]

    def names(self) -> list[str]:
        return list(self._a) + [al for a in self._a.values() for al in a.aliases]


@lru_cache(maxsize=1)
def load_additives() -> _AdditiveTable:
    """The packaged additive table (``data/additives.toml``), checked."""
    data = read_toml("additives.toml")
    if data.get("schema_version") != 1:
        raise DataFileError(f"{_FILE}: unsupported schema_version {data.get('schema_version')!r}.")
    out = []
    for name, d in data.get("additives", {}).items():
        where = f"{_FILE} [additives.{name}]"
        for key in ("source", "locator"):
            if not d.get(key):
                raise DataFileError(f"{where}: {key!r} is required.")
        if "molar_mass_g_mol" not in d:
            raise DataFileError(f"{where}: 'molar_mass_g_mol' is required.")
        out.append(_check_entry(name, d, where))
    return _AdditiveTable(out)


def _from_compound(name: str) -> Additive | None:

    try:
        comp = load_compounds()[name]
    except UnknownCompoundError:
        return None
    if comp.ligands or comp.titrant:
        return None  # acid-base components belong in [components_mm], where they are titrated

    table = load_ion_table()
    cations = [i for i in comp.releases if table[i].charge > 0]
    anions = [i for i in comp.releases if table[i].charge < 0]
    # the "active" ion of a compound salt: the organic one if any, else the first released ion
    ion = None
    counter: dict[str, float] = dict(comp.releases)
    if comp.releases:
        ion = max(comp.releases, key=lambda i: (i not in ("Na+", "K+", "Cl-", "Br-", "Li+", "Cs+"),
                                                 comp.releases[i]))
        n = counter.pop(ion)
        if n != 1:
            counter[ion] = n - 1
    charge = 0 if ion is None else table[ion].charge
    return Additive(name=comp.name, charge=charge, molar_mass_g_mol=None, ion=ion,
                    counter_ions=MappingProxyType(counter), protons=comp.protons,
                    neutral=MappingProxyType(dict(comp.neutral)),
                    source="compounds.toml", locator=f"compound {comp.name!r}: {comp.note or 'releases as listed'}",
                    description=f"compound {comp.name} ({', '.join(cations + anions) or 'neutral'})")


def get_additive(name: str) -> Additive:
    """The :class:`Additive` for *name* (additive table, then the compound table).

    Raises
    ------
    UnknownAdditiveError
        With close names.
    """
    a = load_additives().find(name)
    if a is None:
        a = _from_compound(name)
    if a is None:
        raise UnknownAdditiveError(
            f"Unknown additive {name!r}." + suggest(str(name), load_additives().names())
            + f" To use it anyway, {_DECLARE_HINT}."
        )
    return a


def _parse_amount(path: str, key: str, value: Any) -> tuple[float, str | None, str, dict]:
    """(number, unit, given-text, the remaining table keys) from a string or a table."""
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-zµμ%/]+)\s*", value)
        unit = None if m is None else m.group(2).lower()
        if m is None or unit not in {**_MOLAR_UNITS, **_MASS_UNITS}:
            raise RecipeError(
                f"{path}: [additives] {key!r} = {value!r}: expected '<number> <unit>' with unit "
                "nM, uM, mM, % (w/v), mg/mL or ug/mL, e.g. '10 uM', or a table such as {uM = 10}."
            )
        return float(m.group(1)), unit, value, {}
    if isinstance(value, Mapping):
        rest = dict(value)
        amount_keys = [k for k in rest if k in _TABLE_KEYS]
        if len(amount_keys) != 1:
            raise RecipeError(
                f"{path}: [additives] {key!r} = {dict(value)!r}: give exactly one amount key of "
                f"{list(_TABLE_KEYS)} (e.g. {{uM = 10}})."
            )
        ak = amount_keys[0]
        number = rest.pop(ak)
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise RecipeError(f"{path}: [additives] {key!r}: {ak} = {number!r} is not a number.")
        unknown = set(rest) - _CUSTOM_KEYS - _OPTION_KEYS
        if unknown:
            bad = sorted(unknown)[0]
            raise RecipeError(
                f"{path}: [additives] {key!r}: unknown key {bad!r}; allowed: one amount key of "
                f"{list(_TABLE_KEYS)}, and {sorted(_CUSTOM_KEYS | _OPTION_KEYS)}."
                + suggest(bad, list(_TABLE_KEYS) + sorted(_CUSTOM_KEYS | _OPTION_KEYS))
            )
        return float(number), _TABLE_KEYS[ak][0], f"{number} {ak}", rest
    raise RecipeError(
        f"{path}: [additives] {key!r} = {value!r}: expected a string such as '10 uM' or a table "
        "such as {uM = 10}."
    )


def parse_additives(section: Any, path: str) -> tuple[AdditiveAmount, ...]:
    """Validate a recipe's ``[additives]`` table.

    Parameters
    ----------
    section : mapping or None
        The parsed TOML table (name -> amount).
    path : str
        Recipe file, for messages.

    Returns
    -------
    tuple of AdditiveAmount

    Raises
    ------
    UnknownAdditiveError
        A name neither table knows and that is not declared (``charge`` + ``molar_mass_g_mol``).
    RecipeError
        Bad amount or key; an ionic additive above the threshold without an ion-table ion.
    ConcentrationError
        Negative or non-finite amount.
    """

    if section is None:
        return ()
    if not isinstance(section, Mapping):
        raise RecipeError(f"{path}: [additives] must be a table of name = amount, got {section!r}.")
    out: list[AdditiveAmount] = []
    seen: dict[str, str] = {}
    for key, value in section.items():
        number, unit, given, rest = _parse_amount(path, key, value)
        check_concentration(number, what=f"[additives] {key!r}", where=path, unit="in the unit given")
        ignore_charge = bool(rest.pop("ignore_charge", False))
        declared = {k: rest[k] for k in _CUSTOM_KEYS if k in rest}
        known = load_additives().find(key)
        if known is None and not declared:
            known = _from_compound(key)
        if known is not None and declared:
            raise RecipeError(
                f"{path}: [additives] {key!r} = {value!r}: {known.name!r} is a known additive; "
                f"remove {sorted(declared)} or give the custom additive another name."
            )
        if known is None:
            if not declared:
                raise UnknownAdditiveError(
                    f"{path}: [additives] {key!r} = {value!r}: unknown additive."
                    + suggest(str(key), load_additives().names())
                    + f" To use it anyway, {_DECLARE_HINT}; add 'ion' (an ion-table name) and "
                    "'counter_ions' if it should count in the charge balance and LJP."
                )
            missing = {"charge", "molar_mass_g_mol"} - set(declared)
            if missing:
                raise RecipeError(
                    f"{path}: [additives] {key!r} = {value!r}: a custom additive needs "
                    f"{sorted(missing)} as well ({_DECLARE_HINT})."
                )
            try:
                known = _check_entry(str(key), {**declared, "source": "recipe", "locator": path},
                                     f"{path}: [additives] {key!r}",
                                     require_neutral="ion" in declared)
            except DataFileError as exc:
                raise RecipeError(str(exc)) from None
            except UnknownCompoundError as exc:  # UnknownIonError is a KeyError too
                raise RecipeError(f"{path}: [additives] {key!r}: {exc}") from None
            known = Additive(**{**known.__dict__, "custom": True, "source": "declared in the recipe",
                                "locator": path})
        if known.name in seen:
            raise RecipeError(f"{path}: [additives] {key!r} and {seen[known.name]!r} are the same additive ({known.name!r}).")
        seen[known.name] = str(key)
        if unit in _MOLAR_UNITS:
            mm = number * _MOLAR_UNITS[unit]
        else:
            if known.molar_mass_g_mol is None:
                raise RecipeError(
                    f"{path}: [additives] {key!r} = {value!r}: a w/v amount needs the molar mass, "
                    f"which is not known for {known.name!r}; give the amount in nM, uM or mM."
                )
            mm = number * _MASS_UNITS[unit] / known.molar_mass_g_mol * 1000.0
        ionic = known.charge != 0 and abs(known.charge) * mm >= ION_THRESHOLD_MEQ
        if ionic and not ignore_charge and known.ion is None:
            raise RecipeError(
                f"{path}: [additives] {key!r} = {value!r}: {known.name!r} carries "
                f"{abs(known.charge) * mm:.3g} mEq/L of charge (>= {ION_THRESHOLD_MEQ} mEq/L), so it "
                "must count in the charge balance and LJP, but it has no ion-table ion (mobility). "
                "Give it as a compound in [components_mm] / an ion in [ions_mm], declare 'ion' and "
                "'counter_ions' with ion-table names, or opt out explicitly with ignore_charge = true "
                "(then it counts in the osmolality only, and the provenance says so)."
            )
        out.append(AdditiveAmount(known, mm, given, ionic and not ignore_charge, ignore_charge))
    return tuple(out)


def apply_additives(additives: tuple[AdditiveAmount, ...]) -> tuple[dict[str, float], float, tuple]:
    """What the additives counted as ions add to a recipe, and the provenance of all of them.

    Returns
    -------
    strong_ions_mm : dict
        Ions released by the additives counted as ions (the active ion and its counter-ions).
    protons_mm : float
        Protons they release (+) or take up (-), for the titration.
    records : tuple of MappingProxyType
        One provenance record per additive (``Solution.additives``).
    """
    strong: dict[str, float] = {}
    protons = 0.0
    records = []
    for a in additives:
        if a.counted_as_ions:
            add = dict(a.additive.counter_ions)
            if a.additive.ion is not None:
                add[a.additive.ion] = add.get(a.additive.ion, 0.0) + 1.0
            for ion, n in add.items():
                strong[ion] = strong.get(ion, 0.0) + n * a.mm
            protons += a.additive.protons * a.mm
        records.append(MappingProxyType(a.record()))
    return strong, protons, tuple(records)


def osmotic_volume_ml_per_l(records: Any) -> float:
    """Volume (mL per litre) of the additives not counted as ions (molal conversion)."""
    return float(sum(r.get("volume_ml_per_l", 0.0) for r in records or ()))


def osmotic_particles_mm(records: Any) -> dict[str, float]:
    """Osmotically active particles (mOsm/L) of the additives *not* counted as ions.

    Parameters
    ----------
    records : iterable of mapping
        ``Solution.additives`` (records of :meth:`AdditiveAmount.record`); None or () for none.
    """
    out: dict[str, float] = {}
    for r in records or ():
        if r["osmotic_particles_mm"] > 0:
            out[r["name"]] = out.get(r["name"], 0.0) + float(r["osmotic_particles_mm"])
    return out
