"""Private internals of :mod:`ephys_correct.speciation`: the ligand data model and the solver.

Data: ``data/ligands.toml`` lists, per ligand, its species (protonation forms and metal complexes, each with charge
z, proton count h relative to the fully deprotonated reference form, and bound metal) and the
association reactions that form them, each with log K at a stated ionic strength and temperature,
a reaction enthalpy where one is published, and a source key + locator.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from ephys_correct._resources import read_toml
from ephys_correct.errors import ConvergenceError, DataFileError, UnknownCompoundError, suggest
from ephys_correct.chemistry.ions import normalize_key
from ephys_correct._constants import GAS_CONSTANT, kelvin
from ephys_correct.chemistry.ions import load_ion_table
from ephys_correct.chemistry.activity import MODELS, log10_gamma
from ephys_correct._validate import check_choice

__all__ = ["Species", "Reaction", "Ligand", "LigandTable", "load_ligand_table", "METAL_CHARGES"]

_FILE = "ephys_correct/data/ligands.toml"
#: metal ions that complexes may contain, with their charges
METAL_CHARGES: Mapping[str, int] = MappingProxyType({"Ca2+": 2, "Mg2+": 2, "Na+": 1, "K+": 1})
_KCAL_TO_KJ = 4.184  # thermochemical calorie, exact by definition


@dataclass(frozen=True)
class Species:
    """One form of a ligand: a protonation form or a metal complex.

    Attributes
    ----------
    name : str
        Canonical ion-table name when charged, plain name when neutral.
    ligand : str
        Name of the ligand (key of :data:`ephys_correct.speciation.LIGANDS`).
    charge : int
        Charge number z.
    h : int
        Dissociable protons carried relative to the ligand's fully deprotonated form.
    metal : str or None
        Bound metal ion (``"Mg2+"``...) for a complex, else None.
    lumped : bool
        True for a form that is known (for proton bookkeeping) but not modelled.
    note : str
        Free text from the data file.
    """

    name: str
    ligand: str
    charge: int
    h: int
    metal: str | None = None
    lumped: bool = False
    note: str = ""


@dataclass(frozen=True)
class Reaction:
    """One association reaction ``A + B = P`` with its constant and provenance.

    Attributes
    ----------
    equation : str
        As written in the data file.
    product : str
        The species formed.
    reactants : tuple of str
        Exactly two: one ligand form and either ``"H+"`` or a metal ion.
    log_k : float
        log10 K as written at *ionic_strength_m* and *temperature_c* (a concentration quotient
        in mol/L when the ionic strength is > 0, thermodynamic at 0).
    temperature_c, ionic_strength_m : float
        Conditions of the measurement.
    delta_h_kj_mol : float or None
        Standard reaction enthalpy of the association as written; None when not published.
    source, locator : str
        Bibliography key and table/page.
    medium : Mapping[str, float]
        Background cations (mol/L) of the measurement that also bind the ligand form; the
        stored constant is conditional on them and is corrected before use (see
        :func:`medium_correction`). Empty for constants measured in non-binding media.
    delta_h_source : str
        Bibliography key of the enthalpy when it differs from *source* ("" otherwise).
    """

    equation: str
    product: str
    reactants: tuple[str, ...]
    log_k: float
    temperature_c: float
    ionic_strength_m: float
    delta_h_kj_mol: float | None
    source: str
    locator: str
    medium: Mapping[str, float] = field(default_factory=dict)
    delta_h_source: str = ""

    def as_dict(self) -> dict:
        """Plain-dict form for provenance records."""
        out = {
            "equation": self.equation,
            "log_k": self.log_k,
            "temperature_c": self.temperature_c,
            "ionic_strength_m": self.ionic_strength_m,
            "delta_h_kj_mol": self.delta_h_kj_mol,
            "source": self.source,
            "locator": self.locator,
        }
        if self.medium:
            out["medium"] = dict(self.medium)
        if self.delta_h_source:
            out["delta_h_source"] = self.delta_h_source
        if self.delta_h_kj_mol is None:
            out["note"] = "no published reaction enthalpy: no temperature correction"
        return out


@dataclass(frozen=True)
class Ligand:
    """An acid-base / metal-binding component and its species."""

    name: str
    description: str
    aliases: tuple[str, ...]
    base: str
    species: tuple[Species, ...]
    reactions: tuple[Reaction, ...]
    binds_metals: bool = True
    metal_note: str = ""

    @property
    def protonation_forms(self) -> tuple[Species, ...]:
        """Modelled metal-free forms, ordered by increasing proton count."""
        return tuple(
            sorted((s for s in self.species if s.metal is None and not s.lumped), key=lambda s: s.h)
        )

    @property
    def complexes(self) -> tuple[Species, ...]:
        """Modelled metal complexes."""
        return tuple(s for s in self.species if s.metal is not None and not s.lumped)

    @property
    def modelled_species(self) -> tuple[Species, ...]:
        """Every modelled species (protonation forms then complexes)."""
        return self.protonation_forms + self.complexes

    @property
    def metals(self) -> tuple[str, ...]:
        """Metal ions this ligand binds (with a published constant)."""
        return tuple(sorted({s.metal for s in self.complexes if s.metal is not None}))

    def species_named(self, name: str) -> Species:
        """The species called *name* (exact canonical spelling)."""
        for s in self.species:
            if s.name == name:
                return s
        raise UnknownCompoundError(
            f"Ligand {self.name!r} has no species {name!r}." + suggest(name, [s.name for s in self.species])
        )

    def reaction_forming(self, name: str) -> Reaction:
        """The reaction whose product is *name*."""
        for r in self.reactions:
            if r.product == name:
                return r
        raise DataFileError(f"{_FILE}: no reaction forms {name!r} (ligand {self.name!r}).")


class LigandTable(Mapping[str, Ligand]):
    """Read-only mapping ligand name -> :class:`Ligand`, with alias and species lookup."""

    def __init__(self, ligands: list[Ligand]):
        self._ligands = {lig.name: lig for lig in ligands}
        self._lookup: dict[str, str] = {}
        self._species: dict[str, Species] = {}
        for lig in ligands:
            for key in (lig.name, *lig.aliases):
                k = normalize_key(key)
                other = self._lookup.get(k)
                if other is not None and other != lig.name:
                    raise DataFileError(f"{_FILE}: alias {key!r} names both {other!r} and {lig.name!r}.")
                self._lookup[k] = lig.name
            for s in lig.species:
                k = normalize_key(s.name)
                if k in self._species:
                    raise DataFileError(f"{_FILE}: species {s.name!r} is listed twice.")
                self._species[k] = s

    def __getitem__(self, name: str) -> Ligand:
        return self._ligands[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ligands)

    def __len__(self) -> int:
        return len(self._ligands)

    def resolve(self, name: str) -> Ligand:
        """Ligand for a ligand name, alias, or the name of any of its species."""
        key = normalize_key(str(name))
        if key in self._lookup:
            return self._ligands[self._lookup[key]]
        sp = self.find_species(name)
        if sp is not None:
            return self._ligands[sp.ligand]
        cands = list(self._ligands) + [a for lig in self._ligands.values() for a in lig.aliases]
        raise UnknownCompoundError(
            f"Unknown ligand {name!r} (ligand table {_FILE}); known: {', '.join(self._ligands)}."
            + suggest(str(name), cands)
        )

    def find_species(self, name: str) -> Species | None:
        """Species for *name* (canonical name or an ion-table alias), or None."""
        key = normalize_key(str(name))
        sp = self._species.get(key)
        if sp is not None:
            return sp

        table = load_ion_table()
        if name in table:
            return self._species.get(normalize_key(table.canonical(name)))
        return None

    def all_species(self) -> list[Species]:
        """Every species of every ligand."""
        return list(self._species.values())


_EQ = re.compile(r"^\s*(?P<a>.+?)\s+\+\s+(?P<b>.+?)\s*=\s*(?P<p>.+?)\s*$")


def _num(entry: Mapping, key: str, where: str) -> float:
    try:
        v = float(entry[key])
    except (KeyError, TypeError, ValueError):
        raise DataFileError(f"{_FILE}, {where}: {key!r} missing or not a number.") from None
    if not math.isfinite(v):
        raise DataFileError(f"{_FILE}, {where}: {key!r} = {v!r} is not finite.")
    return v


def _parse_ligand(name: str, entry: Mapping) -> Ligand:
    where = f"[ligands.{name}]"
    species = []
    for i, s in enumerate(entry.get("species", [])):
        try:
            species.append(
                Species(
                    name=str(s["name"]),
                    ligand=name,
                    charge=int(s["charge"]),
                    h=int(s["h"]),
                    metal=s.get("metal"),
                    lumped=bool(s.get("lumped", False)),
                    note=str(s.get("note", "")),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFileError(f"{_FILE}, {where} species #{i}: {exc!r}") from None
    by_name = {s.name: s for s in species}
    base = str(entry.get("base", ""))
    if base not in by_name or by_name[base].h != 0 or by_name[base].metal is not None:
        raise DataFileError(f"{_FILE}, {where}: base {base!r} must be a listed metal-free form with h = 0.")
    reactions = []
    for i, r in enumerate(entry.get("reactions", [])):
        w = f"{where} reaction #{i}"
        m = _EQ.match(str(r.get("equation", "")))
        if not m:
            raise DataFileError(f"{_FILE}, {w}: equation {r.get('equation')!r} is not 'A + B = P'.")
        a, b, p = m["a"], m["b"], m["p"]
        if "delta_h_kj_mol" in r and "delta_h_kcal_mol" in r:
            raise DataFileError(f"{_FILE}, {w}: give delta_h_kj_mol or delta_h_kcal_mol, not both.")
        dh = None
        if "delta_h_kj_mol" in r:
            dh = _num(r, "delta_h_kj_mol", w)
        elif "delta_h_kcal_mol" in r:
            dh = _num(r, "delta_h_kcal_mol", w) * _KCAL_TO_KJ
        for key in ("source", "locator"):
            if not r.get(key):
                raise DataFileError(f"{_FILE}, {w}: {key!r} is required.")
        medium_in = r.get("medium", {})
        if not isinstance(medium_in, Mapping):
            raise DataFileError(f"{_FILE}, {w}: 'medium' must be a table cation = mol/L, got {medium_in!r}.")
        medium = {}
        for cation, conc in medium_in.items():
            if cation not in METAL_CHARGES:
                raise DataFileError(f"{_FILE}, {w}: medium cation {cation!r} is not one of {list(METAL_CHARGES)}.")
            medium[cation] = _num(medium_in, cation, f"{w} medium")
            if medium[cation] <= 0:
                raise DataFileError(f"{_FILE}, {w}: medium {cation} = {medium[cation]!r} must be > 0 mol/L.")
        rx = Reaction(
            equation=str(r["equation"]),
            product=p,
            reactants=(a, b),
            log_k=_num(r, "log_k", w),
            temperature_c=_num(r, "temperature_c", w),
            ionic_strength_m=_num(r, "ionic_strength_m", w),
            delta_h_kj_mol=dh,
            source=str(r["source"]),
            locator=str(r["locator"]),
            medium=MappingProxyType(medium),
            delta_h_source=str(r.get("delta_h_source", "")),
        )
        # consistency: one ligand form + H+ or a metal -> product with matching charge/h/metal
        partner = [x for x in (a, b) if x == "H+" or x in METAL_CHARGES]
        lig_r = [x for x in (a, b) if x in by_name]
        if len(partner) != 1 or len(lig_r) != 1 or p not in by_name:
            raise DataFileError(f"{_FILE}, {w}: {rx.equation!r} must combine one form of {name} with H+ or one metal.")
        src, prod = by_name[lig_r[0]], by_name[p]
        if partner[0] == "H+":
            ok = prod.h == src.h + 1 and prod.charge == src.charge + 1 and prod.metal == src.metal
        else:
            ok = (src.metal is None and prod.metal == partner[0] and prod.h == src.h
                  and prod.charge == src.charge + METAL_CHARGES[partner[0]])
        if not ok or prod.lumped or src.lumped:
            raise DataFileError(f"{_FILE}, {w}: {rx.equation!r} does not balance charge/protons/metal "
                                    "or involves a lumped (unmodelled) form.")
        reactions.append(rx)
    products = [r.product for r in reactions]
    if len(set(products)) != len(products):
        raise DataFileError(f"{_FILE}, {where}: a species is formed by two reactions.")
    for s in species:
        if s.lumped or s.name == base:
            continue
        if s.name not in products:
            raise DataFileError(f"{_FILE}, {where}: modelled species {s.name!r} has no formation reaction.")
    return Ligand(
        name=name,
        description=str(entry.get("description", "")),
        aliases=tuple(entry.get("aliases", [])),
        base=base,
        species=tuple(species),
        reactions=tuple(reactions),
        binds_metals=bool(entry.get("binds_metals", True)),
        metal_note=str(entry.get("metal_note", "")),
    )


@lru_cache(maxsize=1)
def load_ligand_table() -> LigandTable:
    """Parse and check ``data/ligands.toml`` (cached)."""
    data = read_toml("ligands.toml")
    if data.get("schema_version") != 1:
        raise DataFileError(f"{_FILE}: unsupported schema_version {data.get('schema_version')!r}.")
    return LigandTable([_parse_ligand(n, e) for n, e in data.get("ligands", {}).items()])


# --------------------------------------------------------------------------- thermodynamics
LN10 = math.log(10.0)


class ActivityCache:
    """log10 gamma of every species through ``ephys_correct.activity.log10_gamma``, cached.

    Neutral species get log10 gamma = 0 (no salting-out term is modelled; stated in the
    provenance). ``model="ideal"`` gives 0 for every species without calling the activity module.
    The info dict of every call is kept in :attr:`infos` (species -> info) for provenance.
    """

    def __init__(self, model: str, where: str = "speciation"):
        check_choice(model, MODELS, what="activity_model", where=where)
        self.model = model
        self._fn = None
        self._cache: dict[tuple, float] = {}
        self.infos: dict[str, dict] = {}

    def _function(self):
        if self._fn is None:
            self._fn = log10_gamma
        return self._fn

    def _raw(self, name: str, charge: int, i_m: float, t: float, model: str) -> tuple[float, dict]:
        key = (name, charge, i_m, t, model)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if model == "ideal":
            out = (0.0, {"model": "ideal", "requested_model": "ideal"})
        else:
            value, info = self._function()(charge, i_m, t, model, ion=name)
            value = float(value)
            if not math.isfinite(value):
                raise ConvergenceError(f"log10_gamma({name!r}) returned {value!r}.")
            out = (value, dict(info) if isinstance(info, Mapping) else {"model": model, "info": info})
        self._cache[key] = out
        return out

    def model_for(self, name: str, charge: int, ionic_strength_m: float, temperature_c: float) -> str:
        """Model the activity module actually uses for *name* at this ionic strength.

        The activity module chooses each ion's model from its parameters only (never from the
        ionic strength), so this is the same at every I; it is still pinned at the *solution's*
        ionic strength and used to take stored constants to I = 0 (see :class:`Pinned`), which
        keeps the correction consistent should a model ever depend on I. The info of this call
        is the one kept for provenance.
        """
        if charge == 0:
            return self.model
        value, info = self._raw(name, charge, ionic_strength_m, temperature_c, self.model)
        self.infos[name] = info
        return str(info.get("model", self.model))

    def __call__(self, name: str, charge: int, ionic_strength_m: float, temperature_c: float,
                 model: str | None = None) -> float:
        if charge == 0:
            return 0.0
        return self._raw(name, charge, ionic_strength_m, temperature_c, model or self.model)[0]


class Pinned:
    """An :class:`ActivityCache` view with one model per species (pinned at the solution's I)."""

    def __init__(self, lg: ActivityCache, pins: Mapping[str, str]):
        self.lg = lg
        self.pins = dict(pins)
        self.model = lg.model

    def __call__(self, name: str, charge: int, ionic_strength_m: float, temperature_c: float) -> float:
        return self.lg(name, charge, ionic_strength_m, temperature_c, self.pins.get(name))


def pinned(lg: ActivityCache, names_charges: Mapping[str, int], i_m: float, t: float) -> Pinned:
    """Pin the model of every species at ionic strength *i_m*."""
    return Pinned(lg, {n: lg.model_for(n, z, i_m, t) for n, z in names_charges.items()})


def ligand_charges(lig: Ligand) -> dict[str, int]:
    """Charges of every modelled species of *lig*, the metals it binds and H+."""
    out = {s.name: s.charge for s in lig.modelled_species}
    out["H+"] = 1
    for m in lig.metals:
        out[m] = METAL_CHARGES[m]
    return out


def species_charge(name: str, table: LigandTable) -> int:
    """Charge of H+, a metal ion or a ligand species."""
    if name == "H+":
        return 1
    if name in METAL_CHARGES:
        return METAL_CHARGES[name]
    sp = table.find_species(name)
    if sp is None:
        raise DataFileError(f"unknown species {name!r} in a reaction.")
    return sp.charge


def log_k0(rx: Reaction, temperature_c: float, table: LigandTable, lg) -> float:
    """Thermodynamic (I = 0) log10 K of *rx* at *temperature_c*.

    The stored constant is first taken to I = 0 at its own temperature with the activity model
    (log K0 = log Kc + log g(product) - sum log g(reactants)), then moved to *temperature_c* with
    the van 't Hoff equation and the stored reaction enthalpy (none: no change).
    """

    value = rx.log_k + medium_correction(rx, table, lg)
    if rx.ionic_strength_m > 0:
        t_ref, i_ref = rx.temperature_c, rx.ionic_strength_m
        value += lg(rx.product, species_charge(rx.product, table), i_ref, t_ref)
        for r in rx.reactants:
            value -= lg(r, species_charge(r, table), i_ref, t_ref)
    if rx.delta_h_kj_mol is not None and temperature_c != rx.temperature_c:
        value -= (rx.delta_h_kj_mol * 1e3 / (GAS_CONSTANT * LN10)) * (
            1.0 / kelvin(temperature_c) - 1.0 / kelvin(rx.temperature_c)
        )
    return value


def medium_correction(rx: Reaction, table: LigandTable, lg) -> float:
    """log10(1 + sum c Kc): what a binding background cation took off a stored constant.

    A constant measured in, e.g., 0.1 M K+ is conditional on K+ binding to the ligand form
    (K+ + ATP4- = KATP3-): log K(measured) = log K(non-binding medium) - log10(1 + [K+] Kc),
    with Kc the concentration constant of that binding at the measurement's ionic strength and
    temperature. Returns 0 for a reaction without ``medium`` or whose ligand form binds none
    of the medium's cations.
    """
    if not rx.medium:
        return 0.0
    lig_form = next(x for x in rx.reactants if x != "H+" and x not in METAL_CHARGES)
    sp = table.find_species(lig_form)
    if sp is None:
        raise DataFileError(f"{_FILE}: unknown species {lig_form!r} in {rx.equation!r}.")
    ligand = table[sp.ligand]
    total = 0.0
    for cation, conc in rx.medium.items():
        side = next((r for r in ligand.reactions
                     if set(r.reactants) == {cation, lig_form} and not r.medium), None)
        if side is None:
            continue
        i_ref, t_ref = rx.ionic_strength_m, rx.temperature_c
        log_kc = log_k0(side, t_ref, table, lg)
        if i_ref > 0:
            log_kc += (lg(cation, METAL_CHARGES[cation], i_ref, t_ref)
                       + lg(lig_form, sp.charge, i_ref, t_ref)
                       - lg(side.product, species_charge(side.product, table), i_ref, t_ref))
        total += conc * 10.0 ** log_kc
    return math.log10(1.0 + total)


def log_beta0(ligand: Ligand, temperature_c: float, table: LigandTable, lg) -> dict[str, float]:
    """Cumulative thermodynamic log10 beta of every modelled species from base form + H+ + metal."""
    out: dict[str, float] = {ligand.base: 0.0}
    pending = list(ligand.reactions)
    while pending:
        progressed = False
        for rx in list(pending):
            lig_r = next(x for x in rx.reactants if x != "H+" and x not in METAL_CHARGES)
            if lig_r in out:
                out[rx.product] = out[lig_r] + log_k0(rx, temperature_c, table, lg)
                pending.remove(rx)
                progressed = True
        if not progressed:
            raise DataFileError(f"{_FILE}, [ligands.{ligand.name}]: reactions do not chain to {ligand.base!r}.")
    return out


# --------------------------------------------------------------------------- mass action
@dataclass(frozen=True)
class SpeciesRow:
    """One species of an equilibrium system: c = 10**log_k * prod(free component ** nu)."""

    name: str
    charge: int
    h: int
    ligand: str | None  # component name of its ligand (None for a free metal)
    metal: str | None  # component name of its metal (None for a metal-free form)


class EquilibriumSystem:
    """Metal-ligand-proton equilibria at fixed pH, temperature and activity model.

    Components are the ligands (their fully deprotonated form) and the metals with a positive
    total; H+ is fixed by the pH. Every species is one ligand form, a 1:1 metal complex, or a
    free metal.
    """

    def __init__(self, ligand_totals_m: Mapping[str, float], metal_totals_m: Mapping[str, float],
                 *, pH: float, temperature_c: float, lg: ActivityCache, table: LigandTable):
        self.table = table
        self.lg = lg
        self.pH = pH
        self.temperature_c = temperature_c
        self.ligand_totals = {k: v for k, v in ligand_totals_m.items() if v > 0}
        self.metal_totals = {k: v for k, v in metal_totals_m.items() if v > 0}
        self.components = list(self.ligand_totals) + list(self.metal_totals)
        self.totals = [self.ligand_totals.get(c, self.metal_totals.get(c)) for c in self.components]
        self.rows: list[SpeciesRow] = []
        self.reactions: list[Reaction] = []
        for lig_name in self.ligand_totals:
            lig = table[lig_name]
            for s in lig.modelled_species:
                if s.metal is not None and s.metal not in self.metal_totals:
                    continue
                self.rows.append(SpeciesRow(s.name, s.charge, s.h, lig_name, s.metal))
            self.reactions.extend(
                r for r in lig.reactions
                if not any(x in METAL_CHARGES and x not in self.metal_totals for x in r.reactants)
            )
        for m in self.metal_totals:
            self.rows.append(SpeciesRow(m, METAL_CHARGES[m], 0, None, m))
        self._charges = {"H+": 1, **{m: METAL_CHARGES[m] for m in self.metal_totals}}
        for lig_name in self.ligand_totals:
            self._charges.update({s.name: s.charge for s in table[lig_name].modelled_species})
        idx = {c: i for i, c in enumerate(self.components)}
        self.nu = [[0] * len(self.components) for _ in self.rows]
        for r, row in enumerate(self.rows):
            if row.ligand is not None:
                self.nu[r][idx[row.ligand]] += 1
            if row.metal is not None:
                self.nu[r][idx[row.metal]] += 1

    # log10 of the conditional constant of each species at ionic strength i_m (mol/L units)
    def pinned(self, i_m: float) -> Pinned:
        """Activity view with every species' model pinned at ionic strength *i_m*."""
        return pinned(self.lg, self._charges, i_m, self.temperature_c)

    def conditional_log_k(self, i_m: float) -> list[float]:
        t = self.temperature_c
        lg = self.pinned(i_m)
        betas: dict[str, float] = {m: 0.0 for m in self.metal_totals}
        for lig_name in self.ligand_totals:
            betas.update(log_beta0(self.table[lig_name], t, self.table, lg))
        out = []
        for row in self.rows:
            lb = betas[row.name]
            v = lb - row.h * self.pH - lg(row.name, row.charge, i_m, t)
            if row.ligand is not None:
                base = self.table[row.ligand].base
                v += lg(base, self.table[row.ligand].species_named(base).charge, i_m, t)
            if row.metal is not None:
                v += lg(row.metal, METAL_CHARGES[row.metal], i_m, t)
            out.append(v)
        return out

    def concentrations(self, log_k: list[float], ln_free: list[float]) -> list[float]:
        out = []
        for r, lk in enumerate(log_k):
            e = lk * LN10 + sum(n * x for n, x in zip(self.nu[r], ln_free))
            out.append(math.exp(e) if e < 700 else math.inf)
        return out

    def solve(self, i_m: float, guess: list[float] | None = None) -> tuple[list[float], list[float], int]:
        """Free ln-concentrations (mol/L) of the components, species concentrations, iterations."""
        import numpy as np


        n = len(self.components)
        log_k = self.conditional_log_k(i_m)
        if n == 0:
            return [], [], 0
        nu = np.array(self.nu, dtype=float)
        totals = np.array(self.totals, dtype=float)
        lk = np.array(log_k) * LN10

        def evaluate(x):
            e = lk + nu @ x
            if np.any(e > 700):
                return None, None, None
            c = np.exp(e)
            s = nu.T @ c
            g = np.log(s) - np.log(totals)
            return c, s, g

        if guess is None:
            x = self._initial_guess(lk, nu, totals)
        else:
            x = np.array(guess, dtype=float)
        c, s, g = evaluate(x)
        it = 0
        for it in range(1, 201):
            if c is None or not np.all(np.isfinite(g)):
                raise ConvergenceError("speciation: overflow while solving the mass balances.")
            if np.max(np.abs(g)) < 1e-13:
                break
            jac = (nu.T * c) @ nu / s[:, None]
            try:
                step = np.linalg.solve(jac, -g)
            except np.linalg.LinAlgError:
                step = -g
            big = np.max(np.abs(step))
            if big > 5.0:
                step *= 5.0 / big
            norm0 = np.max(np.abs(g))
            lam = 1.0
            while True:
                xn = x + lam * step
                cn, sn, gn = evaluate(xn)
                if cn is not None and np.all(np.isfinite(gn)) and np.max(np.abs(gn)) < (1 - 1e-4 * lam) * norm0:
                    break
                lam *= 0.5
                if lam < 1e-6 and norm0 < 1e-11:
                    # at the round-off floor: no further decrease is possible
                    xn, cn, sn, gn = x, c, s, g
                    break
                if lam < 1e-6:
                    # Newton stalled: one Gauss-Seidel sweep of monotone 1-D solves, then retry
                    xn = self._gauss_seidel(x, lk, nu, totals)
                    cn, sn, gn = evaluate(xn)
                    break
            if xn is x:
                break
            x, c, s, g = xn, cn, sn, gn
        else:
            raise ConvergenceError(
                f"speciation: mass balances did not converge in 200 iterations "
                f"(max relative residual {float(np.max(np.abs(g))):.3g}) for components "
                f"{self.components}."
            )
        return list(x), list(c), it

    def _initial_guess(self, lk, nu, totals):
        import numpy as np

        # each ligand alone with its protonation forms; metals free; then 3 Gauss-Seidel sweeps
        x = np.log(totals)
        for k, comp in enumerate(self.components):
            if comp in self.ligand_totals:
                rows = [r for r, row in enumerate(self.rows) if row.ligand == comp and row.metal is None]
                x[k] = math.log(totals[k]) - float(np.logaddexp.reduce(lk[rows]))
        for _ in range(3):
            x = self._gauss_seidel(x, lk, nu, totals)
        return x

    def _gauss_seidel(self, x, lk, nu, totals):
        """One sweep: solve each component's own mass balance (monotone in its ln free conc)."""
        import numpy as np

        x = np.array(x, dtype=float)
        for k in range(len(x)):
            rows = np.nonzero(nu[:, k])[0]
            others = lk[rows] + nu[rows] @ x - nu[rows, k] * x[k]
            w = nu[rows, k]
            target = math.log(totals[k])

            def f(y):
                return float(np.logaddexp.reduce(others + w * y + np.log(w))) - target

            lo, hi = x[k] - 1.0, x[k] + 1.0
            while f(lo) > 0:
                lo -= 2.0 * (x[k] - lo + 1.0)
                if lo < -1500:
                    break
            while f(hi) < 0:
                hi += 2.0 * (hi - x[k] + 1.0)
                if hi > 1500:
                    break
            # bisection in ln space to full precision (monotone, bracketed)
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                if f(mid) > 0:
                    hi = mid
                else:
                    lo = mid
                if hi - lo < 1e-15 * max(1.0, abs(mid)):
                    break
            x[k] = 0.5 * (lo + hi)
        return x
