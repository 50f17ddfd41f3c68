"""NWB (Neurodata Without Borders) intracellular files through pynwb.

The icephys layout of NWB 2 (the DANDI archive, the Allen Cell Types data,
files written by :func:`ephys_correct.write_nwb`) maps onto the Recording model:

* each ``IntracellularElectrode`` is a headstage (natural order of their names);
* each response series in ``acquisition`` (``CurrentClampSeries``,
  ``IZeroClampSeries``, ``VoltageClampSeries``, or a plain ``PatchClampSeries``
  in volts / amperes, e.g. a monitor) is one sweep of one channel; channels
  are (electrode, quantity) pairs named ``"<electrode> Vm"`` / ``"<electrode> Im"``;
* sweeps are the series' ``sweep_number`` (for series without one, their order
  in time per electrode); every selected sweep must hold every channel at one
  sampling rate, otherwise the reader says which sweeps to select
  (``sweeps=``);
* values are ``data * conversion + offset`` in volts / amperes, returned in
  mV / pA;
* the clamp mode of a headstage is its series type (``CurrentClampSeries`` ->
  current clamp, ``IZeroClampSeries`` -> I=0, ``VoltageClampSeries`` ->
  voltage clamp); an electrode whose series change type between sweeps has no
  single mode (read one mode's sweeps with ``sweeps=``);
* the stimulus series of an electrode (paired by the ``intracellular_recordings``
  table, else by sweep number) are its command: ``Recording.command(sweep, k)``
  for electrode *k*.  NWB has no holding-level field: ``holding[k].value`` is
  NaN.

pynwb is imported only here (optional extra ``nwb``).
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Sequence

import numpy as np

from ephys_correct.errors import (
    CorruptRecordingError,
    MissingDependencyError,
    ParameterError,
    UnsupportedFormatError,
)
from ephys_correct.io._clamp import AdcSpec, DacSpec, adc_unit, assign
from ephys_correct.io._headstages import HeadstagePlan
from ephys_correct.io._recording import Holding, Recording
from ephys_correct.io._stored import StoredSamplesUnavailableError, check_integer
from ephys_correct.io._units import parse_unit

__all__ = ["read_nwb"]

_MODE_OF = {"CurrentClampSeries": "current_clamp", "IZeroClampSeries": "i_zero",
            "VoltageClampSeries": "voltage_clamp"}


def _natural(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _quantity(series) -> str | None:
    cls = type(series).__name__
    if cls in ("CurrentClampSeries", "IZeroClampSeries", "CurrentClampStimulusSeries"):
        return "V" if cls != "CurrentClampStimulusSeries" else "I"
    if cls in ("VoltageClampSeries",):
        return "I"
    if cls == "VoltageClampStimulusSeries":
        return "V"
    unit = str(getattr(series, "unit", "") or "").strip().lower()
    if unit in ("volts", "volt", "v"):
        return "V"
    if unit in ("amperes", "ampere", "amps", "a"):
        return "I"
    return None


def _rate(series) -> float | None:
    rate = getattr(series, "rate", None)
    if rate is not None:
        return float(rate)
    ts = getattr(series, "timestamps", None)
    if ts is not None and len(ts) > 1:
        d = np.diff(np.asarray(ts[: min(len(ts), 1000)], dtype=float))
        if np.allclose(d, d[0], rtol=1e-6):
            return float(1.0 / d[0])
    return None


def _t0(series) -> float:
    t = getattr(series, "starting_time", None)
    if t is not None:
        return float(t)
    ts = getattr(series, "timestamps", None)
    return float(ts[0]) if ts is not None and len(ts) else 0.0


def _scale_offset(series) -> tuple[float, float]:
    conv = float(getattr(series, "conversion", 1.0) or 1.0)
    off = float(getattr(series, "offset", 0.0) or 0.0)
    return conv, off


class _NwbSource:
    """Per (sweep, channel) an NWB series; values in volts / amperes."""

    kind = "nwb"

    def __init__(self, io, path: str, table: list[list]):
        self.io = io  # keeps the HDF5 file open for as long as the recording is used
        # closed with the recording (not left to NWBHDF5IO's own collection, which warns)
        self._close = weakref.finalize(self, io.close)
        self.path = path
        self.table = table  # table[sweep][channel] = series

    def read(self, sweep: int, channel: int, start: int, stop: int) -> np.ndarray:
        s = self.table[sweep][channel]
        conv, off = _scale_offset(s)
        try:
            out = np.asarray(s.data[start:stop], dtype=np.float64)
        except (OSError, ValueError, KeyError) as exc:
            raise CorruptRecordingError(f"{self.path}: cannot read {s.name!r}: {exc}") from exc
        out = out * conv
        if off:
            out += off
        return out

    def read_block(self, sweeps, channels, n_samples, dtype=np.float64):
        out = np.empty((len(sweeps), len(channels), n_samples), dtype=dtype)
        for i, s in enumerate(sweeps):
            for j, c in enumerate(channels):
                out[i, j] = self.read(s, c, 0, n_samples)
        return out

    def stored_scaling(self, channel: int) -> tuple[np.dtype, float, float]:
        """(integer dtype, conversion, offset) of *channel*, the same in every sweep; else unavailable."""
        first = self.table[0][channel]
        dt = check_integer(self.path, first.data.dtype, f"NWB series {first.name!r}")
        scaling = _scale_offset(first)
        for row in self.table[1:]:
            s = row[channel]
            if np.dtype(s.data.dtype) != dt or _scale_offset(s) != scaling:
                raise StoredSamplesUnavailableError(
                    f"{self.path}: the series of channel {channel} differ in dtype, conversion or offset "
                    f"({first.name!r}: {dt.name} {scaling}, {s.name!r}: {np.dtype(s.data.dtype).name} "
                    f"{_scale_offset(s)}); one scaling per channel is needed")
        return dt, scaling[0], scaling[1]

    def read_stored(self, sweep: int, channel: int, start: int, stop: int) -> np.ndarray:
        """The stored integers of one series (a new native-order array)."""
        dt, _, _ = self.stored_scaling(channel)
        s = self.table[sweep][channel]
        try:
            return np.array(s.data[start:stop], dtype=dt.newbyteorder("="))
        except (OSError, ValueError, KeyError) as exc:
            raise CorruptRecordingError(f"{self.path}: cannot read {s.name!r}: {exc}") from exc


class _NwbCommand:
    """Stimulus series as command waveforms, in mV / pA."""

    def __init__(self, path: str, stimuli: list[dict]):
        self.path = path
        self.stimuli = stimuli  # per DAC: {sweep index: series}

    def available(self, dac: int) -> bool:
        return 0 <= dac < len(self.stimuli) and bool(self.stimuli[dac])

    def waveform(self, sweep: int, dac: int, n: int) -> np.ndarray:
        from ephys_correct.io._recording import CommandUnavailableError

        if not 0 <= dac < len(self.stimuli) or sweep not in self.stimuli[dac]:
            raise CommandUnavailableError(f"{self.path}: no NWB stimulus series for electrode {dac} in sweep {sweep}")
        s = self.stimuli[dac][sweep]
        conv, off = _scale_offset(s)
        factor = 1e3 if _quantity(s) == "V" else 1e12
        data = np.asarray(s.data[:n], dtype=np.float64) * conv + off
        out = np.full(n, np.nan)
        out[: len(data)] = data
        return out * factor


def _open(path: str):
    try:
        import pynwb
    except ImportError as exc:
        raise MissingDependencyError(
            f"{path}: reading NWB files needs pynwb, which is not installed: pip install 'ephys_correct[nwb]'"
        ) from exc
    io = None
    try:
        io = pynwb.NWBHDF5IO(path, "r", load_namespaces=True)
        nwbfile = io.read()
    except BaseException as exc:
        if io is not None:  # opened but not readable: closed now, not left to the garbage collector
            io.close()
        if isinstance(exc, (MemoryError, KeyboardInterrupt)) or not isinstance(exc, Exception):
            raise
        # h5py / hdmf raise many types on bad input
        raise CorruptRecordingError(f"{path}: pynwb cannot read this file ({type(exc).__name__}: {exc})") from exc
    return pynwb, io, nwbfile


def read_nwb(path: str, *, clamp_mode=None, headstages=None, unit_fix=None, sweeps: Sequence[int] | None = None,
             state=None) -> Recording:
    """Read the intracellular (icephys) data of an NWB 2 file into a :class:`Recording`.

    Parameters
    ----------
    path : str
        Absolute path of the ``.nwb`` file.
    clamp_mode, headstages, unit_fix
        As in :func:`ephys_correct.io.read_recording`.
    sweeps : sequence of int, optional
        NWB sweep numbers to read (default: all).  Needed when sweeps differ in
        channels, sampling rate or clamp mode.
    state : tuple, optional
        (size, mtime) of the file when it was opened.

    Returns
    -------
    Recording
        ``format="NWB"``; headstage *k* is the *k*-th electrode, commanded by
        "DAC" *k* (its stimulus series).

    Raises
    ------
    MissingDependencyError
        pynwb is not installed.
    CorruptRecordingError
        pynwb cannot read the file.
    UnsupportedFormatError
        No intracellular series, or sweeps that do not fit one Recording.
    """
    pynwb, io, nwbfile = _open(path)
    from pynwb.icephys import PatchClampSeries

    warnings: list[str] = []
    responses = [s for s in nwbfile.acquisition.values() if isinstance(s, PatchClampSeries)]
    others = sorted(n for n, s in nwbfile.acquisition.items() if not isinstance(s, PatchClampSeries))
    if others:
        warnings.append(f"{path}: acquisition objects that are not patch-clamp series were not read: "
                        f"{', '.join(others[:10])}{' ...' if len(others) > 10 else ''}")
    if not responses:
        io.close()
        raise UnsupportedFormatError(f"{path}: no intracellular (PatchClampSeries) data in acquisition")
    stim_all = [s for s in nwbfile.stimulus.values() if isinstance(s, PatchClampSeries)]

    electrodes = sorted({s.electrode.name: s.electrode for s in responses + stim_all}.items(),
                        key=lambda kv: _natural(kv[0]))
    e_index = {name: k for k, (name, _) in enumerate(electrodes)}

    # sweep numbers (or order in time per electrode when a series has none)
    def keys(series_list):
        out = {}
        by_el: dict[str, list] = {}
        for s in series_list:
            if s.sweep_number is not None:
                out[id(s)] = int(s.sweep_number)
            else:
                by_el.setdefault(s.electrode.name, []).append(s)
        if by_el:
            warnings.append(f"{path}: series without sweep_number were numbered by their start time per electrode")
            for lst in by_el.values():
                for k, s in enumerate(sorted(lst, key=_t0)):
                    out[id(s)] = k
        return out

    rkey = keys(responses)
    all_sweeps = sorted(set(rkey.values()))
    if sweeps is not None:
        want = [int(x) for x in sweeps]
        missing = sorted(set(want) - set(all_sweeps))
        if missing:
            io.close()
            raise ParameterError(f"{path}: sweeps {missing} are not in the file (sweep numbers: "
                                 f"{_ranges(all_sweeps)})")
        sweep_ids = sorted(set(want))
    else:
        sweep_ids = all_sweeps

    # channels: (electrode, quantity)
    chan_keys = []
    table: dict[tuple[int, tuple], object] = {}
    modes: dict[str, dict[str, list[int]]] = {}
    for s in responses:
        k = rkey[id(s)]
        if k not in sweep_ids:
            continue
        q = _quantity(s)
        if q is None:
            warnings.append(f"{path}: {s.name!r} has unit {s.unit!r}, neither volts nor amperes: not read")
            continue
        ck = (s.electrode.name, q)
        if (k, ck) in table:
            io.close()
            raise UnsupportedFormatError(f"{path}: sweep {k} has two {q} series for electrode {ck[0]!r} "
                                         f"({table[(k, ck)].name!r}, {s.name!r})")
        table[(k, ck)] = s
        if ck not in chan_keys:
            chan_keys.append(ck)
        mode = _MODE_OF.get(type(s).__name__)
        if mode is not None:
            modes.setdefault(s.electrode.name, {}).setdefault(mode, []).append(k)
    def order(ck):  # per electrode, the measured quantity first (the current of a voltage-clamp electrode)
        measured = "I" if set(modes.get(ck[0], {})) == {"voltage_clamp"} else "V"
        return e_index[ck[0]], ck[1] != measured

    chan_keys.sort(key=order)
    for k in sweep_ids:
        lacking = [f"{e} {q}" for (e, q) in chan_keys if (k, (e, q)) not in table]
        if lacking:
            io.close()
            raise UnsupportedFormatError(
                f"{path}: sweep {k} lacks {', '.join(lacking)} that other sweeps have; a Recording needs the same "
                f"channels in every sweep. Read the sweeps that match with "
                f"read_recording(path, sweeps=[...]) (sweep numbers: {_ranges(all_sweeps)})")
    rates = {}
    lengths = []
    starts = []
    rows = []
    for k in sweep_ids:
        row = [table[(k, ck)] for ck in chan_keys]
        ns = {len(s.data) for s in row}
        if len(ns) != 1:
            io.close()
            raise UnsupportedFormatError(f"{path}: the series of sweep {k} differ in length ({sorted(ns)})")
        for s in row:
            rates.setdefault(_rate(s), []).append(k)
        lengths.append(ns.pop())
        starts.append(min(_t0(s) for s in row))
        rows.append(row)
    if None in rates:
        io.close()
        raise UnsupportedFormatError(f"{path}: sweeps {_ranges(sorted(set(rates[None])))} have no regular "
                                     "sampling rate")
    if len(rates) != 1:
        desc = "; ".join(f"{r:g} Hz: sweeps {_ranges(sorted(set(v)))}" for r, v in sorted(rates.items()))
        io.close()
        raise UnsupportedFormatError(f"{path}: the sweeps have different sampling rates ({desc}); read one rate "
                                     "at a time with read_recording(path, sweeps=[...])")
    rate = next(iter(rates))

    # stimuli per electrode and sweep: the intracellular_recordings table first, else sweep numbers
    sweep_pos = {k: i for i, k in enumerate(sweep_ids)}
    stimuli: list[dict] = [{} for _ in electrodes]
    paired = _table_pairs(nwbfile)
    skey = keys(stim_all) if stim_all else {}
    for s in stim_all:
        k = paired.get(id(s), skey.get(id(s)))
        if k in sweep_pos:
            stimuli[e_index[s.electrode.name]][sweep_pos[k]] = s

    # channels, DACs, plan
    adcs = []
    for i, (e, q) in enumerate(chan_keys):
        name = f"{e} {'Vm' if q == 'V' else 'Im'}"
        units = "V" if q == "V" else "A"
        adcs.append(AdcSpec(index=i, name=name, file_units=units, unit=adc_unit(units, path, i, name)))
    dacs = []
    holding = []
    for k, (e, el) in enumerate(electrodes):
        st = stimuli[k]
        q = {_quantity(s) for s in st.values()}
        units = ("V" if q == {"V"} else "A" if q == {"I"} else "")
        if len(q) > 1:
            warnings.append(f"{path}: the stimuli of electrode {e!r} mix voltage and current series")
        dacs.append(DacSpec(index=k, name=e, file_units=units, unit=parse_unit(units),
                            use="file" if st else None))
    e_of_chan = [e_index[e] for e, _ in chan_keys]
    hs_ids = sorted(set(e_of_chan))
    plan = HeadstagePlan(
        headstage=tuple(e_of_chan), role=tuple(None for _ in chan_keys),
        dac={k: (k if stimuli[k] else None) for k in hs_ids}, confidence={k: "strong" for k in hs_ids},
        notes={k: (f"NWB IntracellularElectrode {electrodes[k][0]!r}"
                   + (f"; its stimulus series are the command of DAC {k}" if stimuli[k] else "; no stimulus series"),)
               for k in hs_ids},
        evidence=tuple(f"{path}: headstage {k} is the NWB IntracellularElectrode {electrodes[k][0]!r}"
                       for k in hs_ids),
        warnings=())
    file_modes = {}
    for k in hs_ids:
        e = electrodes[k][0]
        m = modes.get(e, {})
        if len(m) == 1:
            mode, ks = next(iter(m.items()))
            cls = {v: c for c, v in _MODE_OF.items()}[mode]
            file_modes[k] = (mode, "series_type", f"NWB {cls} (sweeps {_ranges(sorted(set(ks)))})")
        elif len(m) > 1:
            desc = "; ".join(f"{mode}: sweeps {_ranges(sorted(set(ks)))}" for mode, ks in sorted(m.items()))
            file_modes[k] = (None, "unresolved",
                             f"the NWB series of electrode {e!r} change clamp mode between sweeps ({desc}); read one "
                             f"mode at a time with read_recording(path, sweeps=[...])")
    channels, heads, w, evidence = assign(path, adcs, dacs, protocol=None, abf=False, clamp_mode=clamp_mode,
                                          headstages=headstages, unit_fix=unit_fix, plan=plan,
                                          file_modes=file_modes)
    for k, (e, el) in enumerate(electrodes):
        d = dacs[k]
        electrical = d.unit.dimension in ("voltage", "current")
        holding.append(Holding(dac=k, name=e, value=math.nan, units=d.unit.units if electrical else "",
                               file_units=d.file_units, headstage=k if stimuli[k] and k in hs_ids else None))
    if any(stimuli):
        evidence.append(f"{path}: NWB stores no holding level; holding values are NaN and the command is the "
                        "stimulus series")
    descs = {str(getattr(s, "stimulus_description", "") or "") for row in rows for s in row}
    descs.discard("")
    descs.discard("N/A")
    version = getattr(io, "nwb_version", None)
    if isinstance(version, tuple):
        version = version[0] if isinstance(version[0], str) else ".".join(str(v) for v in version if v is not None)
    start = getattr(nwbfile, "session_start_time", None)
    return Recording(
        path=path, format="NWB", version=str(version or ""), reader=f"pynwb {pynwb.__version__}",
        channels=tuple(channels), headstages=tuple(heads), n_sweeps=len(sweep_ids), sample_rate_hz=float(rate),
        sweep_lengths=tuple(int(n) for n in lengths), sweep_start_s=tuple(float(x) for x in starts), t_start_s=0.0,
        holding=tuple(holding), tags=(), comment=str(nwbfile.session_description or "").strip(),
        protocol=descs.pop() if len(descs) == 1 else None, acquisition_mode="records", start_time=start,
        creator=None, access_resistance_by_headstage={}, warnings=tuple(warnings + w),
        headstage_evidence=tuple(evidence), interpretation_warnings=tuple(w),
        _source=_NwbSource(io, path, rows), _command=_NwbCommand(path, stimuli), _file_state=state,
    )


def _table_pairs(nwbfile) -> dict[int, int]:
    """id(stimulus series) -> sweep key of its response, from the intracellular_recordings table."""
    out: dict[int, int] = {}
    table = getattr(nwbfile, "intracellular_recordings", None)
    if table is None or len(table) == 0:
        return out
    try:
        stim_col = table["stimuli"]["stimulus"]
        resp_col = table["responses"]["response"]
        for i in range(len(table)):
            st, rs = stim_col[i], resp_col[i]
            sts = getattr(st, "timeseries", None)
            rss = getattr(rs, "timeseries", None)
            if sts is not None and rss is not None and rss.sweep_number is not None:
                out[id(sts)] = int(rss.sweep_number)
    except (KeyError, IndexError, AttributeError, TypeError):
        return {}
    return out


def _ranges(values: Sequence[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    out = []
    vals = list(values)
    i = 0
    while i < len(vals):
        j = i
        while j + 1 < len(vals) and vals[j + 1] == vals[j] + 1:
            j += 1
        out.append(str(vals[i]) if i == j else f"{vals[i]}-{vals[j]}")
        i = j + 1
    return ", ".join(out)
