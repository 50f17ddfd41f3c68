"""One self-contained HTML report of an ``ephys-correct correct`` output folder.

:func:`write_report` reads what a run left in its output folder -- the
``summary.<fmt>`` table, and per recording ``<stem>.done.json``,
``<stem>.corrected.npz`` and the driving-force table (with
:func:`ephys_correct.report.read_table`) -- and writes one HTML file:

* the run's settings and provenance (software version, inputs, options);
* an index: one row per recording (status, warnings, LJP and its method,
  configuration, mean V_m per headstage), with a text filter, a status filter
  and sortable columns (inline vanilla JavaScript);
* per recording a collapsed section (``<details>``): provenance, raw vs
  corrected traces per headstage (in voltage clamp the command, which is what
  the LJP changes), the driving force per ion across sweeps or epochs, and
  the reversal-potential table.

Figures are PNG images inline (``data:`` URIs), drawn by
:mod:`ephys_correct.plot` from at most ``max_points`` points per trace
(min/max per bin).  The page needs no network: no external script, style
sheet, font or image.  Every string taken from a file (names, channels,
recipes, warnings) is HTML-escaped.

The raw traces are not stored in the output folder: they are recomputed from
the corrected traces and the per-signal correction recorded in the ``.npz``
(offset and sign), which is exact when the bath reference did not change
during the recording; with a bath change only the corrected traces are drawn.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
import os
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ephys_correct._validate import check_integer
from ephys_correct._version import __version__
from ephys_correct.report._html_assets import _CSS, _JS
from ephys_correct.errors import EphysCorrectError, MissingDependencyError, OutputExistsError, ParameterError

__all__ = ["REPORT_NAME", "build_report", "write_report", "is_own_report", "find_summary"]

#: default file name of the report in an output folder
REPORT_NAME = "report.html"
#: marks a report written by this module (``is_own_report``)
GENERATOR = "ephys_correct html_report"
_SUMMARY_FORMATS = ("csv", "parquet", "xlsx")
_TRACE_DPI = 90


def _e(value: Any) -> str:
    """HTML-escape anything (quotes too: safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def _href(target: Path, base: Path) -> str:
    """A relative, percent-encoded link from the folder *base* to *target*."""
    try:
        rel = os.path.relpath(target, base)
    except ValueError:  # another drive (Windows)
        rel = str(target)
    return _e(quote(Path(rel).as_posix()))


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _fmt(value: Any, digits: int = 2, signed: bool = False) -> str:
    v = _num(value)
    if v is None:
        return ""
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


# =========================================================================== the folder
def find_summary(out_dir: str | os.PathLike) -> Path:
    """The run summary of an output folder (``summary.csv``, ``.parquet`` or ``.xlsx``).

    When several exist, the most recently written one (the last run).

    Parameters
    ----------
    out_dir : path

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        No summary: not an ``ephys-correct correct`` output folder.
    ParameterError
        Only a Markdown summary (``--format md``), which cannot be read back.
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise FileNotFoundError(f"{out}: no such output folder")
    found = [out / f"summary.{f}" for f in _SUMMARY_FORMATS if (out / f"summary.{f}").is_file()]
    if not found:
        if (out / "summary.md").is_file():
            raise ParameterError(f"{out / 'summary.md'}: a Markdown summary is not machine-readable, so no "
                                 "report can be built from it; rerun 'ephys-correct correct' with --format csv "
                                 "(or parquet, xlsx)")
        raise FileNotFoundError(f"{out}: no summary.csv, summary.parquet or summary.xlsx; is it the --out "
                                "folder of an 'ephys-correct correct' run?")
    return max(found, key=lambda p: p.stat().st_mtime_ns)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ParameterError(f"{path}: not valid JSON ({exc})") from None
    return data if isinstance(data, dict) else None


def _load_npz(path: Path) -> tuple[Any, dict, dict]:
    """(data, metadata, commands) of a ``<stem>.corrected.npz``; commands: dac -> per-sweep arrays.

    The traces are mapped from the file, not read (a report over a large recording stays
    within memory; only the samples drawn are touched).
    """
    from ephys_correct.report.traces import corrected_from_arrays, npz_arrays

    z = npz_arrays(path, mmap=True)
    data, meta = corrected_from_arrays(z)
    commands: dict[int, Any] = {}
    for c in meta.get("commands") or []:
        d = int(c["dac"])
        key = f"command_dac{d}"
        if key in z:
            commands[d] = z[key]
        else:
            per = {int(k.split("_")[1]): z[k] for k in z
                   if k.startswith("command_") and k.endswith(f"_dac{d}") and k != key}
            if per:
                commands[d] = [per[s] for s in sorted(per)]
    return data, meta, commands


def _sweep_of(data: Any, sweep: int, channel: int):
    return data[(sweep, channel)] if isinstance(data, dict) else data[sweep, channel]


def _raw_from_corrected(y, correction: Mapping[str, Any] | None):
    """Undo a recorded correction: (raw values or None, why not).

    Potentials: ``V_m = s_V (V_p - offset) (+ V_rest)``; currents
    ``I_m = s I_rec``.  Not invertible from the ``.npz`` alone when the bath
    reference changed during the recording (``delta_ref`` varies).
    """
    import numpy as np

    if not correction:
        return None, "the correction of this signal is not recorded"
    q = correction.get("quantity")
    inverted = bool(correction.get("polarity_inverted_at_acquisition"))
    y = np.asarray(y, dtype=np.float64)
    if q == "potential":
        if correction.get("bath_change", "none") != "none":
            return None, "as recorded not shown: the bath reference changes during the recording"
        sv = correction.get("voltage_sign") or 1
        rest = correction.get("resting_potential_mv") or 0.0
        vp = (y - rest) / sv + float(correction.get("offset_mv") or 0.0)
        return (-vp if inverted else vp), ""
    if q == "current":
        sign = (correction.get("current_sign") or 1) * (-1 if inverted else 1)
        return y * sign, ""
    return y, ""


def _own_marker(out: Path, stem: str) -> dict | None:
    base = out / stem
    return _read_json(base.with_name(base.name + ".done.json"))


# =========================================================================== one recording
def _section(index: int, row: Mapping[str, Any], out_dir: str, report_dir: str, options: Mapping[str, Any]
             ) -> dict[str, Any]:
    """The HTML section of one recording and facts for the index (runs in a worker process)."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    rdir = Path(report_dir)
    stem = str(row.get("output") or "")
    name = Path(str(row.get("file") or stem)).name
    status = str(row.get("status") or "")
    sid = f"f{index:05d}"
    facts: dict[str, Any] = {"ljp_method": "", "suspect": "", "problem": "", "ljp_by_headstage": {}}
    parts: list[str] = []
    marker = None
    try:
        marker = _own_marker(out, stem) if stem else None
    except ParameterError as exc:
        facts["problem"] = str(exc)
    parts.append(f'<p class="path">input: <code>{_e(row.get("file"))}</code>'
                 + (f'<br>output: <code>{_e(stem)}.*</code>' if stem else "") + "</p>")
    reason = _with_warnings(row)
    if reason:
        cls = "reason failed" if status == "failed" else "reason"
        label = "why it failed" if status == "failed" else ("note" if status == "skipped" else "warnings")
        parts.append(f'<div class="{cls}"><b>{label}:</b> {_e(reason)}</div>')
    if status == "failed":
        facts["seconds"] = time.perf_counter() - t0
        return {"html": _wrap_section(sid, name, status, "".join(parts), facts), **facts}
    if marker is None:
        facts["problem"] = facts["problem"] or f"{stem}.done.json is missing: this file's outputs are incomplete"
        parts.append(f'<div class="problem">{_e(facts["problem"])}</div>')
        facts["seconds"] = time.perf_counter() - t0
        return {"html": _wrap_section(sid, name, status, "".join(parts), facts), **facts}
    outputs = {k: out / v for k, v in (marker.get("outputs") or {}).items()}
    table = meta = data = None
    commands: dict = {}
    problems = []
    try:
        from ephys_correct.report.tables import read_table

        if "table" in outputs:
            table = read_table(outputs["table"])
    except (EphysCorrectError, OSError, ValueError, KeyError) as exc:
        problems.append(f"driving-force table: {exc}")
    try:
        if "traces" in outputs:
            data, meta, commands = _load_npz(outputs["traces"])
    except (EphysCorrectError, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        problems.append(f"corrected traces: {exc}")
    if problems:
        facts["problem"] = "; ".join(problems)
        parts.append("".join(f'<div class="problem">{_e(p)}</div>' for p in problems))
    attrs = dict(table.attrs) if table is not None else {}
    if table is not None:  # pandas deep-copies attrs into every derived frame: keep only what plots need
        table.attrs = {"statistic": attrs.get("statistic")} if attrs.get("statistic") else {}
    suspect = _suspect(meta)
    facts["suspect"] = "; ".join(suspect.values())
    if facts["suspect"]:
        parts.append(f'<div class="suspect">UNITS SUSPECT: {_e(facts["suspect"])}, which contradicts the clamp '
                     "mode of its headstage: the values (and anything computed from them) may be wrong; see the "
                     "warning above.</div>")
    if table is not None and "clamp_mode" in table.columns:
        facts["clamp_modes"] = sorted(set(table["clamp_mode"].astype(str)))
    parts.append(_provenance_block(row, marker, attrs, meta, facts))
    # ----------------------------------------------------------------- figures per headstage
    heads = _headstages(meta, table)
    modes = {}
    if table is not None and len(table) and {"headstage", "clamp_mode"} <= set(table.columns):
        modes = {int(h): str(g["clamp_mode"].iloc[0]) for h, g in table.groupby("headstage")}
    figures_ok = options.get("figures", True)
    for h in heads:
        mode = modes.get(h)
        ljp = facts["ljp_by_headstage"].get(str(h))
        head = f"headstage {h}" + (f" ({_e(mode)})" if mode else "")
        parts.append(f'<h4>{_e(name)}: {head}</h4><div class="figs">')
        if data is not None and figures_ok:
            try:
                parts.append(_trace_figure(name, h, mode, data, meta, commands, ljp, attrs, outputs, rdir, options))
            except (EphysCorrectError, ValueError, KeyError, IndexError) as exc:
                parts.append(f'<div class="problem">traces of headstage {h} not drawn: {_e(exc)}</div>')
        if table is not None and figures_ok and "headstage" in table.columns:
            sub = table[table["headstage"] == h]
            finite = sub["driving_force_mV"].notna().any() if "driving_force_mV" in sub.columns else False
            if finite:
                parts.append(_driving_force_figure(name, h, sub, table.attrs, suspect.get(h, ""), outputs, rdir,
                                                   options))
            elif len(sub):
                note = next((str(n) for n in sub.get("note", []) if str(n)), "")
                parts.append(f'<p class="problem">{_e(name)}, headstage {h}: no driving force'
                             + (f": {_e(note)}" if note else "") + "</p>")
        parts.append("</div>")
        if table is not None and "headstage" in table.columns:
            parts.append(_erev_table(name, h, table[table["headstage"] == h], attrs))
    if not figures_ok:
        parts.append(f'<p class="note">{_e(options.get("figures_note", "figures not drawn"))}</p>')
    links = " ".join(f'<a href="{_href(p, rdir)}">{_e(p.name)}</a>' for k, p in sorted(outputs.items()))
    if links:
        parts.append(f'<p class="outputs">files: {links}</p>')
    facts["seconds"] = time.perf_counter() - t0
    return {"html": _wrap_section(sid, name, status, "".join(parts), facts), **facts}


def _wrap_section(sid: str, name: str, status: str, body: str, facts: Mapping[str, Any]) -> str:
    badges = f'<span class="st {_e(status)}">{_e(status)}</span>'
    if facts.get("suspect"):
        badges += ' <span class="st suspect">units suspect</span>'
    if facts.get("problem"):
        badges += ' <span class="st failed">incomplete</span>'
    return (f'<details class="rec" id="{sid}" data-status="{_e(status)}"><summary>{badges} '
            f'<b>{_e(name)}</b></summary><div class="body">{body}'
            f'<p class="top"><a href="#index">back to the index</a></p></div></details>\n')


def _suspect(meta: Mapping[str, Any] | None) -> dict[int | None, str]:
    """headstage -> why its units are doubtful (from the channels' ``units_suspect`` in the npz)."""
    out: dict[int | None, list[str]] = {}
    for c in (meta or {}).get("channels") or []:
        if c.get("units_suspect"):
            out.setdefault(c.get("headstage"), []).append(f"{c.get('name')} is labelled {c.get('units')} in this file")
    return {k: "; ".join(v) for k, v in out.items()}


def _headstages(meta, table) -> list[int]:
    heads: set[int] = set()
    for c in (meta or {}).get("channels") or []:
        if c.get("headstage") is not None:
            heads.add(int(c["headstage"]))
    if table is not None and "headstage" in table.columns:
        heads.update(int(h) for h in table["headstage"].dropna().unique())
    return sorted(heads)


def _ljp_facts(attrs: Mapping[str, Any]) -> tuple[dict[str, float], str]:
    ljp = attrs.get("ljp") or {}
    by = {str(k): v.get("ljp_mv") for k, v in (ljp.get("by_headstage") or {}).items() if isinstance(v, Mapping)}
    if ljp.get("source") == "user":
        how = "given by the user"
    elif ljp.get("source") == "computed":
        how = str(ljp.get("method") or "method not recorded")
        if ljp.get("activity_model"):
            how += f", activities {ljp['activity_model']}"
    else:
        how = "not recorded"
    return by, how


def _provenance_block(row, marker, attrs, meta, facts) -> str:
    by, how = _ljp_facts(attrs)
    facts["ljp_by_headstage"] = by
    facts["ljp_method"] = how if attrs else ""
    items: list[tuple[str, str]] = []

    def add(label, value):
        if value is not None and value != "" and value != {} and value != []:
            items.append((label, str(value)))

    add("input SHA-256", attrs.get("input_sha256") or marker.get("input_sha256"))
    add("corrected", marker.get("finished"))
    add("configuration", attrs.get("configuration") or row.get("configuration"))
    if by:
        online = attrs.get("ljp_applied_online_mv") or {}
        vals = "; ".join(f"headstage {k}: {_fmt(v, 2, True)} mV"
                         + (f" ({_fmt(online.get(k), 2, True)} mV of it applied online)"
                            if _num(online.get(k)) else "")
                         for k, v in by.items())
        add("LJP V_L (bath relative to pipette)", f"{vals} ({how})")
    add("temperature, degC", _fmt(attrs.get("temperature_c"), 1))
    zt = attrs.get("zeroing_temperature_c")
    if zt is not None and zt != attrs.get("temperature_c"):
        add("zeroing temperature (LJP), degC", _fmt(zt, 1))
    add("activity model (E_rev)", attrs.get("activity_model"))
    add("E_rev basis", attrs.get("E_rev_basis"))
    add("V_m statistic", attrs.get("statistic"))
    if attrs.get("epochs"):
        add("epochs", ", ".join(f"{e[0]} {e[1]:g}-{e[2]:g} s" for e in attrs["epochs"]))
    sols = attrs.get("solutions") or {}
    bath = sols.get("bath") or {}
    if bath:
        add("bath (zeroing)", f"{bath.get('name')} (sha256 {str(bath.get('sha256'))[:12]}...)")
    for k, p in (sols.get("pipette") or {}).items():
        add(f"pipette, headstage {k}", f"{p.get('name')} (sha256 {str(p.get('sha256'))[:12]}...)")
    add("recipes given as", ", ".join(f"{k} {marker.get('options', {}).get(k)}" for k in ("pipette", "bath")
                                     if marker.get("options", {}).get(k)))
    if row.get("sheet_line") is not None and str(row.get("sheet_line")) not in ("", "<NA>", "nan"):
        add("experiment sheet line", row.get("sheet_line"))
    bc = attrs.get("bath_change")
    if bc:
        add("bath change", bc.get("kind"))
    pa = attrs.get("perforating_agent")
    if pa:
        add("perforating agent", pa.get("name"))
    prov = (meta or {}).get("provenance") or attrs.get("correction") or {}
    add("read with", " ".join(str(x) for x in (prov.get("reader"), prov.get("input_format")) if x))
    add("software", f"ephys_correct {attrs.get('software_version') or prov.get('package_version') or '?'}")
    vc = "voltage_clamp" in set(facts.get("clamp_modes") or ())
    for c in attrs.get("caveats") or []:
        if str(c).startswith("voltage clamp:") and not vc:
            continue  # the table's generic voltage-clamp caveat, irrelevant without a voltage-clamp headstage
        items.append(("caveat", str(c)))
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
    return f'<dl class="prov">{body}</dl>'


def _fig_uri(fig, dpi: int) -> str:
    """The figure as a PNG ``data:`` URI, reduced to a 64-colour palette (about 4 times smaller)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    img = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    img.convert("RGB").quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _title_of(fig) -> str:
    for ax in fig.axes:
        t = ax.get_title()
        if t:
            return " ".join(t.split())
    return ""


def _figure_html(fig, caption: str, dpi: int) -> str:
    title = _title_of(fig)
    uri = _fig_uri(fig, dpi)
    return (f'<figure><img loading="lazy" src="{uri}" alt="{_e(title)}" title="{_e(title)}">'
            f'<figcaption><span class="figtitle">{_e(title)}</span><br>{caption}</figcaption></figure>')


def _trace_figure(name, h, mode, data, meta, commands, ljp, attrs, outputs, rdir, options) -> str:
    import numpy as np

    from ephys_correct.report import plot

    n_sweeps = len(meta.get("sweep_lengths") or [])
    if n_sweeps == 0:
        raise ParameterError("the .npz holds no sweep")
    sweeps = plot._pick_sweeps(n_sweeps, int(options.get("max_sweeps", 3)))
    rate = float(meta["sample_rate_hz"])
    t0 = float(meta.get("t_start_s") or 0.0)
    times = [t0 + np.arange(int(meta["sweep_lengths"][s])) / rate for s in sweeps]
    chans = [c for c in meta.get("channels") or [] if c.get("headstage") == h]
    cmds = [c for c in meta.get("commands") or [] if c.get("headstage") == h and int(c["dac"]) in commands]
    order = plot.panel_order(mode, [{**c, "units": c.get("units")} for c in chans], cmds)
    panels = []
    notes = []
    for kind, item in order:
        corr = item.get("correction") or {}
        if kind == "dac":
            arr = commands[int(item["dac"])]
            cor = [np.asarray(arr[s], dtype=np.float64) for s in sweeps]
            label = f"command {item.get('name')}"
            suspect = ""
        else:
            cor = [np.asarray(_sweep_of(data, s, int(item["index"])), dtype=np.float64) for s in sweeps]
            label = str(item.get("name"))
            suspect = (f"{item.get('name')} is labelled {item.get('units')} in this file"
                       if item.get("units_suspect") else "")
        changed = plot.correction_changes(corr)
        raw = None
        note = "" if changed else "unchanged by the LJP"
        if changed:
            raws = [_raw_from_corrected(y, corr) for y in cor]
            if raws and raws[0][0] is not None:
                raw = [r for r, _ in raws]
            else:
                note = raws[0][1] if raws else ""
                notes.append(note)
        panels.append(plot.TracePanel(label, str(item.get("units") or ""), cor, raw, note=note,
                                      units_suspect=suspect))
    if not panels:
        raise ParameterError("no signal of this headstage in the .npz")
    _, how = _ljp_facts(attrs)
    ljp_text = (f"V_L = {_fmt(ljp, 2, True)} mV ({how}; {attrs.get('configuration', '')}"
                + (f"; {mode}" if mode else "") + ")") if ljp is not None else ""
    fig = plot.plot_traces(times, panels, file=name, headstage=h, sweeps=sweeps, n_sweeps=n_sweeps,
                           ljp_text=ljp_text, max_points=int(options.get("max_points", 2000)),
                           figsize=(7.0, 1.5 + 1.3 * len(panels)))
    max_points = int(options.get("max_points", 2000))
    n = max(len(t) for t in times)
    per_bin = -(-n // (max_points // 2)) if n > max_points else 1  # as plot.downsample_minmax
    npz = f"<code>{_e(outputs['traces'].name)}</code>" if outputs.get("traces") else "the .npz"
    if any(p.raw is not None for p in panels):
        caption = (f"Grey dashed: as recorded (the corrected values of {npz} with the recorded offset and sign "
                   "undone); colour: LJP-corrected. ")
    else:
        caption = f"Colour: the values of {npz} (the LJP changes none of the signals drawn). "
    caption += (f"Each trace is drawn from at most {max_points} points (min and max of each bin of {per_bin} "
                "samples); " if per_bin > 1 else "Every sample is drawn; ")
    caption += f"{len(sweeps)} of {n_sweeps} sweeps shown." if n_sweeps > 1 else "a single sweep, against time."
    caption += "".join(f" {_e(x)}." for x in notes)
    return _figure_html(fig, caption, int(options.get("dpi", _TRACE_DPI)))


def _driving_force_figure(name, h, sub, attrs, suspect, outputs, rdir, options) -> str:
    from ephys_correct.report import plot

    fig = plot.plot_driving_force(sub, units_suspect=suspect)
    table = outputs.get("table")
    stat = attrs.get("statistic")
    caption = (f"V_m - E_rev per ion ({_e(stat)} of the corrected V_m over each "
               f"{'epoch' if attrs.get('epochs') else 'sweep'}; positive: outward current). "
               + (f"Data: <code>{_e(table.name)}</code>." if table else ""))
    return _figure_html(fig, caption, int(options.get("dpi", _TRACE_DPI)))


def _erev_table(name: str, h: int, sub, attrs) -> str:
    """Reversal potentials of one headstage: one row per ion (per distinct value when the bath changes)."""
    if not len(sub):
        return f'<p class="note">{_e(name)}, headstage {h}: no ion in the driving-force table.</p>'
    cols = ["ion", "charge", "c_in_mM", "c_out_mM", "E_rev_mV", "E_rev_ideal_mV"]
    have = [c for c in cols if c in sub.columns]
    rows = []
    for key, g in sub.groupby(have, sort=False, dropna=False):
        key = dict(zip(have, key if isinstance(key, tuple) else (key,)))
        sw = sorted(int(s) for s in g["sweep"].unique()) if "sweep" in g else []
        df = g["driving_force_mV"] if "driving_force_mV" in g else None
        lo = _num(df.min()) if df is not None else None
        hi = _num(df.max()) if df is not None else None
        note = next((str(n) for n in g.get("note", []) if str(n)), "")
        rows.append((key, sw, lo, hi, note))
    multi = len({tuple(r[1]) for r in rows}) > 1
    stat = attrs.get("statistic") or "statistic not recorded"
    head = ("<tr><th>ion</th><th>z</th><th>c<sub>in</sub> (mM)</th><th>c<sub>out</sub> (mM)</th>"
            "<th>E<sub>rev</sub> (mV)</th><th>E<sub>rev</sub>, ideal (mV)</th>"
            + ("<th>sweeps</th>" if multi else "")
            + f"<th>V<sub>m</sub> - E<sub>rev</sub> (mV), min to max over sweeps/epochs</th><th>note</th></tr>")
    body = []
    for key, sw, lo, hi, note in rows:
        rng = "" if lo is None else (_fmt(lo, 1, True) if lo == hi else f"{_fmt(lo, 1, True)} to {_fmt(hi, 1, True)}")
        body.append(
            f"<tr><td>{_e(key.get('ion'))}</td><td>{_e(key.get('charge'))}</td>"
            f"<td>{_fmt(key.get('c_in_mM'), 3)}</td><td>{_fmt(key.get('c_out_mM'), 3)}</td>"
            f"<td>{_fmt(key.get('E_rev_mV'), 2, True)}</td><td>{_fmt(key.get('E_rev_ideal_mV'), 2, True)}</td>"
            + (f"<td>{_e(_ranges(sw))}</td>" if multi else "")
            + f"<td>{rng}</td><td class=\"note\">{_e(note)}</td></tr>")
    basis = attrs.get("E_rev_basis") or ""
    cap = (f"{_e(name)}, headstage {h}: reversal potentials ({_e(attrs.get('activity_model') or '')} activities, "
           f"{_e(basis)} concentrations, {_fmt(attrs.get('temperature_c'), 1)} degC) and the driving force "
           f"({_e(stat)} of V_m)")
    return (f'<table class="erev"><caption>{cap}</caption><thead>{head}</thead><tbody>{"".join(body)}'
            "</tbody></table>")


def _ranges(values: Sequence[int]) -> str:
    out, start, prev = [], None, None
    for v in values:
        if start is None:
            start = prev = v
        elif v == prev + 1:
            prev = v
        else:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = v
    if start is not None:
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(out)


# =========================================================================== the page

def _settings_block(summary, summary_path: Path, out: Path, t_built: str) -> str:
    a = dict(summary.attrs)
    opts = a.get("options") or {}
    counts = a.get("counts") or {}
    items = [
        ("output folder", str(out.resolve())),
        ("summary", f"{summary_path.name} ({len(summary)} recordings)"),
        ("counts", ", ".join(f"{k} {v}" for k, v in counts.items()) if counts else ""),
        ("inputs", ", ".join(str(i) for i in a.get("inputs") or [])),
        ("experiment sheet", a.get("sheet") or "none (the options below for every file)"),
        ("run by", f"ephys_correct {a.get('software_version', '?')}"),
        ("table format", a.get("format")),
        ("NWB / PNG files", f"{'yes' if a.get('nwb') else 'no'} / {'yes' if a.get('plots') else 'no'}"),
        ("report built", f"{t_built} by ephys_correct {__version__}"),
    ]
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items if v not in (None, ""))
    orow = "".join(f"<tr><td>{_e(k)}</td><td>{_e('not given' if v is None else v)}</td></tr>"
                   for k, v in opts.items())
    conv = ("Sign conventions: V<sub>L</sub> is the bath relative to the pipette; whole-cell "
            "V<sub>m</sub> = V<sub>p</sub> - V<sub>L</sub>; driving force = V<sub>m</sub> - E<sub>rev</sub>, "
            "positive = outward membrane current (docs/conventions.md).")
    return (f'<h2>Run settings and provenance</h2><dl class="prov">{body}</dl>'
            f'<table><thead><tr><th>option</th><th>value</th></tr></thead><tbody>{orow}</tbody></table>'
            f'<p class="note">{conv}</p>')


def _with_warnings(row: Mapping[str, Any]) -> str:
    """The row's reason and its warnings (a list in a run's rows, " | "-joined text in a summary file)."""
    w = row.get("warnings")
    if isinstance(w, (list, tuple)):
        w = " | ".join(map(str, w))
    w = "" if w is None or str(w) in ("nan", "<NA>") else str(w)
    reason = str(row.get("reason") or "")
    reason = "" if reason in ("nan", "<NA>") else reason
    return "; ".join(p for p in (reason, w) if p)


def _index(summary, results: Sequence[Mapping[str, Any]]) -> str:
    heads = [c for c in summary.columns if str(c).startswith("mean_Vm_mV_hs")]
    th = ["#", "file", "status", "warnings / reason", "LJP V<sub>L</sub> (mV)", "LJP method", "configuration",
          *(f"mean V<sub>m</sub> hs{_e(c[len('mean_Vm_mV_hs'):])} (mV)" for c in heads), "sweeps", "pipette",
          "bath", "T (degC)"]
    rows = []
    for i, (rec, res) in enumerate(zip(summary.to_dict("records"), results)):
        name = Path(str(rec.get("file") or rec.get("output") or "")).name
        status = str(rec.get("status") or "")
        reason = _with_warnings(rec)
        short = reason if len(reason) <= 160 else reason[:157] + "..."
        suspect = res.get("suspect") or ""
        ljp = _num(rec.get("ljp_mv"))
        by = res.get("ljp_by_headstage") or {}
        ljp_cell = _fmt(ljp, 2, True) if ljp is not None else (
            "; ".join(f"hs{k}: {_fmt(v, 2, True)}" for k, v in by.items()) if by else "")
        cells = [
            (str(i + 1), f'{i + 1}', "num"),
            (name, f'<a href="#f{i:05d}">{_e(name)}</a>', ""),
            (status, f'<span class="st {_e(status)}">{_e(status)}</span>'
             + (' <span class="st suspect">units suspect</span>' if suspect else ""), ""),
            (reason, f'<span title="{_e(reason)}">{_e(short)}</span>', "warn"),
            ("" if ljp is None else repr(ljp), ljp_cell, "num"),
            (res.get("ljp_method") or "", _e(res.get("ljp_method") or ""), ""),
            (rec.get("configuration") or "", _e(rec.get("configuration") or ""), ""),
        ]
        for c in heads:
            v = _num(rec.get(c))
            cells.append(("" if v is None else repr(v), _fmt(v, 2), "num"))
        ns = rec.get("n_sweeps")
        ns = None if ns is None or str(ns) in ("<NA>", "nan") else int(ns)
        cells += [("" if ns is None else str(ns), "" if ns is None else str(ns), "num"),
                  (rec.get("pipette") or "", _e(rec.get("pipette") or ""), ""),
                  (rec.get("bath") or "", _e(rec.get("bath") or ""), ""),
                  ("" if _num(rec.get("temperature_c")) is None else repr(_num(rec.get("temperature_c"))),
                   _fmt(rec.get("temperature_c"), 1), "num")]
        tds = "".join(f'<td data-v="{_e(v)}"' + (f' class="{c}"' if c else "") + f">{h}</td>" for v, h, c in cells)
        rows.append(f'<tr data-status="{_e(status)}" data-warn="{1 if reason and status in ("ok", "warn") else 0}" '
                    f'data-suspect="{1 if suspect else 0}" data-target="f{i:05d}">{tds}</tr>')
    total = len(rows)
    controls = (
        '<div class="controls"><label>filter <input type="search" id="q" placeholder="file name, warning, '
        'recipe..."></label><label>show <select id="status"><option value="all">all</option>'
        '<option value="ok">ok</option><option value="warn">warn</option><option value="skipped">skipped</option>'
        '<option value="failed">failed</option><option value="warnings">with warnings</option>'
        f'<option value="suspect">units suspect</option></select></label><span><span id="shown">{total}'
        f'</span> of {total} recordings shown; click a column title to sort</span></div>')
    return (f'<h2 id="index">Recordings</h2>{controls}<div class="scroll"><table id="summary"><thead><tr>'
            + "".join(f"<th>{h}</th>" for h in th) + f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def build_report(out_dir: str | os.PathLike, *, summary: str | os.PathLike | None = None,
                 report_dir: str | os.PathLike | None = None, max_points: int = 2000, max_sweeps: int = 3,
                 jobs: int | None = 1, figures: bool = True) -> str:
    """The HTML text of the report of an output folder (see the module docstring).

    Parameters
    ----------
    out_dir : path
        The ``--out`` folder of an ``ephys-correct correct`` run.
    summary : path, optional
        The summary table to use; default :func:`find_summary`.
    report_dir : path, optional
        Folder the report will be written to (for the relative links to the
        output files); default *out_dir*.
    max_points : int
        Points drawn per trace (min/max per bin); at least 100.
    max_sweeps : int
        Sweeps drawn per headstage (first, last, evenly spaced between).
    jobs : int, optional
        Worker processes for the per-recording sections (None: all cores).
    figures : bool
        Draw the figures (needs matplotlib, the ``plot`` extra).

    Returns
    -------
    str

    Raises
    ------
    FileNotFoundError
        No such folder, or no summary in it.
    ParameterError
        Only a Markdown summary; invalid *max_points*, *max_sweeps* or *jobs*.
    MissingDependencyError
        *figures* without matplotlib.
    """
    from ephys_correct.report.tables import read_table

    max_points = check_integer(max_points, what="max_points", where="build_report", minimum=100)
    max_sweeps = check_integer(max_sweeps, what="max_sweeps", where="build_report", minimum=1)
    jobs = None if jobs is None else check_integer(jobs, what="jobs", where="build_report", minimum=1)
    out = Path(out_dir)
    spath = Path(summary) if summary is not None else find_summary(out)
    table = read_table(spath)
    missing = [c for c in ("file", "status", "output") if c not in table.columns]
    if missing:
        raise ParameterError(f"{spath}: not an 'ephys-correct correct' summary (no column {missing[0]!r})")
    if figures:
        try:
            import matplotlib  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError("the report's figures need matplotlib: pip install 'ephys_correct[plot]' "
                                         f"(or build the report without figures) ({exc})") from exc
    options = {"max_points": max_points, "max_sweeps": max_sweeps, "figures": figures,
               "figures_note": "figures not drawn: they need matplotlib (pip install 'ephys_correct[plot]')"}
    rdir = str(Path(report_dir) if report_dir is not None else out)
    records = table.to_dict("records")
    tasks = [(i, rec, str(out), rdir, options) for i, rec in enumerate(records)]
    n_jobs = (os.cpu_count() or 1) if jobs is None else jobs
    n_jobs = max(1, min(n_jobs, len(tasks)))
    if n_jobs == 1:
        results = [_section(*t) for t in tasks]
    else:
        from concurrent.futures import ProcessPoolExecutor

        import multiprocessing

        import sys
        import threading

        methods = multiprocessing.get_all_start_methods()
        # fork is fastest; it is unsafe once threads run (as in batch runs)
        if "fork" in methods and threading.active_count() == 1 and sys.platform != "darwin":
            ctx = multiprocessing.get_context("fork")
        else:
            ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
            results = list(pool.map(_section, *zip(*tasks), chunksize=max(1, len(tasks) // (4 * n_jobs))))
    t_built = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    counts = {}
    for r in records:
        counts[str(r.get("status"))] = counts.get(str(r.get("status")), 0) + 1
    n_susp = sum(1 for r in results if r.get("suspect"))
    n_prob = sum(1 for r in results if r.get("problem"))
    headline = ", ".join(f"{v} {k}" for k, v in counts.items())
    if n_susp:
        headline += f"; {n_susp} with suspect units"
    if n_prob:
        headline += f"; {n_prob} with incomplete outputs"
    title = f"ephys-correct report: {out.resolve().name} ({len(records)} recordings)"
    page = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta name="generator" content="{GENERATOR} {_e(__version__)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1><p>{_e(headline)}. Each recording's details open from the index "
        "(they are collapsed to keep the page light).</p>",
        _settings_block(table, spath, out, t_built),
        _index(table, results),
        '<h2>Recordings in detail</h2>',
        "".join(r["html"] for r in results),
        f"<script>{_JS}</script></body></html>\n",
    ]
    return "".join(page)


def is_own_report(path: str | os.PathLike) -> bool:
    """Whether *path* is a report written by this module (its generator tag in the first 2 KiB).

    Parameters
    ----------
    path : path

    Returns
    -------
    bool
        False also when the file does not exist or cannot be read.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(2048)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}'.encode() in head


