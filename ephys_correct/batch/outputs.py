"""What a batch run writes per file: corrected traces (.npz), markers, the mean V_m summary."""

from __future__ import annotations

import io
import json
import traceback
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from ephys_correct._fileio import atomic_write_bytes, atomic_write_json
from ephys_correct.errors import EphysCorrectError
from ephys_correct.batch.settings import _Task


# =========================================================================== writing helpers
def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Batch outputs: atomic, durable (the done-marker vouches for them), replacing older ones."""
    atomic_write_bytes(path, data, overwrite=True, durable=True, make_parents=True)


def _atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_json(path, obj, overwrite=True, durable=True, make_parents=True)


def _write_npz(path: Path, corrected) -> None:
    """Corrected traces -> ``.npz`` (atomic)."""
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
                      "headstage": ch.headstage,
                      "correction": corrections[ch.index] if ch.index < len(corrections) else None}
                     for ch in channels],
        "ljp_mv_by_headstage": {str(k): v for k, v in corrected.ljp_mv_by_headstage.items()},
        "provenance": corrected.provenance,
    }
    arrays["metadata_json"] = np.array(json.dumps(meta, default=str))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    _atomic_write_bytes(path, buf.getvalue())


def _mean_vm(corrected, table) -> tuple[dict[str, float], list[str]]:
    """Mean over sweeps of the corrected V_m of each headstage.

    Taken from the driving-force table (one V_m per sweep and headstage, see
    :meth:`CorrectedRecording.membrane_potential`); a headstage with no row
    there (no ion on both sides) is computed directly.
    """
    out: dict[str, float] = {}
    problems: list[str] = []
    have = set()
    if len(table) and {"headstage", "sweep", "V_m_mV"} <= set(table.columns):
        per_sweep = table.drop_duplicates(["headstage", "sweep"])
        for hs, g in per_sweep.groupby("headstage"):
            out[str(int(hs))] = float(g["V_m_mV"].mean())
            have.add(int(hs))
    for hs in corrected.recording.headstages:
        if hs.index in have or not hs.channels:
            continue
        try:
            vals = [corrected.membrane_potential(s, hs.index)[0] for s in range(corrected.n_sweeps)]
        except EphysCorrectError as exc:
            problems.append(f"headstage {hs.index}: no V_m ({_reason(exc)})")
            continue
        out[str(hs.index)] = float(sum(vals) / len(vals))
    return dict(sorted(out.items(), key=lambda kv: int(kv[0]))), problems


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
        ``ljp_mv``, ``provenance``, ``source``.
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


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# =========================================================================== one file
def _outputs_for(task: _Task) -> dict[str, Path]:
    base = Path(task.out_dir) / task.stem
    outs = {
        "traces": base.with_name(base.name + ".corrected.npz"),
        "table": base.with_name(base.name + f".driving_force.{task.fmt}"),
    }
    if task.fmt == "csv":  # report.write_table puts the attrs in a JSON sidecar
        outs["table_sidecar"] = outs["table"].with_name(outs["table"].name + ".json")
    if task.nwb:
        outs["nwb"] = base.with_name(base.name + ".nwb")
        outs["nwb_sidecar"] = base.with_name(base.name + ".nwb.json")  # nwb.write_nwb's provenance
    if task.plots:
        outs["plot_sweep"] = base.with_name(base.name + ".sweep0.png")
        outs["plot_driving_force"] = base.with_name(base.name + ".driving_force.png")
    return outs


def _marker_paths(task: _Task) -> tuple[Path, Path]:
    base = Path(task.out_dir) / task.stem
    return (base.with_name(base.name + ".done.json"), base.with_name("." + base.name + ".partial.json"))


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k) and not k.endswith("sha256")]
    if not keys:
        keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in keys[:4])


def _reason(exc: BaseException) -> str:
    msg = str(exc).strip() or repr(exc)
    msg = " ".join(msg.split())
    if isinstance(exc, EphysCorrectError):
        return f"{type(exc).__name__}: {msg}"
    if isinstance(exc, (OSError, ValueError, KeyError)):
        return f"{type(exc).__name__}: {msg}"
    # an unexpected error is a bug: keep the place it happened
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"unexpected {type(exc).__name__}: {msg}{where}"
