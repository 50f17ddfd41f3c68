"""Osmotic coefficients and osmolality: what an osmometer reads.

Pitzer osmotic coefficients of the salts (mixture form), molar -> molal conversion from
partial molar volumes, MgSO4/CaSO4 association through Pitzer beta2, osmotic coefficients of
sucrose, glucose and mannitol; every parameter with its source in the data files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from ephys_correct._resources import read_csv_rows
from ephys_correct.errors import (
    ConcentrationError,
    DataFileError,
)
from ephys_correct.chemistry.ions import canonical_ions, load_ion_table
from ephys_correct._validate import check_choice, check_concentration
from ephys_correct.chemistry.activity import (
    _a_b, _num, water_density_g_cm3,
)


# --------------------------------------------------------------------------- osmotic
@dataclass(frozen=True)
class _PitzerSalt:
    salt: str
    cation: str
    anion: str
    nu_cation: int
    nu_anion: int
    beta0: float
    beta1: float
    cphi: float
    beta2: float = 0.0

    @property
    def alphas(self) -> tuple[float, float]:
        """(alpha1, alpha2): 1.4 and 12 for 2-2 salts (Pitzer & Mayorga 1974), else 2 and 0."""
        two_two = self.nu_cation == self.nu_anion == 1 and self.beta2 != 0.0
        return (1.4, 12.0) if two_two else (2.0, 0.0)

    def b_phi(self, sqrt_i: float) -> float:
        """B^phi at sqrt(I)."""
        a1, a2 = self.alphas
        out = self.beta0 + self.beta1 * math.exp(-a1 * sqrt_i)
        if self.beta2:
            out += self.beta2 * math.exp(-a2 * sqrt_i)
        return out


@lru_cache(maxsize=1)
def _pitzer_table() -> Mapping[str, _PitzerSalt]:
    origin = "ephys_correct/data/osmotic_coefficients.csv"
    table = load_ion_table()
    out = {}
    for i, row in enumerate(read_csv_rows("osmotic_coefficients.csv"), start=2):
        where = f"{origin}, row {i}"
        try:
            s = _PitzerSalt(row["salt"], table.canonical(row["cation"]), table.canonical(row["anion"]),
                            int(row["nu_cation"]), int(row["nu_anion"]), float(row["pitzer_beta0"]),
                            float(row["pitzer_beta1"]), float(row["pitzer_cphi"]),
                            float(row.get("pitzer_beta2") or 0.0))
        except (KeyError, ValueError) as exc:
            raise DataFileError(f"{where}: {exc}") from None
        zc, za = table[s.cation].charge, table[s.anion].charge
        if zc <= 0 or za >= 0 or s.nu_cation * zc + s.nu_anion * za != 0:
            raise DataFileError(f"{where}: {s.salt} is not a neutral cation-anion salt.")
        out[s.salt] = s
    return MappingProxyType(out)


def _pitzer(salt: _PitzerSalt, m: float) -> tuple[float, float]:
    """(phi, gamma+-) of a single salt at molality m, 25 degC (Pitzer & Mayorga 1973)."""
    table = load_ion_table()
    zc, za = table[salt.cation].charge, abs(table[salt.anion].charge)
    nc, na = salt.nu_cation, salt.nu_anion
    nu = nc + na
    i_m = 0.5 * m * (nc * zc * zc + na * za * za)
    a_dh, _ = _a_b(25.0)
    a_phi = a_dh * math.log(10.0) / 3.0  # osmotic DH slope, 0.392 at 25 degC
    b = 1.2
    s = math.sqrt(i_m)
    f_phi = -a_phi * s / (1.0 + b * s)
    b_phi = salt.b_phi(s)
    phi = (1.0 + zc * za * f_phi + m * (2.0 * nc * na / nu) * b_phi
           + m * m * (2.0 * (nc * na) ** 1.5 / nu) * salt.cphi)
    if s == 0:
        return 1.0, 1.0
    f_g = -a_phi * (s / (1.0 + b * s) + (2.0 / b) * math.log1p(b * s))
    b_g = 2.0 * salt.beta0
    for beta, alpha in ((salt.beta1, salt.alphas[0]), (salt.beta2, salt.alphas[1])):
        if beta:
            x = alpha * s
            b_g += (2.0 * beta / x**2) * (1.0 - (1.0 + x - x * x / 2.0) * math.exp(-x))
    ln_g = (zc * za * f_g + m * (2.0 * nc * na / nu) * b_g
            + m * m * (2.0 * (nc * na) ** 1.5 / nu) * 1.5 * salt.cphi)
    return phi, math.exp(ln_g)


def osmotic_coefficient(salt: str, molality_mol_kg: float) -> float:
    """Osmotic coefficient phi of a single salt in water at 25 degC (Pitzer model).

    Parameters
    ----------
    salt : str
        A salt of ``data/osmotic_coefficients.csv`` (``"NaCl"``, ``"KCl"``,
        ``"CaCl2"``, ``"MgCl2"``, ...).
    molality_mol_kg : float

    Returns
    -------
    float
        phi, with the Pitzer & Mayorga (1973) parameters and A_phi from
        :func:`debye_huckel_a_b` at 25 degC (0.392).

    Notes
    -----
    Molal model; mM are treated as mmol/kg elsewhere in the package.  Valid to
    a few mol/kg for these salts.

    Examples
    --------
    >>> round(osmotic_coefficient("NaCl", 0.15), 3)
    0.926
    """
    tab = _pitzer_table()
    check_choice(salt, tab, what="salt (a salt with Pitzer parameters)", where="osmotic_coefficient")
    m = check_concentration(molality_mol_kg, what="molality_mol_kg", where="osmotic_coefficient", unit="mol/kg")
    return _pitzer(tab[salt], m)[0]


# --------------------------------------------------------------------------- osmolality
#: volume (cm3/mol) used for a species without a row in data/solute_volumes.csv (named in the note)
DEFAULT_SOLUTE_VOLUME_CM3_MOL = 100.0
#: Pitzer parameters are at 25 degC; the estimate is made there (osmometers read within ~1 %)
OSMOLALITY_TEMPERATURE_C = 25.0


@dataclass(frozen=True)
class OsmolalityEstimate:
    """An osmolality estimate with every step labelled.

    Attributes
    ----------
    osmolality_mosm_kg : float
        Estimated osmolality, mOsm/kg water (what a freezing-point or vapour-pressure osmometer
        reports).
    ideal_osmolarity_mosm_l : float
        Sum of all dissolved particles per litre of solution, mOsm/L (no interactions, no
        molar -> molal conversion): not an osmolality and not a bound (salines read 7-10 %
        below it, sucrose-rich solutions can read above it).
    water_kg_per_l : float
        kg of water per litre of solution (from the partial molar volumes of the solutes).
    phi_ionic : float
        Osmotic coefficient of the ions after ion pairing (Pitzer mixture equation).
    neutral_phi : Mapping[str, float]
        Osmotic coefficient applied to each neutral solute.
    method : str
        One-paragraph description, including every assumption that applied.
    """

    osmolality_mosm_kg: float
    ideal_osmolarity_mosm_l: float
    water_kg_per_l: float
    phi_ionic: float
    neutral_phi: Mapping[str, float]
    method: str

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-ready)."""
        d = dict(self.__dict__)
        d["neutral_phi"] = dict(self.neutral_phi)
        return d


