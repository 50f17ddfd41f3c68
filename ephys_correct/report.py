"""Per-ion driving-force tables and their writers (the module that uses pandas).

:func:`driving_force_table` turns a :class:`~ephys_correct.correction.CorrectedRecording`
into one row per sweep (x epoch) x headstage x permeant ion, with the
corrected membrane potential, the activity-corrected reversal potential and
the driving force ``V_m - E_rev``.  The annotations travel with the table in
``DataFrame.attrs`` (units per column, solutions, temperatures, LJP,
activity model, configuration, software version, input file and SHA-256).

:func:`write_table` writes CSV (+ JSON sidecar), Parquet, Excel, Markdown or
HTML atomically, never overwriting unless asked; :func:`read_table` reads a
CSV + sidecar, Parquet or Excel file back with its ``attrs``.  See
``docs/reports.md``.
"""

from __future__ import annotations

import html
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .errors import MissingDependencyError, OutputExistsError, ParameterError, suggest

__all__ = [
    "DEFAULT_IONS",
    "TABLE_COLUMNS",
    "COLUMN_UNITS",
    "FORMATS",
    "driving_force_table",
    "channel_corrections_table",
    "write_table",
    "read_table",
    "sidecar_path",
]

#: small inorganic ions reported by default (when present on both sides)
DEFAULT_IONS = ("Na+", "K+", "Cl-", "Ca2+", "Mg2+", "Cs+", "Li+", "Rb+", "NH4+", "Ba2+", "Sr2+",
                "Br-", "I-", "NO3-", "F-", "HCO3-")

#: columns of :func:`driving_force_table` and their units
COLUMN_UNITS: dict[str, str] = {
    "file": "",
    "sweep": "",
    "epoch": "",
    "t_start_s": "s",
    "t_end_s": "s",
    "channel": "",
    "headstage": "",
    "clamp_mode": "",
    "V_m_mV": "mV",
    "V_m_source": "",
    "ion": "",
    "charge": "",
    "c_in_mM": "mM",
    "c_out_mM": "mM",
    "E_rev_mV": "mV",
    "E_rev_ideal_mV": "mV",
    "driving_force_mV": "mV",
    "current_direction": "",
    "ion_flux": "",
    "E_rev_basis": "",
    "note": "",
}
TABLE_COLUMNS = tuple(COLUMN_UNITS)
_STRING_COLUMNS = ("file", "epoch", "channel", "clamp_mode", "V_m_source", "ion", "current_direction",
                   "ion_flux", "E_rev_basis", "note")
_INT_COLUMNS = ("sweep", "headstage", "charge")

#: output formats of :func:`write_table` (file suffix -> format)
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx", ".md": "md",
           ".markdown": "md", ".html": "html", ".htm": "html"}

_SIDECAR_SCHEMA = "ephys_correct table sidecar v1"
_RS_WARN_MV = 1.0


# =============================================================================
# the driving-force table
# =============================================================================


def _check_epochs(epochs) -> list[tuple[str, float, float]]:
    out = []
    if isinstance(epochs, (str, bytes)) or not isinstance(epochs, Iterable):
        raise ParameterError(
            f"Invalid value for the 'epochs' parameter: expected a list of (name, t_start_s, t_end_s), "
            f"got {epochs!r}."
        )
    for k, e in enumerate(epochs):
        try:
            name, t0, t1 = e
            t0, t1 = float(t0), float(t1)
        except (TypeError, ValueError):
            raise ParameterError(
                f"Invalid epochs[{k}]: expected (name, t_start_s, t_end_s), got {e!r}."
            ) from None
        if not isinstance(name, str) or not name:
            raise ParameterError(f"Invalid epochs[{k}]: the name must be a non-empty string, got {name!r}.")
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
            raise ParameterError(f"Invalid epochs[{k}] {name!r}: need finite t_start_s < t_end_s, got {e!r}.")
        out.append((name, t0, t1))
    if not out:
        raise ParameterError("Invalid value for the 'epochs' parameter: it is empty (use None for whole sweeps).")
    return out


def _direction(df: float, charge: int) -> tuple[str, str]:
    if not np.isfinite(df):
        return "", ""
    if df == 0:
        return "none", "none"
    outward = df > 0  # membrane-current convention: V_m > E_rev -> outward current, any charge
    cation = charge > 0
    return ("outward" if outward else "inward"), ("efflux" if outward == cation else "influx")


def _speciated(sol, corrected, cache):
    key = sol.sha256
    if key not in cache:
        from .speciation import free_ion_solution

        model = "truesdell-jones" if corrected.activity_model == "ideal" else corrected.activity_model
        cache[key] = free_ion_solution(sol, temperature_c=corrected.temperature_c,
                                       activity_model=model)
    return cache[key]


