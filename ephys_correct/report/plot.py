"""Figures: corrected vs raw traces, driving forces across sweeps, planning scans.

Every figure of a recording names, in its title, the file, the headstage and
what is drawn (the sweeps, the statistic of V_m, every sample or min/max per
bin); a single-sweep recording is drawn against time; a recording whose units
the reader found suspect gets a red frame and a red ``UNITS SUSPECT`` label.

matplotlib is an optional extra (``pip install 'ephys_correct[plot]'``),
imported only when a figure is made.  Figures are built on
:class:`matplotlib.figure.Figure` directly (no pyplot, no global state, no
GUI backend), so they are safe in worker processes and threads.  Every
function returns the Figure; with ``path=`` it is also saved (PNG, SVG or PDF
from the suffix) atomically, refusing to overwrite unless ``overwrite=True``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ephys_correct._fileio import atomic_write_bytes
from ephys_correct._validate import check_integer
from ephys_correct.errors import MissingDependencyError, OutputExistsError, ParameterError

__all__ = ["plot_sweep", "plot_headstage", "plot_traces", "TracePanel", "plot_driving_force", "plot_plan_scan",
           "save_figure", "downsample_minmax", "panel_order", "suspect_text",
           "correction_changes"]

_INSTALL_HINT = "plotting needs matplotlib: pip install 'ephys_correct[plot]'"


def _figure(figsize=(7.0, 4.0), layout: str | None = "constrained"):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise MissingDependencyError(f"{_INSTALL_HINT} ({exc})") from exc
    return Figure(figsize=figsize, layout=layout)


def _fixed_margins(fig, *, left: float = 0.8, right: float = 0.15, top: float = 0.5, bottom: float = 0.45,
                   hspace: float = 0.25) -> None:
    """Margins in inches (no layout engine: a figure for many files draws in about half the time)."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h, bottom=bottom / h, hspace=hspace)


def save_figure(fig, path: str | os.PathLike, *, overwrite: bool = False, dpi: int = 120) -> Path:
    """Save *fig* to *path* atomically (temporary file + rename).

    Raises
    ------
    OutputExistsError
        *path* exists and *overwrite* is False.
    """
    p = Path(path)
    if p.exists() and not overwrite:
        raise OutputExistsError(f"{p} exists; pass overwrite=True (--force) to replace it.")
    fmt = p.suffix.lstrip(".").lower() or "png"
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    atomic_write_bytes(p, buf.getvalue(), overwrite=overwrite, make_parents=True)
    return p


def _finish(fig, path, overwrite):
    if path is not None:
        save_figure(fig, path, overwrite=overwrite)
    return fig