@lru_cache(maxsize=1)
def _volume_table() -> Mapping[str, float]:
    from ephys_correct.chemistry.ions import normalize_key

    out = {}
    for i, row in enumerate(read_csv_rows("solute_volumes.csv"), start=2):
        where = f"ephys_correct/data/solute_volumes.csv, row {i}"
        v = _num(row, "v0_cm3_mol", where)
        if v is None or not (row.get("v_source") or "").strip():
            raise DataFileError(f"{where}: a volume and its source are required.")
        out[normalize_key(row["name"])] = v
    return MappingProxyType(out)


@lru_cache(maxsize=1)
def _nonelectrolyte_table() -> Mapping[str, tuple[str, float]]:
    from ephys_correct.chemistry.ions import normalize_key

    out = {}
    for i, row in enumerate(read_csv_rows("nonelectrolyte_osmotic.csv"), start=2):
        where = f"ephys_correct/data/nonelectrolyte_osmotic.csv, row {i}"
        b1 = _num(row, "phi_b1_kg_mol", where)
        if b1 is None or not (row.get("phi_source") or "").strip():
            raise DataFileError(f"{where}: phi_b1_kg_mol and its source are required.")
        names = [row["name"], *[a for a in (row.get("aliases") or "").split(";") if a.strip()]]
        for n in names:
            out[normalize_key(n)] = (row["name"], b1)
    return MappingProxyType(out)


def _solute_volume(name: str, missing: list[str]) -> float:
    """Partial molar volume (cm3/mol) of an ion, ligand form/complex or neutral solute."""
    from ephys_correct.chemistry.ions import normalize_key

    vols = _volume_table()
    key = normalize_key(name)
    if key in vols:
        return vols[key]
    from ephys_correct.chemistry._speciation_solver import load_ligand_table

    table = load_ligand_table()
    sp = table.find_species(name)
    if sp is not None and normalize_key(sp.ligand) in vols:
        v = vols[normalize_key(sp.ligand)]
        if sp.metal is not None:
            v += vols.get(normalize_key(sp.metal), 0.0)
        return v
    missing.append(name)
    return DEFAULT_SOLUTE_VOLUME_CM3_MOL