def _ion_plan(corrected, inside, outside, ions) -> tuple[list[str], dict[str, float], dict[str, str]]:
    """Which ions get a row; their inside concentrations; reasons for unknowns.

    Returns (ions, inside_mm for computable ions, {ion: reason} for rows with NaN E_rev).
    """
    from .ions import canonical_ion_name

    cfg = corrected.configuration
    agent = corrected.perforating_agent
    override = dict(corrected.inside_override_mm)
    out_mm = dict(outside.ions_mm)
    in_mm = dict(inside.ions_mm) if inside is not None else {}
    unknown: dict[str, str] = {}
    known_in: dict[str, float] = {}

    def inside_of(ion: str) -> tuple[float | None, str]:
        if ion in override:
            return override[ion], ""
        if cfg.inside_known == "all":
            return in_mm.get(ion, 0.0), ""
        if cfg.inside_known == "equilibrating":
            if agent is None:
                return None, ("perforated patch without perforating_agent: whether [" + ion + "]i equals "
                              "the pipette's is unknown; give perforating_agent= or inside_override_mm=")
            if agent.equilibrates(ion):
                return in_mm.get(ion, 0.0), ""
            return None, (f"{ion} does not equilibrate through {agent.name} pores: [{ion}]i is the cell's, "
                          f"not the pipette's; give inside_override_mm={{'{ion}': ...}}")
        return None, (f"cell-attached: the cytoplasmic [{ion}] is unknown; give "
                      f"inside_override_mm={{'{ion}': ...}}")

    if ions is None:
        wanted = []
        for ion in DEFAULT_IONS:
            if out_mm.get(ion, 0.0) <= 0:
                continue
            c, reason = inside_of(ion)
            if c is None:
                wanted.append(ion)
                unknown[ion] = reason
            elif c > 0:
                wanted.append(ion)
                known_in[ion] = c
    else:
        if isinstance(ions, str):
            ions = [ions]
        wanted = []
        for name in ions:
            ion = canonical_ion_name(name)
            if ion in wanted:
                continue
            wanted.append(ion)
            c, reason = inside_of(ion)
            co = out_mm.get(ion, 0.0)
            if c is None:
                unknown[ion] = reason
            elif c <= 0 or co <= 0:
                side = "inside" if c <= 0 else "outside"
                unknown[ion] = f"{ion} is absent (0 mM) on the {side}: E_rev is infinite"
            else:
                known_in[ion] = c
    return wanted, known_in, unknown


def _reversal_rows(corrected, hs, bath, ions, cache, spec_cache) -> dict[str, dict[str, Any]]:
    """ion -> {charge, c_in, c_out, E_rev, E_rev_ideal, note} for one headstage and bath."""
    from .ions import get_ion
    from .reversal import reversal_potentials

    cfg = corrected.configuration
    pipette = corrected.pipette(hs)
    if bath is None:
        return {"__all__": {"note": "the bath after the BathChange is not known (not a solutions_db recipe); "
                                    "pass a BathSchedule to carry its composition"}}
    if cfg.inside == "pipette":
        inside, outside = pipette, bath
    elif cfg.inside == "bath":
        inside, outside = bath, pipette
    elif cfg.name == "perforated":
        inside, outside = pipette, bath
    else:  # cell-attached: no solution faces the cytoplasm; gamma_in at the pipette's ionic strength
        inside, outside = pipette, pipette
    if corrected.free_ions:
        inside = _speciated(inside, corrected, spec_cache)
        outside = _speciated(outside, corrected, spec_cache)
    key = (inside.sha256, outside.sha256, None if ions is None else tuple(ions))
    if key in cache:
        return cache[key]
    wanted, known_in, unknown = _ion_plan(corrected, inside if cfg.inside_known != "none" else None,
                                          outside, ions)
    out: dict[str, dict[str, Any]] = {}
    if known_in:
        override = {i: c for i, c in known_in.items() if inside.ions_mm.get(i, 0.0) != c or cfg.inside_known != "all"}
        df = reversal_potentials(inside, outside, temperature_c=corrected.temperature_c,
                                 activity_model=corrected.activity_model,
                                 inside_override_mm=override or None, ions=list(known_in))
        for r in df.itertuples(index=False):
            note = r.bound_total_warning or ""
            if cfg.name == "cell-attached":
                note = _join(note, "gamma_in at the pipette's ionic strength (cytoplasm taken as isotonic)")
            elif r.ion in corrected.inside_override_mm:
                note = _join(note, f"[{r.ion}]i = {r.c_in_mM:g} mM from inside_override_mm")
            out[r.ion] = {"charge": int(r.charge), "c_in_mM": float(r.c_in_mM), "c_out_mM": float(r.c_out_mM),
                          "E_rev_mV": float(r.E_rev_mV), "E_rev_ideal_mV": float(r.E_rev_ideal_mV), "note": note}
    for ion in wanted:
        if ion in out:
            continue
        c_in = inside.ions_mm.get(ion, 0.0) if cfg.inside_known == "all" else math.nan
        out[ion] = {"charge": get_ion(ion).charge, "c_in_mM": float(c_in),
                    "c_out_mM": float(outside.ions_mm.get(ion, 0.0)),
                    "E_rev_mV": math.nan, "E_rev_ideal_mV": math.nan, "note": unknown.get(ion, "")}
    ordered = {ion: out[ion] for ion in wanted}
    cache[key] = ordered
    return ordered


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _headstage_channel(corrected, hs, mode: str) -> tuple[str, int | None]:
    """Name of the channel a row is about, and the current channel (for I*Rs)."""
    rec = corrected.recording
    chans = [rec.channels[c] for c in corrected._headstage(hs).channels]
    cur = [c for c in chans if corrected.channel_corrections[c.index].quantity == "current"
           and c.kind == "current"]
    vm = [c for c in chans if c.kind == "membrane_potential"]
    if mode == "voltage_clamp":
        first = cur[0] if cur else (vm[0] if vm else None)
    else:
        first = vm[0] if vm else (cur[0] if cur else None)
    return ("" if first is None else first.name), (cur[0].index if cur else None)


