"""The compound table: what each weighed compound releases (ions, ligands, neutrals, protons)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from ephys_correct._frozen import FrozenMappings
from ephys_correct._resources import read_toml
from ephys_correct.errors import (
    DataFileError,
    UnknownCompoundError,
    suggest,
)
from ephys_correct.chemistry.ions import load_ion_table


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