def write_report(out_dir: str | os.PathLike, path: str | os.PathLike | None = None, *, overwrite: bool = False,
                 summary: str | os.PathLike | None = None, max_points: int = 2000, max_sweeps: int = 3,
                 jobs: int | None = 1, figures: bool = True) -> Path:
    """Build the report of an output folder and write it atomically.

    Parameters
    ----------
    out_dir : path
        The ``--out`` folder of an ``ephys-correct correct`` run (only read).
    path : path, optional
        The HTML file; default ``<out_dir>/report.html``.
    overwrite : bool
        Replace an existing file; otherwise :class:`OutputExistsError`.
    summary, max_points, max_sweeps, jobs, figures
        See :func:`build_report`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputExistsError
        *path* exists and *overwrite* is False.
    FileNotFoundError, ParameterError, MissingDependencyError
        See :func:`build_report`.
    """
    from ephys_correct._fileio import atomic_write

    dest = Path(path) if path is not None else Path(out_dir) / REPORT_NAME
    if dest.exists() and not overwrite:
        raise OutputExistsError(f"{dest}: exists; pass --force (overwrite=True) to replace it")
    text = build_report(out_dir, summary=summary, report_dir=dest.parent, max_points=max_points,
                        max_sweeps=max_sweeps, jobs=jobs, figures=figures)

    def w(t: Path) -> None:
        t.write_text(text, encoding="utf-8")

    atomic_write([dest], [w], overwrite=overwrite)
    return dest
