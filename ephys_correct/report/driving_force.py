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

import math
import os
import threading
import types
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple
import numpy as np
import pandas as pd
from ephys_correct._version import __version__
from ephys_correct._validate import check_choice, check_nonnegative
from ephys_correct.errors import ParameterError
from ephys_correct.chemistry.activity import MODELS
from ephys_correct.chemistry.speciation import free_ion_solution
from ephys_correct.report.table_metadata import COLUMN_UNITS, _RS_WARN_MV, _bath_for_window, _rs_note, _table_attrs  # noqa: F401
from ephys_correct.chemistry.ions import canonical_ion_name
from ephys_correct.chemistry.ions import get_ion
from ephys_correct.report.reversal_table import reversal_potentials
from ephys_correct.report.frozen_attrs import freeze
from ephys_correct.chemistry.solutions import Solution
from ephys_correct.io import CommandUnavailableError
from ephys_correct.correction.sign import apply_ljp
from ephys_correct.correction.corrected import STATISTICS, CorrectedRecording
from ephys_correct.correction.membrane import DRIVING_FORCE_LIMIT_MV, WINDOWS, check_epochs, implausible, recording_warnings, vm_signal, windows_for


#: small inorganic ions reported by default (when present on both sides)
DEFAULT_IONS = ("Na+", "K+", "Cl-", "Ca2+", "Mg2+", "Cs+", "Li+", "Rb+", "NH4+", "Ba2+", "Sr2+",
                "Br-", "I-", "NO3-", "F-", "HCO3-")

#: columns of :func:`driving_force_table` and their units
TABLE_COLUMNS = tuple(COLUMN_UNITS)
_STRING_COLUMNS = ("file", "epoch", "channel", "clamp_mode", "V_m_source", "ion", "current_direction",
                   "ion_flux", "E_rev_basis", "note", "flag")
_INT_COLUMNS = ("sweep", "headstage", "charge")


# =============================================================================
# the driving-force table
# =============================================================================


# ----------------------------------------------------------------------------- reversal potentials
class _IonBlock(NamedTuple):
    """The ion rows of one (inside, outside) pair, as read-only columns."""

    ions: tuple[str, ...]
    charge: np.ndarray      # int64
    c_in: np.ndarray        # float64 ...
    c_out: np.ndarray
    e_rev: np.ndarray
    e_ideal: np.ndarray
    notes: tuple[str, ...]


def _ion_block(rows: Mapping[str, Mapping[str, Any]]) -> _IonBlock:
    def col(key, dtype):
        a = np.array([r[key] for r in rows.values()], dtype=dtype)
        a.flags.writeable = False
        return a

    return _IonBlock(tuple(rows), col("charge", np.int64), col("c_in_mM", np.float64),
                     col("c_out_mM", np.float64), col("E_rev_mV", np.float64), col("E_rev_ideal_mV", np.float64),
                     tuple(str(r["note"]) for r in rows.values()))


def _speciated(sol, corrected, cache):
    key = id(sol)
    if key not in cache:
        model = "truesdell-jones" if corrected.activity_model == "ideal" else corrected.activity_model
        measured = corrected.ph_at_recording or {}
        side = "bath" if (sol is corrected.bath or sol.identity_key == corrected.bath.identity_key) else "pipette"
        cache[key] = free_ion_solution(sol, temperature_c=corrected.temperature_c,
                                       activity_model=model, pH_at_recording=measured.get(side))
    return cache[key]


class _WithErevOptions:
    """A CorrectedRecording seen with the reversal-potential options of one table."""

    def __init__(self, corrected, activity_model: str, inside_override_mm: Mapping[str, float]):
        self._corrected = corrected
        self.activity_model = activity_model
        self.inside_override_mm = inside_override_mm

    def __getattr__(self, name):
        value = getattr(self._corrected, name)
        if type(value) is types.MethodType or name in _STABLE_ATTRIBUTES:
            # the corrected recording is immutable: its methods and these fields are looked up once
            # per table, not once per sweep x window (about 5000 look-ups for a 4-headstage file)
            self.__dict__[name] = value
        return value


#: fields of a CorrectedRecording that never change (properties that build new values are not cached)
_STABLE_ATTRIBUTES = frozenset({
    "recording", "configuration", "temperature_c", "zeroing_temperature_c", "bath",
    "headstage_corrections", "channel_corrections", "command_corrections", "bath_change",
    "perforating_agent", "polarity_inverted_at_acquisition", "resting_potential_mv", "ljp_method",
    "free_ions", "ph_at_recording"})


