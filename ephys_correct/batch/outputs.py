"""What a batch run writes per file: corrected traces (.npz), markers, the mean V_m summary."""

from __future__ import annotations

import json
import os
import traceback
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from ephys_correct._fileio import atomic_write_bytes, atomic_write_json
from ephys_correct.errors import EphysCorrectError
from ephys_correct.batch.settings import _Task


# =========================================================================== writing helpers
# Durability (docs/performance.md, docs/cli.md): every output is written atomically (temporary file
# + rename), replacing older ones.  Only the done-marker promises anything after a crash, so the
# data files are flushed to disk together just before it (_sync_files: one fsync per file, then
# one per folder, which also commits the renames), and the marker itself is durable.  The
# in-progress marker is a hint and is not synced.
def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Batch outputs: atomic, replacing older ones; made durable by :func:`_sync_files`."""
    atomic_write_bytes(path, data, overwrite=True, durable=False, make_parents=True)


def _atomic_write_json(path: Path, obj: Any, *, durable: bool = False) -> None:
    atomic_write_json(path, obj, overwrite=True, durable=durable, make_parents=True)


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_files(paths) -> None:
    """Flush written outputs (contents, then their folders' entries) before the marker vouches for them."""
    folders = []
    for p in paths:
        p = Path(p)
        try:
            _fsync(p, os.O_RDONLY)
        except FileNotFoundError:
            continue
        if p.parent not in folders:
            folders.append(p.parent)
    for d in folders:
        try:
            _fsync(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:  # a folder cannot be opened/fsynced on this platform (Windows)
            pass


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
        import numpy as np

        # first row of each (headstage, sweep), then the mean per headstage (numpy: no pandas copies)
        hs_col = table["headstage"].to_numpy(dtype=np.int64)
        sw_col = table["sweep"].to_numpy(dtype=np.int64)
        vm_col = table["V_m_mV"].to_numpy(dtype=np.float64)
        _, first = np.unique(np.stack([hs_col, sw_col]), axis=1, return_index=True)
        hs_first, vm_first = hs_col[first], vm_col[first]
        for hs in np.unique(hs_first):
            vals = vm_first[hs_first == hs]
            vals = vals[~np.isnan(vals)]  # as pandas' mean: NaN rows skipped, all NaN -> NaN
            out[str(int(hs))] = float(vals.mean()) if vals.size else math.nan
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
        outs["nwb_sidecar"] = base.with_name(base.name + ".ephys_correct_provenance.json")  # nwb.write_nwb's provenance
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


# =========================================================================== files that killed a worker
def _killed_path(task: _Task) -> Path:
    base = Path(task.out_dir) / task.stem
    return base.with_name(base.name + ".killed.json")


def _input_identity(path: str) -> dict[str, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _record_killed(task: _Task, reason: str) -> None:
    """Write ``<stem>.killed.json``: this input killed a worker process (a rerun skips it)."""
    import time

    _atomic_write_json(_killed_path(task), {
        "input": task.path, "input_identity": _input_identity(task.path), "reason": reason,
        "options_hash": task.options_hash, "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    })


def _killed_before(task: _Task) -> str | None:
    """The failure reason of a file that killed a worker in an earlier run (same input), or None."""
    marker = _read_json(_killed_path(task))
    if not marker or marker.get("input_identity") != _input_identity(task.path):
        return None
    return (f"not retried: this file killed a worker process in an earlier run ({marker.get('when', '?')}: "
            f"{marker.get('reason', '?')}); see {_killed_path(task).name}, pass --retry-killed "
            "(retry_killed=True) to try it again")


#: written while a file is corrected in the run's own process (one worker or one file): a run
#: that dies hard (a crash in a C extension, the out-of-memory killer) leaves it behind
RUNNING_NAME = ".ephys_correct.running.json"


class _Running:
    """Context manager: ``<out>/.ephys_correct.running.json`` names the file in progress."""

    def __init__(self, task: _Task) -> None:
        self.path = Path(task.out_dir) / RUNNING_NAME
        self.task = task

    def __enter__(self) -> None:
        self.path.write_text(json.dumps({"input": self.task.path, "stem": self.task.stem, "pid": os.getpid(),
                                         "input_identity": _input_identity(self.task.path)}), encoding="utf-8")

    def __exit__(self, *exc) -> None:  # any exception (KeyboardInterrupt too): the process lived
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def _adopt_crash(out_dir: Path, tasks) -> None:
    """A previous run died hard while correcting a file in its own process: record that file as killed."""
    path = Path(out_dir) / RUNNING_NAME
    info = _read_json(path)
    if info is None:
        if path.exists():
            path.unlink()
        return
    for task in tasks:
        if task.path == info.get("input") and _input_identity(task.path) == info.get("input_identity"):
            _record_killed(task, f"the previous run (pid {info.get('pid', '?')}) ended abruptly while correcting "
                                 "this file (a crash, the out-of-memory killer or kill -9)")
            break
    path.unlink()
