"""The ion table: charge and limiting conductivity of every ion, with sources.

Naming style (canonical names)
------------------------------
Formula or common name followed by the charge: ``K+``, ``Ca2+``, ``Cl-``,
``gluconate-``, ``MgATP2-``.  When the formula ends in a digit *and* the charge
has a number, a space separates them: ``HPO4 2-``, ``SO4 2-``, ``PO4 3-``.
Aliases (``K``, ``potassium``, ``Ca++``, ``HPO42-``) are resolved
case-insensitively by :func:`canonical_ion_name`; nothing is matched by prefix.

Transport parameter
-------------------
Each ion stores one quantity, the limiting *equivalent* conductivity
``lambda_eq`` = lambda/|z| (S cm^2 mol^-1, 25 degC).  Everything else derives
from it, here and nowhere else:

* relative (mechanical) mobility  ``u = lambda_eq / (|z| lambda_eq,K+)``
  (Barry & Lynch 1991; Ca2+ -> 0.405);
* diffusion coefficient ``D = R T lambda_eq / (|z| F^2)`` (Nernst-Einstein).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ephys_correct._constants import FARADAY, GAS_CONSTANT, kelvin
from ephys_correct._resources import list_data_files, read_csv_rows
from ephys_correct._validate import check_concentration, check_positive, message
from ephys_correct.errors import DataFileError, ParameterError, UnknownIonError, suggest

__all__ = ["Ion", "IonTable", "load_ion_table", "get_ion", "canonical_ion_name", "canonical_ions",
           "normalize_key"]

_REFERENCE_ION = "K+"


@dataclass(frozen=True)
class Ion:
    """One charged species of the ion table.

    Built by :func:`load_ion_table`; the fields are also the attributes.

    Parameters
    ----------
    name : str
        Canonical name (see module docstring).
    charge : int
        Charge number z (never 0: neutral solutes are not ions).
    lambda_eq : float
        Limiting equivalent conductivity lambda/|z| at 25 degC, S cm^2 mol^-1.
    lambda_source : str
        Key of the bibliography entry (``ephys_correct.sources``).
    lambda_locator : str
        Table, page or derivation within that source.
    aliases : tuple of str
        Other accepted spellings.
    notes : str
        Free text from the table's ``notes`` column.
    lambda_eq_reference : float
        lambda_eq of K+ in the same table, used for the relative mobility.
    """

    name: str
    charge: int
    lambda_eq: float
    lambda_source: str
    lambda_locator: str
    aliases: tuple[str, ...] = ()
    notes: str = ""
    lambda_eq_reference: float = 73.5

    @property
    def relative_mobility(self) -> float:
        """Barry's mobility relative to K+: u = lambda_eq / (|z| lambda_eq,K+)."""
        return lambda_eq_to_relative_mobility(self.lambda_eq, self.charge, self.lambda_eq_reference)

    def diffusion_coefficient_m2_s(self, temperature_c: float) -> float:
        """Nernst-Einstein diffusion coefficient D = R T lambda_eq / (|z| F^2), m^2/s.

        The conductivity is the 25 degC value; *temperature_c* only enters
        through RT (no viscosity correction), which is what the LJP needs since
        a common viscosity factor cancels in mobility ratios.

        Parameters
        ----------
        temperature_c : float
            Temperature in degC (enters through RT only).

        Returns
        -------
        float
            D in m^2/s (K+ at 25 degC: 1.957e-9).
        """
        lam_si = self.lambda_eq * 1e-4  # S m^2 mol^-1
        return GAS_CONSTANT * kelvin(temperature_c) * lam_si / (abs(self.charge) * FARADAY**2)


def lambda_eq_to_relative_mobility(lambda_eq: float, charge: int, lambda_eq_k: float) -> float:
    """u = lambda_eq / (|z| lambda_eq,K): the one conversion used by the package."""
    return lambda_eq / (abs(charge) * lambda_eq_k)


