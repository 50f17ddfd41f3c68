"""Ionic strength, Debye-Hueckel A and B at temperature, single-ion activity coefficients.

Models (``model=`` everywhere; the default and the toolkit's one convention is
``"truesdell-jones"``):

``"ideal"``
    gamma = 1 for every ion (concentrations are used as activities).
``"davies"``
    log10 gamma = -A z^2 (sqrt(I)/(1 + sqrt(I)) - 0.3 I), PHREEQC's coefficient
    0.3 (Davies 1962).  Valid to I ~ 0.5 mol/kg.
``"extended-debye-huckel"``
    log10 gamma = -A z^2 sqrt(I) / (1 + B a sqrt(I)) with Kielland's (1937) ion
    size a.  Valid to I ~ 0.1 mol/kg.
``"truesdell-jones"``
    log10 gamma = -A z^2 sqrt(I) / (1 + B a sqrt(I)) + b I with a and b of
    PHREEQC's ``phreeqc.dat`` (WATEQ Debye-Hueckel; Truesdell & Jones 1974).
    The b I term extends it to I ~ 1 mol/kg for the ions whose b was fitted
    (Na+, K+, Ca2+, Mg2+, Cl-, ...).

Model per ion (an ion without parameters for the chosen model)
-------------------------------------------------------------
The model of each ion is chosen from the ion's parameters alone, never from
the ionic strength, so every gamma is continuous in I and T (no jumps where
a range limit is crossed).  ``truesdell-jones``: the ion's Truesdell-Jones
a, b (phreeqc.dat, or a documented fit to mean activity coefficients, e.g.
Cs+ and Rb+) -> Davies at every ionic strength (PHREEQC's rule for species
without ``-gamma``).  ``extended-debye-huckel``: Kielland size -> assumed size
:data:`ASSUMED_ION_SIZE_ANGSTROM`.  The model actually used, its parameters,
why it was chosen (``model_choice``) and the reason for any fallback are
recorded per ion (:attr:`ActivityResult.per_ion`, and the dict returned by
:func:`log10_gamma`).  An ion that is not in the ion table raises
:class:`~ephys_correct.errors.UnknownIonError`; gamma = 1 is never returned
silently (only for ``model="ideal"`` and for neutral species, charge 0, for
which log10 gamma = 0 by definition here: no salting-out term).

Validity
--------
A model evaluated beyond its ionic-strength range emits
:class:`~ephys_correct.errors.ModelValidityWarning` (Davies I > 0.5,
extended Debye-Hueckel I > 0.1, Truesdell-Jones I > 1 mol/kg).  A and B come
from the density (Kell 1975) and dielectric constant (Malmberg & Maryott 1956)
of water; temperatures below 0 degC or above 150 degC raise, 100-150 degC warn.

Concentration scale
-------------------
All models are molal.  The package works in mM (mmol/L); this module treats
1 mM as 1 mmol/kg (molar ~ molal).  The error is the difference between the
solution density and the mass of water per litre, below 1 % for solutions of
I < 0.3 mol/kg, which shifts gamma by far less than the model differences.

Single-ion coefficients are conventional (not measurable); only combinations
such as the mean activity coefficient (:func:`mean_activity_coefficient`) or a
cell EMF are convention-free.  See ``docs/activity.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from ephys_correct._constants import kelvin
from ephys_correct._validate import (
    check_choice, check_concentration, check_integer, check_ionic_strength, check_positive,
    check_temperature_c)
from ephys_correct._resources import read_csv_rows
from ephys_correct.errors import (
    DataFileError,
    ModelValidityWarning,
    ParameterError,
    UnknownIonError,
)
from ephys_correct.chemistry.ions import canonical_ion_name, canonical_ions, load_ion_table

__all__ = [
    "MODELS",
    "DEFAULT_MODEL",
    "DAVIES_COEFFICIENT",
    "VALIDITY_LIMIT_MOL_KG",
    "ASSUMED_ION_SIZE_ANGSTROM",
    "ActivityResult",
    "IonActivityParameters",
    "ionic_strength_mm",
    "water_density_g_cm3",
    "water_dielectric_constant",
    "debye_huckel_a_b",
    "ion_activity_parameters",
    "log10_gamma",
    "activity_coefficients",
    "mean_activity_coefficient",
    "check_model",
]

#: the activity models, in order of sophistication
MODELS = ("ideal", "davies", "extended-debye-huckel", "truesdell-jones")
#: the toolkit's one convention (docs/activity.md)
DEFAULT_MODEL = "truesdell-jones"
#: coefficient of the linear term of the Davies equation (PHREEQC; Davies 1962 p. 41)
DAVIES_COEFFICIENT = 0.3
#: ionic strength (mol/kg) above which a model warns (Stumm & Morgan 1996 for Davies
#: and extended DH; Truesdell-Jones: the validation in tests/ stops at 0.5-1 mol/kg)
VALIDITY_LIMIT_MOL_KG = MappingProxyType(
    {"ideal": math.inf, "davies": 0.5, "extended-debye-huckel": 0.1, "truesdell-jones": 1.0}
)
#: ion size used when neither phreeqc.dat nor Kielland gives one (source key
#: ``ec_assumption_ion_size``): the Kielland size of CO3 2- and acetate-
ASSUMED_ION_SIZE_ANGSTROM = MappingProxyType({1: 4.5, 2: 4.5, 3: 4.5, 4: 4.5})
_ASSUMED_SIZE_SOURCE = "ec_assumption_ion_size"



# --------------------------------------------------------------------------- checks
def check_model(model: Any, parameter: str = "model", *, where: str = "") -> str:
    """Return *model* if it is one of :data:`MODELS`, else raise ParameterError.

    The message has the package's one shape (``ephys_correct._validate``):
    "<where>: model = 'pitzer' is not one of 'ideal', ...; <hint>", with close names
    suggested.

    Parameters
    ----------
    model : str
        The activity model asked for.
    parameter : str
        The parameter's name, as the message should name it.
    where : str, optional
        The public function (or file) the model was given to.

    Returns
    -------
    str
        *model*, unchanged.

    Raises
    ------
    ParameterError
        If *model* is not one of ``ideal``, ``davies``,
        ``extended-debye-huckel``, ``truesdell-jones``.
    """
    return check_choice(model, MODELS, what=parameter, where=where)


def _check_temperature(temperature_c: Any, where: str = "") -> float:
    # the package-wide 0-100 degC lies inside the range of the water correlations
    # (Kell 1975: 0-150 degC; Malmberg & Maryott 1956: 0-100 degC)
    return check_temperature_c(temperature_c, where=where)


def _check_ionic_strength_m(ionic_strength_m: Any, parameter: str = "ionic_strength_m", where: str = "") -> float:
    return check_ionic_strength(ionic_strength_m, what=parameter, where=where, unit="mol/kg")


# --------------------------------------------------------------------------- water, A, B
def water_density_g_cm3(temperature_c: float) -> float:
    """Density of air-free water at 1 atm, g/cm^3 (Kell 1975, eq. 16; 0-150 degC).

    Parameters
    ----------
    temperature_c : float
        Temperature, degC (the fit holds from 0 to 150 degC; not checked here).

    Returns
    -------
    float
        Density in g/cm^3.

    Examples
    --------
    >>> round(water_density_g_cm3(25.0), 5)
    0.99704
    """
    t = float(temperature_c)
    num = (999.83952 + 16.945176 * t - 7.9870401e-3 * t**2 - 46.170461e-6 * t**3
           + 105.56302e-9 * t**4 - 280.54253e-12 * t**5)
    return num / (1.0 + 16.879850e-3 * t) / 1000.0


def water_dielectric_constant(temperature_c: float) -> float:
    """Static relative permittivity of water (Malmberg & Maryott 1956; 0-100 degC).

    Parameters
    ----------
    temperature_c : float
        Temperature, degC (the fit holds from 0 to 100 degC; not checked here).

    Returns
    -------
    float
        The dielectric constant (dimensionless).

    Examples
    --------
    >>> round(water_dielectric_constant(25.0), 2)
    78.3
    """
    t = float(temperature_c)
    return 87.740 - 0.40008 * t + 9.398e-4 * t**2 - 1.410e-6 * t**3


@lru_cache(maxsize=256)
def _a_b(t: float) -> tuple[float, float]:
    rho = water_density_g_cm3(t)
    eps = water_dielectric_constant(t)
    eps_t = eps * kelvin(t)
    return 1.82483e6 * math.sqrt(rho) / eps_t**1.5, 50.2916 * math.sqrt(rho) / math.sqrt(eps_t)


def debye_huckel_a_b(temperature_c: float) -> tuple[float, float]:
    """Debye-Hueckel A (kg^1/2 mol^-1/2) and B (Angstrom^-1 kg^1/2 mol^-1/2) of water.

    ``A = 1.82483e6 sqrt(rho) / (eps T)^1.5`` and ``B = 50.2916 sqrt(rho) /
    (eps T)^0.5`` (Truesdell & Jones 1974), with rho (g/cm^3) from Kell (1975)
    and eps from Malmberg & Maryott (1956).

    Parameters
    ----------
    temperature_c : float
        Temperature, degC (0-150; a ModelValidityWarning above 100).

    Returns
    -------
    tuple of float
        (A, B) for log10 gamma.  At 25 degC: (0.5108, 0.3287); Freeze & Cherry
        (1979) tabulate 0.5085, 0.3281 and llnl.dat uses 0.5114, 0.3288.

    Notes
    -----
    Molal scale (mol/kg water); this package treats mM as mmol/kg.

    Examples
    --------
    >>> a, b = debye_huckel_a_b(25.0)
    >>> round(a, 4), round(b, 4)
    (0.5108, 0.3287)
    """
    return _a_b(_check_temperature(temperature_c, "debye_huckel_a_b"))


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class IonActivityParameters:
    """Activity-coefficient parameters of one ion (``data/activity_params.csv``).

    The fields are also the attributes; see :func:`ion_activity_parameters`.

    Parameters
    ----------
    ion : str
        Canonical name.
    charge : int
        Charge number z.
    kielland_a_angstrom : float or None
        Kielland (1937) ion size, Angstrom.
    kielland_source : str
        Source key of the Kielland size (``ephys_correct.sources``); "" when
        there is no value.
    tj_a_angstrom, tj_b_kg_mol : float or None
        phreeqc.dat Truesdell-Jones a (Angstrom) and b (kg/mol).
    tj_source : str
        Source key of the Truesdell-Jones parameters; "" when there is no value.
    """

    ion: str
    charge: int
    kielland_a_angstrom: float | None = None
    kielland_source: str = ""
    tj_a_angstrom: float | None = None
    tj_b_kg_mol: float | None = None
    tj_source: str = ""


def _num(row: dict[str, str], col: str, where: str) -> float | None:
    v = (row.get(col) or "").strip()
    if not v:
        return None
    try:
        x = float(v)
    except ValueError:
        raise DataFileError(f"{where}: column {col!r} = {v!r} is not a number.") from None
    if not math.isfinite(x):
        raise DataFileError(f"{where}: column {col!r} = {v!r} is not finite.")
    return x


@lru_cache(maxsize=1)
def _parameter_table() -> Mapping[str, IonActivityParameters]:
    origin = "ephys_correct/data/activity_params.csv"
    table = load_ion_table()
    out: dict[str, IonActivityParameters] = {}
    for i, row in enumerate(read_csv_rows("activity_params.csv"), start=2):
        where = f"{origin}, row {i} ({row.get('ion')!r})"
        name = (row.get("ion") or "").strip()
        canon = table.canonical(name)  # UnknownIonError for a bad data file
        if canon != name:
            raise DataFileError(f"{where}: use the canonical name {canon!r}.")
        if canon in out:
            raise DataFileError(f"{where}: duplicate row.")
        ka = _num(row, "kielland_a_angstrom", where)
        ta = _num(row, "tj_a_angstrom", where)
        tb = _num(row, "tj_b_kg_mol", where)
        if (ta is None) != (tb is None):
            raise DataFileError(f"{where}: tj_a_angstrom and tj_b_kg_mol go together.")
        for val, src in ((ka, "kielland_source"), (ta, "tj_source")):
            if val is not None and not (row.get(src) or "").strip():
                raise DataFileError(f"{where}: a value without {src}.")
        if (ka is not None and ka <= 0) or (ta is not None and ta <= 0):
            raise DataFileError(f"{where}: ion sizes must be > 0.")
        out[canon] = IonActivityParameters(
            ion=canon, charge=table[canon].charge,
            kielland_a_angstrom=ka, kielland_source=(row.get("kielland_source") or "").strip(),
            tj_a_angstrom=ta, tj_b_kg_mol=tb, tj_source=(row.get("tj_source") or "").strip(),
        )
    return MappingProxyType(out)


def ion_activity_parameters(ion: str) -> IonActivityParameters:
    """Activity parameters of *ion* (empty ones for a known ion without data).

    Parameters
    ----------
    ion : str
        Ion name (canonical or alias).

    Returns
    -------
    IonActivityParameters
        The row of ``data/activity_params.csv``; for an ion of the ion table
        without a row, parameters that are all None (the models then fall
        back as :func:`log10_gamma` describes).

    Raises
    ------
    UnknownIonError
        If *ion* is not in the ion table.
    """
    canon = canonical_ion_name(ion)
    found = _parameter_table().get(canon)
    if found is not None:
        return found
    return IonActivityParameters(ion=canon, charge=load_ion_table()[canon].charge)


# --------------------------------------------------------------------------- formulas
def _formula_log10(model: str, z: int, i_m: float, a_dh: float, b_dh: float,
                   size: float | None = None, b_ion: float = 0.0) -> float:
    """The bare equations (log10 gamma); *model* is one of the non-ideal MODELS."""
    s = math.sqrt(i_m)
    if model == "davies":
        return -a_dh * z * z * (s / (1.0 + s) - DAVIES_COEFFICIENT * i_m)
    if model in ("extended-debye-huckel", "truesdell-jones"):
        return -a_dh * z * z * s / (1.0 + b_dh * size * s) + b_ion * i_m
    raise AssertionError(model)  # pragma: no cover


def _resolve(z: int, i_m: float, t: float, model: str, params: IonActivityParameters | None,
             size_override: float | None) -> tuple[float, dict[str, Any]]:
    """log10 gamma and its provenance along the fallback chain (no warnings here)."""
    a_dh, b_dh = _a_b(t)
    name = params.ion if params is not None else None
    info: dict[str, Any] = {"requested_model": model, "ion": name, "charge": z,
                            "ionic_strength_m": i_m, "temperature_c": t,
                            "A": a_dh, "B": b_dh, "fallback_reason": None}
    if z == 0:
        info.update(model="neutral", parameters={}, source=None, validity_limit_m=math.inf,
                    fallback_reason="neutral species: log10 gamma = 0 by definition here")
        return 0.0, info
    if model == "ideal":
        info.update(model="ideal", parameters={}, source=None, validity_limit_m=math.inf)
        return 0.0, info

    reasons: list[str] = []
    label = repr(name) if name else f"an ion of charge {z:+d} (no name given)"

    def ext_dh(size: float, source: str | None, kind: str):
        info.update(model="extended-debye-huckel",
                    parameters={"a_angstrom": size, "size_from": kind}, source=source,
                    validity_limit_m=VALIDITY_LIMIT_MOL_KG["extended-debye-huckel"])
        return _formula_log10("extended-debye-huckel", z, i_m, a_dh, b_dh, size)

    def davies():
        info.update(model="davies", parameters={"c": DAVIES_COEFFICIENT}, source="davies1962",
                    validity_limit_m=VALIDITY_LIMIT_MOL_KG["davies"])
        return _formula_log10("davies", z, i_m, a_dh, b_dh)

    if model == "davies":
        value = davies()
    elif model == "extended-debye-huckel":
        if size_override is not None:
            value = ext_dh(float(size_override), None, "given")
        elif params is not None and params.kielland_a_angstrom is not None:
            value = ext_dh(params.kielland_a_angstrom, params.kielland_source, "kielland1937")
        elif abs(z) in ASSUMED_ION_SIZE_ANGSTROM:
            reasons.append(f"no Kielland ion size for {label}")
            value = ext_dh(ASSUMED_ION_SIZE_ANGSTROM[abs(z)], _ASSUMED_SIZE_SOURCE, "assumed")
        else:
            raise ParameterError(
                f"No ion size for {label} with |z| = {abs(z)} > 4: the extended Debye-Hueckel "
                "model needs one; use model='davies' or pass ion_size_angstrom."
            )
    else:  # truesdell-jones
        if params is not None and params.tj_a_angstrom is not None:
            info.update(model="truesdell-jones",
                        parameters={"a_angstrom": params.tj_a_angstrom,
                                    "b_kg_mol": params.tj_b_kg_mol},
                        source=params.tj_source,
                        validity_limit_m=VALIDITY_LIMIT_MOL_KG["truesdell-jones"],
                        model_choice=("truesdell-jones: the ion has Truesdell-Jones parameters "
                                      f"({params.tj_source})"))
            value = _formula_log10("truesdell-jones", z, i_m, a_dh, b_dh,
                                   params.tj_a_angstrom, params.tj_b_kg_mol)
        else:
            # chosen from the ion's parameters only, never from the ionic strength: an ion
            # without Truesdell-Jones parameters gets Davies at every I (PHREEQC's rule for
            # species without -gamma), so gamma is continuous in I and T
            reasons.append(f"no Truesdell-Jones parameters for {label}")
            value = davies()
            info["model_choice"] = ("davies: the ion has no Truesdell-Jones parameters "
                                    "(PHREEQC's rule for species without -gamma)")
    if reasons:
        info["fallback_reason"] = "; ".join(reasons) + f" -> {info['model']}"
    info.setdefault("model_choice", f"{info['model']}: as requested")
    return value, info


def _validity_message(info: Mapping[str, Any]) -> str | None:
    lim = info.get("validity_limit_m", math.inf)
    if info["ionic_strength_m"] > lim:
        who = info["ion"] or f"charge {info['charge']:+d}"
        return f"{who}: {info['model']} at I = {info['ionic_strength_m']:.4g} > {lim:g} mol/kg"
    return None


def log10_gamma(charge: int, ionic_strength_m: float, temperature_c: float, model: str, *,
                ion: str | None = None,
                ion_size_angstrom: float | None = None) -> tuple[float, dict[str, Any]]:
    """log10 of the single-ion activity coefficient of one species.

    Parameters
    ----------
    charge : int
        Charge number z (0 for a neutral species: log10 gamma = 0).
    ionic_strength_m : float
        Ionic strength of the solution, mol/kg (I = 1/2 sum m z^2).
    temperature_c : float
        Temperature, degC.
    model : {"ideal", "davies", "extended-debye-huckel", "truesdell-jones"}
    ion : str, optional
        Ion name (canonical or alias).  Needed for the ion-specific parameters;
        without it the chain falls back as for an ion without parameters.
    ion_size_angstrom : float, optional
        Override the Kielland size (``model="extended-debye-huckel"`` only).

    Returns
    -------
    log10_gamma : float
    info : dict
        ``model`` (actually used), ``requested_model``, ``parameters``,
        ``source`` (bibliography key), ``fallback_reason`` (None when the
        requested model was used with its own parameters), ``A``, ``B``,
        ``validity_limit_m``.

    Raises
    ------
    UnknownIonError
        *ion* is not in the ion table.
    ParameterError
        Bad model name, charge not matching *ion*, temperature outside 0-150 degC.

    Warns
    -----
    ModelValidityWarning
        The model actually used is beyond its ionic-strength range.

    Notes
    -----
    Molal model; with the package's mM inputs, 1 mM is treated as 1 mmol/kg
    (molar ~ molal, < 1 % below I = 0.3 mol/kg).

    Examples
    --------
    >>> lg, info = log10_gamma(1, 0.1, 25.0, "truesdell-jones", ion="Na+")
    >>> round(10**lg, 3), info["model"]
    (0.785, 'truesdell-jones')
    """
    check_model(model, where="log10_gamma")
    z = check_integer(charge, what="charge", where="log10_gamma")
    i_m = _check_ionic_strength_m(ionic_strength_m, where="log10_gamma")
    t = _check_temperature(temperature_c, "log10_gamma")
    params = None
    if ion is not None:
        params = ion_activity_parameters(ion)
        if params.charge != z:
            raise ParameterError(
                f"Invalid value for the 'charge' parameter: got {z:+d}, but ion {params.ion!r} "
                f"has charge {params.charge:+d} in the ion table."
            )
    if ion_size_angstrom is not None:
        if model != "extended-debye-huckel":
            raise ParameterError(
                "The 'ion_size_angstrom' parameter applies to model='extended-debye-huckel' only; "
                f"got model={model!r}."
            )
        check_positive(ion_size_angstrom, what="ion_size_angstrom", where="log10_gamma", unit="Angstrom")
    value, info = _resolve(z, i_m, t, model, params, ion_size_angstrom)
    msg = _validity_message(info)
    if msg:
        warnings.warn(msg + ".", ModelValidityWarning, stacklevel=2)
    return value, info


# --------------------------------------------------------------------------- solutions
def ionic_strength_mm(ions_mm: Mapping[str, float]) -> float:
    """Ionic strength I = 1/2 sum c z^2 in mM (mmol/L ~ mmol/kg).

    Parameters
    ----------
    ions_mm : mapping
        Ion name (canonical or alias) -> concentration, mM.

    Returns
    -------
    float
        Ionic strength, mM.

    Raises
    ------
    UnknownIonError
        A name is not in the ion table (never counted as charge 0).
    ConcentrationError
        A concentration is negative, NaN or infinite.

    Notes
    -----
    Molar ~ molal: divide by 1000 for the mol/kg the activity models use.

    Examples
    --------
    >>> ionic_strength_mm({"Ca2+": 2, "Cl-": 4})
    6.0
    """
    table = load_ion_table()
    return 0.5 * sum(table[i].charge ** 2 * c for i, c in canonical_ions(ions_mm).items())


def _ions_of(solution: Any) -> tuple[dict[str, float], str]:
    """(canonical ions -> mM, name) for a Solution-like object or a mapping ion -> mM.

    Names and recipe paths are resolved one layer up
    (:func:`ephys_correct.chemistry.conditions.activity_coefficients`).
    """
    if hasattr(solution, "ions_mm"):
        return canonical_ions(solution.ions_mm, "solution"), str(getattr(solution, "name", "solution"))
    if isinstance(solution, Mapping):
        return canonical_ions(solution, "solution"), "custom"
    raise ParameterError(
        f"Expected a Solution or a mapping ion -> mM; got {type(solution).__name__}: {solution!r} "
        "(ephys_correct.activity_coefficients also takes solutions_db names and recipe paths).")


@dataclass(frozen=True, eq=False)
class ActivityResult(Mapping[str, float]):
    """Single-ion activity coefficients of one solution: a read-only mapping ion -> gamma.

    Returned by :func:`activity_coefficients`; the fields are also the
    attributes.  Indexing accepts aliases (``result["potassium"]``).

    Parameters
    ----------
    gammas : Mapping[str, float]
        Canonical ion name -> activity coefficient gamma.
    model : str
        The model asked for.
    per_ion : Mapping[str, dict]
        Per ion: ``model`` actually used, ``parameters``, ``source``,
        ``fallback_reason`` (None when none), ``log10_gamma``.
    ionic_strength_mm : float
        Ionic strength of the whole solution, mM (~ mmol/kg).
    temperature_c : float
        Temperature, degC.
    solution_name : str
        Name of the solution (for messages).
    warnings : tuple of str
        One message per ion whose model is used beyond its validity range
        (the text of the ``ModelValidityWarning`` issued for this solution).
    """

    gammas: Mapping[str, float]
    model: str
    per_ion: Mapping[str, Mapping[str, Any]]
    ionic_strength_mm: float
    temperature_c: float
    solution_name: str = "custom"
    warnings: tuple[str, ...] = field(default=())

    def __getitem__(self, ion: str) -> float:
        try:
            return self.gammas[ion]
        except KeyError:
            canon = canonical_ion_name(ion)  # UnknownIonError for a bad name
            if canon in self.gammas:
                return self.gammas[canon]
            raise UnknownIonError(
                f"Ion {canon!r} is not in solution {self.solution_name!r} "
                f"(has {', '.join(self.gammas) or 'no ions'})."
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.gammas)

    def __len__(self) -> int:
        return len(self.gammas)

    def __repr__(self) -> str:
        body = ", ".join(f"{k!r}: {v:.4f}" for k, v in self.gammas.items())
        return (f"ActivityResult({{{body}}}, model={self.model!r}, "
                f"I={self.ionic_strength_mm:.3f} mM, T={self.temperature_c:g} degC)")

    def activities_mm(self, ions_mm: Mapping[str, float]) -> dict[str, float]:
        """a = gamma c (mM) for the ions of *ions_mm* present in this result.

        Parameters
        ----------
        ions_mm : Mapping[str, float]
            Ion (canonical or alias) -> concentration, mM.

        Returns
        -------
        dict
            Canonical ion name -> activity, mM; an ion absent from this
            result raises ``UnknownIonError``.
        """
        return {canonical_ion_name(k): self[k] * float(v) for k, v in ions_mm.items()}


def activity_coefficients(solution: Any, *, temperature_c: float, model: str = DEFAULT_MODEL,
                          ions: Any = None) -> ActivityResult:
    """Single-ion activity coefficients of every ion of a solution.

    Parameters
    ----------
    solution : Solution, mapping ion -> mM, solutions_db name or recipe path
        A plain mapping is used as given (no electroneutrality check).
    temperature_c : float
        Temperature, degC (no default).
    model : {"truesdell-jones", "extended-debye-huckel", "davies", "ideal"}
        Default ``"truesdell-jones"`` (phreeqc.dat parameters), the toolkit's convention.
    ions : iterable of str, optional
        Only these ions (the ionic strength still comes from all ions).

    Returns
    -------
    ActivityResult
        Mapping ion -> gamma with ``.per_ion`` provenance (model used,
        parameters, fallback reason).

    Raises
    ------
    UnknownIonError
        An ion is not in the ion table.
    ConcentrationError
        A negative, NaN or infinite concentration.
    ParameterError
        Bad model name or temperature.

    Warns
    -----
    ModelValidityWarning
        One warning listing every ion whose model is used beyond its range.

    Notes
    -----
    mM are treated as mmol/kg (molar ~ molal).  Complexation is not included:
    the ions are taken as free ions at the given concentrations (speciate
    first, :meth:`Solution.speciate`, for Ca2+/Mg2+ with chelators).

    Examples
    --------
    >>> g = activity_coefficients({"Na+": 150, "Cl-": 150}, temperature_c=25)
    >>> round(g["Na+"], 3), round(g["Cl-"], 3)
    (0.762, 0.737)
    """
    check_model(model, where="activity_coefficients")
    t = _check_temperature(temperature_c, "activity_coefficients")
    ions_mm, name = _ions_of(solution)
    table = load_ion_table()
    i_mm = 0.5 * sum(table[k].charge ** 2 * c for k, c in ions_mm.items())
    i_m = i_mm / 1000.0
    if ions is None:
        wanted = list(ions_mm)
    else:
        if isinstance(ions, str):
            ions = [ions]
        wanted = []
        for k in ions:
            canon = canonical_ion_name(k)
            if canon not in ions_mm:
                raise UnknownIonError(f"Ion {canon!r} is not in solution {name!r}.")
            wanted.append(canon)
    gammas: dict[str, float] = {}
    per_ion: dict[str, Mapping[str, Any]] = {}
    messages: list[str] = []
    for ion in wanted:
        value, info = _resolve(table[ion].charge, i_m, t, model, ion_activity_parameters(ion), None)
        info["log10_gamma"] = value
        gammas[ion] = 10.0 ** value
        per_ion[ion] = MappingProxyType(info)
        msg = _validity_message(info)
        if msg:
            messages.append(msg)
    if messages:
        warnings.warn(
            f"Activity model beyond its validity range in solution {name!r}: "
            + "; ".join(messages) + ".",
            ModelValidityWarning,
            stacklevel=2,
        )
    return ActivityResult(MappingProxyType(gammas), model, MappingProxyType(per_ion), i_mm, t,
                          name, tuple(messages))


def _salt_ions(salt: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    if not isinstance(salt, Mapping) or not salt:
        raise ParameterError(
            f"Invalid value for the 'salt' parameter: expected a mapping ion -> stoichiometric "
            f"number such as {{'Ca2+': 1, 'Cl-': 2}}, got {salt!r}."
        )
    table = load_ion_table()
    out = []
    for name, nu in salt.items():
        canon = canonical_ion_name(name)
        if isinstance(nu, bool) or not isinstance(nu, (int, float)) or nu != int(nu) or nu <= 0:
            raise ParameterError(f"salt: stoichiometric number of {name!r} must be a positive integer, got {nu!r}.")
        out.append((canon, int(nu), table[canon].charge))
    if sum(nu * z for _, nu, z in out) != 0:
        raise ParameterError(f"salt {dict(salt)!r} is not electroneutral.")
    return out


def mean_activity_coefficient(salt: Mapping[str, int], molality_mol_kg: float, *,
                              temperature_c: float, model: str = DEFAULT_MODEL) -> float:
    """Mean (molal) activity coefficient gamma+- of a single salt in water.

    gamma+- = (prod gamma_i^nu_i)^(1/nu), a convention-free quantity that can
    be compared with measured tables.

    Parameters
    ----------
    salt : mapping ion -> int
        Stoichiometry, e.g. ``{"Na+": 1, "Cl-": 1}`` or ``{"Ca2+": 1, "Cl-": 2}``.
    molality_mol_kg : float
        Molality of the salt, mol/kg.
    temperature_c : float
        Temperature, degC.
    model : str
        Activity model (:data:`MODELS`).

    Returns
    -------
    float
        gamma+- (dimensionless).

    Notes
    -----
    Molal by construction; no ion pairing (e.g. NaSO4-) is included, so for
    salts that associate (sulfates, nitrates) the model's gamma+- is too high:
    Na2SO4 at 0.1 mol/kg by 15 % (tests/test_activity.py).

    Examples
    --------
    >>> round(mean_activity_coefficient({"Na+": 1, "Cl-": 1}, 0.1, temperature_c=25), 3)
    0.776
    """
    check_model(model, where="mean_activity_coefficient")
    ions = _salt_ions(salt)
    m = check_concentration(molality_mol_kg, what="molality_mol_kg", where="mean_activity_coefficient",
                            unit="mol/kg")
    i_m = 0.5 * sum(nu * m * z * z for _, nu, z in ions)
    total = sum(nu for _, nu, _ in ions)
    lg = 0.0
    for ion, nu, z in ions:
        value, _ = log10_gamma(z, i_m, temperature_c, model, ion=ion)
        lg += nu * value
    return 10.0 ** (lg / total)