def _erev_options(corrected, activity_model: Any, inside_override_mm: Any) -> _WithErevOptions:
    check_choice(activity_model, MODELS, what="activity_model", where="driving_force_table")
    overrides: dict[str, float] = {}
    if inside_override_mm is not None:
        if not isinstance(inside_override_mm, Mapping):
            raise ParameterError(
                f"Invalid value for the 'inside_override_mm' parameter: expected a mapping ion -> mM, "
                f"got {inside_override_mm!r}."
            )
        for k, v in inside_override_mm.items():
            c = check_nonnegative(v, what=f"inside_override_mm[{k!r}]", where="driving_force_table", unit="mM")
            overrides[canonical_ion_name(k)] = c
        cfg = corrected.configuration
        if cfg.inside_known == "all":
            raise ParameterError(
                f"Invalid value for the 'inside_override_mm' parameter: in configuration={cfg.name!r} "
                f"the cytoplasmic side faces the {cfg.inside} solution, whose composition is known; "
                "change that solution instead."
            )
    return _WithErevOptions(corrected, activity_model, MappingProxyType(overrides))


def _ion_plan(corrected, inside, outside, ions) -> tuple[list[str], dict[str, float], dict[str, str]]:
    """Which ions get a row; their inside concentrations; reasons for unknowns.

    Returns (ions, inside_mm for computable ions, {ion: reason} for rows with NaN E_rev).
    """

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


def _sides(cfg, pipette, bath):
    """(inside, outside) solutions of the reversal potentials, before speciation."""
    if cfg.inside == "pipette":
        return pipette, bath
    if cfg.inside == "bath":
        return bath, pipette
    if cfg.name == "perforated":
        return pipette, bath
    return pipette, pipette  # cell-attached: no solution faces the cytoplasm; gamma_in at the pipette's I


def _reversal_rows(corrected, inside, outside, ions) -> dict[str, dict[str, Any]]:
    """ion -> {charge, c_in, c_out, E_rev, E_rev_ideal, note} for one (inside, outside) pair."""

    cfg = corrected.configuration
    if corrected.free_ions:
        spec_cache: dict = {}
        inside = _speciated(inside, corrected, spec_cache)
        outside = _speciated(outside, corrected, spec_cache)
    wanted, known_in, unknown = _ion_plan(corrected, inside if cfg.inside_known != "none" else None,
                                          outside, ions)
    out: dict[str, dict[str, Any]] = {}
    if known_in:
        override = {i: c for i, c in known_in.items() if inside.ions_mm.get(i, 0.0) != c or cfg.inside_known != "all"}
        df = reversal_potentials(inside, outside, temperature_c=corrected.temperature_c,
                                 activity_model=corrected.activity_model,
                                 inside_override_mm=override or None, ions=list(known_in),
                                 free_ions=corrected.free_ions)
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
    return {ion: out[ion] for ion in wanted}


# Reversal-potential rows depend only on the two solutions' contents, the configuration, the perforating
# agent, inside_override_mm, temperature, activity model, free_ions and the requested ions: a batch over
# many files with the same solutions computes them once.  Keyed on the full repr of each solution (name,
# ions, neutrals, pH, titration, speciation, ...: the name appears in notes), never on identity alone.
_EREV_CACHE: OrderedDict = OrderedDict()
_EREV_CACHE_SIZE = 256
_EREV_LOCK = threading.Lock()
_SOLUTION_KEYS: dict[int, tuple[Any, str]] = {}


def _solution_key(sol) -> str | None:
    """Content key of a Solution (memoized per live object); None when it cannot be keyed."""

    if type(sol) is not Solution:
        return None
    hit = _SOLUTION_KEYS.get(id(sol))
    if hit is not None and hit[0]() is sol:
        return hit[1]
    key = repr(sol)
    if len(_SOLUTION_KEYS) > 4 * _EREV_CACHE_SIZE:
        _SOLUTION_KEYS.clear()
    _SOLUTION_KEYS[id(sol)] = (weakref.ref(sol), key)
    return key


def _erev_block(corrected, pipette, bath, ions) -> _IonBlock:
    """The ion rows for a pipette/bath pair (shared between calls; warnings re-issued on every use)."""
    inside, outside = _sides(corrected.configuration, pipette, bath)
    key = None
    ki, ko = _solution_key(inside), _solution_key(outside)
    if ki is not None and ko is not None:
        key = (ki, ko, corrected.configuration, corrected.perforating_agent,
               tuple(corrected.inside_override_mm.items()), float(corrected.temperature_c),
               corrected.activity_model, bool(corrected.free_ions), None if ions is None else tuple(ions),
               tuple(sorted((corrected.ph_at_recording or {}).items())))
        try:
            hash(key)
        except TypeError:
            key = None
    hit = None
    if key is not None:
        with _EREV_LOCK:
            hit = _EREV_CACHE.get(key)
            if hit is not None:
                _EREV_CACHE.move_to_end(key)
    if hit is None:
        # record warnings so that a cached entry repeats them (as a fresh computation would)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            block = _ion_block(_reversal_rows(corrected, inside, outside, ions))
        hit = (block, tuple(w.message for w in caught))
        if key is not None:
            with _EREV_LOCK:
                _EREV_CACHE[key] = hit
                while len(_EREV_CACHE) > _EREV_CACHE_SIZE:
                    _EREV_CACHE.popitem(last=False)
    for message in hit[1]:
        warnings.warn(message, stacklevel=3)
    return hit[0]


