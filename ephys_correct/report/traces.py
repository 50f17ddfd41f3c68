"""Corrected traces on disk: ``<stem>.corrected.npz`` (written by batch runs, read by the HTML report)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

from ephys_correct._fileio import atomic_write_bytes

def write_corrected_npz(path: Path, corrected, *, durable: bool = True) -> None:
    """Corrected traces -> ``.npz`` (atomic; durable unless ``durable=False``).

    A batch passes ``durable=False`` and flushes all of a file's outputs together
    before its done-marker (docs/performance.md, durability).

    Parameters
    ----------
    path : Path
        Destination ``<stem>.corrected.npz``.
    corrected : CorrectedRecording
        The corrected recording.
    durable : bool
        fsync the file and its folder after the rename.
    """
    import numpy as np

    rec = corrected.recording
    channels = list(rec.channels)
    n_sweeps = int(rec.n_sweeps)
    lengths = [int(n) for n in rec.sweep_lengths]
    arrays: dict[str, Any] = {}
    equal = len(set(lengths)) == 1
    if equal:
        data = np.empty((n_sweeps, len(channels), lengths[0]), dtype=np.float32)
        for s in range(n_sweeps):
            for c in range(len(channels)):
                data[s, c] = corrected.sweep_data(s, c)
        arrays["data"] = data
    else:
        for s in range(n_sweeps):
            for c in range(len(channels)):
                arrays[f"sweep_{s:05d}_ch{c:02d}"] = corrected.sweep_data(s, c).astype(np.float32)
    corrections = [sc.as_dict() for sc in getattr(corrected, "channel_corrections", ())]
    # corrected command waveforms of the DACs that command a headstage (the HTML report shows them)
    commands = [sc for sc in getattr(corrected, "command_corrections", ())
                if sc.headstage is not None and rec.has_command(sc.index)]
    for sc in commands:
        cmd = [corrected.command(s, sc.index).astype(np.float32) for s in range(n_sweeps)]
        arrays.update({f"command_dac{sc.index}": np.stack(cmd)} if equal else
                      {f"command_{s:05d}_dac{sc.index}": c for s, c in enumerate(cmd)})
    meta = {
        "format": "ephys_correct corrected traces v1",
        "layout": "data[sweep, channel, sample]" if equal else "sweep_<s>_ch<c>",
        "dtype": "float32",
        "source": rec.path,
        "sample_rate_hz": float(rec.sample_rate_hz),
        "t_start_s": float(rec.t_start_s),
        "sweep_start_s": [float(x) for x in rec.sweep_start_s],
        "sweep_lengths": lengths,
        "channels": [{"index": ch.index, "name": ch.name, "units": ch.units, "kind": ch.kind,
                      "headstage": ch.headstage, "units_suspect": bool(ch.units_suspect),
                      "correction": corrections[ch.index] if ch.index < len(corrections) else None}
                     for ch in channels],
        "commands": [{"dac": sc.index, "name": sc.name, "units": sc.units, "headstage": sc.headstage,
                      "correction": sc.as_dict()} for sc in commands],
        "ljp_mv_by_headstage": {str(k): v for k, v in corrected.ljp_mv_by_headstage.items()},
        "provenance": corrected.provenance,
    }
    arrays["metadata_json"] = np.array(json.dumps(meta, default=str))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue(), overwrite=True, durable=durable, make_parents=True)

def load_corrected_npz(path: str | os.PathLike) -> tuple[Any, dict]:
    """Read a ``<stem>.corrected.npz`` written by :func:`run_batch`.

    Returns
    -------
    data : numpy.ndarray or dict
        ``(sweeps, channels, samples)`` float32 array in the channels' units
        (mV, pA), or, when sweeps differ in length, a dict
        ``(sweep, channel) -> 1-D array``.
    metadata : dict
        ``channels`` (index, name, units, kind, headstage, offset_applied),
        ``sample_rate_hz``, ``t_start_s``, ``sweep_start_s``, ``sweep_lengths``,
        ``ljp_mv``, ``provenance``, ``source``; ``commands`` (dac, name,
        units, headstage, correction) describes the corrected command
        waveforms stored beside the data as ``command_dac<d>`` (sweeps x
        samples), read by :mod:`ephys_correct.report.html`.
    """
    import numpy as np

    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["metadata_json"]))
        if "data" in z.files:
            return z["data"], meta
        out = {}
        for key in z.files:
            if key.startswith("sweep_"):
                s, c = key[len("sweep_"):].split("_ch")
                out[(int(s), int(c))] = z[key]
        return out, meta
