"""neo objects in memory (``neo.Block``, ``neo.Segment``, a list of ``AnalogSignal``) as a Recording.

Segments are sweeps; every column of every AnalogSignal is a channel (named by
``array_annotations['channel_names']``, else the signal's name), in mV / pA
from the signals' ``quantities`` units.  Every segment must have the same
signals (count, columns, units, sampling rate).  The clamp mode follows the
rules of formats without command information (units alone, with a warning;
Im + Vm is unresolved and needs ``clamp_mode=``), unless the signals carry
the annotations :meth:`Recording.to_neo` writes (``headstage``,
``clamp_mode``), which are then taken as the file's own statement.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from ephys_correct.errors import ParameterError, UnsupportedFormatError
from ephys_correct.io._clamp import CLAMP_MODES, AdcSpec, adc_unit, assign
from ephys_correct.io._headstages import HeadstagePlan
from ephys_correct.io._recording import Recording, Tag

__all__ = ["is_neo_object", "read_neo_object"]


def is_neo_object(obj) -> bool:
    """True for a neo Block, Segment, AnalogSignal or a non-empty list/tuple of AnalogSignals or Segments."""
    mod = type(obj).__module__ or ""
    if mod.startswith("neo.") and type(obj).__name__ in ("Block", "Segment", "AnalogSignal"):
        return True
    if isinstance(obj, (list, tuple)) and obj:
        return all(type(x).__module__.startswith("neo.") and type(x).__name__ in ("AnalogSignal", "Segment")
                   for x in obj)
    return False


class _MemorySource:
    """Columns of AnalogSignals held in memory."""

    kind = "memory"

    def __init__(self, table):
        self.table = table  # table[sweep][channel] = (signal, column)

    def read(self, sweep: int, channel: int, start: int, stop: int) -> np.ndarray:
        sig, col = self.table[sweep][channel]
        return np.array(np.asarray(sig.magnitude)[start:stop, col], dtype=np.float64)

    def read_block(self, sweeps, channels, n_samples, dtype=np.float64):
        out = np.empty((len(sweeps), len(channels), n_samples), dtype=dtype)
        for i, s in enumerate(sweeps):
            for j, c in enumerate(channels):
                out[i, j] = self.read(s, c, 0, n_samples)
        return out


def _units(sig) -> str:
    u = sig.units.dimensionality.string
    return "" if u == "dimensionless" else u


def read_neo_object(obj, *, clamp_mode=None, headstages=None, unit_fix=None) -> Recording:
    """A :class:`Recording` of neo objects held in memory.

    Parameters
    ----------
    obj : neo.Block, neo.Segment, neo.AnalogSignal or list of them
        A Block (its segments are the sweeps), a Segment or a list of
        AnalogSignals (one sweep), or a list of Segments.
    clamp_mode, headstages, unit_fix
        As in :func:`ephys_correct.io.read_recording`.

    Returns
    -------
    Recording
        ``format="neo"``; ``path`` is the Block's ``file_origin`` when it has
        one, else ``"<neo.Block 'name'>"``; ``sha256`` is that of the sample
        data, units and sampling rates (there is no file).

    Raises
    ------
    UnsupportedFormatError
        Segments with different signals, rates or lengths; no AnalogSignal.
    """
    import neo
    import quantities as pq

    kind = type(obj).__name__
    name = getattr(obj, "name", None)
    block = obj if isinstance(obj, neo.Block) else None
    if isinstance(obj, neo.Block):
        segments = [list(seg.analogsignals) for seg in obj.segments]
        seg_objs = list(obj.segments)
    elif isinstance(obj, neo.Segment):
        segments, seg_objs = [list(obj.analogsignals)], [obj]
    elif isinstance(obj, neo.AnalogSignal):
        segments, seg_objs = [[obj]], [None]
    elif all(isinstance(x, neo.Segment) for x in obj):
        segments, seg_objs = [list(s.analogsignals) for s in obj], list(obj)
        kind = "list of Segments"
    else:
        segments, seg_objs = [list(obj)], [None]
        kind = "list of AnalogSignals"
    origin = getattr(obj, "file_origin", None)
    path = (os.path.abspath(origin) if isinstance(origin, str) and origin
            else f"<neo.{kind} {name!r}>" if name else f"<neo.{kind}>")
    if not segments or not segments[0]:
        raise UnsupportedFormatError(f"{path}: no AnalogSignal to read")
    first = segments[0]
    layout = [(sig.shape[1] if sig.ndim == 2 else 1, _units(sig), float(sig.sampling_rate.rescale(pq.Hz)))
              for sig in first]
    rates = {r for _, _, r in layout}
    if len(rates) != 1:
        raise UnsupportedFormatError(f"{path}: the AnalogSignals have different sampling rates {sorted(rates)}; "
                                     "only one rate per recording is supported")
    rate = rates.pop()
    table, lengths, starts = [], [], []
    for k, sigs in enumerate(segments):
        this = [(sig.shape[1] if sig.ndim == 2 else 1, _units(sig), float(sig.sampling_rate.rescale(pq.Hz)))
                for sig in sigs]
        if this != layout:
            raise UnsupportedFormatError(f"{path}: segment {k} has other signals (columns, units, rate) than "
                                         f"segment 0: {this} vs {layout}")
        ns = {sig.shape[0] for sig in sigs}
        if len(ns) != 1:
            raise UnsupportedFormatError(f"{path}: the signals of segment {k} differ in length ({sorted(ns)})")
        lengths.append(ns.pop())
        starts.append(float(sigs[0].t_start.rescale(pq.s)))
        table.append([(sig, j) for sig in sigs for j in range(sig.shape[1] if sig.ndim == 2 else 1)])

    adcs = []
    ann_hs, ann_mode = [], {}
    i = 0
    for sig in first:
        ncol = sig.shape[1] if sig.ndim == 2 else 1
        names = sig.array_annotations.get("channel_names") if hasattr(sig, "array_annotations") else None
        for j in range(ncol):
            nm = (str(names[j]) if names is not None and len(names) == ncol and str(names[j]).strip()
                  else (sig.name if ncol == 1 and sig.name else (f"{sig.name} {j}" if sig.name else f"ch{i}")))
            u = _units(sig)
            adcs.append(AdcSpec(index=i, name=str(nm), file_units=u, unit=adc_unit(u, path, i, str(nm))))
            hs = sig.annotations.get("headstage")
            ann_hs.append(int(hs) if isinstance(hs, (int, np.integer)) and not isinstance(hs, bool) else "absent")
            mode = sig.annotations.get("clamp_mode")
            if isinstance(mode, str) and mode in CLAMP_MODES and ann_hs[-1] not in ("absent", -1):
                ann_mode.setdefault(ann_hs[-1], set()).add(mode)
            i += 1
    plan = file_modes = None
    if ann_hs and all(h != "absent" for h in ann_hs):
        hs = tuple(None if h < 0 else h for h in ann_hs)
        ids = sorted({h for h in hs if h is not None})
        plan = HeadstagePlan(
            headstage=hs, role=tuple(None for _ in hs), dac={k: None for k in ids},
            confidence={k: "strong" for k in ids}, notes={k: ("'headstage' annotation of the AnalogSignals",)
                                                          for k in ids},
            evidence=(f"{path}: headstages from the AnalogSignals' 'headstage' annotations",), warnings=())
        file_modes = {k: (next(iter(m)), "annotation", f"'clamp_mode' annotation {next(iter(m))!r}")
                      for k, m in ann_mode.items() if len(m) == 1}
    channels, heads, w, evidence = assign(path, adcs, [], protocol=None, abf=False, clamp_mode=clamp_mode,
                                          headstages=headstages, unit_fix=unit_fix, plan=plan,
                                          file_modes=file_modes)
    tags = []
    for seg in seg_objs:
        for ev in (getattr(seg, "events", None) or []):
            labels = list(ev.labels) if len(ev.labels) == len(ev) else [""] * len(ev)
            for t, lab in zip(np.asarray(ev.times.rescale(pq.s), dtype=float), labels):
                tags.append(Tag(time_s=float(t), comment=str(lab)))
    seen, uniq = set(), []
    for t in tags:  # to_neo repeats the tags in every segment
        if (t.time_s, t.comment) not in seen:
            seen.add((t.time_s, t.comment))
            uniq.append(t)
    digest = hashlib.sha256()
    for row in table:
        for sig, j in row:
            digest.update(np.ascontiguousarray(np.asarray(sig.magnitude)[:, j]).tobytes())
            digest.update(f"{_units(sig)}|{float(sig.sampling_rate.rescale(pq.Hz))!r}".encode())
    if not isinstance(obj, (neo.Block, neo.Segment, neo.AnalogSignal, list, tuple)):
        raise ParameterError(f"cannot read {type(obj).__name__} as a recording")
    start = getattr(block, "rec_datetime", None) if block is not None else None
    desc = getattr(block, "description", None) if block is not None else None
    ann = getattr(block, "annotations", {}) if block is not None else {}
    return Recording(
        path=path, format="neo", version=str(neo.__version__), reader=f"neo {neo.__version__} objects (in memory)",
        channels=tuple(channels), headstages=tuple(heads), n_sweeps=len(table), sample_rate_hz=rate,
        sweep_lengths=tuple(lengths), sweep_start_s=tuple(starts), t_start_s=0.0, holding=(), tags=tuple(uniq),
        comment=str(desc or "").strip(), protocol=(ann.get("protocol") or None) if isinstance(ann, dict) else None,
        acquisition_mode="records", start_time=start, creator=None, access_resistance_by_headstage={},
        warnings=tuple(w), headstage_evidence=tuple(evidence), interpretation_warnings=tuple(w),
        _source=_MemorySource(table), _command=None, _file_state=None, _cache={"sha256": digest.hexdigest()},
    )
