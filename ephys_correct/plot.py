"""Figures: corrected vs raw traces, driving forces across sweeps, planning scans.

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
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import MissingDependencyError, OutputExistsError, ParameterError

__all__ = ["plot_sweep", "plot_driving_force", "plot_plan_scan", "save_figure"]

_INSTALL_HINT = "plotting needs matplotlib: pip install 'ephys_correct[plot]'"


def _figure(figsize=(7.0, 4.0)):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise MissingDependencyError(f"{_INSTALL_HINT} ({exc})") from exc
    return Figure(figsize=figsize, layout="constrained")


def save_figure(fig, path: str | os.PathLike, *, overwrite: bool = False, dpi: int = 120) -> Path:
    """Save *fig* to *path* atomically (temporary file + rename).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or os.PathLike
        Destination; the format comes from the suffix (``.png`` when none).
        Missing folders are created.
    overwrite : bool
        Replace an existing file (default False: refuse).
    dpi : int
        Resolution of raster formats.

    Returns
    -------
    Path
        *path*.

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
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(buf.getvalue())
        os.replace(tmp, p)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return p


def _finish(fig, path, overwrite):
    if path is not None:
        save_figure(fig, path, overwrite=overwrite)
    return fig


def plot_sweep(corrected, sweep: int = 0, channel: int | str | None = None, *,
               path: str | os.PathLike | None = None, overwrite: bool = False):
    """Raw and LJP-corrected trace of one sweep of one channel.

    Parameters
    ----------
    corrected : CorrectedRecording
        From :func:`ephys_correct.correction.correct_recording`.
    sweep : int
        Sweep index.
    channel : int or str, optional
        Default: the first membrane-potential channel (else channel 0).
    path : path, optional
        Save the figure there.
    overwrite : bool
        Replace an existing file at *path* (default False: refuse).

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
    t = corrected.sweep_times(sweep)
    raw = corrected.raw_sweep_data(sweep, c)
    cor = corrected.sweep_data(sweep, c)
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(t, raw, color="0.6", lw=0.8, label="as recorded")
    ax.plot(t, cor, color="C0", lw=0.8, label="LJP-corrected")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{ch.name} ({ch.units})" if ch.units else ch.name)
    try:
        ljp = f"V_L = {corrected.ljp_mv:+.2f} mV"
    except ParameterError:
        ljp = "V_L per headstage"
    cfg = getattr(getattr(corrected, "configuration", None), "name", "")
    ax.set_title(f"{Path(rec.path).name}, sweep {sweep}: {ljp} ({cfg})", fontsize=9)
    ax.legend(loc="best", fontsize=8, frameon=False)
    return _finish(fig, path, overwrite)


def _pick(df, *names: str) -> str | None:
    for n in names:
        if n in df.columns:
            return n
    return None


def plot_driving_force(table, *, ions: Sequence[str] | None = None, path: str | os.PathLike | None = None,
                       overwrite: bool = False):
    """Driving force (V_m - E_rev) per ion across sweeps.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`ephys_correct.report.driving_force_table` (one row per sweep,
        headstage, epoch and ion; columns ``sweep``, ``ion``,
        ``driving_force_mV``, optional ``headstage``).
    ions : sequence of str, optional
        Only these ions.
    path : path, optional
        Save the figure there (:func:`save_figure`).
    overwrite : bool
        Replace an existing file at *path* (default False: refuse).

    Returns
    -------
    matplotlib.figure.Figure
    """
    sweep_col = _pick(table, "sweep")
    ion_col = _pick(table, "ion")
    df_col = _pick(table, "driving_force_mV", "driving_force_mv")
    if sweep_col is None or ion_col is None or df_col is None:
        raise ParameterError(f"plot_driving_force: the table needs columns sweep, ion and driving_force_mV; "
                             f"got {list(table.columns)}.")
    data = table
    if ions is not None:
        data = data[data[ion_col].isin(list(ions))]
    fig = _figure()
    ax = fig.add_subplot()
    hs_col = _pick(data, "headstage")
    groups = data.groupby([ion_col, hs_col], sort=False, dropna=False) if hs_col else data.groupby(ion_col, sort=False)
    multi_hs = hs_col is not None and data[hs_col].nunique(dropna=False) > 1
    for key, g in groups:
        ion, hs = key if hs_col else (key, None)
        if isinstance(ion, tuple):
            ion = ion[0]
        g = g.groupby(sweep_col, sort=True)[df_col].mean()
        label = f"{ion} (hs {hs})" if multi_hs else str(ion)
        ax.plot(g.index.to_numpy(), g.to_numpy(), marker="o", ms=3, lw=1, label=label)
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.set_xlabel("sweep")
    ax.set_ylabel("driving force V_m - E_rev (mV)")
    ax.set_title("Driving force per ion (LJP-corrected V_m)", fontsize=9)
    ax.legend(loc="best", fontsize=8, frameon=False)
    return _finish(fig, path, overwrite)


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
    path : path, optional
        Save the figure there (:func:`save_figure`).
    overwrite : bool
        Replace an existing file at *path* (default False: refuse).

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
