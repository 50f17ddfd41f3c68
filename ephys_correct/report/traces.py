"""Corrected traces on disk: ``<stem>.corrected.npz`` (written by batch runs, read by the HTML report)."""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np

from ephys_correct._fileio import atomic_write

#: samples per piece when a trace is streamed into the ``.npz`` (float64 while corrected: 2 MiB)
CHUNK_SAMPLES = 1 << 18


def write_corrected_npz(path: Path, corrected, *, durable: bool = True,
                        chunk_samples: int | None = None) -> None:
    """Corrected traces -> ``.npz`` (atomic; durable unless ``durable=False``).

    The traces are streamed into the archive: each sweep of each channel is
    read, corrected and written in pieces of *chunk_samples* samples, so the
    memory used stays at a few pieces whatever the size of the recording (the
    corrected command waveforms are taken a sweep at a time).  The file is the
    one :func:`numpy.savez` would write for the same arrays (uncompressed zip,
    ZIP64 members, ``.npy`` format 1.0); it is written to a temporary file in
    the destination folder and renamed.

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
    chunk_samples : int, optional
        Samples per piece read, corrected and written at once (default
        :data:`CHUNK_SAMPLES`).
    """
    rec = corrected.recording
    channels = list(rec.channels)
    n_sweeps = int(rec.n_sweeps)
    lengths = [int(n) for n in rec.sweep_lengths]
    equal = len(set(lengths)) == 1
    step = max(1, int(CHUNK_SAMPLES if chunk_samples is None else chunk_samples))
    corrections = [sc.as_dict() for sc in getattr(corrected, "channel_corrections", ())]
    # corrected command waveforms of the DACs that command a headstage (the HTML report shows them)
    commands = [sc for sc in getattr(corrected, "command_corrections", ())
                if sc.headstage is not None and rec.has_command(sc.index)]
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

    def trace(s: int, c: int):
        for lo in range(0, lengths[s], step):
            hi = min(lengths[s], lo + step)
            piece = corrected.sweep_data(s, c, start=lo, stop=hi)
            if len(piece) != hi - lo:
                raise RuntimeError(f"{rec.path}: sweep {s}, channel {c}: {len(piece)} samples read for "
                                   f"samples {lo}-{hi} (internal error)")
            yield piece

    def command(s: int, dac: int):
        for lo in range(0, lengths[s], step):
            yield corrected.command(s, dac, start=lo, stop=min(lengths[s], lo + step))

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            if equal:
                _stream_member(zf, "data", (n_sweeps, len(channels), lengths[0]),
                               (piece for s in range(n_sweeps) for c in range(len(channels))
                                for piece in trace(s, c)))
            else:
                for s in range(n_sweeps):
                    for c in range(len(channels)):
                        _stream_member(zf, f"sweep_{s:05d}_ch{c:02d}", (lengths[s],), trace(s, c))
            for sc in commands:
                if equal:
                    _stream_member(zf, f"command_dac{sc.index}", (n_sweeps, lengths[0]),
                                   (piece for s in range(n_sweeps) for piece in command(s, sc.index)))
                else:
                    for s in range(n_sweeps):
                        _stream_member(zf, f"command_{s:05d}_dac{sc.index}", (lengths[s],), command(s, sc.index))
            with zf.open("metadata_json.npy", "w", force_zip64=True) as fid:
                np.lib.format.write_array(fid, np.array(json.dumps(meta, default=str)), allow_pickle=False)

    atomic_write([path], [write], overwrite=True, durable=durable, make_parents=True)


def _stream_member(zf: zipfile.ZipFile, name: str, shape: tuple[int, ...], pieces) -> None:
    """Write ``<name>.npy`` (float32, C order, *shape*) into *zf* from consecutive 1-D *pieces*.

    The member is what :func:`numpy.savez` writes for such an array (``.npy``
    header version 1.0, ZIP64 entry); the number of values written is checked
    against *shape*.
    """
    expected = math.prod(shape)
    written = 0
    with zf.open(f"{name}.npy", "w", force_zip64=True) as fid:
        np.lib.format.write_array_header_1_0(
            fid, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                  "shape": tuple(int(n) for n in shape)})
        for piece in pieces:
            block = np.ascontiguousarray(piece, dtype=np.float32)
            written += block.size
            if written > expected:
                break
            fid.write(memoryview(block).cast("B"))
    if written != expected:
        raise RuntimeError(f"{name}: {written} values for an array of shape {shape} (internal error)")


def npz_arrays(path: str | os.PathLike, *, mmap: bool = False) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` by member name (without ``.npy``).

    Parameters
    ----------
    path : str or path
        The archive.
    mmap : bool
        Map the members stored uncompressed (as :func:`write_corrected_npz` and
        ``numpy.savez`` write them) read-only from the file instead of reading them:
        memory then stays bounded by what is looked at, not by the file's size.
        Compressed members are read.

    Returns
    -------
    dict
        Member name -> array (a read-only ``numpy.memmap`` for mapped members).
    """
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            name = info.filename[:-4]
            header = None
            if mmap and info.compress_type == zipfile.ZIP_STORED:
                fh.seek(info.header_offset)
                local = fh.read(30)  # the local file header: its name and extra field precede the data
                n_name, n_extra = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
                fh.seek(info.header_offset + 30 + n_name + n_extra)
                version = np.lib.format.read_magic(fh)
                readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
                if version in readers:
                    header = readers[version](fh)
            if header is not None and not header[2].hasobject and math.prod(header[0]) > 0:
                shape, fortran, dtype = header
                out[name] = np.memmap(path, dtype=dtype, mode="r", offset=fh.tell(), shape=shape,
                                      order="F" if fortran else "C")
            else:
                with zf.open(info) as member:
                    out[name] = np.lib.format.read_array(member, allow_pickle=False)
    return out


def load_corrected_npz(path: str | os.PathLike, *, mmap: bool = False) -> tuple[Any, dict]:
    """Read a ``<stem>.corrected.npz`` written by :func:`run_batch`.

    Parameters
    ----------
    path : str or path
        The file.
    mmap : bool
        Map the traces from the file instead of reading them (:func:`npz_arrays`): for
        files larger than memory.

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
    return corrected_from_arrays(npz_arrays(path, mmap=mmap))


def corrected_from_arrays(z: Mapping[str, np.ndarray]) -> tuple[Any, dict]:
    """(data, metadata) of :func:`load_corrected_npz` from the archive's arrays (:func:`npz_arrays`).

    Parameters
    ----------
    z : Mapping
        Member name -> array of a ``<stem>.corrected.npz``.

    Returns
    -------
    tuple
        As :func:`load_corrected_npz`.
    """
    meta = json.loads(str(z["metadata_json"][()]))
    if "data" in z:
        return z["data"], meta
    out = {}
    for key, value in z.items():
        if key.startswith("sweep_"):
            s, c = key[len("sweep_"):].split("_ch")
            out[(int(s), int(c))] = value
    return out, meta