def _unknown_rows(corrected, hs, ions, note) -> dict[str, dict[str, Any]]:
    pip = corrected.pipette(hs)
    names = ([canonical_ion_name(i) for i in ions] if ions is not None
             else [i for i in DEFAULT_IONS if pip.ions_mm.get(i, 0.0) > 0])
    return {i: {"charge": get_ion(i).charge, "c_in_mM": math.nan, "c_out_mM": math.nan, "E_rev_mV": math.nan,
                "E_rev_ideal_mV": math.nan, "note": note} for i in names}


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


# ----------------------------------------------------------------------------- membrane potentials
#: V_m statistics: sweeps read together up to this many samples (32 MiB of float64) ...
_BLOCK_SAMPLES = 1 << 22
#: ... a longer sweep is read in pieces of this size (mean; a median needs the whole sweep)
_CHUNK_SAMPLES = 1 << 20
#: commands shorter than this are stacked so one numpy call takes the statistic of every sweep
_STACK_SAMPLES = 1 << 16


def _vm_plan(corrected, h, mode: str) -> tuple[str, int] | None:
    """The signal V_m is taken from: :func:`ephys_correct.correction.membrane.vm_signal` (the one rule)."""
    return vm_signal(corrected, h)


def _vm_source(corrected, plan, mode: str, statistic: str, wdesc: str, rel: str) -> str:
    """Description of the value, worded as :meth:`CorrectedRecording.membrane_potential` words it."""
    rec = corrected.recording
    kind, idx = plan
    if kind == "trace":
        return f"{statistic} of corrected trace '{rec.channels[idx].name}' ({mode}, {wdesc}){rel}"
    if kind == "command":
        return (f"{statistic} of corrected command DAC {idx} '{rec.holding[idx].name}' "
                f"(voltage_clamp, {wdesc}){rel}")
    if kind == "holding":
        return f"corrected holding level of DAC {idx} (voltage_clamp, command waveform unavailable){rel}"
    return (f"{statistic} of corrected voltage monitor '{rec.channels[idx].name}' (voltage_clamp, no command "
            f"waveform in the file, {wdesc}){rel}")


def _runs(rec, sweeps: list[int], spans, max_samples: int, whole: bool = False) -> list[list]:
    """Runs of consecutive sweeps with the same windows, at most *max_samples* samples each.

    The samples of a sweep are those from its first to its last window, or all (*whole*).

    ``[((windows, lo, hi, sweep length), [positions in sweeps]), ...]``.
    """
    runs: list[list] = []
    for k, s in enumerate(sweeps):
        rng = [(i0, i1) for i0, i1, *_ in spans[s]]
        lo, hi = min(r[0] for r in rng), max(r[1] for r in rng)
        head = (rng, lo, hi, rec.sweep_lengths[s])
        width = head[3] if whole else hi - lo
        if runs and runs[-1][0] == head and (len(runs[-1][1]) + 1) * width <= max_samples:
            runs[-1][1].append(k)
        else:
            runs.append([head, [k]])
    return runs


