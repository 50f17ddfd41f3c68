"""Per-file settings of a batch run and what the resume marker hashes."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from ephys_correct._validate import check_choice
from ephys_correct.errors import ParameterError, RecipeError, suggest
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


# =========================================================================== the one definition
# Every per-file setting is one field of :class:`Settings`; its metadata says how it is spelled
# on every face (sheet column, command-line option and help) and how a value is parsed and checked.
# The experiment sheet's columns (batch/sheet.py), run_batch's keywords, the resume marker's
# options and the `correct` command's options all come from these fields.

def _fail(error: type, where: str, msg: str):
    raise error(f"{where}: {msg}" if where else msg)


def _p_solution(name: str, value: Any, error: type, where: str, text: bool) -> Any:
    if isinstance(value, (str, os.PathLike, Mapping, Solution)):
        return value
    _fail(error, where, f"{name} must be a solutions_db name, a recipe file, a Solution or an ion mapping, "
                        f"got {value!r}.")


def _p_number(lo: float | None = None, hi: float | None = None, unit: str = "", to_float: bool = False,
              open_interval: bool = False):
    """A finite number (a sheet cell's text is read as a float), optionally within lo..hi (or lo < v < hi)."""

    def parse(name: str, value: Any, error: type, where: str, text: bool) -> Any:
        v = value
        if isinstance(v, str) and text:
            try:
                v = float(v)
            except ValueError:
                _fail(error, where, f"{name} must be a number, got {value!r}.")
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            _fail(error, where, f"{name} must be a number, got {value!r}.")
        if not math.isfinite(v):
            _fail(error, where, f"{name} must be finite, got {value!r}.")
        outside = (lo is not None and (v <= lo if open_interval else v < lo)) or \
            (hi is not None and (v >= hi if open_interval else v > hi))
        if outside:
            _fail(error, where, f"{name} {float(v)!r}{unit} is outside {lo:g}..{hi:g}"
                                f"{' (both excluded)' if open_interval else ''}.")
        # a number given as a number keeps its type: the marker's options hash it as it was given
        return float(v) if to_float or isinstance(value, str) else v

    return parse


def _p_bool(name: str, value: Any, error: type, where: str, text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if text and isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    _fail(error, where, f"{name} must be true or false, got {value!r}.")


_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


def _p_text(name: str, value: Any, error: type, where: str, text: bool) -> str:
    if not isinstance(value, str):
        _fail(error, where, f"{name} must be text, got {value!r}.")
    return value


def _p_override(name: str, value: Any, error: type, where: str, text: bool) -> str:
    """A reader override as the text the sheet and the CLI use (a mapping is written as that text)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, Mapping):
        _fail(error, where, f"Invalid value for the '{name}' parameter: expected text or a mapping, "
                            f"got {type(value).__name__}.")
    parts = []
    for k, v in value.items():
        if name == "headstages":
            parts.append(f"{k}={'none' if v is None else int(v)}")
        else:
            units, scale = (v.units, v.scale) if hasattr(v, "units") else v
            parts.append(f"{k}={units}*{float(scale)!r}")
    return ",".join(parts)


def _c_configuration(value: str) -> None:
    get_configuration(value)


def _c_ljp_method(value: str) -> None:
    check_choice(value, METHODS, what="ljp_method")


def _setting(default: Any = None, *, parse: Callable, option: tuple[str, ...], help: str, doc: str,
             example: str, check: Callable[[Any], Any] | None = None, column: str | None = None, required: bool = False,
             digest: bool = False, omit_unset: bool = False, **cli: Any):
    """One per-file setting.

    *column* is the sheet column (default: the field name); *option* the command-line flags of
    ``correct`` and *help* their help, *cli* further ``add_argument`` keywords (metavar, type,
    choices, action); *doc* says what the value means (sheet docs, docstrings); *example* is a valid
    value other than the default, as a sheet cell's text (the tests set every setting to it).  *parse* turns a
    value (a Python value, or with ``text=True`` a sheet cell's text) into the setting's type and checks
    its range;
    *check* is the meaning check (a known configuration, a parsable override).  *required*: no
    file can go without it; *digest*: the options also hash the file behind the value;
    *omit_unset*: absent from the options when unset (so markers of older runs stay valid).
    """
    return field(default=default, metadata={
        "column": column, "option": option, "help": help, "doc": doc, "example": example, "parse": parse,
        "check": check,
        "required": required, "digest": digest, "omit_unset": omit_unset, "cli": cli})


@dataclass(frozen=True)
class Settings:
    # the docstring is written from the fields' metadata below the class
    pipette: Any = _setting(
        parse=_p_solution, required=True, digest=True, example="internal_cscl",
        option=("--pipette",), metavar="SOLUTION",
        help="pipette solution: solutions_db name, recipe file or inline 'K=145,Cl=10,...'",
        doc="pipette solution: solutions_db name or recipe file (in a sheet: relative to the sheet's folder); "
            "in Python also a Solution or an ion mapping")
    bath: Any = _setting(
        parse=_p_solution, required=True, digest=True, example="external_hepes_hek",
        option=("--bath",), metavar="SOLUTION",
        help="bath solution (same forms)",
        doc="bath solution (same forms as pipette)")
    temperature_c: float | None = _setting(
        parse=_p_number(-5, 60, " degC", to_float=True), required=True, example="25",
        option=("--temperature", "-T"), type=float, metavar="DEGC",
        help="recording temperature, degC (no default; or per file from --sheet)",
        doc="recording temperature, degC (no default)")
    zeroing_temperature_c: float | None = _setting(
        parse=_p_number(-5, 60, " degC"), example="22",
        option=("--zeroing-temperature",), type=float, metavar="DEGC",
        help="temperature at which the pipette offset was zeroed (LJP); default --temperature",
        doc="temperature at which the pipette offset was zeroed (LJP), degC; default temperature_c")
    free_ions: bool = _setting(
        True, parse=_p_bool, example="false",
        option=("--totals",), action="store_false",
        help="use recipe totals without speciation (default: free ions, pH at the recording "
        "temperature); recorded in every output",
        doc="true (default): speciated solutions (free Ca2+/Mg2+, re-titrated); false: recipe totals "
            "(CLI --totals)")
    ph: float | None = _setting(
        parse=_p_number(0, 14, open_interval=True), example="7.1",
        option=("--ph",), type=float, metavar="PH",
        help="pipette pH measured at the recording temperature (default: computed from the recipe)",
        doc="pipette pH measured at the recording temperature; default: computed from the recipe")
    configuration: str = _setting(
        "whole-cell", parse=_p_text, check=_c_configuration, example="outside-out",
        option=("--configuration", "-c"), metavar="CONFIG",
        help="whole-cell (default), perforated, outside-out, inside-out, cell-attached",
        doc="whole-cell (default), perforated, outside-out, inside-out, cell-attached")
    ljp_method: str = _setting(
        "henderson", parse=_p_text, check=_c_ljp_method, example="nernst-planck",
        option=("--ljp-method",), choices=METHODS,
        help="LJP method (default henderson)",
        doc="henderson (default), nernst-planck")
    ljp_mv: float | None = _setting(
        parse=_p_number(), example="12.5",
        option=("--ljp",), type=float, metavar="MV",
        help="use this V_L (mV, bath relative to pipette) instead of computing it; a measured junction reads -V_L",
        doc="a V_L (mV) to use instead of computing it (bath relative to pipette; a direct measurement "
            "reads -V_L)")
    perforating_agent: str | None = _setting(
        parse=_p_text, example="gramicidin",
        option=("--perforating-agent",), metavar="AGENT",
        help="perforated patch: gramicidin, amphotericin, nystatin, escin",
        doc="gramicidin, amphotericin, nystatin, escin (perforated)")
    clamp_mode: str | None = _setting(
        parse=_p_text, check=lambda v: parse_clamp_mode(v), example="0=voltage_clamp,1=current_clamp",
        option=("--clamp-mode",), metavar="MODE",
        help="clamp mode for files whose header does not establish it: voltage_clamp, current_clamp or i_zero "
        "for every headstage, or per headstage '0=voltage_clamp,1=current_clamp'",
        doc="clamp mode for files whose header does not establish it: one mode, or per headstage "
            "'0=voltage_clamp,1=current_clamp'")
    headstages: str | Mapping | None = _setting(
        parse=_p_override, check=lambda v: parse_headstages(v), omit_unset=True, example="1=0,IN 3=none",
        option=("--headstages",), metavar="CH=HS,...",
        help="channel -> headstage for files whose evidence is weak, e.g. '0=0,1=0,IN 2=none' "
        "(a channel by index or name; 'none': no headstage)",
        doc="channel -> headstage, '1=0,IN 3=none' (a mapping in Python)")
    unit_fix: str | Mapping | None = _setting(
        parse=_p_override, check=lambda v: parse_unit_fix(v), omit_unset=True, example="0=mV/20",
        option=("--unit-fix",), metavar="CH=UNITS*SCALE,...",
        help="channels whose header units are wrong: stored value x SCALE read in UNITS, "
        "e.g. '0=mV/20' (a channel saved as pA x 20 that is V_m)",
        doc="channel unit fixes, '0=mV/20' or 'IN 0=mV*0.05' (a mapping in Python)")

    def __post_init__(self) -> None:
        for f in SETTING_FIELDS:
            value = getattr(self, f.name)
            if value is None:  # unset: a field with a default of its own takes it
                object.__setattr__(self, f.name, f.default)
                continue
            object.__setattr__(self, f.name, check_setting(f.name, value))

    def with_overrides(self, mapping: Mapping[str, Any]) -> Settings:
        """These settings with the values of *mapping* that are not None.

        Parameters
        ----------
        mapping : Mapping
            Setting name -> value; None (an empty sheet cell) keeps this value.

        Returns
        -------
        Settings
            Of the same class (a :class:`FileSettings` stays one).

        Raises
        ------
        ParameterError
            An unknown setting name, or a value that is not valid for its setting.
        """
        unknown = [k for k in mapping if k not in SETTING_NAMES]
        if unknown:
            raise ParameterError(f"unknown setting {unknown[0]!r}; the settings are {list(SETTING_NAMES)}."
                                 + suggest(str(unknown[0]), SETTING_NAMES))
        return dataclasses.replace(self, **{k: v for k, v in mapping.items() if v is not None})

    def merged(self, row: Any) -> Settings:
        """These settings with the non-empty cells of an experiment sheet row on top.

        Parameters
        ----------
        row : SheetRow
            Any object with one attribute per setting (None: not given).

        Returns
        -------
        Settings
        """
        return self.with_overrides({name: getattr(row, name) for name in SETTING_NAMES})

    def values(self) -> dict[str, Any]:
        """The settings as a plain dict (name -> value).

        Returns
        -------
        dict
        """
        return {name: getattr(self, name) for name in SETTING_NAMES}

    def options(self, digests: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The settings as hashed into the resume (done) marker.

        Parameters
        ----------
        digests : Mapping, optional
            SHA-256 of the file behind each solution setting (``pipette``,
            ``bath``), added as ``<name>_sha256`` (None when not given).

        Returns
        -------
        dict
            Every setting; ``headstages`` and ``unit_fix`` only when set (so
            markers written before they existed stay valid).
        """
        out: dict[str, Any] = {}
        for f in SETTING_FIELDS:
            value = getattr(self, f.name)
            if f.metadata["omit_unset"] and not value:
                continue
            out[f.name] = value
            if f.metadata["digest"]:
                out[f"{f.name}_sha256"] = (digests or {}).get(f.name)
        return out


#: the fields of :class:`Settings`, in order: the per-file settings
SETTING_FIELDS: tuple[dataclasses.Field, ...] = dataclasses.fields(Settings)
#: their names
SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in SETTING_FIELDS)
#: setting name -> its experiment-sheet column
SHEET_COLUMN_OF: dict[str, str] = {f.name: f.metadata["column"] or f.name for f in SETTING_FIELDS}
#: the settings whose value is a solution (a name, a recipe file, a Solution or ion mapping)
SOLUTION_SETTINGS: tuple[str, ...] = tuple(f.name for f in SETTING_FIELDS if f.metadata["parse"] is _p_solution)
#: the settings no file can go without (from the options or a sheet row)
REQUIRED_SETTINGS: tuple[str, ...] = tuple(f.name for f in SETTING_FIELDS if f.metadata["required"])


def parse_setting(name: str, value: Any, *, error: type = ParameterError, where: str = "",
                  text: bool = False) -> Any:
    """A value of setting *name* in the setting's type.

    Parameters
    ----------
    name : str
        A field of :class:`Settings`.
    value : object
        The value; None stays None.
    error : type
        Exception class for a bad value (:class:`RecipeError` for sheet cells).
    where : str
        Prefix of the message (the sheet and its line).
    text : bool
        *value* is a sheet cell's text: numbers and true/false are read from
        it (in Python a number must be a number).

    Returns
    -------
    object
    """
    if value is None:
        return None
    return _FIELD[name].metadata["parse"](name, value, error, where, text)


def check_setting(name: str, value: Any, *, where: str = "") -> Any:
    """Parse *value* as setting *name* and check its meaning (a known configuration, ...).

    Parameters
    ----------
    name : str
        A field of :class:`Settings`.
    value : object
        The value (not None).
    where : str
        Prefix of the message (the sheet and its line).

    Returns
    -------
    object
        The value in the setting's type.

    Raises
    ------
    ParameterError
        A value that no file could use.
    """
    value = parse_setting(name, value, where=where)
    check = _FIELD[name].metadata["check"]
    if check is not None:
        try:
            check(value)
        except ParameterError as exc:
            _fail(ParameterError, where, str(exc))
    return value


_FIELD = {f.name: f for f in SETTING_FIELDS}


def _settings_doc() -> str:
    lines = ["The per-file settings of a batch run: one definition for every face.", "",
             "Each field is a column of the experiment sheet, a keyword of",
             ":func:`~ephys_correct.batch.run.run_batch`, an option of ``ephys-correct correct``",
             "and a key of the resume marker's options (see :meth:`options`).", "",
             "Parameters", "----------"]
    for f in SETTING_FIELDS:
        default = "no default" if f.default is None else f"default {f.default!r}"
        lines += [f"{f.name} : {f.type.replace(' | None', '')}, optional",
                  f"    {f.metadata['doc'][0].upper()}{f.metadata['doc'][1:]} (sheet column "
                  f"``{SHEET_COLUMN_OF[f.name]}``, option ``{f.metadata['option'][0]}``; {default})."]
    lines += ["", "Raises", "------", "ParameterError", "    A value that is not valid for its setting."]
    return "\n".join(lines)


Settings.__doc__ = _settings_doc()


@dataclass(frozen=True)
class FileSettings(Settings):
    """The :class:`Settings` one recording is corrected with (after sheet matching).

    The fields of :class:`Settings`, with ``pipette`` and ``bath`` as the
    solution names shown in the summary, plus:

    Attributes
    ----------
    sheet_line : int or None
        Matching sheet row, None when the run's options were used.
    """

    sheet_line: int | None = None
    _pipette: _SolSpec | None = field(default=None, repr=False)
    _bath: _SolSpec | None = field(default=None, repr=False)

    def options(self, digests: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The settings as hashed into the done-marker, with the solutions' SHA-256.

        Parameters
        ----------
        digests : Mapping, optional
            Default: the SHA-256 of the solutions this file was resolved
            with.

        Returns
        -------
        dict
        """
        specs = {f.name: getattr(self, "_" + f.name) for f in SETTING_FIELDS if f.metadata["digest"]}
        own = {k: v.digest for k, v in specs.items() if v is not None}
        return super().options(own if digests is None else digests)


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


def check_settings(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check every given (not None) setting of *values*, e.g. a sheet row, before any file.

    Parameters
    ----------
    values : Mapping
        Setting name -> value or None.
    where : str
        Prefix of the messages (the sheet and its line).

    Returns
    -------
    dict
        The given settings in their types.

    Raises
    ------
    ParameterError
        A value that no file could use (an unknown configuration or LJP
        method, an override text that does not parse, ...).
    """
    return {k: check_setting(k, v, where=where) for k, v in values.items() if v is not None}


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
