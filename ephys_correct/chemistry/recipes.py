"""Recipe files (what is weighed): parsing, validation and titration to the stated pH."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from ephys_correct._frozen import FrozenMappings
from ephys_correct._resources import read_user_file, tomllib
from ephys_correct._validate import check_choice, check_ph, check_temperature_c
from ephys_correct.errors import (
    ElectroneutralityError,
    RecipeError,
    RecipeLimitError,
    UnknownCompoundError,
    suggest,
)
from ephys_correct.chemistry.ions import load_ion_table
from ephys_correct.chemistry.additives import apply_additives, parse_additives
from ephys_correct.chemistry.compounds import load_compounds
from ephys_correct.chemistry.solutions import DEFAULT_ACTIVITY_MODEL, Solution, TitrationEstimate, _balance, _canonical_amounts, _check_amount, _check_role, _istrength, _net
from ephys_correct.chemistry.acidbase import protonation_fractions
from ephys_correct.chemistry.acidbase import reference_charge
from ephys_correct.errors import ModelValidityWarning


SCHEMA_VERSION = 1
_TOP_KEYS = {
    "schema_version", "name", "role", "source", "doi", "url", "notes", "description",
    "components_mm", "ions_mm", "ph", "osmolality", "tags", "temperature_c", "additives",
}
_PH_KEYS = {"value", "temperature_c", "titrant", "buffer", "note"}
_OSM_KEYS = {"measured_mosm_kg", "note"}


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
    components = _canonical_amounts(comps_in, f"{path}: [components_mm]", kind="compound", names=compounds,
                                    drop_zero=True)
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
        ph_value = check_ph(ph_value, what="[ph] value", where=path, error=RecipeError)
    t_ph = ph_in.get("temperature_c")
    if t_ph is not None:
        t_ph = check_temperature_c(t_ph, what="[ph] temperature_c", where=path, error=RecipeError)
    titrants_present = [c for c in components if compounds[c].titrant]
    if ph_in.get("buffer") is not None:
        check_choice(ph_in["buffer"], ("bicarbonate",), what="[ph] buffer", where=path, error=RecipeError)
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
    additives = parse_additives(data.get("additives"), path)
    return Recipe(name=name.strip(), role=role, components_mm=MappingProxyType(components),
                  ions_mm=MappingProxyType(ions), ph=spec, source=data.get("source"),
                  doi=data.get("doi"), notes=data.get("notes"),
                  measured_osmolality_mosm_kg=measured, path=path, source_sha256=source_sha256,
                  additives=additives)


#: a recipe file longer than this is refused unread (the shipped ones are ~2 kB)
MAX_RECIPE_BYTES = 256 * 1024
#: tables/arrays nested deeper than this are refused (a recipe needs 2: [components_mm] NaCl = 140)
MAX_RECIPE_DEPTH = 4
#: integers beyond this magnitude are refused (exact in a float64; no amount, pH or temperature is near it)
MAX_RECIPE_INT = 2 ** 53


def _check_structure(data: Any, path: str) -> None:
    """Refuse nesting deeper than MAX_RECIPE_DEPTH and integers beyond MAX_RECIPE_INT (iteratively)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, key, depth = stack.pop()
        if isinstance(value, (Mapping, list)):
            if depth > MAX_RECIPE_DEPTH:
                raise RecipeLimitError(f"{path}: {key!r} is nested more than {MAX_RECIPE_DEPTH} levels deep; "
                                       "a recipe is tables of name = number.")
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            for k, v in items:
                stack.append((v, f"{key}.{k}" if key else str(k), depth + 1))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_RECIPE_INT:
            digits = len(str(abs(value))) if abs(value) < 10 ** 4000 else "thousands of"
            raise RecipeLimitError(f"{path}: {key!r} is an integer of {digits} digits; "
                                   f"numbers above {MAX_RECIPE_INT} are refused (not an amount in mM).")


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read and validate a recipe TOML file (never modified).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.toml`` file.

    Returns
    -------
    Recipe

    Raises
    ------
    FileNotFoundError
        No such file.
    RecipeLimitError
        Not a regular file (a FIFO or a device is refused before it is opened),
        longer than :data:`MAX_RECIPE_BYTES`, nested deeper than
        :data:`MAX_RECIPE_DEPTH`, or an integer beyond :data:`MAX_RECIPE_INT`.
    RecipeError
        Not valid TOML or not a valid recipe (see :func:`parse_recipe`).
    """
    p = Path(path)
    if p.is_dir():
        raise RecipeError(f"{p}: is a directory, not a recipe file.")
    raw = read_user_file(p, max_bytes=MAX_RECIPE_BYTES, what="recipe file", error=RecipeLimitError)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except RecursionError:
        raise RecipeLimitError(f"{p}: nested too deeply to be parsed (a recipe is tables of name = number).") from None
    except (ValueError, UnicodeDecodeError) as exc:  # TOMLDecodeError, and int() beyond its digit limit
        raise RecipeError(f"{p}: not valid TOML: {exc}") from None
    _check_structure(data, str(p))
    try:
        return parse_recipe(data, path=str(p), source_sha256=hashlib.sha256(raw).hexdigest(), require_schema=True)
    except (OverflowError, RecursionError) as exc:  # a safety net: every limit above should come first
        raise RecipeLimitError(f"{p}: a value is beyond what a recipe can hold ({type(exc).__name__}: {exc}).") from None