def _raw_statistics(corrected, plan, sweeps: list[int], spans, statistic: str):
    """Statistic of the uncorrected signal per (sweep, window), reading each sweep once.

    Whole sweeps of a trace are read together (``Recording.to_array``, one sequential read) in
    blocks of at most :data:`_BLOCK_SAMPLES` samples; a longer sweep is read in pieces for a
    mean (a median needs it whole).  Commands are synthesized per sweep; short ones are
    stacked so that one numpy call takes every statistic.

    Returns (values of shape (len(sweeps), n_windows), sweeps whose command the file cannot give).
    """

    rec = corrected.recording
    kind, idx = plan
    stat = np.mean if statistic == "mean" else np.median
    n_win = max((len(r) for r in spans), default=0)
    out = np.full((len(sweeps), n_win), np.nan)
    unavailable: list[int] = []
    if kind == "holding":  # a level, not a waveform (the level at the start of each sweep)
        out[:] = rec.holding[idx].value
        return out, unavailable
    if kind == "command":
        # a command made of steps: its statistic per window from the pieces, no waveform built
        pending: list[int] = []
        for k, s in enumerate(sweeps):
            steps = rec.command_steps(s, idx) if all(i1 > i0 for i0, i1, *_ in spans[s]) else None
            if steps is None:
                pending.append(k)
                continue
            for w, (i0, i1, *_) in enumerate(spans[s]):
                out[k, w] = _step_statistic(steps, i0, i1, statistic)
        rest = [sweeps[k] for k in pending]
        for (rng, _, _, n), ks in _runs(rec, rest, spans, _STACK_SAMPLES, whole=True):
            rows: list[int] = []
            cmds: list[np.ndarray] = []
            for k in ks:
                try:
                    if statistic == "mean" and n > _BLOCK_SAMPLES:  # bounded memory for long sweeps
                        for w, (i0, i1) in enumerate(rng):
                            total = 0.0
                            for a in range(i0, i1, _CHUNK_SAMPLES):
                                piece = rec.command(rest[k], idx, start=a, stop=min(i1, a + _CHUNK_SAMPLES))
                                total += float(np.add.reduce(piece))
                            out[pending[k], w] = total / (i1 - i0)
                        continue
                    cmds.append(rec.command(rest[k], idx))
                except CommandUnavailableError:
                    unavailable.append(rest[k])
                    continue
                rows.append(pending[k])
            if len(rows) > 1:
                data = np.stack(cmds)
                for w, (i0, i1) in enumerate(rng):
                    out[rows, w] = stat(data[:, i0:i1], axis=1)
            elif rows:
                for w, (i0, i1) in enumerate(rng):
                    out[rows[0], w] = stat(cmds[0][i0:i1])
        return out, unavailable
    for (rng, lo, hi, n), ks in _runs(rec, sweeps, spans, _BLOCK_SAMPLES):
        if lo == 0 and hi == n and (len(ks) > 1 or n <= _BLOCK_SAMPLES or statistic != "mean"):
            data = rec.to_array(channels=[idx], sweeps=[sweeps[k] for k in ks])[:, 0, :]
            for w, (i0, i1) in enumerate(rng):
                out[ks, w] = stat(data[:, i0:i1], axis=1)
            continue
        for k in ks:
            s = sweeps[k]
            if statistic == "mean" and hi - lo > _BLOCK_SAMPLES:  # bounded memory for long sweeps
                for w, (i0, i1) in enumerate(rng):
                    total = 0.0
                    for a in range(i0, i1, _CHUNK_SAMPLES):
                        piece = rec.sweep_data(s, idx, start=a, stop=min(i1, a + _CHUNK_SAMPLES))
                        total += float(np.add.reduce(piece))
                    out[k, w] = total / (i1 - i0)
                continue
            data = rec.sweep_data(s, idx, start=lo, stop=hi)
            for w, (i0, i1) in enumerate(rng):
                out[k, w] = stat(data[i0 - lo:i1 - lo])
    return out, unavailable


def _step_statistic(steps, i0: int, i1: int, statistic: str) -> float:
    """Mean or median over samples ``[i0, i1)`` (non-empty) of a waveform given as constant pieces.

    Equal to ``np.mean`` / ``np.median`` of the waveform's samples up to rounding (~1e-15
    relative): a piece contributes its value times its overlap with the window.
    """
    parts = [(v, min(b, i1) - max(a, i0)) for a, b, v in steps if a < i1 and b > i0]
    m = i1 - i0
    if len(parts) == 1:
        return parts[0][0]
    if statistic == "mean":
        return math.fsum(v * c for v, c in parts) / m
    parts.sort()
    lo, hi = (m - 1) // 2, m // 2  # the middle sample(s) in sorted order
    seen, a = 0, None
    for v, c in parts:
        if a is None and lo < seen + c:
            a = v
        if hi < seen + c:
            return a if a == v else (a + v) / 2.0
        seen += c
    raise AssertionError("pieces do not cover the window")  # pragma: no cover


