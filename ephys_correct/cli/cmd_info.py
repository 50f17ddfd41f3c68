"""``ephys-correct info RECORDING... [--json]``: what a recording file holds.

A thin layer over :func:`ephys_correct.io.read_recording` and
:meth:`Recording.describe`.  Each file is read on its own; a file that fails is
reported on stderr and the others are still shown (exit status 1 if any
failed).
"""

from __future__ import annotations

import os

from ephys_correct._validate import message
from ..errors import EphysCorrectError, ParameterError
from ._common import print_warning

_MODES = ("voltage_clamp", "current_clamp", "i_zero")


def register(sub) -> None:
    """Add the ``info`` sub-command to *sub* (an argparse sub-parsers object)."""
    p = sub.add_parser("info", help="summarise recordings (format, channels, clamp mode, sweeps, holding, tags)",
                       description="One-screen summary of each recording. Reads headers only "
                                   "(no sample data unless --sha256).")
    p.add_argument("recordings", metavar="RECORDING", nargs="+", help="ABF, WinWCP, AxoGraph, ... files")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list, one object per file, keyed like the Recording attributes")
    p.add_argument("--backend", choices=("auto", "pyabf", "neo"), default="auto",
                   help="reader (default auto: ABF via pyabf header + memmap, others via neo)")
    p.add_argument("--headstages", default=None, metavar="CH=HS,...",
                   help="channel -> headstage, e.g. '1=0' or 'IN 2=none' (overrides weak evidence)")
    p.add_argument("--unit-fix", dest="unit_fix", default=None, metavar="CH=UNITS*SCALE,...",
                   help="channels whose header units are wrong, e.g. '0=mV/20'")
    p.add_argument("--clamp-mode", metavar="MODE",
                   help="clamp mode when the file does not establish it: one of "
                        f"{', '.join(_MODES)} for every headstage, or per headstage "
                        "'0=voltage_clamp,1=current_clamp'")
    p.add_argument("--sha256", action="store_true", help="also hash each file (reads it whole)")
    p.set_defaults(func=run)


def parse_clamp_mode(text: str | None):
    """``"current_clamp"`` or ``"0=voltage_clamp,1=current_clamp"`` -> read_recording's clamp_mode."""
    if text is None:
        return None
    text = text.strip()
    if "=" not in text:
        return text
    out = {}
    for part in text.split(","):
        key, _, mode = part.partition("=")
        try:
            out[int(key.strip())] = mode.strip()
        except ValueError:
            raise ParameterError(message("--clamp-mode headstage", key.strip(), "not an integer",
                                         "give HEADSTAGE=MODE, e.g. 0=voltage_clamp", where="ephys-correct info")) from None
    return out


def run(args) -> int:
    """Print the summary of every file; 0 if all were read, 1 otherwise."""
    from ..io import read_recording
    from ._common import print_json

    clamp_mode = parse_clamp_mode(args.clamp_mode)
    from ephys_correct.batch.settings import parse_headstages, parse_unit_fix

    overrides = {}
    if args.headstages:
        overrides["headstages"] = parse_headstages(args.headstages)
    if args.unit_fix:
        overrides["unit_fix"] = parse_unit_fix(args.unit_fix)
    results = []
    failed = False
    for path in args.recordings:
        try:
            rec = read_recording(path, backend=args.backend, clamp_mode=clamp_mode, **overrides)
            d = rec.describe()
            if args.sha256:
                d["sha256"] = rec.sha256
        except (EphysCorrectError, OSError) as exc:
            failed = True
            print_warning("info", exc, keep_newlines=True, level="error")
            results.append({"path": str(path), "error": str(exc), "error_type": type(exc).__name__})
            continue
        results.append(d)
        name = os.path.basename(str(path))
        for w in dict.fromkeys([*rec.warnings, *rec.interpretation_warnings]):
            print_warning("info", w, file_name=name)
        if not args.json:
            print(format_summary(d))
            print()
    if args.json:
        print_json(results)
    return 1 if failed else 0


def _fmt_num(x) -> str:
    return "nan" if x is None else f"{x:g}"


def format_summary(d: dict) -> str:
    """Human-readable summary of a :meth:`Recording.describe` dict."""
    lines = []
    lines.append(f"{d['path']}")
    lines.append(f"  format:    {d['format']} {d['version']}   (read by {d['reader']})")
    lengths = d["sweep_lengths"]
    samples = f"{lengths[0]}" if len(lengths) == 1 else f"{min(lengths)}-{max(lengths)}"
    lines.append(f"  sweeps:    {d['n_sweeps']} x {samples} samples @ {d['sample_rate_hz']:g} Hz "
                 f"({d['acquisition_mode']}), duration {d['duration_s']:.3f} s")
    meta = []
    if d["start_time"]:
        meta.append(f"start {d['start_time']}")
    meta.append(f"protocol {d['protocol'] or '-'}")
    if d["creator"]:
        meta.append(f"creator {d['creator']}")
    lines.append("  " + "   ".join(meta))
    if d["comment"]:
        lines.append(f"  comment:   {d['comment']}")
    lines.append("  channels:")
    for c in d["channels"]:
        hs = "-" if c["headstage"] is None else str(c["headstage"])
        if c["headstage"] is None:
            mode = ""
        elif c["clamp_mode"] is None:
            mode = "clamp mode UNKNOWN (pass --clamp-mode)"
        else:
            mode = f"{c['clamp_mode']} ({c['clamp_mode_source']})"
        units = c["units"] or "-"
        if c["file_units"] and c["file_units"] != c["units"]:
            units += f" (file: {c['file_units']})"
        flag = "  UNITS SUSPECT" if c["units_suspect"] else ""
        lines.append(f"    {c['index']:>2} {c['name']:<12} {units:<14} {c['kind']:<18} hs {hs:<2} {mode}{flag}")
    commanded = [h for h in d["holding"] if h["headstage"] is not None]
    if commanded:
        txt = ", ".join(f"DAC {h['dac']} {h['name'] or ''} = {_fmt_num(h['value'])} {h['units'] or '(no unit)'}"
                        .replace("  ", " ") for h in commanded)
        lines.append(f"  holding:   {txt}")
    elif d["holding"]:
        lines.append("  holding:   (no DAC commands a headstage)")
    else:
        lines.append("  holding:   not recorded in this format")
    if d["access_resistance_mohm"] is not None:
        lines.append(f"  access resistance: {d['access_resistance_mohm']:g} MOhm")
    if d["tags"]:
        lines.append(f"  tags ({len(d['tags'])}):")
        for t in d["tags"]:
            lines.append(f"    {t['time_s']:10.3f} s  {t['comment']}")
    else:
        lines.append("  tags:      none")
    if "sha256" in d:
        lines.append(f"  sha256:    {d['sha256']}")
    for w in d["warnings"]:
        lines.append(f"  warning:   {w}")
    return "\n".join(lines)