def driving_force_table(corrected, *, ions: Sequence[str] | None = None,
                        epochs: Sequence[tuple[str, float, float]] | None = None,
                        statistic: str = "mean") -> pd.DataFrame:
    """Per-ion driving forces ``V_m - E_rev`` of a corrected recording.

    Parameters
    ----------
    corrected : CorrectedRecording
        From :func:`ephys_correct.correction.correct_recording`; its
        configuration, temperatures, activity model, ``free_ions``,
        perforating agent and ``inside_override_mm`` decide the reversal
        potentials.
    ions : sequence of str, optional
        Ions to report.  Default: the small inorganic ions of
        :data:`DEFAULT_IONS` present on both sides.
    epochs : sequence of (name, t_start_s, t_end_s), optional
        Time windows (s from the start of each sweep); one row set per
        window.  Default: the whole sweep (epoch ``"sweep"``).
    statistic : {"mean", "median"}
        Statistic of V_m over each window.

    Returns
    -------
    pandas.DataFrame
        One row per sweep x epoch x headstage x ion with the columns of
        :data:`TABLE_COLUMNS`: ``file, sweep, epoch, t_start_s, t_end_s,
        channel, headstage, clamp_mode, V_m_mV, V_m_source, ion, charge,
        c_in_mM, c_out_mM, E_rev_mV, E_rev_ideal_mV, driving_force_mV,
        current_direction, ion_flux, E_rev_basis, note``.

        * ``driving_force_mV = V_m_mV - E_rev_mV``;
        * ``current_direction``: ``"outward"`` when positive, ``"inward"``
          when negative (membrane-current convention, any charge), ``"none"``
          at 0, ``""`` when unknown;
        * ``ion_flux``: ``"efflux"`` / ``"influx"`` of the ion itself
          (outward current = cation efflux = anion influx);
        * ``E_rev_basis``: ``"free"`` (speciated, ``free_ions=True``) or
          ``"total"``;
        * ``note``: why a value is unknown (NaN), series-resistance
          warnings (voltage clamp: ``|mean I| x R_s > 1 mV``), bound-ion
          warnings.

        ``attrs`` holds ``units`` (per column), ``solutions``, ``temperature_c``,
        ``zeroing_temperature_c``, ``ljp``, ``activity_model``,
        ``configuration``, ``software_version``, ``input_file``,
        ``input_sha256`` and the full ``correction`` provenance.

    Raises
    ------
    ClampModeError
        A headstage's clamp mode is not established by the file.
    ParameterError
        Invalid *epochs*, *statistic* or ion names.
    """
    from .correction import STATISTICS, CorrectedRecording

    if not isinstance(corrected, CorrectedRecording):
        raise ParameterError(
            f"Invalid value for the 'corrected' parameter: expected a CorrectedRecording "
            f"(from correct_recording), got {type(corrected).__name__}."
        )
    if statistic not in STATISTICS:
        raise ParameterError(
            f"Invalid value for the 'statistic' parameter. Allowed values are "
            f"{', '.join(map(repr, STATISTICS))}, but got {statistic!r} instead."
        )
    if ions is not None:
        ions = [ions] if isinstance(ions, str) else list(ions)
        if not ions:
            raise ParameterError("Invalid value for the 'ions' parameter: it is empty (use None for the default).")
    windows = None if epochs is None else _check_epochs(epochs)
    rec = corrected.recording
    fname = os.path.basename(rec.path)
    cfg = corrected.configuration
    basis = "free" if corrected.free_ions else "total"
    cache: dict = {}
    spec_cache: dict = {}
    rows: list[dict[str, Any]] = []
    heads = [h for h in rec.headstages if h.channels]
    modes = {h.index: h.clamp_mode for h in heads}  # raises ClampModeError when unresolved
    row_notes_common = ""
    if cfg.name == "perforated":
        row_notes_common = "perforated: an unknown pipette-cell Donnan potential is not corrected"
    for s in range(rec.n_sweeps):
        n = rec.sweep_lengths[s]
        sweep_end = rec.t_start_s + n / rec.sample_rate_hz
        wins = [("sweep", None)] if windows is None else [(nm, (t0, t1)) for nm, t0, t1 in windows]
        for name, win in wins:
            t0, t1 = (rec.t_start_s, sweep_end) if win is None else win
            for h in heads:
                hs = h.index
                mode = modes[hs]
                corrected._window(s, win)  # a window outside the sweep is the caller's error: raises
                notes = [row_notes_common]
                try:
                    vm, src = corrected.membrane_potential(s, hs, statistic=statistic, window_s=win)
                except ParameterError as exc:  # the file holds no signal to take V_m from
                    vm, src = math.nan, ""
                    notes.append(f"no V_m: {exc}")
                channel, cur_idx = _headstage_channel(corrected, hs, mode)
                relative = cfg.needs_resting_potential and corrected.resting_potential_mv is None
                if relative:
                    notes.append("cell-attached without resting_potential_mv: V_m_mV is the patch potential "
                                 "relative to rest, so no driving force")
                if mode == "voltage_clamp" and cur_idx is not None and ("command" in src or "holding" in src):
                    notes.append(_rs_note(corrected, s, hs, cur_idx, win))
                # bath in the chamber during the window
                bath, bath_note = _bath_for_window(corrected, s, t0, t1)
                if bath_note:
                    notes.append(bath_note)
                    erev = {"__all__": {"note": bath_note}} if bath is None else None
                else:
                    erev = None
                if erev is None:
                    erev = _reversal_rows(corrected, hs, bath, ions, cache, spec_cache)
                if "__all__" in erev:
                    ion_rows = _unknown_rows(corrected, hs, ions, erev["__all__"]["note"])
                else:
                    ion_rows = erev
                for ion, r in ion_rows.items():
                    e = r["E_rev_mV"]
                    dfv = math.nan if relative else vm - e
                    direction, flux = _direction(dfv, r["charge"])
                    rows.append({
                        "file": fname, "sweep": s, "epoch": name, "t_start_s": float(t0), "t_end_s": float(t1),
                        "channel": channel, "headstage": hs, "clamp_mode": mode, "V_m_mV": vm,
                        "V_m_source": src, "ion": ion, "charge": r["charge"], "c_in_mM": r["c_in_mM"],
                        "c_out_mM": r["c_out_mM"], "E_rev_mV": e, "E_rev_ideal_mV": r["E_rev_ideal_mV"],
                        "driving_force_mV": dfv, "current_direction": direction, "ion_flux": flux,
                        "E_rev_basis": basis, "note": _join(*notes, r["note"]),
                    })
    df = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    df = _coerce_types(df)
    df.attrs.update(_table_attrs(corrected, ions, windows, statistic))
    return df


