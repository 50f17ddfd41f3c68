"""Per-file settings of a batch run and what the resume marker hashes."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from ephys_correct._validate import check_choice
from ephys_correct.errors import ParameterError, RecipeError
from ephys_correct.chemistry.solutions import Solution
from ephys_correct.chemistry.solutions_db import load_solution
from ephys_correct.correction.configurations import get_configuration
from ephys_correct.potentials.ljp import METHODS


# =========================================================================== settings
@dataclass(frozen=True)
class _SolSpec:
    """A picklable reference to a solution (a recipe file, or plain ions)."""

    kind: str  # "path" | "ions"
    name: str
    digest: str  # the recipe file's source_sha256 ("path"), the composition_sha256 ("ions")
    path: str | None = None
    ions: tuple[tuple[str, float], ...] = ()
    neutrals: tuple[tuple[str, float], ...] = ()
    role: str | None = None
    derived_from_json: str = "null"


def _sol_spec(obj: Any, base: Path | None) -> _SolSpec:
    if isinstance(obj, Solution):
        sol = obj
    else:
        if isinstance(obj, (str, os.PathLike)) and base is not None:
            cand = base / str(obj)
            if (str(obj).lower().endswith(".toml") or "/" in str(obj)) and cand.exists():
                obj = cand
        if isinstance(obj, Mapping):
            sol = Solution.from_ions(obj, name="custom")
        else:
            sol = _load_cached(str(obj))
    if sol.path and not sol.rebalanced and not sol.speciation:
        return _SolSpec("path", sol.name, sol.source_sha256, path=str(Path(sol.path).resolve()), role=sol.role)
    return _SolSpec("ions", sol.name, sol.composition_sha256, ions=tuple(sorted(sol.ions_mm.items())),
                    neutrals=tuple(sorted(sol.neutrals_mm.items())), role=sol.role,
                    derived_from_json=json.dumps(sol.identity()["derived_from"], sort_keys=True))


@lru_cache(maxsize=64)
def _load_cached(name_or_path: str):
    return load_solution(name_or_path)


@lru_cache(maxsize=64)
def _solution_from_spec(spec: _SolSpec):
    if spec.kind == "path":
        sol = load_solution(spec.path)
        if sol.source_sha256 != spec.digest:
            raise RecipeError(f"{spec.path}: the recipe file changed during the run "
                              f"(sha256 {sol.source_sha256[:12]} != {spec.digest[:12]}).")
        return sol
    return Solution(name=spec.name, ions_mm=dict(spec.ions), neutrals_mm=dict(spec.neutrals), role=spec.role,
                    derived_from=json.loads(spec.derived_from_json))


@dataclass(frozen=True)
class FileSettings:
    """What one recording is corrected with (after sheet matching).

    Attributes
    ----------
    pipette, bath : str
        Solution names (for the summary).
    temperature_c : float
    configuration : str
    ljp_method : str
    ljp_mv : float or None
        Given LJP (V_L, mV) overriding the computed one.
    perforating_agent, clamp_mode : str or None
    zeroing_temperature_c : float or None
        Temperature at which the offset was zeroed (LJP); None: *temperature_c*.
    free_ions : bool
        Speciated solutions (the default); False: totals, as asked (``--totals``).
    ph : float or None
        Measured pipette pH at the recording temperature; None: computed from the recipe.
    headstages, unit_fix : str or None
        Reader overrides as text (:func:`parse_headstages`, :func:`parse_unit_fix`).
    sheet_line : int or None
        Matching sheet row, None when the run's options were used.
    """

    pipette: str
    bath: str
    temperature_c: float
    configuration: str
    ljp_method: str
    ljp_mv: float | None = None
    perforating_agent: str | None = None
    clamp_mode: str | None = None
    zeroing_temperature_c: float | None = None
    free_ions: bool = True
    ph: float | None = None
    headstages: str | None = None
    unit_fix: str | None = None
    sheet_line: int | None = None
    _pipette: _SolSpec | None = field(default=None, repr=False)
    _bath: _SolSpec | None = field(default=None, repr=False)

    def options(self) -> dict[str, Any]:
        """The settings as hashed into the done-marker."""
        return {
            "pipette": self.pipette, "pipette_sha256": self._pipette.digest if self._pipette else None,
            "bath": self.bath, "bath_sha256": self._bath.digest if self._bath else None,
            "temperature_c": self.temperature_c, "configuration": self.configuration,
            "ljp_method": self.ljp_method, "ljp_mv": self.ljp_mv,
            "perforating_agent": self.perforating_agent, "clamp_mode": self.clamp_mode,
            "zeroing_temperature_c": self.zeroing_temperature_c,
            "free_ions": self.free_ions, "ph": self.ph,
            **({"headstages": self.headstages} if self.headstages else {}),
            **({"unit_fix": self.unit_fix} if self.unit_fix else {}),
        }


@dataclass(frozen=True)
class _Task:
    path: str
    relpath: str
    stem: str
    out_dir: str
    settings: FileSettings | None
    error: str | None
    fmt: str
    nwb: bool
    plots: bool
    force: bool
    options: Mapping[str, Any]
    options_hash: str
    nwb_metadata: Mapping[str, Any] | None = None
    nwb_timezone: str | None = None
    strict: bool = False


def _options_hash(options: Mapping[str, Any]) -> str:
    blob = json.dumps(options, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _check_choices(configuration: str | None, ljp_method: str | None, where: str) -> None:
    """Fail before any file for a configuration or LJP method that no file could use."""

    if configuration is not None:
        try:
            get_configuration(configuration)
        except ParameterError as exc:
            raise ParameterError(f"{where}: {exc}" if where else str(exc)) from None
    check_choice(ljp_method, (None, *METHODS), what="ljp_method", where=where)


# =========================================================================== reader overrides as text
def _pairs(text: str, what: str):
    if not isinstance(text, str) or not text.strip():
        raise ParameterError(f"Invalid value for the '{what}' parameter: expected 'KEY=VALUE,...', got {text!r}.")
    for part in text.split(","):
        key, eq, value = part.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise ParameterError(f"Invalid value for the '{what}' parameter: {part!r} in {text!r} is not KEY=VALUE.")
        key = key.strip()
        yield (int(key) if key.lstrip("-").isdigit() else key), value.strip(), part


def parse_clamp_mode(text: str):
    """``"current_clamp"`` or ``"0=voltage_clamp,1=current_clamp"`` -> ``read_recording``'s *clamp_mode*.

    Parameters
    ----------
    text : str

    Returns
    -------
    str or dict of int to str
    """
    if "=" not in text:
        return text.strip()
    out: dict[int, str] = {}
    for hs, mode, part in _pairs(text, "clamp_mode"):
        if not isinstance(hs, int):
            raise ParameterError(f"clamp_mode {text!r}: headstage must be an integer in {part!r}")
        out[hs] = mode
    return out


def parse_headstages(text: str) -> dict:
    """``"0=0,1=0,IN 2=none"`` -> ``read_recording``'s *headstages* (channel -> headstage or None).

    Parameters
    ----------
    text : str
        Comma-separated ``CHANNEL=HEADSTAGE``; a channel by index or name, the
        headstage an integer or ``none``.

    Returns
    -------
    dict
    """
    out: dict = {}
    for ch, hs, part in _pairs(text, "headstages"):
        if hs.lower() in ("none", "-"):
            out[ch] = None
            continue
        try:
            out[ch] = int(hs)
        except ValueError:
            raise ParameterError(f"headstages {text!r}: the headstage must be an integer or 'none' in "
                                 f"{part!r}") from None
    return out


def parse_unit_fix(text: str) -> dict:
    """``"0=mV/20"`` or ``"IN 0=mV*0.05"`` -> ``read_recording``'s *unit_fix* (channel -> (units, scale)).

    Parameters
    ----------
    text : str
        Comma-separated ``CHANNEL=UNITS*SCALE`` or ``CHANNEL=UNITS/DIVISOR``:
        the stored values are multiplied by SCALE (divided by DIVISOR) and read
        in UNITS.

    Returns
    -------
    dict
    """
    out: dict = {}
    for ch, spec, part in _pairs(text, "unit_fix"):
        op = "*" if "*" in spec else "/" if "/" in spec else None
        if op is None:
            raise ParameterError(f"unit_fix {text!r}: expected UNITS*SCALE or UNITS/DIVISOR in {part!r}")
        units, _, num = spec.partition(op)
        try:
            x = float(num)
        except ValueError:
            raise ParameterError(f"unit_fix {text!r}: {num!r} is not a number in {part!r}") from None
        if x == 0 or x != x or x in (float("inf"), float("-inf")):
            raise ParameterError(f"unit_fix {text!r}: the scale must be finite and non-zero in {part!r}")
        out[ch] = (units.strip(), x if op == "*" else 1.0 / x)
    return out
