"""Notebook display of a Recording (``Recording._repr_html_``)."""

from __future__ import annotations

import os

from ephys_correct._html import table as html_table, tables as html_tables


def recording_html(rec) -> str:
    """File, format, sweeps, rate, duration, start time, channels and warnings as HTML tables.

    Parameters
    ----------
    rec : Recording

    Returns
    -------
    str
    """
    rows = [("file", os.path.basename(rec.path)), ("format", f"{rec.format} {rec.version}"),
            ("sweeps", rec.n_sweeps), ("channels", rec.n_channels),
            ("sample rate (Hz)", float(rec.sample_rate_hz)), ("duration (s)", float(rec.duration_s)),
            ("acquisition mode", rec.acquisition_mode),
            ("start time", "" if rec.start_time is None else rec.start_time.isoformat()),
            ("protocol", rec.protocol or ""), ("tags", len(rec.tags))]
    if rec.comment:
        rows.append(("comment", rec.comment))
    chans = [(c.index, c.name, c.units, c.kind, "" if c.headstage is None else c.headstage,
              "unresolved" if c._clamp_mode_error else (c._clamp_mode or "")) for c in rec.channels]
    return html_tables(
        html_table("Recording", rows, notes=[f"warning: {w}" for w in rec.warnings]
                   + [f"correction: {c}" for c in rec.corrections]),
        html_table("channels", chans, columns=("#", "name", "units", "kind", "headstage", "clamp mode")))