def _unknown_rows(corrected, hs, ions, note) -> dict[str, dict[str, Any]]:
    from .ions import canonical_ion_name, get_ion

    pip = corrected.pipette(hs)
    names = ([canonical_ion_name(i) for i in ions] if ions is not None
             else [i for i in DEFAULT_IONS if pip.ions_mm.get(i, 0.0) > 0])
    return {i: {"charge": get_ion(i).charge, "c_in_mM": math.nan, "c_out_mM": math.nan, "E_rev_mV": math.nan,
                "E_rev_ideal_mV": math.nan, "note": note} for i in names}


def _bath_for_window(corrected, sweep: int, t0: float, t1: float):
    """(bath solution, note) for a window; note non-empty when the bath is not single/known."""
    axis = corrected._schedule_axis()
    if axis == "piecewise in time":
        rec = corrected.recording
        start = rec.sweep_start_s[sweep]
        last = t1 - 1.0 / rec.sample_rate_hz
        b0 = corrected.bath_at(sweep, time_s=start + t0)
        b1 = corrected.bath_at(sweep, time_s=start + max(t0, last))
        if b0 is not b1:
            return None, (f"the bath changes within {t0:g}-{t1:g} s of sweep {sweep}: E_rev undefined for the "
                          "window; choose epochs within one bath")
        return b0, ""
    b = corrected.bath_at(sweep)
    if b is None:
        return None, ("the bath after the BathChange is not known (not a solutions_db recipe); pass a "
                      "BathSchedule to carry its composition")
    return b, ""


