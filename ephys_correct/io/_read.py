"""read_recording(): open any supported file into a :class:`Recording`."""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping

import numpy as np

from ephys_correct._validate import check_choice
from ephys_correct.errors import (
    CorruptRecordingError,
    ParameterError,
    RecordingError,
    UnsupportedFormatError,
    UnitError,
)
from ephys_correct.io import _abf, _checks, _neo
from ephys_correct.io._clamp import MULTICLAMP_INSTRUMENTS, TELEGRAPH_MODES, AdcSpec, DacSpec, adc_unit, assign
from ephys_correct.io._formats import FORMATS, HDF5_MAGIC, NOT_READABLE, READABLE_EXTENSIONS
from ephys_correct.io._recording import Holding, Recording, Tag
from ephys_correct.io._sources import MemmapSource, NeoSource, file_signature
from ephys_correct.io._units import CURRENT, VOLTAGE, channel_unit
from ephys_correct.io._units import parse_unit

__all__ = [
    "read_recording",
    "RecordingNotFoundError",
    "RecordingIsADirectoryError",
    "RecordingPermissionError",
    "SUPPORTED_EXTENSIONS",
]

BACKENDS = ("auto", "pyabf", "neo")


class _PathErrorMixin:
    """str() is the message (which names the path); errno/filename stay set."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()


class RecordingNotFoundError(_PathErrorMixin, RecordingError, FileNotFoundError):
    """The recording file does not exist."""


class RecordingIsADirectoryError(_PathErrorMixin, RecordingError, IsADirectoryError):
    """A directory was given where a recording file was expected."""


class RecordingPermissionError(_PathErrorMixin, RecordingError, PermissionError):
    """The recording file cannot be read (permission denied)."""


# extension -> (format name, reader, magic prefixes or None): the one table (io/_formats.py)
_FORMATS = FORMATS
#: file extensions read_recording accepts (lower case, with the dot); the same list folder collection uses
SUPPORTED_EXTENSIONS = READABLE_EXTENSIONS
# content signatures, to name what a misnamed file really is
_MAGIC = ((b"ABF2", "ABF"), (b"ABF ", "ABF"), (b"VER=", "WinWCP/WinEDR"), (b"axgx", "AxoGraph"),
          (b"AxGr", "AxoGraph"), (HDF5_MAGIC, "HDF5 (NWB)"))


def _oserror(cls, path: str, msg: str, code: int):
    return cls(code, msg, path)


def _check_file(path: str) -> int:
    """Existence, type, permission and size checks; returns the size."""
    if not os.path.lexists(path):
        raise _oserror(RecordingNotFoundError, path, f"{path}: no such file", errno.ENOENT)
    if os.path.isdir(path):
        raise _oserror(RecordingIsADirectoryError, path, f"{path}: is a directory, not a recording file",
                       errno.EISDIR)
    if not os.path.exists(path):
        raise _oserror(RecordingNotFoundError, path, f"{path}: broken symbolic link", errno.ENOENT)
    if not os.path.isfile(path):
        raise UnsupportedFormatError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise _oserror(RecordingPermissionError, path, f"{path}: permission denied (cannot read)", errno.EACCES)
    size = os.path.getsize(path)
    if size == 0:
        raise CorruptRecordingError(f"{path}: zero-length file")
    return size


def _read_magic(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(8)
    except PermissionError as exc:
        raise _oserror(RecordingPermissionError, path, f"{path}: permission denied (cannot read)",
                       errno.EACCES) from exc
    except OSError as exc:
        raise RecordingError(f"{path}: cannot open ({exc})") from exc


def _content_format(magic: bytes) -> str | None:
    for prefix, name in _MAGIC:
        if magic.startswith(prefix):
            return name
    return None


def read_recording(path, *, backend: str = "auto", clamp_mode=None, headstages=None, unit_fix=None,
                   sweeps=None) -> Recording:
    """Read an electrophysiology recording into a :class:`Recording`.

    Only the header is parsed here; samples are read on demand.  The file is
    opened read-only and never modified.

    Parameters
    ----------
    path : str, os.PathLike or neo object
        ABF (1.x, 2.x), WinWCP (``.wcp``), AxoGraph (``.axgx``, ``.axgd``),
        WinEDR (``.edr``), Spike2 (``.smr``) or NWB 2 icephys (``.nwb``,
        through pynwb); the list is :data:`SUPPORTED_EXTENSIONS`.  Or neo
        objects in memory: a ``neo.Block`` (segments are sweeps), a
        ``neo.Segment``, an ``AnalogSignal`` or a list of them.
    backend : {"auto", "pyabf", "neo"}
        ``"auto"``: ABF through pyabf (header) + numpy.memmap (data), anything
        else through neo.  ``"pyabf"``: force pyabf (ABF only).  ``"neo"``:
        read the samples, channel list, sweep structure and tags through neo
        (for ABF, clamp/holding/telegraph facts still come from the pyabf
        header reader, as neo does not parse them all).
    clamp_mode : str or Mapping[int, str], optional
        Override the clamp mode: one of ``"voltage_clamp"``,
        ``"current_clamp"``, ``"i_zero"`` for every headstage, or a mapping
        headstage -> mode.  Needed when the file does not establish the mode
        (reading ``Channel.clamp_mode`` then raises ``ClampModeError``).
    headstages : Mapping[int or str, int or None], optional
        Override the headstage of channels (index or name -> headstage, None
        for "no headstage").  Headstage *k* is commanded by DAC *k*.
    unit_fix : Mapping[int or str, tuple[str, float] or UnitFix], optional
        Correct channels whose header units are wrong: channel -> (true
        units, scale); the stored values are multiplied by *scale* and read
        in the given units, e.g. ``{0: ("mV", 1/20)}`` for a current-clamp
        channel saved as pA x 20.  Apply only after confirming the scale.
    sweeps : sequence of int, optional
        NWB only: the sweep numbers to read (files whose sweeps differ in
        channels, rate or clamp mode).

    Returns
    -------
    Recording

    Raises
    ------
    FileNotFoundError
        (:class:`RecordingNotFoundError`) the file does not exist.
    IsADirectoryError
        (:class:`RecordingIsADirectoryError`) *path* is a directory.
    PermissionError
        (:class:`RecordingPermissionError`) the file cannot be read.
    CorruptRecordingError
        Zero-length, truncated, not the format its extension says, or a
        header whose counts, sizes, offsets, gains, ADC range/resolution,
        sample interval or episode count cannot be right (the message names
        the field and its value; limits in ``docs/recordings.md``, "Header
        checks").
    UnsupportedFormatError
        Unknown extension, or ``backend="pyabf"`` for a non-ABF file.
    UnitError
        A channel or DAC unit string is unknown (the message names the file,
        the channel and the unit).
    ParameterError
        Invalid *backend*, *headstages* or *unit_fix*.
    ClampModeError
        Invalid *clamp_mode* value.
    """
    check_choice(backend, BACKENDS, what="backend", where="read_recording")
    if not isinstance(path, (str, os.PathLike)):
        from ephys_correct.io._neoobj import is_neo_object, read_neo_object

        if is_neo_object(path):
            if sweeps is not None:
                raise ParameterError("sweeps= selects NWB sweeps; select neo segments before reading")
            return read_neo_object(path, clamp_mode=clamp_mode, headstages=headstages, unit_fix=unit_fix)
        raise ParameterError(f"path must be a str or os.PathLike (or a neo Block / Segment / AnalogSignal "
                             f"list), got {type(path).__name__}: {path!r}")
    try:
        path = os.path.abspath(os.fspath(path))
    except TypeError:
        raise ParameterError(f"path must be a str or os.PathLike, got {path!r}") from None
    _check_file(path)
    ext = os.path.splitext(path)[1].lower()
    magic = _read_magic(path)
    content = _content_format(magic)
    fmt = _FORMATS.get(ext)
    if fmt is None:
        hint = f" (its content looks like {content}; rename it with the right extension)" if content else ""
        why = f" ({NOT_READABLE[ext]})" if ext in NOT_READABLE and not content else ""
        raise UnsupportedFormatError(f"{path}: unsupported file type {ext or '(no extension)'!r}{why}{hint}; "
                                     f"supported: {', '.join(SUPPORTED_EXTENSIONS)}")
    fmt_name, neo_class, magics = fmt
    if magics is not None and not any(magic.startswith(m) for m in magics):
        what = f"its content is {content}" if content else f"its content is not {fmt_name} data"
        raise CorruptRecordingError(f"{path}: the extension {ext!r} says {fmt_name}, but {what} "
                                    f"(first bytes {magic[:4]!r}): not a recording, or the wrong extension")
    if backend == "pyabf" and fmt_name != "ABF":
        raise UnsupportedFormatError(f"{path}: backend='pyabf' reads only ABF files; this is {fmt_name}")
    if sweeps is not None and fmt_name != "NWB":
        raise ParameterError(f"{path}: sweeps= selects the sweeps of NWB files; this is {fmt_name}")
    state = file_signature(path)
    if fmt_name == "NWB":
        if backend == "neo":
            raise UnsupportedFormatError(f"{path}: NWB files are read with pynwb, not neo (backend='auto')")
        from ephys_correct.io._nwb import read_nwb

        return read_nwb(path, clamp_mode=clamp_mode, headstages=headstages, unit_fix=unit_fix, sweeps=sweeps,
                        state=state)
    if fmt_name == "ABF":
        return _read_abf(path, use_neo=(backend == "neo"), state=state, clamp_mode=clamp_mode,
                         headstages=headstages, unit_fix=unit_fix)
    return _read_generic(path, fmt_name, neo_class, state=state, clamp_mode=clamp_mode, headstages=headstages,
                         unit_fix=unit_fix)


# --------------------------------------------------------------------------- ABF
def _read_abf(path, *, use_neo, state, clamp_mode, headstages, unit_fix) -> Recording:
    import pyabf

    h = _abf.read_abf_header(path)
    warnings = list(h.warnings)

    adcs = []
    for i, c in enumerate(h.channels):
        unit = adc_unit(c.units, path, i, c.name)
        tele = None
        if (c.telegraph_enable == 1 and c.telegraph_instrument in MULTICLAMP_INSTRUMENTS
                and c.telegraph_mode in TELEGRAPH_MODES):
            tele = c.telegraph_mode
        adcs.append(_clamp_adc(i, c, unit, tele))
    dacs = []
    for d, dac in enumerate(h.dacs):
        unit = channel_unit(dac.units, path=path, channel=f"DAC {d} {dac.name!r}")
        dacs.append(DacSpec(index=d, name=dac.name, file_units=dac.units, unit=unit,
                            holding=dac.holding if _abf._valid_float(dac.holding) else None, use=dac.use))

    channels, heads, w, evidence = assign(path, adcs, dacs, protocol=h.protocol, abf=True, clamp_mode=clamp_mode,
                                          headstages=headstages, unit_fix=unit_fix)
    warnings += w
    dac_heads = {hd.dac: hd.index for hd in heads if hd.dac is not None}
    holding = []
    factors = []
    hold_raw = []
    for d, (dac, spec) in enumerate(zip(h.dacs, dacs)):
        val = dac.holding
        if not _abf._valid_float(val):
            warnings.append(f"{path}: DAC {d} holding level {val!r} in the header is not a valid number; "
                            "reported as NaN")
            val = float("nan")
        electrical = spec.unit.dimension in (VOLTAGE, CURRENT)
        factor = spec.unit.factor if electrical else 1.0
        if not electrical and d in dac_heads:
            warnings.append(f"{path}: DAC {d} ({dac.name or 'unnamed'}) has no unit "
                            f"({dac.units or 'blank'!r}); its holding level {val:g} is in unknown units")
        factors.append(factor)
        hold_raw.append(val)
        holding.append(Holding(dac=d, name=dac.name, value=val * factor, units=spec.unit.units if electrical else "",
                               file_units=dac.units, headstage=dac_heads.get(d)))
    access = {}
    for hd in heads:
        vals = [h.channels[i].access_resistance for i in hd.channels if h.channels[i].access_resistance]
        if vals:
            access[hd.index] = max(vals)

    n_sweeps = len(h.sweep_frames)
    lengths = tuple(n for _, n in h.sweep_frames)
    if use_neo:
        source, reader, tags, w2 = _abf_neo_source(path, h, lengths)
        warnings += w2
    else:
        source = MemmapSource(path, h.data_offset, h.dtype, h.n_channels, h.sweep_frames,
                              [c.gain for c in h.channels], [c.offset for c in h.channels])
        reader = f"pyabf {pyabf.__version__} header + numpy.memmap"
        tags = h.tags
    return Recording(
        path=path, format="ABF", version=h.version_str, reader=reader, channels=tuple(channels),
        headstages=tuple(heads), n_sweeps=n_sweeps, sample_rate_hz=float(h.sample_rate_hz), sweep_lengths=lengths,
        sweep_start_s=tuple(float(x) for x in h.sweep_start_s), t_start_s=0.0, holding=tuple(holding),
        tags=tuple(Tag(time_s=float(t), comment=c, raw=r) for t, c, r in tags), comment=h.comment, protocol=h.protocol,
        acquisition_mode=_abf.op_mode_name(h.op_mode), start_time=h.start_time, creator=h.creator,
        access_resistance_by_headstage=access, warnings=tuple(warnings),
        headstage_evidence=tuple(evidence), interpretation_warnings=tuple(w),
        _source=source, _command=_abf.AbfCommand(h, factors, hold_raw), _file_state=state,
        _checksum=h.file_crc,
    )


def _clamp_adc(i, c, unit, tele) -> AdcSpec:
    return AdcSpec(index=i, name=c.name, file_units=c.units, unit=unit, adc=c.adc, telegraph=tele,
                   access_resistance_mohm=c.access_resistance,
                   telegraph_instrument=c.telegraph_instrument if c.telegraph_enable == 1 else None)


def _abf_neo_source(path, h, lengths):
    """neo AxonIO as the data source of an ABF; channels matched by id."""
    import neo

    sink: list[str] = []
    io = _neo.open_neo(path, io_class=neo.io.AxonIO, sink=sink)
    try:
        return _abf_neo_layout(path, h, lengths, io, sink)
    except (UnsupportedFormatError, CorruptRecordingError, MemoryError):
        raise
    except Exception as exc:  # neo raises many types on bad input
        raise CorruptRecordingError(f"{path}: AxonIO cannot read this file ({type(exc).__name__}: {exc})") from exc


def _abf_neo_layout(path, h, lengths, io, sink):
    _checks.check_neo_header(io, path, os.path.getsize(path))
    chans = _neo.neo_channels(io, path)
    ids = [cid for (_, _, _, cid, _) in chans]
    # neo's channel id: the physical ADC (ABF1 nADCSamplingSeq) or the position (ABF2 / broken sequences)
    if h.major == 1 and len(set(ids)) == len(ids) and ids == [str(c.adc) for c in h.channels]:
        want = [str(c.adc) for c in h.channels]
    else:
        want = [str(i) for i in range(h.n_channels)]
    stream_index, chan_index = [], []
    for i, w in enumerate(want):
        if w not in ids:
            raise CorruptRecordingError(f"{path}: neo does not list channel id {w} (channel {i} "
                                        f"{h.channels[i].name!r}); neo ids: {ids}")
        s, k, name, _, units = chans[ids.index(w)]
        stream_index.append(s)
        chan_index.append(k)
        if _units_differ(units, h.channels[i].units):
            sink.append(f"neo: channel {i} units {units!r} differ from the header's {h.channels[i].units!r}")
    seg_len = _neo.segment_lengths(io, path)
    n_seg = len(seg_len)
    if n_seg == len(lengths) and all(a == b for a, b in zip(seg_len, lengths)):
        seg_map = [(k, 0) for k in range(n_seg)]
    elif n_seg == 1 and sum(lengths) <= seg_len[0]:
        # neo keeps sweeps of synch-array-less ABF1 (pyabf's writer) in one segment: split it
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).tolist()
        seg_map = [(0, int(s)) for s in starts]
        if len(lengths) > 1:
            sink.append(f"neo: one segment of {seg_len[0]} samples split into {len(lengths)} sweeps of "
                        f"{lengths[0]} (header lActualEpisodes)")
    else:
        raise CorruptRecordingError(f"{path}: neo finds {n_seg} segments of {sorted(set(seg_len))} samples but "
                                    f"the header describes {len(lengths)} sweeps of {sorted(set(lengths))}")
    tags = _neo.abf_neo_tags(io, path)
    reader = f"neo {_neo.neo_version()} AxonIO (clamp/holding facts: pyabf header)"
    return NeoSource(io, stream_index, chan_index, seg_map), reader, tags, sink


def _units_differ(a: str, b: str) -> bool:
    try:
        ua, ub = parse_unit(a), parse_unit(b)
    except UnitError:
        return a.strip() != b.strip()
    return (ua.dimension, ua.units, ua.factor) != (ub.dimension, ub.units, ub.factor) and not (
        ua.dimension == ub.dimension == "none")


# --------------------------------------------------------------------------- neo
def _read_generic(path, fmt_name, neo_class, *, state, clamp_mode, headstages, unit_fix) -> Recording:
    import neo

    sink: list[str] = []
    io_class = getattr(neo.io, neo_class, None) or getattr(neo.rawio, neo_class.replace("IO", "RawIO"), None)
    if io_class is None:
        raise UnsupportedFormatError(f"{path}: this neo version has no {neo_class}")
    if fmt_name == "WinWCP":
        with open(path, "rb") as f:
            _checks.check_wcp_header(path, f.read(1024), state[0])
    io = _neo.open_neo(path, io_class=io_class, sink=sink)
    with _neo.capture_neo_logs(sink):
        try:
            if io.block_count() < 1 or io.segment_count(0) < 1:
                raise CorruptRecordingError(f"{path}: no data (no block / segment)")
            _checks.check_neo_header(io, path, state[0])
            chans = _neo.neo_channels(io, path)
            rate = _neo.sampling_rate(io, path)
            seg_len = _neo.segment_lengths(io, path)
            t0s = _neo.t_starts(io)
            tags = _neo.neo_tags(io, sink)
        except (UnsupportedFormatError, CorruptRecordingError):
            raise
        except MemoryError:
            raise
        except Exception as exc:  # neo raises many types on bad input
            raise CorruptRecordingError(f"{path}: {neo_class} cannot read this file "
                                        f"({type(exc).__name__}: {exc})") from exc
    adcs = []
    for i, (_, _, name, cid, units) in enumerate(chans):
        name = name.strip() or f"ch{i}"
        unit = adc_unit(units, path, i, name)
        adcs.append(AdcSpec(index=i, name=name, file_units=units.strip(), unit=unit))
    ann = _neo.neo_block_annotations(io)
    protocol = _neo.neo_protocol(ann)
    channels, heads, w, evidence = assign(path, adcs, [], protocol=protocol, abf=False, clamp_mode=clamp_mode,
                                          headstages=headstages, unit_fix=unit_fix)
    version = _generic_version(path, fmt_name, ann)
    warnings = sink + w
    source = NeoSource(io, [c[0] for c in chans], [c[1] for c in chans], [(k, 0) for k in range(len(seg_len))])
    comment = ann.get("comment") if isinstance(ann.get("comment"), str) else ""
    return Recording(
        path=path, format=fmt_name, version=version, reader=f"neo {_neo.neo_version()} {io_class.__name__}",
        channels=tuple(channels), headstages=tuple(heads), n_sweeps=len(seg_len), sample_rate_hz=float(rate),
        sweep_lengths=tuple(int(n) for n in seg_len), sweep_start_s=tuple(t0s), t_start_s=0.0, holding=(),
        tags=tuple(Tag(time_s=t, comment=c) for t, c in tags), comment=(comment or "").strip(), protocol=protocol,
        acquisition_mode="records", start_time=_neo.neo_start_time(ann), creator=None,
        access_resistance_by_headstage={}, warnings=tuple(warnings), headstage_evidence=tuple(evidence),
        interpretation_warnings=tuple(w), _source=source, _command=None, _file_state=state,
    )


def _generic_version(path: str, fmt_name: str, ann: Mapping) -> str:
    v = ann.get("format_ver")
    if v is not None:
        return str(v)
    if fmt_name in ("WinWCP", "WinEDR"):
        with open(path, "rb") as f:
            head = f.read(64).decode("latin-1", errors="replace")
        for line in head.replace("\r", "\n").split("\n"):
            if line.startswith("VER="):
                return line[4:].strip()
    return ""