def normalize_key(name: str) -> str:
    """Lower-case, whitespace-free key used for alias matching.

    Parameters
    ----------
    name : str
        An ion name or alias (anything ``str()`` accepts).

    Returns
    -------
    str
        *name* without whitespace, lower-cased (``"HPO4 2-"`` -> ``"hpo42-"``).
    """
    return re.sub(r"\s+", "", str(name)).lower()


class IonTable(Mapping[str, Ion]):
    """Read-only mapping canonical name -> :class:`Ion`, with alias lookup.

    Indexing accepts canonical names and aliases (``table["potassium"]`` is
    the K+ row); iteration yields canonical names.

    Parameters
    ----------
    ions : list of Ion
        The rows; a name defined twice, or an alias naming two ions, raises
        ``DataFileError``.
    origin : str
        Where the rows came from (named in error messages).
    """

    def __init__(self, ions: list[Ion], origin: str):
        self._ions: dict[str, Ion] = {}
        for ion in ions:
            if ion.name in self._ions:
                raise DataFileError(f"{origin}: ion {ion.name!r} is defined twice.")
            self._ions[ion.name] = ion
        self.origin = origin
        self._lookup: dict[str, str] = {}
        for ion in ions:
            for key in (ion.name, *ion.aliases):
                k = normalize_key(key)
                other = self._lookup.get(k)
                if other is not None and other != ion.name:
                    raise DataFileError(
                        f"{origin}: alias {key!r} names both {other!r} and {ion.name!r}."
                    )
                self._lookup[k] = ion.name

    def __getitem__(self, name: str) -> Ion:
        return self._ions[self.canonical(name)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ions)

    def __len__(self) -> int:
        return len(self._ions)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_key(name) in self._lookup

    def canonical(self, name: str) -> str:
        """Canonical name for *name* (an alias or canonical name).

        Parameters
        ----------
        name : str
            Canonical name or alias, matched case-insensitively, ignoring
            whitespace; never by prefix.

        Returns
        -------
        str
            The canonical name.

        Raises
        ------
        UnknownIonError
            If nothing matches; the message suggests close names.
        """
        try:
            return self._lookup[normalize_key(name)]
        except (KeyError, TypeError):
            names = list(self._ions) + [a for i in self._ions.values() for a in i.aliases]
            raise UnknownIonError(
                f"Unknown ion {name!r} (ion table {self.origin})." + suggest(str(name), names)
            ) from None


def _parse_rows(rows: list[dict[str, str]], origin: str) -> list[Ion]:
    required = {"name", "charge", "lambda_eq_S_cm2_mol", "lambda_source", "lambda_locator"}
    ions: list[Ion] = []
    k_row = None
    for i, row in enumerate(rows, start=2):
        missing = required - {k for k, v in row.items() if v not in (None, "")}
        if missing:
            raise DataFileError(f"{origin}, line {i}: missing {sorted(missing)}.")
        try:
            z = int(row["charge"])
            lam = float(row["lambda_eq_S_cm2_mol"])
        except ValueError as exc:
            raise DataFileError(f"{origin}, line {i} ({row['name']!r}): {exc}") from None
        where = f"{origin}, line {i} ({row['name']!r})"
        if z == 0:
            raise DataFileError(message("charge", z, "zero", "an ion has a charge", where=where))
        check_positive(lam, what="lambda_eq_S_cm2_mol", where=where, unit="S cm2/mol", error=DataFileError)
        aliases = tuple(a.strip() for a in (row.get("aliases") or "").split(";") if a.strip())
        ions.append(
            Ion(row["name"], z, lam, row["lambda_source"], row["lambda_locator"], aliases,
                row.get("notes") or "")
        )
        if row["name"] == _REFERENCE_ION:
            k_row = lam
    if k_row is None:
        raise DataFileError(f"{origin}: the reference ion {_REFERENCE_ION!r} is missing.")
    return [Ion(**{**ion.__dict__, "lambda_eq_reference": k_row}) for ion in ions]