def _pitzer_pair(cation: str, anion: str, zc: int, za: int,
                 proxies: dict[tuple[str, str], str]) -> _PitzerSalt | None:
    """Pitzer parameters of a cation-anion pair; documented proxies when not tabulated.

    Tabulated pair -> its parameters (MgSO4 and CaSO4 with beta2, which carries their ion
    association). Otherwise: a monovalent anion takes the parameters of the cation's chloride
    (NaCl for a monovalent cation without one); a divalent anion with a monovalent cation those
    of Na2SO4; any other pair (charges above 2, or 2-2 pairs other than the sulfates) only the
    Debye-Hueckel term (None).
    """
    by_pair = {(s.cation, s.anion): s for s in _pitzer_table().values()}
    s = by_pair.get((cation, anion))
    if s is None:
        tab = _pitzer_table()
        if za == -1:
            s = by_pair.get((cation, "Cl-"))
            if s is None or tab[s.salt].nu_cation * zc != tab[s.salt].nu_anion:
                s = by_pair.get((cation, "Cl-")) if zc == 2 else tab["NaCl"]
        elif za == -2 and zc == 1:
            s = tab["Na2SO4"]
        if s is None:
            proxies[(cation, anion)] = "Debye-Hueckel term only"
            return None
        proxies[(cation, anion)] = s.salt
    return s