# --------------------------------------------------------------------------- helpers
def downsample_minmax(t, y, max_points: int = 2000):
    """Reduce a trace to at most *max_points* points for display, keeping its extremes.

    The samples are cut into ``max_points // 2`` bins of equal length and each
    bin is drawn by its minimum and maximum (in time order), so spikes and
    steps stay visible; a trace already short enough is returned unchanged.

    Parameters
    ----------
    t, y : array_like
        Times and values (same length).
    max_points : int
        At least 2.

    Returns
    -------
    t, y : numpy.ndarray
        The displayed points.
    bin_size : int
        Samples per bin (1 when nothing was reduced).
    """
    import numpy as np

    t = np.asarray(t)
    y = np.asarray(y)
    max_points = check_integer(max_points, what="max_points", where="downsample_minmax", minimum=2)
    if t.shape != y.shape or t.ndim != 1:
        raise ParameterError(f"downsample_minmax: t and y must be 1-D of the same length, got {t.shape} and {y.shape}.")
    n = len(y)
    if n <= max_points:
        return t, y, 1
    n_bins = max_points // 2
    size = -(-n // n_bins)  # ceil: every bin but the last has *size* samples
    n_bins = -(-n // size)
    pad = n_bins * size - n
    yy = np.concatenate([y, np.full(pad, np.nan)]) if pad else y
    yy = yy.reshape(n_bins, size)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(yy)
        lo = np.where(finite, yy, np.inf).argmin(axis=1)
        hi = np.where(finite, yy, -np.inf).argmax(axis=1)
    first = np.minimum(lo, hi)
    second = np.maximum(lo, hi)
    base = np.arange(n_bins) * size
    idx = np.empty(2 * n_bins, dtype=np.intp)
    idx[0::2] = base + first
    idx[1::2] = base + second
    idx = np.minimum(idx, n - 1)
    return t[idx], y[idx], size


def _hs_text(headstages) -> str:
    hs = [h for h in headstages if h is not None]
    if not hs:
        return "no headstage"
    hs = sorted(set(int(h) for h in hs))
    return f"headstage {hs[0]}" if len(hs) == 1 else "headstages " + ", ".join(map(str, hs))


SUSPECT_MARK = "UNITS SUSPECT"


def _mark_suspect(fig, ax, what: str) -> None:
    """A red frame around the figure and a red label in *ax*: the units of the data are doubtful."""
    from matplotlib.patches import Rectangle

    fig.patches.append(Rectangle((0.002, 0.002), 0.996, 0.996, transform=fig.transFigure, fill=False,
                                 edgecolor="red", lw=3, zorder=10))
    what = what if len(what) <= 80 else what[:77] + "..."
    ax.text(0.01, 0.97, f"{SUSPECT_MARK}: {what}", transform=ax.transAxes, color="red", fontsize=8,
            fontweight="bold", va="top", ha="left", zorder=10, in_layout=False, clip_on=False,
            bbox={"facecolor": "white", "edgecolor": "red", "alpha": 0.9, "pad": 2})


def suspect_text(recording, headstage: int | None = None) -> str:
    """Why the units of *recording* (or of one headstage) are doubtful; ``""`` when they are not.

    Parameters
    ----------
    recording : Recording or CorrectedRecording
    headstage : int, optional
        Only the channels of this headstage.

    Returns
    -------
    str
        E.g. ``"IN 0 is labelled pA in this file"`` (see ``Channel.units_suspect``).
    """
    rec = getattr(recording, "recording", recording)
    bad = [c for c in rec.channels if c.units_suspect and (headstage is None or c.headstage == headstage)]
    return "; ".join(f"{c.name} is labelled {c.file_units} in this file" for c in bad)


def _sweeps_text(sweeps: Sequence[int], n_sweeps: int) -> str:
    if n_sweeps == 1:
        return "the only sweep"
    shown = ", ".join(str(s) for s in sweeps)
    return f"sweep {shown} of {n_sweeps}" if len(sweeps) == 1 else f"sweeps {shown} of {n_sweeps}"


# --------------------------------------------------------------------------- traces
def plot_sweep(corrected, sweep: int = 0, channel: int | str | None = None, *,
               path: str | os.PathLike | None = None, overwrite: bool = False):
    """Raw and LJP-corrected trace of one sweep of one channel.

    The title names the file, the headstage, the channel and the sweep; a
    channel whose units the reader found suspect (``Channel.units_suspect``)
    gets a red frame and a red ``UNITS SUSPECT`` label.

    Parameters
    ----------
    corrected : CorrectedRecording
    sweep : int
    channel : int or str, optional
        Default: the first membrane-potential channel (else channel 0).
    path : path, optional
        Save the figure there.
    overwrite : bool

    Returns
    -------
    matplotlib.figure.Figure
    """
    rec = corrected.recording
    if channel is None:
        vm = [c.index for c in rec.channels if c.kind == "membrane_potential"]
        channel = vm[0] if vm else 0
    c = rec.channel_index(channel)
    ch = rec.channels[c]
    n = rec.sweep_lengths[corrected._sweep(sweep) if hasattr(corrected, "_sweep") else sweep]
    if n > SWEEP_PLOT_MAX_SAMPLES:  # a long (gap-free) sweep: its min/max envelope, read in pieces
        t, raw, cor = _envelope(corrected, sweep, c, n)
        shown = f"min/max of every {-(-n // SWEEP_PLOT_BINS)} samples"
    else:
        t = corrected.sweep_times(sweep)
        raw = corrected.raw_sweep_data(sweep, c)
        cor = corrected.sweep_data(sweep, c)
        shown = "every sample"
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(t, raw, color="0.6", lw=0.8, label="as recorded")
    ax.plot(t, cor, color="C0", lw=0.8, label="LJP-corrected")
    ax.set_xlabel("time in the sweep (s)" if rec.n_sweeps > 1 else "time (s)")
    ax.set_ylabel(f"{ch.name} ({ch.units})" if ch.units else ch.name)
    try:
        ljp = f"V_L = {corrected.ljp_mv:+.2f} mV"
    except ParameterError:
        ljp = "V_L per headstage"
    cfg = getattr(getattr(corrected, "configuration", None), "name", "")
    sweep_no = corrected._sweep(sweep) if hasattr(corrected, "_sweep") else sweep
    ax.set_title(f"{Path(rec.path).name} | {_hs_text([ch.headstage])} | {ch.name}, "
                 f"{_sweeps_text([sweep_no], rec.n_sweeps)}: {shown} as recorded vs LJP-corrected\n"
                 f"{ljp} ({cfg})", fontsize=9)
    ax.legend(loc="best", fontsize=8, frameon=False)
    if ch.units_suspect:
        _mark_suspect(fig, ax, suspect_text(rec, ch.headstage))
    return _finish(fig, path, overwrite)


#: :func:`plot_sweep` draws every sample of a sweep up to this length ...
SWEEP_PLOT_MAX_SAMPLES = 1 << 20
#: ... and of a longer one the minimum and maximum of each of this many bins (read in pieces)
SWEEP_PLOT_BINS = 1 << 14
_ENVELOPE_CHUNK_SAMPLES = 1 << 18


def _envelope(corrected, sweep: int, c: int, n: int):
    """(times, raw, corrected) of the min/max envelope of a long sweep, 2 points per bin, read in pieces."""
    import numpy as np

    rec = corrected.recording
    width = -(-n // SWEEP_PLOT_BINS)
    step = max(1, _ENVELOPE_CHUNK_SAMPLES // width) * width  # whole bins per piece
    t_parts, raw_parts, cor_parts = [], [], []
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        starts = np.arange(0, hi - lo, width)
        t0 = rec.t_start_s + (lo + starts) / rec.sample_rate_hz
        t_parts.append(np.repeat(t0, 2))
        for parts, y in ((raw_parts, corrected.raw_sweep_data(sweep, c, start=lo, stop=hi)),
                         (cor_parts, corrected.sweep_data(sweep, c, start=lo, stop=hi))):
            pair = np.empty(2 * len(starts))
            pair[0::2] = np.minimum.reduceat(y, starts)
            pair[1::2] = np.maximum.reduceat(y, starts)
            parts.append(pair)
    return np.concatenate(t_parts), np.concatenate(raw_parts), np.concatenate(cor_parts)


@dataclass(frozen=True)
class TracePanel:
    """One panel of :func:`plot_traces`: a signal in the sweeps shown.

    Attributes
    ----------
    label : str
        What the signal is (``"command Cmd 0"``, ``"IN 0"``).
    units : str
    corrected : sequence of numpy.ndarray
        One array per sweep shown (the corrected values).
    raw : sequence of numpy.ndarray or None
        The values as recorded, one per sweep; None when the correction left
        the signal unchanged (then *note* says so) or the raw values are not
        known.
    note : str
        Shown in the legend (e.g. ``"unchanged by the LJP"``).
    units_suspect : str
        Non-empty: why the units are doubtful (a red mark on the figure).
    """

    label: str
    units: str
    corrected: Sequence[Any]
    raw: Sequence[Any] | None = None
    note: str = ""
    units_suspect: str = ""


def plot_traces(times: Sequence[Any], panels: Sequence[TracePanel], *, file: str, headstage: int | None,
                sweeps: Sequence[int], n_sweeps: int, ljp_text: str = "", max_points: int = 2000,
                figsize: tuple[float, float] | None = None, path: str | os.PathLike | None = None,
                overwrite: bool = False):
    """Raw (grey) and corrected (colour) traces of some sweeps, one panel per signal.

    Each trace is drawn from at most *max_points* points (min/max per bin,
    :func:`downsample_minmax`); the title names the file, the headstage, the
    sweeps and what is drawn (every sample, or the min/max of bins of *n*
    samples).  A panel with ``units_suspect`` marks the figure in red.

    Parameters
    ----------
    times : sequence of numpy.ndarray
        Sample times (s) of each sweep shown (from the start of the sweep, or
        of the recording for a single-sweep file).
    panels : sequence of TracePanel
    file : str
        File name for the title.
    headstage : int or None
    sweeps : sequence of int
        The sweep numbers shown (same order as *times*).
    n_sweeps : int
        Sweeps in the file.
    ljp_text : str
        Appended to the title (e.g. ``"V_L = +16.19 mV (whole-cell)"``).
    max_points : int
        Points per drawn trace.
    figsize : (float, float), optional
    path : path, optional
        Save the figure there.
    overwrite : bool

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not panels:
        raise ParameterError(f"plot_traces: no signal to draw for {file} ({_hs_text([headstage])}).")
    if len(times) != len(sweeps) or any(len(p.corrected) != len(sweeps) for p in panels):
        raise ParameterError("plot_traces: give one time array and one trace per panel for every sweep shown.")
    n = len(panels)
    fig = _figure(figsize or (7.0, 1.5 + 1.45 * n), layout=None)
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    bins = 1
    colours = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"]
    handles: dict[str, Any] = {}
    any_raw = False
    for ax, panel in zip(axes, panels):
        for k, (t, cor) in enumerate(zip(times, panel.corrected)):
            if panel.raw is not None:
                tr, yr, b = downsample_minmax(t, panel.raw[k], max_points)
                bins = max(bins, b)
                (line,) = ax.plot(tr, yr, color="0.55", lw=0.7, ls="--")
                handles.setdefault("as recorded (grey, dashed)", line)
                any_raw = True
            tc, yc, b = downsample_minmax(t, cor, max_points)
            bins = max(bins, b)
            (line,) = ax.plot(tc, yc, color=colours[k % len(colours)], lw=0.8)
            handles.setdefault(f"sweep {sweeps[k]}" if len(sweeps) > 1 else "LJP-corrected", line)
        ax.set_ylabel(f"{panel.label} ({panel.units})" if panel.units else panel.label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.locator_params(nbins=5)  # few ticks: a figure for every file of a batch draws faster
        if panel.note:
            ax.text(0.99, 0.97, panel.note, transform=ax.transAxes, ha="right", va="top", fontsize=7,
                    style="italic", color="0.3", in_layout=False)
        if panel.units_suspect:
            _mark_suspect(fig, ax, panel.units_suspect)
    axes[-1].set_xlabel("time in the sweep (s)" if n_sweeps > 1 else "time (s)", fontsize=8)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=min(len(handles), 6),
                   fontsize=7, frameon=False, bbox_to_anchor=(0.5, 0.0))
    drawn = "every sample drawn" if bins == 1 else f"min/max of {bins}-sample bins drawn"
    what = "as recorded vs LJP-corrected" if any_raw else "LJP-corrected"
    title = f"{file} | {_hs_text([headstage])} | {_sweeps_text(sweeps, n_sweeps)}\n{what} ({drawn})"
    if ljp_text:
        title += f"\n{ljp_text}"
    axes[0].set_title(title, fontsize=8)
    _fixed_margins(fig, left=0.75, right=0.12, top=0.16 * (title.count("\n") + 1) + 0.12,
                   bottom=0.62 if handles else 0.42)
    return _finish(fig, path, overwrite)


def _pick_sweeps(n_sweeps: int, max_sweeps: int) -> list[int]:
    """First, last and evenly spaced sweeps in between (at most *max_sweeps*)."""
    if n_sweeps <= max_sweeps:
        return list(range(n_sweeps))
    if max_sweeps == 1:
        return [0]
    step = (n_sweeps - 1) / (max_sweeps - 1)
    return sorted({int(round(i * step)) for i in range(max_sweeps)})


def plot_headstage(corrected, headstage: int | None = None, *, sweeps: Sequence[int] | None = None,
                   max_sweeps: int = 3, max_points: int = 2000, path: str | os.PathLike | None = None,
                   overwrite: bool = False):
    """What the correction changed on one headstage: raw vs corrected, a few sweeps.

    In voltage clamp the first panel is the command (what the LJP changes),
    then the recorded current; in current clamp the membrane potential, then
    the command current.  See :func:`plot_traces`.

    Parameters
    ----------
    corrected : CorrectedRecording
    headstage : int, optional
        Default: the first headstage with signals.
    sweeps : sequence of int, optional
        Default: first, last and evenly spaced ones (*max_sweeps*).
    max_sweeps : int
    max_points : int
        Points per drawn trace (min/max per bin).
    path : path, optional
    overwrite : bool

    Returns
    -------
    matplotlib.figure.Figure
    """
    rec = corrected.recording
    heads = [h for h in rec.headstages if h.channels]
    if headstage is None:
        if not heads:
            raise ParameterError(f"{rec.path}: no headstage with signals to plot.")
        headstage = heads[0].index
    h = corrected._headstage(headstage)
    sweeps = _pick_sweeps(rec.n_sweeps, max_sweeps) if sweeps is None else [corrected._sweep(s) for s in sweeps]
    mode = h.clamp_mode if h.clamp_mode_known else None
    chans = [corrected.channel_corrections[i] for i in h.channels]
    cmds = [sc for sc in corrected.command_corrections
            if sc.headstage == headstage and corrected.has_command(sc.index)]
    panels = []
    for kind, sc in panel_order(mode, chans, cmds):
        if kind == "dac":
            cor = [corrected.command(s, sc.index) for s in sweeps]
            raw = [rec.command(s, sc.index) for s in sweeps]
            label, suspect = f"command {sc.name}", ""
        else:
            cor = [corrected.sweep_data(s, sc.index) for s in sweeps]
            raw = [corrected.raw_sweep_data(s, sc.index) for s in sweeps]
            label = sc.name
            suspect = suspect_text(rec, headstage) if rec.channels[sc.index].units_suspect else ""
        changed = correction_changes(sc)
        panels.append(TracePanel(label, sc.units, cor, raw if changed else None,
                                 note="" if changed else "unchanged by the LJP", units_suspect=suspect))
    hc = corrected.headstage_correction(headstage)
    ljp_text = (f"V_L = {hc.ljp_mv:+.2f} mV ({hc.ljp_source}"
                + (f", {corrected.ljp_method}" if hc.ljp_source == "computed" else "")
                + f"; {corrected.configuration.name}"
                + (f"; {mode}" if mode else "") + ")")
    return plot_traces([corrected.sweep_times(s) for s in sweeps], panels, file=Path(rec.path).name,
                       headstage=headstage, sweeps=sweeps, n_sweeps=rec.n_sweeps, ljp_text=ljp_text,
                       max_points=max_points, path=path, overwrite=overwrite)


def correction_changes(correction) -> bool:
    """Whether a signal correction changes the values (else raw and corrected are identical).

    Parameters
    ----------
    correction : SignalCorrection or Mapping
        Or its ``as_dict()`` (as stored in a ``.corrected.npz``).

    Returns
    -------
    bool
        True for potentials, and for currents whose sign is flipped.
    """
    def get(key):
        return correction.get(key) if isinstance(correction, Mapping) else getattr(correction, key)

    quantity = get("quantity")
    if quantity == "potential":
        return True
    if quantity == "current":
        sign = (get("current_sign") or 1) * (-1 if get("polarity_inverted_at_acquisition") else 1)
        return sign == -1
    return False


def panel_order(mode: str | None, channels: Sequence[Any], commands: Sequence[Any], limit: int = 3) -> list:
    """Which signals of a headstage to draw, in order: ``[("channel"|"dac", item), ...]``.

    Voltage clamp (or a voltage command with no membrane-potential channel):
    the command first (it is what the LJP changes), then the currents and
    other signals.  Current clamp / I=0: membrane potentials, other signals,
    then the command.

    Parameters
    ----------
    mode : str or None
        Clamp mode of the headstage; None: guessed from the signals.
    channels, commands : sequence
        SignalCorrection objects or mappings (their ``as_dict()``) with
        ``kind`` and ``units``.
    limit : int
        At most this many panels.

    Returns
    -------
    list of (str, object)
    """
    def get(obj, key):
        return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key)

    vm = [c for c in channels if get(c, "kind") == "membrane_potential"]
    other = [c for c in channels if get(c, "kind") != "membrane_potential"]
    if mode is None:
        mode = "voltage_clamp" if (not vm and any(get(d, "units") == "mV" for d in commands)) else "current_clamp"
    if mode == "voltage_clamp":
        order = [("dac", d) for d in commands] + [("channel", c) for c in other + vm]
    else:
        order = [("channel", c) for c in vm + other] + [("dac", d) for d in commands]
    return order[:limit]


# --------------------------------------------------------------------------- driving force
def _pick(df, *names: str) -> str | None:
    for n in names:
        if n in df.columns:
            return n
    return None


def plot_driving_force(table, *, ions: Sequence[str] | None = None, headstage: int | None = None,
                       units_suspect: str = "", path: str | os.PathLike | None = None,
                       overwrite: bool = False):
    """Driving force (V_m - E_rev) per ion across sweeps, or across time for a single sweep.

    Several sweeps: x is the sweep number, one line per ion (and epoch when
    the table has several).  A single sweep: x is time, each epoch's value a
    horizontal segment over its window (not a lone point on a sweep axis).
    The title names the file, the headstage(s) and the statistic of V_m.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`ephys_correct.report.driving_force_table` (one row per sweep,
        headstage, epoch and ion; columns ``sweep``, ``ion``,
        ``driving_force_mV``, optional ``headstage``, ``epoch``,
        ``t_start_s``, ``t_end_s``, ``file``; ``attrs["statistic"]``).
    ions : sequence of str, optional
        Only these ions.
    headstage : int, optional
        Only this headstage.
    units_suspect : str
        Non-empty: why the units of the recording are doubtful (a red mark).
    path : path, optional
    overwrite : bool

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np

    sweep_col = _pick(table, "sweep")
    ion_col = _pick(table, "ion")
    df_col = _pick(table, "driving_force_mV", "driving_force_mv")
    if sweep_col is None or ion_col is None or df_col is None:
        raise ParameterError(f"plot_driving_force: the table needs columns sweep, ion and driving_force_mV; "
                             f"got {list(table.columns)}.")
    import pandas as pd

    # a plain copy of the columns used, without the table's (large) attrs: pandas deep-copies attrs
    # into every intermediate frame of the groupbys below
    statistic = table.attrs.get("statistic")
    file = _table_file(table)
    used = [c for c in ("file", sweep_col, ion_col, df_col, "headstage", "epoch", "t_start_s", "t_end_s", "note")
            if c in table.columns]
    data = pd.DataFrame({c: table[c].to_numpy() for c in used})
    hs_col = _pick(data, "headstage")
    if headstage is not None:
        if hs_col is None:
            raise ParameterError("plot_driving_force: headstage= given but the table has no 'headstage' column.")
        data = data[data[hs_col] == headstage]
    if ions is not None:
        data = data[data[ion_col].isin(list(ions))]
    heads = sorted(data[hs_col].dropna().unique().tolist()) if hs_col else []
    stat = (f"V_m: {statistic} over each {'epoch' if _pick(data, 'epoch') and data['epoch'].nunique() > 1 else 'sweep'}"
            if statistic else "V_m statistic not recorded in the table")
    fig = _figure(layout=None)
    ax = fig.add_subplot()
    ep_col = _pick(data, "epoch")
    multi_hs = hs_col is not None and len(heads) > 1
    multi_ep = ep_col is not None and data[ep_col].nunique() > 1
    single = data[sweep_col].nunique() == 1 and _pick(data, "t_start_s") and _pick(data, "t_end_s")
    keys = [k for k in (ion_col, hs_col if multi_hs else None, ep_col if multi_ep else None) if k]
    colours: dict[str, str] = {}
    drawn = 0
    for key, g in data.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        ion = str(key[0])
        parts = [ion]
        if multi_hs:
            parts.append(f"hs {key[keys.index(hs_col)]}")
        if multi_ep:
            parts.append(str(key[keys.index(ep_col)]))
        label = parts[0] if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"
        colour = colours.setdefault(ion, f"C{len(colours) % 10}")
        if not np.isfinite(g[df_col].to_numpy(dtype=float)).any():
            continue
        if single:
            segs = g.groupby(["t_start_s", "t_end_s"], sort=True)[df_col].mean()
            for i, ((t0, t1), v) in enumerate(segs.items()):
                ax.hlines(v, t0, t1, color=colour, lw=2, label=label if i == 0 else None)
        else:
            s = g.groupby(sweep_col, sort=True)[df_col].mean()
            ax.plot(s.index.to_numpy(), s.to_numpy(), marker="o", ms=3, lw=1, color=colour,
                    ls="-" if not multi_ep else ["-", "--", ":", "-."][list(data[ep_col].unique()).index(
                        key[keys.index(ep_col)]) % 4], label=label)
        drawn += 1
    ax.axhline(0.0, color="0.7", lw=0.8)
    if single:
        # one sweep in the table: sweep 0 may be a whole (gap-free) recording, a later one is not
        sweep_no = int(data[sweep_col].iloc[0]) if len(data) else 0
        ax.set_xlabel("time in the sweep (s)" if sweep_no else "time (s)")
        where = f"sweep {sweep_no}"
    else:
        ax.set_xlabel("sweep")
        ax.xaxis.get_major_locator().set_params(integer=True, nbins=6)
        where = "per sweep"
    ax.set_ylabel("driving force V_m - E_rev (mV)")
    ax.yaxis.get_major_locator().set_params(nbins=6)
    ax.set_title(f"{file} | {_hs_text(heads) if hs_col else 'headstage not recorded'} | "
                 f"driving force V_m - E_rev per ion, {where}\n({stat}; LJP-corrected V_m)", fontsize=9)
    legend_w = 0.15
    if drawn:
        labels = [t for t in ax.get_legend_handles_labels()[1]]
        ncol = 2 if drawn > 12 else 1
        legend_w = (0.6 + 0.07 * max(len(t) for t in labels)) * ncol
        fig.legend(loc="upper right", fontsize=8, frameon=False, ncol=ncol, bbox_to_anchor=(1.0, 0.9))
    else:
        ax.set_xticks([])
        ax.set_yticks([])
        note = ""
        if "note" in data.columns and len(data):
            note = str(data["note"].iloc[0])
        ax.text(0.5, 0.5, "no driving force to draw" + (f":\n{_wrap(note, 70)}" if note else ""),
                transform=ax.transAxes, ha="center", va="center", fontsize=8, color="0.3", in_layout=False)
    if units_suspect:
        _mark_suspect(fig, ax, units_suspect)
    _fixed_margins(fig, left=0.75, right=legend_w, top=0.5, bottom=0.5)
    return _finish(fig, path, overwrite)


def _wrap(text: str, width: int = 90) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:4])


def _n_sweeps(table) -> int:
    col = _pick(table, "sweep")
    return int(table[col].nunique()) if col else 0


def _table_file(table) -> str:
    if "file" in table.columns and len(table):
        names = table["file"].astype(str).unique().tolist()
        if len(names) == 1:
            return names[0]
        return f"{len(names)} files"
    src = table.attrs.get("input_file")
    return Path(str(src)).name if src else "file not recorded"


def plot_plan_scan(scan, *, solved_mm: float | None = None, target: Any = None,
                   path: str | os.PathLike | None = None, overwrite: bool = False):
    """Reversal potentials and LJP against the amount of the varied compound.

    Parameters
    ----------
    scan : pandas.DataFrame
        :func:`ephys_correct.plan.scan_component`.
    solved_mm : float, optional
        Amount found by :func:`~ephys_correct.plan.solve_target` (marked).
    target : Target or str, optional
        Shown in the title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = scan["amount_mM"].to_numpy()
    fig = _figure(figsize=(7.0, 6.0))
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    for col in [c for c in scan.columns if c.startswith("E_") and c.endswith("_mV")]:
        ax1.plot(x, scan[col].to_numpy(), lw=1.2, label=col[2:-3])
    ax1.set_ylabel("E_rev (mV, activity-corrected)")
    ax1.legend(loc="best", fontsize=8, frameon=False, ncol=2)
    if "LJP_henderson_mV" in scan:
        ax2.plot(x, scan["LJP_henderson_mV"].to_numpy(), lw=1.2, label="Henderson")
    if "LJP_nernst_planck_mV" in scan:
        ax2.plot(x, scan["LJP_nernst_planck_mV"].to_numpy(), lw=1.2, ls="--", label="Nernst-Planck")
    ax2.set_ylabel("V_L (mV, bath rel. pipette)")
    vary = str(scan.attrs.get("vary", "compound"))
    side = scan.attrs.get("side", "")
    up, _, down = vary.partition(":")
    what = f"{up} (exchanged for {down})" if down else up
    ax2.set_xlabel(f"{what} in the {side} solution (mM)")
    ax2.legend(loc="best", fontsize=8, frameon=False)
    current = scan.attrs.get("current_mM")
    for ax in (ax1, ax2):
        if current is not None:
            ax.axvline(current, color="0.6", lw=0.8, ls=":")
        if solved_mm is not None:
            ax.axvline(solved_mm, color="C3", lw=0.9)

    def short(name: str, n: int = 45) -> str:
        return name if len(name) <= n else name[: n - 3] + "..."

    lines = [f"{short(str(scan.attrs.get('recipe', '')))} | {short(str(scan.attrs.get('other', '')))}"]
    marks = []
    if current is not None:
        marks.append(f"dotted: recipe ({current:g} mM)")
    if solved_mm is not None:
        marks.append(f"red: {target if target is not None else 'solution'} at {solved_mm:.3g} mM")
    if marks:
        lines.append("; ".join(marks))
    ax1.set_title("\n".join(lines), fontsize=8)
    return _finish(fig, path, overwrite)