def _membrane_potentials(corrected, h, mode: str, spans, statistic: str, named: str | None):
    """V_m (n_sweeps x n_windows), its descriptions and the notes for one headstage.

    *spans* holds per sweep the windows ``(i0, i1, description, t0, t1, name)``; *named* is the
    window rule (``"baseline"``, ``"sweep"``, ``"epochs"``) or None for explicit windows.

    Same values as :meth:`CorrectedRecording.membrane_potential` per sweep and window: the
    statistic is taken of the signal as read and corrected once
    (:func:`~ephys_correct.correction.apply_ljp` is affine in the signal: the mean and the
    median commute with it, up to rounding ~1e-14 mV), instead of correcting every sample of
    every window.  The exact path (``membrane_potential`` per window) runs only for the named
    conditions of :func:`_fast_path_blocker`, and for sweeps whose command the file cannot give.
    """

    n_sweeps = len(spans)
    n_win = max((len(r) for r in spans), default=0)
    vals = np.full((n_sweeps, n_win), np.nan)
    srcs = [[""] * len(spans[s]) for s in range(n_sweeps)]
    notes = [[""] * len(spans[s]) for s in range(n_sweeps)]
    plan = _vm_plan(corrected, h, mode)
    exact = list(range(n_sweeps))
    if _fast_path_blocker(corrected, plan, n_win) is None:
        cfg = corrected.configuration
        rel = ("; relative to the resting potential (cell-attached, no resting_potential_mv)"
               if cfg.needs_resting_potential and corrected.resting_potential_mv is None else "")
        sweeps = list(range(n_sweeps))
        raw, unavailable = _raw_statistics(corrected, plan, sweeps, spans, statistic)
        sc = (corrected.command_corrections if plan[0] in ("command", "holding")
              else corrected.channel_corrections)[plan[1]]
        hc = corrected._hc_for(sc)
        delta = np.array([corrected.delta_ref_mv(s) for s in sweeps], dtype=np.float64)[:, None]
        vm = apply_ljp(raw, ljp_mv=hc.ljp_mv, configuration=cfg, delta_ref_mv=delta,
                       ljp_applied_online_mv=hc.ljp_applied_online_mv,
                       polarity_inverted_at_acquisition=corrected.polarity_inverted_at_acquisition,
                       resting_potential_mv=corrected.resting_potential_mv)
        vm = np.broadcast_to(vm, raw.shape)
        skip = set(unavailable)
        for s in sweeps:
            if s in skip:
                continue
            vals[s] = vm[s]
            srcs[s] = [_vm_source(corrected, plan, mode, statistic, sp[2], rel) for sp in spans[s]]
        exact = unavailable
    for s in exact:
        for w, (_, _, wdesc, t0, t1, _) in enumerate(spans[s]):
            try:
                if named in ("baseline", "sweep"):
                    v, src = corrected.membrane_potential(s, h.index, statistic=statistic, window=named)
                else:
                    v, src = corrected.membrane_potential(s, h.index, statistic=statistic, window_s=(t0, t1))
                    src = src.replace(corrected._window(s, (t0, t1))[2], wdesc, 1)
            except ParameterError as exc:  # the file holds no signal to take V_m from
                v, src = math.nan, ""
                notes[s][w] = f"no V_m: {exc}"
            vals[s, w] = v
            srcs[s][w] = src
    return vals, srcs, notes


def _fast_path_blocker(corrected, plan, n_win: int) -> str | None:
    """Why V_m cannot be taken from the raw statistics (None: the fast path runs).

    The named conditions: no V_m signal (``membrane_potential`` says why), no window, or a
    bath schedule in time (the offset changes within a sweep: sample-wise correction).
    """
    if plan is None:
        return "no V_m signal"
    if not n_win:
        return "no window"
    if corrected._schedule_axis() == "piecewise in time":
        return "bath schedule in time"
    return None


# ----------------------------------------------------------------------------- table assembly
_STR_COLUMN: Callable[[list[str]], Any] | None = None


def _str_column(values: list[str]):
    """A column of Python str with the dtype ``Series.astype(str)`` gives (``str`` in pandas 3)."""
    global _STR_COLUMN
    if _STR_COLUMN is None:
        ref = pd.Series(["x", ""], dtype=object).astype(str)
        dtype = ref.dtype

        def generic(v: list[str]):
            return pd.array(v, dtype=dtype)

        maker = generic
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
            try:  # pyarrow-backed str: build the arrow array directly (half the cost of pd.array)
                import pyarrow as pa
                from pandas.arrays import ArrowStringArray

                def arrow(v: list[str]):
                    try:
                        return ArrowStringArray(pa.array(v, type=pa.large_string()), dtype=dtype)
                    except (TypeError, ValueError, pa.ArrowException):  # a non-str value: as astype(str)
                        return generic([str(x) for x in v])

                if pd.Series(arrow(["x", ""])).equals(ref) and arrow(["x"]).dtype == dtype:
                    maker = arrow
            except Exception:  # noqa: BLE001 - any pandas/pyarrow surprise: the generic path
                maker = generic
        _STR_COLUMN = maker
    return _STR_COLUMN(values)


_TABLE_INDEX = pd.Index(TABLE_COLUMNS)
_FAST_FRAME: bool | None = None  # None: not tried yet


def _frame(columns: dict[str, Any], n_rows: int) -> pd.DataFrame:
    """The table from typed columns (in :data:`TABLE_COLUMNS` order).

    ``DataFrame._from_arrays`` skips the re-validation of arrays that are already typed
    (about a quarter of the cost of ``DataFrame(dict)``); it is checked once against the
    public constructor and abandoned for good if it ever differs or fails.
    """
    global _FAST_FRAME
    if _FAST_FRAME is not False and list(columns) == list(TABLE_COLUMNS):
        try:
            df = pd.DataFrame._from_arrays(list(columns.values()), columns=_TABLE_INDEX,
                                           index=pd.RangeIndex(n_rows), verify_integrity=False)
            if _FAST_FRAME is None:
                ref = pd.DataFrame(columns)
                _FAST_FRAME = bool(df.dtypes.equals(ref.dtypes) and df.equals(ref)
                                   and df.index.equals(ref.index) and df.columns.equals(ref.columns))
        except Exception:  # noqa: BLE001 - a pandas without it: the public constructor from now on
            _FAST_FRAME = False
        if _FAST_FRAME:
            return df
    return pd.DataFrame(columns)