@lru_cache(maxsize=8)
def _load(path: str | None) -> IonTable:
    if path is None:
        # ions.csv plus any ions_*.csv (e.g. complexes added by the speciation data)
        rows: list[dict[str, str]] = []
        for fname in list_data_files("ions", ".csv"):
            rows.extend(read_csv_rows(fname))
        return IonTable(_parse_rows(rows, "ephys_correct/data/ions*.csv"), "ephys_correct/data/ions*.csv")
    import csv

    p = Path(path)
    with p.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(ln for ln in fh if not ln.startswith("#")))
    return IonTable(_parse_rows(rows, str(p)), str(p))


def load_ion_table(path: str | Path | None = None) -> IonTable:
    """Load the packaged ion table, or a user table with the same columns.

    Parameters
    ----------
    path : str or Path, optional
        A CSV file with the columns of ``ephys_correct/data/ions.csv``; None
        (default) loads the packaged ``ions*.csv`` files.

    Returns
    -------
    IonTable
        Cached per path: loading again returns the same table.

    Raises
    ------
    DataFileError
        A row without a required column, a bad charge or conductivity, a
        duplicate name or alias, or no K+ row.
    """
    return _load(None if path is None else str(Path(path).resolve()))


def get_ion(name: str) -> Ion:
    """The :class:`Ion` for *name* (canonical or alias) from the packaged table.

    Parameters
    ----------
    name : str
        Canonical name or alias (``"K+"``, ``"potassium"``, ``"Ca++"``).

    Returns
    -------
    Ion
        The row of the ion table.

    Raises
    ------
    UnknownIonError
        If nothing matches; the message suggests close names.
    """
    return load_ion_table()[name]


def canonical_ion_name(name: str) -> str:
    """Canonical spelling of *name*; raises UnknownIonError with suggestions.

    Parameters
    ----------
    name : str
        Canonical name or alias, case-insensitive (``"K"``, ``"Ca++"``,
        ``"HPO42-"``).

    Returns
    -------
    str
        The canonical name (``"K+"``, ``"Ca2+"``, ``"HPO4 2-"``).

    Raises
    ------
    UnknownIonError
        If nothing matches (a ``KeyError``); the message suggests close names.

    Examples
    --------
    >>> canonical_ion_name("Ca++"), canonical_ion_name("hpo42-")
    ('Ca2+', 'HPO4 2-')
    """
    return load_ion_table().canonical(name)


def canonical_ions(ions_mm: Mapping[str, float], where: str = "ions_mm") -> dict[str, float]:
    """Ion -> mM with canonical ion names and checked concentrations.

    Parameters
    ----------
    ions_mm : Mapping[str, float]
        Ion name or alias -> concentration (mM).
    where : str, default "ions_mm"
        What the mapping is (a parameter name, a solution side), named in messages.

    Returns
    -------
    dict of str to float
        Canonical ion name -> concentration (mM), in the order given.

    Raises
    ------
    ParameterError
        *ions_mm* is not a mapping, or two keys name the same ion.
    UnknownIonError
        An unknown ion name (with suggestions).
    ConcentrationError
        A concentration that is not a finite number >= 0.

    Examples
    --------
    >>> canonical_ions({"K": 140, "Cl": 4.0})
    {'K+': 140.0, 'Cl-': 4.0}
    """
    if not isinstance(ions_mm, Mapping):
        raise ParameterError(message(where, ions_mm, f"a {type(ions_mm).__name__}, not a mapping",
                                     "give a mapping ion -> mM"))
    out: dict[str, float] = {}
    for name, conc in ions_mm.items():
        canon = canonical_ion_name(name)
        if canon in out:
            raise ParameterError(f"{where}: {name!r} and another key both name {canon!r}.")
        out[canon] = check_concentration(conc, what=repr(name), where=where)
    return out