def osmolality(ions_mm: Mapping[str, float], neutrals_mm: Mapping[str, float] | None = None, *,
               extra_particles_mm: Mapping[str, float] | None = None,
               extra_volume_ml_per_l: float = 0.0) -> OsmolalityEstimate:
    """Osmolality (mOsm/kg water) of a solution given in mmol/L, with every step labelled.

    Steps (docs/activity.md, "Osmolality"):

    1. **Molar -> molal.** kg of water per litre = rho_water(25 degC) * (1 - sum c_i V_i), with
       the partial molar volume V_i of every solute (``data/solute_volumes.csv``: Millero's ionic
       volumes, measured sugar volumes, molar mass / 1.6 g/cm3 for other organics).
    2. **Ions**: Pitzer's mixture equation for the osmotic coefficient (Pitzer & Mayorga 1973
       parameters, 25 degC, no mixing terms theta/psi). The association of MgSO4 and CaSO4 --
       the ion pairing that matters in sulfate-containing cutting solutions -- is carried by
       their beta2 terms (pitzer.dat; Pitzer & Mayorga 1974). Pairs without parameters take a
       documented proxy (the cation's chloride, Na2SO4, or the Debye-Hueckel term alone).
    3. **Neutral solutes**: phi = 1 + b1 m for sucrose, glucose, mannitol
       (``data/nonelectrolyte_osmotic.csv``), 1 for the others (named in the note).

    Parameters
    ----------
    ions_mm : mapping ion -> mM (mmol/L)
    neutrals_mm : mapping name -> mM, optional
        Uncharged solutes.
    extra_particles_mm : mapping name -> mOsm/L, optional
        Further particles counted with phi = 1 (recipe additives not counted as ions).
    extra_volume_ml_per_l : float, default 0
        Volume those particles occupy, mL per litre of solution (for the molal conversion).

    Returns
    -------
    OsmolalityEstimate

    Raises
    ------
    UnknownIonError
        An ion is not in the ion table.
    ConcentrationError
        Negative or non-finite amounts; ions of one sign only.
    """
    ions = {k: v for k, v in canonical_ions(ions_mm, "ions_mm").items() if v > 0}
    neutrals: dict[str, float] = {}
    for where, mapping in (("neutrals_mm", neutrals_mm), ("extra_particles_mm", extra_particles_mm)):
        for k, v in (mapping or {}).items():
            c = check_concentration(v, what=repr(k), where=where)
            if c > 0:
                key = str(k) if where == "neutrals_mm" else f"{k} (additive)"
                neutrals[key] = neutrals.get(key, 0.0) + c
    table = load_ion_table()
    if ions and (not any(table[k].charge > 0 for k in ions) or not any(table[k].charge < 0 for k in ions)):
        raise ConcentrationError(
            "osmolality: the solution needs at least one cation and one anion "
            f"(got {dict(ions)!r})."
        )
    ideal = sum(ions.values()) + sum(neutrals.values())
    t = OSMOLALITY_TEMPERATURE_C
    notes: list[str] = []

    # 2. molar -> molal (mol/L -> mol/kg water)
    missing: list[str] = []
    vol = sum(c / 1000.0 * _solute_volume(k, missing) for k, c in ions.items())
    vol += sum(c / 1000.0 * _solute_volume(k, missing) for k, c in neutrals.items()
               if not k.endswith(" (additive)"))
    vol += float(extra_volume_ml_per_l)
    water = water_density_g_cm3(t) * (1.0 - vol / 1000.0)
    if water <= 0.5:
        raise ConcentrationError(f"osmolality: the solutes occupy {vol:.0f} mL per litre; "
                                 "the solution is too concentrated for this estimate.")
    m = {k: c / 1000.0 / water for k, c in ions.items()}

    free = m

    # 3. ions: Pitzer mixture osmotic coefficient (no theta/psi mixing terms)
    sum_ions = sum(free.values())
    phi_ionic = 1.0
    proxies: dict[tuple[str, str], str] = {}
    if sum_ions > 0:
        i_m = 0.5 * sum(table[k].charge ** 2 * v for k, v in free.items())
        z_sum = sum(abs(table[k].charge) * v for k, v in free.items())
        a_phi = _a_b(t)[0] * math.log(10.0) / 3.0
        sqrt_i = math.sqrt(i_m)
        total = -a_phi * i_m * sqrt_i / (1.0 + 1.2 * sqrt_i)
        for c, mc in free.items():
            zc = table[c].charge
            if zc <= 0:
                continue
            for a, ma in free.items():
                za = table[a].charge
                if za >= 0:
                    continue
                salt = _pitzer_pair(c, a, zc, za, proxies)
                if salt is None:
                    b_phi, c_ca = 0.0, 0.0
                else:
                    b_phi = salt.b_phi(sqrt_i)
                    c_ca = salt.cphi / (2.0 * math.sqrt(abs(zc * za)))
                total += mc * ma * (b_phi + z_sum * c_ca)
        phi_ionic = 1.0 + 2.0 * total / sum_ions

    # 4. neutral solutes
    nonel = _nonelectrolyte_table()
    from ephys_correct.chemistry.ions import normalize_key

    neutral_phi: dict[str, float] = {}
    ideal_neutrals: list[str] = []
    osm = phi_ionic * sum_ions
    for k, c in neutrals.items():
        mk = c / 1000.0 / water
        hit = nonel.get(normalize_key(k))
        phi = 1.0 + hit[1] * mk if hit else 1.0
        if not hit:
            ideal_neutrals.append(k)
        neutral_phi[k] = phi
        osm += phi * mk
    value = 1000.0 * osm

    parts = [f"osmolality at {t:g} degC: molar -> molal with {water:.4f} kg water per L "
             "(partial molar volumes, data/solute_volumes.csv)"]
    if sum_ions > 0:
        parts.append(f"ions: Pitzer mixture osmotic coefficient phi = {phi_ionic:.4f} "
                     "(Pitzer & Mayorga 1973, 25 degC, no mixing terms)")
    big = sorted(((c, a), s) for (c, a), s in proxies.items()  # pairs worth > ~0.1 % of the result
                 if free[c] * free[a] > 1e-4)
    sulfates = [f"{c}/{a}" for c in free for a in free
                if (c, a) in (("Mg2+", "SO4 2-"), ("Ca2+", "SO4 2-"))]
    if sulfates:
        parts.append("ion association of " + ", ".join(sulfates) + " through Pitzer's beta2 (pitzer.dat)")
    if big:
        parts.append("no Pitzer parameters for " + ", ".join(f"{c}/{a} ({s} used)" for (c, a), s in big))
    named = [f"{k} phi {neutral_phi[k]:.4f}" for k in neutrals if k not in ideal_neutrals]
    if named:
        parts.append("neutral solutes " + ", ".join(named) + " (data/nonelectrolyte_osmotic.csv)")
    if ideal_neutrals:
        parts.append("phi = 1 assumed for " + ", ".join(ideal_neutrals))
    if missing:
        parts.append(f"no partial molar volume for {', '.join(sorted(set(missing)))}: "
                     f"{DEFAULT_SOLUTE_VOLUME_CM3_MOL:g} cm3/mol assumed")
    return OsmolalityEstimate(
        osmolality_mosm_kg=value,
        ideal_osmolarity_mosm_l=ideal,
        water_kg_per_l=water,
        phi_ionic=phi_ionic,
        neutral_phi=MappingProxyType(neutral_phi),
        method="; ".join(parts) + ".",
    )


def osmolality_estimate(ions_mm: Mapping[str, float],
                        neutrals_mm: Mapping[str, float] | None = None) -> tuple[float, str]:
    """Estimated osmolality (mOsm/kg) and the method note (see :func:`osmolality`).

    Parameters
    ----------
    ions_mm : mapping ion -> mM
    neutrals_mm : mapping name -> mM, optional

    Returns
    -------
    value_mosm_kg : float
    method_note : str

    Examples
    --------
    >>> v, note = osmolality_estimate({"Na+": 154, "Cl-": 154})   # 0.9 % NaCl, 286 measured
    >>> round(v)
    287
    """
    est = osmolality(ions_mm, neutrals_mm)
    return est.osmolality_mosm_kg, est.method