def _direction_columns(dfv: np.ndarray, charge: np.ndarray) -> tuple[list[str], list[str]]:
    """current_direction and ion_flux per row (membrane-current convention, any charge)."""
    finite = np.isfinite(dfv)
    zero = dfv == 0
    outward = dfv > 0
    d = np.where(~finite, 0, np.where(zero, 1, np.where(outward, 2, 3)))
    f = np.where(~finite, 0, np.where(zero, 1, np.where(outward == (charge > 0), 2, 3)))
    return (np.array(["", "none", "outward", "inward"], dtype=object)[d].tolist(),
            np.array(["", "none", "efflux", "influx"], dtype=object)[f].tolist())


def driving_force_table(corrected, *, ions: Sequence[str] | None = None,
                        epochs: Sequence[tuple[str, float, float]] | None = None,
                        statistic: str = "mean", window: str | None = None,
                        activity_model: str = "truesdell-jones",
                        inside_override_mm: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Per-ion driving forces ``V_m - E_rev`` of a corrected recording.

    Parameters
    ----------
    corrected : CorrectedRecording
        From :func:`ephys_correct.correction.correct_recording`; its
        configuration, temperatures, ``free_ions`` (default: free ions, at
        the pH of the recording temperature), measured pH and perforating
        agent decide the reversal potentials.
    ions : sequence of str, optional
        Ions to report.  Default: the small inorganic ions of
        :data:`DEFAULT_IONS` present on both sides.
    epochs : sequence of (name, t_start_s, t_end_s), optional
        Explicit time windows (s from the start of each sweep); one row set
        per window (the ``epoch`` column holds the name).
    statistic : {"mean", "median"}
        Statistic of V_m over each window.
    window : {"baseline", "epochs", "sweep"}, optional
        Without *epochs*, the window rule of
        :mod:`ephys_correct.correction.membrane`: ``"baseline"`` (default;
        where the cell is at rest: before the first command step, or the
        first 10 % of a sweep of a file without command waveform),
        ``"epochs"`` (one row set per command segment, ``epoch:holding``,
        ``epoch:1``, ...; voltage clamp: the holding and each step command,
        corrected), ``"sweep"`` (the whole sweep, steps and spikes included).
    activity_model : str
        Activity model of the reversal potentials (default ``"truesdell-jones"``).
    inside_override_mm : Mapping[str, float], optional
        Cytoplasmic concentrations (mM) for ions the solutions do not define:
        perforated (e.g. ``{"Cl-": 12}`` with gramicidin) or cell-attached.

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
          warnings, implausible values;
        * ``flag``: ``"implausible"`` when V_m, the voltage command or the
          driving force is beyond a physiological limit
          (:func:`ephys_correct.correction.membrane.implausible`; the reason
          is in ``note``), else ``""``.

        ``attrs["warnings"]`` lists the recording's interpretation warnings
        (weak evidence for headstages or clamp modes, suspect units, user
        overrides) and one line per kind of implausible value.

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

    Notes
    -----
    V_m is read once per sweep and signal; its statistic is taken of the
    signal as read and then LJP-corrected (the correction is affine, so
    this equals the statistic of the corrected trace up to rounding).
    Reversal potentials are computed once per pair of solutions and
    settings and reused across sweeps, headstages and calls (a small
    in-process cache keyed on the solutions' contents).
    """

    if not isinstance(corrected, CorrectedRecording):
        raise ParameterError(
            f"Invalid value for the 'corrected' parameter: expected a CorrectedRecording "
            f"(from correct_recording), got {type(corrected).__name__}."
        )
    corrected = _erev_options(corrected, activity_model, inside_override_mm)
    check_choice(statistic, STATISTICS, what="statistic", where="driving_force_table")
    if ions is not None:
        ions = [ions] if isinstance(ions, str) else list(ions)
        if not ions:
            raise ParameterError("Invalid value for the 'ions' parameter: it is empty (use None for the default).")
    windows = None if epochs is None else check_epochs(epochs)
    check_choice(window, (None, *WINDOWS), what="window", where="driving_force_table")
    if window is not None and windows is not None:
        raise ParameterError("give either 'epochs' (explicit windows) or 'window' (a named rule), not both.")
    named = None if windows is not None else (window or "baseline")
    rec = corrected.recording
    fname = os.path.basename(rec.path)
    cfg = corrected.configuration
    basis = "free" if corrected.free_ions else "total"
    heads = [h for h in rec.headstages if h.channels]
    modes = {h.index: h.clamp_mode for h in heads}  # raises ClampModeError when unresolved
    common_note = "perforated: an unknown pipette-cell Donnan potential is not corrected" \
        if cfg.name == "perforated" else ""
    relative = cfg.needs_resting_potential and corrected.resting_potential_mv is None
    relative_note = ("cell-attached without resting_potential_mv: V_m_mV is the patch potential "
                     "relative to rest, so no driving force") if relative else ""
    n_sweeps = rec.n_sweeps if heads else 0

    # per headstage, the windows of every sweep: (i0, i1, description, t0, t1, name); an explicit
    # window outside a sweep is the caller's error: raises
    def spans_of(h) -> list[list[tuple[int, int, str, float, float, str]]]:
        out = []
        for s in range(n_sweeps):
            if named is None:
                row = []
                for nm, t0, t1 in windows:
                    i0, i1, wdesc = corrected._window(s, (t0, t1))
                    row.append((i0, i1, wdesc, float(t0), float(t1), nm))
            else:
                ts = rec.t_start_s
                fs = rec.sample_rate_hz
                row = [(w.i0, w.i1, w.description, ts + w.i0 / fs, ts + w.i1 / fs, w.name)
                       for w in windows_for(corrected, h, s, named)]
            out.append(row)
        return out

    per_head = {}
    for h in heads:
        hs, mode = h.index, modes[h.index]
        channel, cur_idx = _headstage_channel(corrected, hs, mode)
        rs = rec.access_resistance_by_headstage.get(hs, rec.access_resistance_mohm)
        check_rs = mode == "voltage_clamp" and cur_idx is not None and rs is not None
        spans = spans_of(h)
        per_head[hs] = (channel, mode, cur_idx, check_rs, corrected.pipette(hs) if n_sweeps else None,
                        _membrane_potentials(corrected, h, mode, spans, statistic, named), spans)

    # one group of rows per sweep x window x headstage; its ions from a shared block
    blocks: dict[Any, _IonBlock] = {}
    g_sweep: list[int] = []
    g_win: list[int] = []
    g_head: list[int] = []
    g_vm: list[float] = []
    g_src: list[str] = []
    g_note: list[str] = []
    g_block: list[_IonBlock] = []
    one_bath = corrected._schedule_axis() == "none"  # the common case: one bath for every window
    baths: dict[tuple[int, float, float], tuple[Any, str]] = {}
    g_t0: list[float] = []
    g_t1: list[float] = []
    g_name: list[str] = []
    g_flag: list[str] = []
    n_win = max((len(v[6][s]) for v in per_head.values() for s in range(n_sweeps)), default=0)
    holding_of = {}  # voltage-clamp headstages: the corrected holding level of their DAC
    holding_levels = None  # corrected.holding, built once (it corrects every DAC's level)
    for h in heads:
        if modes[h.index] == "voltage_clamp" and h.dac is not None and h.dac < len(corrected.command_corrections) \
                and corrected.command_corrections[h.dac].quantity == "potential":
            if holding_levels is None:
                holding_levels = corrected.holding
            holding_of[h.index] = float(holding_levels[h.dac].value)
    for s in range(n_sweeps):
        for w in range(n_win):
            for h in heads:
                hs = h.index
                channel, mode, cur_idx, check_rs, pip, (vals, srcs, vm_notes), spans = per_head[hs]
                if w >= len(spans[s]):
                    continue
                _, _, _, t0, t1, wname = spans[s][w]
                bkey = (0, 0.0, 0.0) if one_bath else (s, t0, t1)
                if bkey not in baths:
                    baths[bkey] = _bath_for_window(corrected, s, t0, t1)
                bath, bath_note = baths[bkey]
                src = srcs[s][w]
                rs_note = ""
                if check_rs and ("command" in src or "holding" in src):
                    rs_note = _rs_note(corrected, s, hs, cur_idx, (t0, t1))
                if bath is None:
                    key = ("unknown", id(pip), bath_note)
                    blk = blocks.get(key)
                    if blk is None:
                        blk = blocks[key] = _ion_block(_unknown_rows(corrected, hs, ions, bath_note))
                else:
                    key = ("erev", id(pip), id(bath))
                    blk = blocks.get(key)
                    if blk is None:
                        blk = blocks[key] = _erev_block(corrected, pip, bath, ions)
                vm = float(vals[s, w])
                bad = implausible(vm_mv=vm, holding_mv=holding_of.get(hs))
                g_sweep.append(s)
                g_win.append(w)
                g_head.append(hs)
                g_vm.append(vm)
                g_src.append(src)
                g_note.append(_join(common_note, vm_notes[s][w], relative_note, rs_note, bath_note, bad))
                g_flag.append("implausible" if bad else "")
                g_block.append(blk)
                g_t0.append(t0)
                g_t1.append(t1)
                g_name.append(wname)

    # rows: each group repeated over its block's ions
    n_groups = len(g_block)
    sizes = np.array([len(b.ions) for b in g_block], dtype=np.intp)
    same = n_groups > 0 and all(b is g_block[0] for b in g_block)

    def per_ion(field: str) -> np.ndarray:
        if not n_groups:
            return np.empty(0, dtype=np.int64 if field == "charge" else np.float64)
        if same:
            return np.tile(getattr(g_block[0], field), n_groups)
        return np.concatenate([getattr(b, field) for b in g_block])

    def per_group(values: list, dtype) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=dtype), sizes)

    def per_group_str(values: list[str]) -> list[str]:
        return [v for v, n in zip(values, sizes.tolist()) for _ in range(n)]

    charge = per_ion("charge")
    e_rev = per_ion("e_rev")
    vm_rows = per_group(g_vm, np.float64)
    dfv = np.full(len(vm_rows), np.nan) if relative else vm_rows - e_rev
    direction, flux = _direction_columns(dfv, charge)
    flags = per_group_str(g_flag)
    df_bad = np.flatnonzero(np.isfinite(dfv) & (np.abs(dfv) > DRIVING_FORCE_LIMIT_MV))
    ion_names: list[str] = []
    notes: list[str] = []
    joined: dict[tuple[str, int], tuple[str, ...]] = {}
    for b, gn in zip(g_block, g_note):
        ion_names.extend(b.ions)
        jn = joined.get((gn, id(b)))
        if jn is None:
            jn = joined[(gn, id(b))] = tuple(_join(gn, n) for n in b.notes)
        notes.extend(jn)
    for i in df_bad.tolist():
        notes[i] = _join(notes[i], implausible(driving_force_mv=float(dfv[i])))
        flags[i] = "implausible"
    channel_of = {hs: v[0] for hs, v in per_head.items()}
    n_rows = len(vm_rows)
    columns = {
        "file": _str_column([fname] * n_rows),
        "sweep": per_group(g_sweep, np.int64),
        "epoch": _str_column(per_group_str(g_name)),
        "t_start_s": per_group(g_t0, np.float64),
        "t_end_s": per_group(g_t1, np.float64),
        "channel": _str_column(per_group_str([channel_of[hs] for hs in g_head])),
        "headstage": per_group(g_head, np.int64),
        "clamp_mode": _str_column(per_group_str([modes[hs] for hs in g_head])),
        "V_m_mV": vm_rows,
        "V_m_source": _str_column(per_group_str(g_src)),
        "ion": _str_column(ion_names),
        "charge": charge,
        "c_in_mM": per_ion("c_in"),
        "c_out_mM": per_ion("c_out"),
        "E_rev_mV": e_rev,
        "E_rev_ideal_mV": per_ion("e_ideal"),
        "driving_force_mV": dfv,
        "current_direction": _str_column(direction),
        "ion_flux": _str_column(flux),
        "E_rev_basis": _str_column([basis] * n_rows),
        "note": _str_column(notes),
        "flag": _str_column(flags),
    }
    df = _frame(columns, n_rows)
    df.attrs.update(_table_attrs(corrected, ions, windows, statistic))
    df.attrs["window"] = named if named is not None else "explicit epochs"
    df.attrs["warnings"] = freeze(recording_warnings(rec) + _flag_warnings(flags, notes, fname))
    df.attrs["headstages"] = freeze([{"headstage": h.index, "dac": h.dac, "channels": list(h.channels),
                                      "confidence": h.confidence, "evidence": list(h.evidence)}
                                     for h in rec.headstages])
    return df


def _flag_warnings(flags: list[str], notes: list[str], fname: str) -> list[str]:
    """One line per distinct implausibility reason of the table's flagged rows (the flag and note columns)."""
    out: list[str] = []
    # the distinct notes of the flagged rows, in row order (lists: pandas operations on the
    # finished table would copy its attrs each time)
    flagged = list(dict.fromkeys(n for f, n in zip(flags, notes) if f == "implausible"))
    for note in flagged:
        for part in str(note).split("; "):
            if part.startswith("implausible"):
                why = part.split(":", 1)[0]
                kind = why.split(" ")[1] if " " in why else why
                line = f"{fname}: rows flagged implausible: {part}"
                if not any(kind in o for o in out):
                    out.append(line)
    return out


def channel_corrections_table(corrected) -> pd.DataFrame:
    """What was applied to each channel and DAC of *corrected*, as a DataFrame."""
    rows = [c.as_dict() for c in (*corrected.channel_corrections, *corrected.command_corrections)]
    df = pd.DataFrame(rows)
    df.attrs.update({"input_file": corrected.path, "configuration": corrected.configuration.name,
                     "software_version": __version__})
    return df