def _rs_note(corrected, sweep: int, hs: int, cur_idx: int, win) -> str:
    rec = corrected.recording
    rs = rec.access_resistance_by_headstage.get(hs, rec.access_resistance_mohm)
    if rs is None:
        return ""
    i0, i1, _ = corrected._window(sweep, win)
    i_pa = float(np.mean(corrected.sweep_data(sweep, cur_idx, start=i0, stop=i1)))
    err = abs(i_pa) * float(rs) * 1e-3  # pA * MOhm = 1e-6 V = 1e-3 mV
    if err <= _RS_WARN_MV:
        return ""
    return (f"V_m from the command ignores I*R_s: |mean I| = {abs(i_pa):.0f} pA x R_s = {float(rs):.3g} MOhm "
            f"-> about {err:.1f} mV error (true V_m = command - I*R_s, not corrected)")


def _coerce_types(df: pd.DataFrame) -> pd.DataFrame:
    for c in _INT_COLUMNS:
        df[c] = df[c].astype("int64")
    for c in COLUMN_UNITS:
        if c not in _STRING_COLUMNS and c not in _INT_COLUMNS:
            df[c] = df[c].astype("float64")
    for c in _STRING_COLUMNS:
        df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
    return df


def _table_attrs(corrected, ions, windows, statistic) -> dict[str, Any]:
    prov = corrected.provenance
    cfg = corrected.configuration
    return {
        "title": "ephys_correct driving-force table",
        "units": dict(COLUMN_UNITS),
        "software_version": __version__,
        "input_file": prov["input_file"],
        "input_sha256": prov["input_sha256"],
        "configuration": cfg.name,
        "inside": cfg.inside,
        "outside": cfg.outside,
        "temperature_c": corrected.temperature_c,
        "zeroing_temperature_c": corrected.zeroing_temperature_c,
        "activity_model": corrected.activity_model,
        "E_rev_basis": "free" if corrected.free_ions else "total",
        "statistic": statistic,
        "epochs": None if windows is None else [list(w) for w in windows],
        "ions_requested": None if ions is None else list(ions),
        "ljp": prov["ljp"],
        "ljp_applied_online_mv": prov["ljp_applied_online_mv"],
        "bath_change": prov["bath_change"],
        "polarity_inverted_at_acquisition": prov["polarity_inverted_at_acquisition"],
        "perforating_agent": prov["perforating_agent"],
        "resting_potential_mv": prov["resting_potential_mv"],
        "inside_override_mm": prov["inside_override_mm"],
        "solutions": prov["solutions"],
        "caveats": prov["caveats"] + [
            "voltage clamp: V_m is the corrected command and ignores the I*R_s drop across the access "
            "resistance (a note warns when the file records R_s and |I|*R_s > 1 mV)",
        ],
        "conventions": {
            "V_m": "V_in - V_out, LJP-corrected (docs/conventions.md)",
            "driving_force_mV": "V_m_mV - E_rev_mV",
            "current_direction": "membrane-current convention: positive driving force -> outward current",
            "E_rev": "Nernst with activities, E = (RT/zF) ln(a_out/a_in), at temperature_c",
        },
        "correction": prov,
    }


def channel_corrections_table(corrected) -> pd.DataFrame:
    """What was applied to each channel and DAC of *corrected*, as a DataFrame."""
    rows = [c.as_dict() for c in (*corrected.channel_corrections, *corrected.command_corrections)]
    df = pd.DataFrame(rows)
    df.attrs.update({"input_file": corrected.path, "configuration": corrected.configuration.name,
                     "software_version": __version__})
    return df


# =============================================================================
# writers
# =============================================================================


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON sidecar of a CSV table: ``<name>.csv.json``."""
    p = Path(path)
    return p.with_name(p.name + ".json")


def _format_of(path: Path, fmt: str | None) -> str:
    allowed = sorted(set(FORMATS.values()))
    if fmt is not None:
        if fmt not in allowed:
            raise ParameterError(
                f"Invalid value for the 'format' parameter. Allowed values are "
                f"{', '.join(map(repr, allowed))}, but got {fmt!r} instead." + suggest(str(fmt), allowed)
            )
        return fmt
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ParameterError(
            f"Cannot tell the output format of {str(path)!r} from its suffix {suffix!r}: use one of "
            f"{', '.join(sorted(FORMATS))} or pass format= ({', '.join(map(repr, allowed))})."
        )
    return FORMATS[suffix]


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def _clean_json(obj):
    """NaN/inf -> None so the JSON is standard."""
    if isinstance(obj, Mapping):
        return {str(k): _clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_json(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, np.generic):
        return _clean_json(obj.item())
    return obj


def _attrs_json(df: pd.DataFrame) -> str:
    return json.dumps(_clean_json(dict(df.attrs)), default=_json_default, indent=1, ensure_ascii=False)


def _columns_meta(df: pd.DataFrame) -> list[dict[str, str]]:
    units = df.attrs.get("units", {}) if isinstance(df.attrs.get("units"), Mapping) else {}
    return [{"name": str(c), "dtype": _dtype_name(df[c]), "unit": str(units.get(c, ""))} for c in df.columns]


def _dtype_name(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_integer_dtype(s):
        return "int64"
    if pd.api.types.is_float_dtype(s):
        return "float64"
    return "str"


def _tmp_in(dirpath: Path, name: str) -> Path:
    # keep the real suffix last (pynwb, openpyxl look at it); hidden, marked .tmp
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp" + Path(name).suffix, dir=dirpath)
    os.close(fd)
    return Path(tmp)


def _commit(tmp: Path, dest: Path, overwrite: bool) -> None:
    """Move *tmp* to *dest* atomically; without overwrite, never clobber a file created meanwhile."""
    if overwrite:
        os.replace(tmp, dest)
        return
    try:
        os.link(tmp, dest)  # fails if dest exists: no race with another writer
    except FileExistsError:
        raise OutputExistsError(f"{dest}: exists; pass overwrite=True to replace it") from None
    except OSError:  # filesystems without hard links
        if dest.exists():
            raise OutputExistsError(f"{dest}: exists; pass overwrite=True to replace it") from None
        os.replace(tmp, dest)
        return
    os.unlink(tmp)


def _atomic(dests: Sequence[Path], writers: Sequence[Callable[[Path], None]], overwrite: bool) -> None:
    for d in dests:
        if d.exists() and not overwrite:
            raise OutputExistsError(f"{d}: exists; pass overwrite=True to replace it")
        if d.is_dir():
            raise OutputExistsError(f"{d}: is a directory")
        if not d.parent.is_dir():
            raise FileNotFoundError(f"{d.parent}: no such directory (output {d.name})")
    tmps: list[Path] = []
    try:
        for d, w in zip(dests, writers):
            t = _tmp_in(d.parent, d.name)
            tmps.append(t)
            w(t)
        # the main file last: a reader never sees a table without its sidecar
        for d, t in reversed(list(zip(dests, tmps))):
            _commit(t, d, overwrite)
    finally:
        for t in tmps:
            if t.exists():
                t.unlink()


def write_table(df: pd.DataFrame, path: str | os.PathLike, *, format: str | None = None,
                overwrite: bool = False) -> Path:
    """Write a table with its annotations, atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        Typically from :func:`driving_force_table`; ``df.attrs`` is written
        with it (it must be JSON-serializable).
    path : str or os.PathLike
    format : {"csv", "parquet", "xlsx", "md", "html"}, optional
        Default: from the suffix (``.csv``, ``.parquet``/``.pq``, ``.xlsx``,
        ``.md``, ``.html``).
    overwrite : bool
        Replace existing output files; otherwise :class:`OutputExistsError`.

    Returns
    -------
    pathlib.Path
        The table's path.

    Notes
    -----
    * **csv**: the data (full float precision, ``""`` for missing) plus a
      JSON sidecar ``<name>.csv.json`` holding ``attrs`` and the columns
      (name, dtype, unit).  Read both back with :func:`read_table`.
    * **parquet** (pyarrow): ``attrs`` and the column units as JSON in the
      schema metadata under the key ``ephys_correct``.
    * **xlsx** (openpyxl): sheet ``data`` and a sheet ``metadata`` (key,
      JSON value; one ``unit:<column>`` row per column).
    * **md**, **html**: for a lab notebook; a metadata block (file, SHA-256,
      configuration, LJP, temperatures, activity model, solutions, units)
      above the table; floats rounded to 0.001.  Not read back.

    Every file is written to a temporary file in the destination directory
    and moved into place (``os.replace``); on failure no partial file
    remains.  Existing files are never replaced unless ``overwrite=True``.

    Raises
    ------
    OutputExistsError
        An output file (or the CSV sidecar) exists and *overwrite* is False.
    ParameterError
        Unknown format.
    ImportError
        Parquet without pyarrow, Excel without openpyxl.
    """
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"Invalid value for the 'df' parameter: expected a pandas DataFrame, got "
                             f"{type(df).__name__}.")
    if not isinstance(overwrite, bool):
        raise ParameterError(f"Invalid value for the 'overwrite' parameter: expected True or False, got {overwrite!r}.")
    dest = Path(os.fspath(path))
    fmt = _format_of(dest, format)
    attrs_json = _attrs_json(df)  # fails early (TypeError) when attrs are not serializable
    if fmt == "csv":
        side = sidecar_path(dest)
        meta = {"schema": _SIDECAR_SCHEMA, "table": dest.name, "columns": _columns_meta(df),
                "attrs": json.loads(attrs_json)}

        def w_csv(t: Path) -> None:
            df.to_csv(t, index=False, na_rep="", lineterminator="\n", encoding="utf-8")

        def w_side(t: Path) -> None:
            t.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

        _atomic([dest, side], [w_csv, w_side], overwrite)
    elif fmt == "parquet":
        pa, pq = _need_pyarrow()

        def w_pq(t: Path) -> None:
            table = pa.Table.from_pandas(df, preserve_index=False)
            md = dict(table.schema.metadata or {})
            md.pop(b"PANDAS_ATTRS", None)
            md[b"ephys_correct"] = json.dumps({"schema": _SIDECAR_SCHEMA, "columns": _columns_meta(df),
                                               "attrs": json.loads(attrs_json)}).encode("utf-8")
            pq.write_table(table.replace_schema_metadata(md), t)

        _atomic([dest], [w_pq], overwrite)
    elif fmt == "xlsx":
        _need_openpyxl()

        def w_xlsx(t: Path) -> None:
            meta_rows = [("schema", _SIDECAR_SCHEMA)]
            meta_rows += [(f"unit:{c['name']}", c["unit"]) for c in _columns_meta(df)]
            meta_rows += [(f"dtype:{c['name']}", c["dtype"]) for c in _columns_meta(df)]
            for k, v in json.loads(attrs_json).items():
                meta_rows.append((f"attr:{k}", json.dumps(v, ensure_ascii=False)))
            meta = pd.DataFrame(meta_rows, columns=["key", "value"])
            buf = io.BytesIO()  # built in memory: a failure leaves no open file handle behind
            xw = pd.ExcelWriter(buf, engine="openpyxl")
            df.to_excel(xw, sheet_name="data", index=False)
            meta.to_excel(xw, sheet_name="metadata", index=False)
            xw.close()
            t.write_bytes(buf.getvalue())

        _atomic([dest], [w_xlsx], overwrite)
    else:
        text = _markdown(df) if fmt == "md" else _html(df)

        def w_text(t: Path) -> None:
            t.write_text(text, encoding="utf-8")

        _atomic([dest], [w_text], overwrite)
    return dest


def _need_pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingDependencyError(
            "Writing/reading Parquet needs pyarrow, which is not installed: "
            "pip install 'ephys_correct[io]' (or pip install pyarrow)."
        ) from exc
    return pa, pq


def _need_openpyxl():
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "Writing/reading Excel (.xlsx) needs openpyxl, which is not installed: "
            "pip install 'ephys_correct[io]' (or pip install openpyxl)."
        ) from exc


# ----------------------------------------------------------------------------- notebook formats
def _summary_items(df: pd.DataFrame) -> list[tuple[str, str]]:
    a = df.attrs
    items: list[tuple[str, str]] = []

    def add(label, value):
        if value is not None and value != "" and value != {}:
            items.append((label, value if isinstance(value, str) else json.dumps(_clean_json(value),
                                                                                 default=_json_default)))

    add("input file", a.get("input_file"))
    add("input SHA-256", a.get("input_sha256"))
    add("configuration", a.get("configuration"))
    ljp = a.get("ljp") or {}
    if isinstance(ljp, Mapping):
        by = ljp.get("by_headstage") or {}
        vals = {k: v.get("ljp_mv") for k, v in by.items()} if isinstance(by, Mapping) else {}
        how = (f"{ljp.get('source')}"
               + (f", {ljp.get('method')}" if ljp.get("method") else "")
               + (f", activities {ljp.get('activity_model')}" if ljp.get("activity_model") else
                  (", concentrations" if ljp.get("source") == "computed" else "")))
        if vals:
            add("LJP V_L (bath rel. pipette), mV", ", ".join(f"headstage {k}: {v:.4g}" for k, v in vals.items())
                + f" ({how})")
    online = a.get("ljp_applied_online_mv") or {}
    if isinstance(online, Mapping) and any(v for v in online.values()):
        add("LJP applied online (amplifier), mV", online)
    add("temperature (recording), degC", a.get("temperature_c"))
    add("temperature (zeroing, LJP), degC", a.get("zeroing_temperature_c"))
    add("activity model", a.get("activity_model"))
    add("E_rev basis", a.get("E_rev_basis"))
    sols = a.get("solutions") or {}
    if isinstance(sols, Mapping):
        b = sols.get("bath") or {}
        if b:
            add("bath", f"{b.get('name')} (sha256 {str(b.get('sha256'))[:12]}...)")
        for k, p in (sols.get("pipette") or {}).items():
            add(f"pipette (headstage {k})", f"{p.get('name')} (sha256 {str(p.get('sha256'))[:12]}...)")
    add("bath change", a.get("bath_change") and a["bath_change"].get("kind"))
    add("perforating agent", a.get("perforating_agent") and a["perforating_agent"].get("name"))
    add("software", f"ephys_correct {a.get('software_version', __version__)}")
    units = a.get("units") or {}
    if isinstance(units, Mapping):
        add("units", ", ".join(f"{k} [{v}]" for k, v in units.items() if v))
    for c in a.get("caveats") or []:
        items.append(("caveat", str(c)))
    return items


def _cell(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if not np.isfinite(v) else f"{v:.3f}"
    return str(v)


def _markdown(df: pd.DataFrame) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    lines = [f"## {df.attrs.get('title', 'Table')}", ""]
    for k, v in _summary_items(df):
        lines.append(f"- **{esc(k)}**: {esc(v)}")
    lines.append("")
    cols = [str(c) for c in df.columns]
    lines.append("| " + " | ".join(esc(c) for c in cols) + " |")
    lines.append("|" + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in df.columns) + "|")
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(esc(_cell(v)) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _html(df: pd.DataFrame) -> str:
    title = html.escape(str(df.attrs.get("title", "Table")))
    meta = "\n".join(f"  <dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in _summary_items(df))
    body = ["<table>", "<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
            + "</tr></thead>", "<tbody>"]
    for row in df.itertuples(index=False):
        body.append("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>")
    body.append("</tbody></table>")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title + "</title></head>\n<body>\n"
            f"<h2>{title}</h2>\n<dl class=\"metadata\">\n{meta}\n</dl>\n" + "\n".join(body) + "\n</body></html>\n")


# =============================================================================
# reading back
# =============================================================================


def _restore(df: pd.DataFrame, columns: list[dict[str, str]]) -> pd.DataFrame:
    for c in columns:
        name, dt = c["name"], c["dtype"]
        if name not in df.columns:
            continue
        if dt == "str":
            df[name] = df[name].astype(object).where(df[name].notna(), "").astype(str)
        elif dt == "int64":
            df[name] = df[name].astype("int64")
        elif dt == "float64":
            df[name] = df[name].astype("float64")
        elif dt == "bool":
            df[name] = df[name].astype(bool)
    return df


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by :func:`write_table` (CSV + sidecar, Parquet, Excel) with its ``attrs``.

    Raises
    ------
    FileNotFoundError
        The file, or a CSV's sidecar ``<name>.csv.json``, is missing.
    ParameterError
        A Markdown/HTML file (not machine-readable) or an unknown suffix, or
        a sidecar that is not ephys_correct's.
    """
    p = Path(os.fspath(path))
    fmt = _format_of(p, None)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    if fmt == "csv":
        side = sidecar_path(p)
        if not side.is_file():
            raise FileNotFoundError(f"{side}: the JSON sidecar of {p.name} is missing (it holds units and "
                                    "metadata); read the bare CSV with pandas.read_csv")
        meta = json.loads(side.read_text(encoding="utf-8"))
        if meta.get("schema") != _SIDECAR_SCHEMA:
            raise ParameterError(f"{side}: not an ephys_correct table sidecar (schema {meta.get('schema')!r})")
        cols = meta["columns"]
        str_cols = [c["name"] for c in cols if c["dtype"] == "str"]
        num_cols = [c["name"] for c in cols if c["dtype"] != "str"]
        kw: dict[str, Any] = {}
        if int(pd.__version__.split(".")[0]) < 3:  # pandas >= 3 parses floats round-trip by default
            kw["float_precision"] = "round_trip"
        df = pd.read_csv(p, dtype={c: str for c in str_cols}, keep_default_na=False,
                         na_values={c: [""] for c in num_cols}, encoding="utf-8", **kw)
        df = _restore(df, cols)
        df.attrs.update(meta.get("attrs") or {})
        return df
    if fmt == "parquet":
        pa, pq = _need_pyarrow()
        table = pq.read_table(p)
        raw = (table.schema.metadata or {}).get(b"ephys_correct")
        df = table.to_pandas()
        if raw is not None:
            meta = json.loads(raw.decode("utf-8"))
            df = _restore(df, meta.get("columns", []))
            df.attrs.clear()
            df.attrs.update(meta.get("attrs") or {})
        return df
    if fmt == "xlsx":
        _need_openpyxl()
        sheets = pd.read_excel(p, sheet_name=None, engine="openpyxl", keep_default_na=False, na_values=[""])
        if "data" not in sheets:
            raise ParameterError(f"{p}: no 'data' sheet (sheets: {list(sheets)})")
        df = sheets["data"]
        meta = sheets.get("metadata")
        if meta is not None:
            cols, attrs = {}, {}
            for k, v in zip(meta["key"], meta["value"]):
                k = str(k)
                if k.startswith("dtype:"):
                    cols.setdefault(k[6:], {"name": k[6:]})["dtype"] = str(v)
                elif k.startswith("attr:"):
                    attrs[k[5:]] = json.loads(v)
            df = _restore(df, list(cols.values()))
            df.attrs.update(attrs)
        return df
    raise ParameterError(f"{p}: {fmt!r} tables are for reading by people and are not read back; "
                         "use CSV, Parquet or Excel.")
