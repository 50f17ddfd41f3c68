"""ABF1 / ABF2 header facts (through pyabf's header readers) for the memmap source.

pyabf's header classes (``HeaderV1``; ``HeaderV2`` and the ABF2 section
readers) parse the header.  ``pyabf.ABF`` itself is built only when a command
waveform is asked for (its epoch-table code needs it): its strings parser reads
byte by byte and costs more than reading the data.  The fields pyabf gets
wrong or does not read are read here from the raw bytes:

* ABF1 holding level: ``fDACHoldingLevel`` (4 floats at byte 1394); pyabf's
  ``holdingCommand`` is ``fEpochInitLevel`` for ABF1.
* ABF1 strings (units, names) decoded like pyabf but keeping ``µ`` as ``u``; the extended
  header (telegraphs, protocol path, new comment, creator) only when the file
  has one (data section at or after byte 6144; pyabf's writer and v1.3 files
  put data at 2048, so pyabf reads sample data as telegraph fields).
* ABF1 synch array (sweep start times), not parsed by pyabf.
* Tag times with ABFFIO's rule: counts of ``fSynchTimeUnit`` microseconds, or
  of the first sample interval when that is 0.
"""

from __future__ import annotations

import datetime as _dt
import os
import struct
from dataclasses import dataclass
from pathlib import PureWindowsPath

import numpy as np

from ephys_correct.errors import CorruptRecordingError

__all__ = ["AbfHeader", "read_abf_header", "AbfCommand"]

_OP_MODES = {
    1: "event-driven variable-length",
    2: "event-driven fixed-length",
    3: "gap-free",
    4: "high-speed oscilloscope",
    5: "episodic",
}
_ABF1_EXT_HEADER_END = 6144


@dataclass
class AbfChannelFacts:
    name: str
    units: str
    adc: int
    gain: float
    offset: float
    telegraph_enable: int | None
    telegraph_instrument: int | None
    telegraph_mode: int | None
    access_resistance: float | None


@dataclass
class AbfDacFacts:
    name: str
    units: str
    holding: float
    waveform_enable: int | None
    waveform_source: int | None


@dataclass
class AbfHeader:
    """Facts of one ABF file needed to build a Recording."""

    path: str
    major: int
    version_str: str
    version_number: float
    op_mode: int
    n_channels: int
    sample_rate_hz: float
    data_offset: int
    dtype: np.dtype
    n_points: int
    sweep_frames: list  # (first frame, n frames)
    sweep_start_s: list
    channels: list  # AbfChannelFacts
    dacs: list  # AbfDacFacts
    tags: list  # (time_s, comment)
    comment: str
    protocol: str | None
    creator: str | None
    start_time: _dt.datetime | None
    synch_unit_us: float
    first_sample_interval_us: float
    has_ext_header: bool
    warnings: list


def _clean(b: bytes) -> str:
    """Header string as pyabf decodes it (ASCII, other bytes dropped), but keeping micro as ``u``."""
    return b.replace(b"\xb5", b"u").decode("ascii", errors="ignore").replace("\x00", " ").strip()


def _ascii(b: bytes) -> str:
    """Tag text as pyabf decodes it (ASCII; other bytes dropped, NULs removed)."""
    return b.decode("ascii", errors="ignore").replace("\x00", " ").strip()


def _read_tags(path: str, offset: int, entry_size: int, n: int, size: int):
    """Raw (lTagTime, comment bytes) of the tag section: int32 time, 56-byte comment."""
    if n <= 0 or entry_size < 60 or n > 1_000_000 or offset + n * entry_size > size:
        return [], []
    with open(path, "rb") as f:
        f.seek(offset)
        blob = f.read(n * entry_size)
    times, comments = [], []
    for k in range(n):
        e = blob[k * entry_size:(k + 1) * entry_size]
        times.append(struct.unpack_from("<i", e, 0)[0])
        comments.append(e[4:60])
    return times, comments


def _protocol_name(protocol_path: str) -> str | None:
    p = protocol_path.replace("\x00", " ").strip()
    if not p:
        return None
    low = p.lower()
    k = low.find(".pro")
    if k < 0:
        return None
    return PureWindowsPath(p[: k + 4]).stem or None


def _abf2_extent(raw: bytes) -> int:
    """Bytes an ABF2 file must have: the end of its furthest section (18 section records at byte 76)."""
    end = 512
    # sections pyabf parses: protocol, ADC, DAC, epoch, epoch-per-DAC, user list, strings, data, tag, synch
    for k in (0, 1, 2, 3, 5, 6, 9, 10, 11, 15):
        pos = 76 + 16 * k
        if pos + 16 > len(raw):
            break
        block, nbytes, count = struct.unpack_from("<IIq", raw, pos)
        if block and nbytes and 0 < count < 2**40:
            end = max(end, block * 512 + nbytes * count)
    return end


def _abf1_extent(raw: bytes) -> int:
    """Bytes an ABF1 file must have: header, data section and tag section."""
    data_ptr, = struct.unpack_from("<i", raw, 40)
    tag_ptr, n_tags = struct.unpack_from("<ii", raw, 44)
    fmt, = struct.unpack_from("<h", raw, 100)
    n_points, = struct.unpack_from("<i", raw, 10)
    ignored, = struct.unpack_from("<h", raw, 14)
    item = 4 if fmt == 1 else 2
    end = 2048
    if data_ptr > 0 and n_points > 0:
        end = max(end, data_ptr * 512 + (n_points + max(ignored, 0)) * item)
    if tag_ptr > 0 and 0 < n_tags < 1_000_000:
        end = max(end, tag_ptr * 512 + 64 * n_tags)
    return end


def _valid_float(x: float) -> bool:
    return bool(np.isfinite(x)) and abs(x) < 1e6


def _pyabf_gain(scale_factor, signal_gain, prog_gain, telegraph_enable, telegraph_gain, adc_range, resolution):
    """pyabf's ADC scale factor, computed in pyabf's order (bit-identical values)."""
    gain = 1
    gain /= scale_factor
    gain /= signal_gain
    gain /= prog_gain
    if telegraph_enable == 1:
        gain /= telegraph_gain
    gain *= adc_range
    gain /= resolution
    return float(gain)


def _abf2_strings(fb) -> list[str]:
    """ABF2 indexed strings, decoded exactly as pyabf's StringsSection (but in one read)."""
    fb.seek(220)
    block, entry_size, count = struct.unpack("<IIi", fb.read(12))
    if count <= 0 or entry_size <= 0:
        return []
    fb.seek(block * 512)
    first = fb.read(entry_size)
    first = first[first.rfind(b"\x00\x00"):]
    first = first.replace(b"\xb5", b"u")
    return [x.decode("ascii", errors="replace").strip() for x in first.split(b"\x00")[1:]]


def read_abf_header(path: str) -> AbfHeader:
    """Parse an ABF header with pyabf's header/section readers and the raw bytes.

    Raises
    ------
    CorruptRecordingError
        Truncated header or data section, or a header that cannot be parsed.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        raw = f.read(_ABF1_EXT_HEADER_END)
    sig = raw[:4]
    if sig not in (b"ABF ", b"ABF2"):
        raise CorruptRecordingError(f"{path}: not an ABF file (signature {sig!r}, expected b'ABF ' or b'ABF2')")
    min_header = 2048 if sig == b"ABF " else 512
    if size < min_header:
        raise CorruptRecordingError(f"{path}: truncated ABF header ({size} bytes, at least {min_header} expected)")
    needed = _abf2_extent(raw) if sig == b"ABF2" else _abf1_extent(raw)
    if needed > size:
        raise CorruptRecordingError(
            f"{path}: truncated: the header describes {needed} bytes but the file has {size}")
    try:
        with open(path, "rb") as fb:
            if sig == b"ABF ":
                return _abf1(path, fb, raw, size)
            return _abf2(path, fb, size)
    except CorruptRecordingError:
        raise
    except (struct.error, IndexError, UnicodeDecodeError, ZeroDivisionError, OverflowError, KeyError, ValueError,
            AssertionError, MemoryError, TypeError) as exc:
        raise CorruptRecordingError(f"{path}: ABF header cannot be parsed ({type(exc).__name__}: {exc})") from exc


def _abf1(path: str, fb, raw: bytes, size: int) -> AbfHeader:
    from pyabf.abf1.headerV1 import HeaderV1

    h = HeaderV1(fb)
    warnings: list[str] = []
    vnum = float(h.fFileVersionNumber)
    nch = int(h.nADCNumChannels)
    if not 0 < nch <= 16:
        raise CorruptRecordingError(f"{path}: header says {nch} channels")
    if h.nDataFormat not in (0, 1):
        raise CorruptRecordingError(f"{path}: unknown data format nDataFormat={h.nDataFormat}")
    is_float = h.nDataFormat == 1
    itemsize = 4 if is_float else 2
    data_offset = int(h.lDataSectionPtr) * 512 + int(h.nNumPointsIgnored) * itemsize
    has_ext = data_offset >= _ABF1_EXT_HEADER_END and len(raw) >= _ABF1_EXT_HEADER_END
    fsi = float(h.fADCSampleInterval)  # us between multiplexed samples
    if not (_valid_float(fsi) and fsi > 0):
        raise CorruptRecordingError(f"{path}: fADCSampleInterval = {fsi}")
    synch = float(h.fSynchTimeUnit) if _valid_float(h.fSynchTimeUnit) and h.fSynchTimeUnit > 0 else 0.0
    seq = list(h.nADCSamplingSeq[:nch])
    if len(set(seq)) != nch or min(seq) < 0 or max(seq) > 15:
        warnings.append(f"{path}: nADCSamplingSeq {seq} is not a valid sampling sequence; channels taken in "
                        "order 0..n-1")
        seq = list(range(nch))
    adc_names = struct.unpack_from("10s" * 16, raw, 442)
    adc_units = struct.unpack_from("8s" * 16, raw, 602)
    dac_names = struct.unpack_from("10s" * 4, raw, 1306)
    dac_units = struct.unpack_from("8s" * 4, raw, 1346)
    holding = struct.unpack_from("<4f", raw, 1394)
    if has_ext:
        tg_en = struct.unpack_from("<16h", raw, 4512)
        tg_inst = struct.unpack_from("<16h", raw, 4544)
        tg_mode = struct.unpack_from("<16h", raw, 4768)
        wf_en = struct.unpack_from("<2h", raw, 2296)
        wf_src = struct.unpack_from("<2h", raw, 2300)
        protocol_path = _clean(struct.unpack_from("256s", raw, 4898)[0])
        comment = _clean(struct.unpack_from("128s", raw, 5154)[0]) or _clean(raw[310:366])
        creator_name = _clean(raw[294:310])
        creator = f"{creator_name} {h.creatorVersionString}" if creator_name else None
    else:
        tg_en = tg_inst = tg_mode = wf_en = wf_src = None
        protocol_path = ""
        comment = _clean(raw[310:366])
        creator = _clean(raw[294:310]) or None
        warnings.append(f"{path}: ABF {vnum:.2f} header without the extended section (data at byte "
                        f"{data_offset}); telegraphs, protocol and command waveform are not recorded")
    channels = []
    for i in range(nch):
        # pyabf indexes the scaling arrays by nADCSamplingSeq[i] (the physical ADC)
        p = seq[i]
        te = ti = tm = None
        if tg_en is not None:
            te = int(tg_en[p])
            if te == 1:
                ti, tm = int(tg_inst[p]), int(tg_mode[p])
        if is_float:
            gain, offset = 1.0, 0.0
        else:
            gain = _pyabf_gain(h.fInstrumentScaleFactor[p], h.fSignalGain[p], h.fADCProgrammableGain[p],
                               h.nTelegraphEnable[p], h.fTelegraphAdditGain[p], h.fADCRange, h.lADCResolution)
            offset = float(0 + h.fInstrumentOffset[p] - h.fSignalOffset[p])
        channels.append(AbfChannelFacts(
            name=_clean(adc_names[p]) or f"ch{i}", units=_clean(adc_units[p]), adc=int(p), gain=gain,
            offset=offset, telegraph_enable=te, telegraph_instrument=ti, telegraph_mode=tm,
            access_resistance=None))
    dacs = [AbfDacFacts(name=_clean(dac_names[d]), units=_clean(dac_units[d]), holding=float(holding[d]),
                        waveform_enable=None if wf_en is None or d >= 2 else int(wf_en[d]),
                        waveform_source=None if wf_src is None or d >= 2 else int(wf_src[d]))
            for d in range(4)]
    synch_ptr, synch_n = int(h.lSynchArrayPtr), int(h.lSynchArraySize)
    synch_starts = synch_lengths = None
    if synch_ptr > 0 and 0 < synch_n < 10_000_000 and synch_ptr * 512 + 8 * synch_n <= size:
        arr = np.fromfile(path, dtype="<i4", count=2 * synch_n, offset=synch_ptr * 512).reshape(-1, 2)
        synch_starts, synch_lengths = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
    tag_times, tag_comments = _read_tags(path, int(h.lTagSectionPtr) * 512, 64, int(h.lNumTagEntries), size)
    start_time = h.abfDateTime if int(h.lFileStartDate) != 0 else None
    return _finish(
        path, size, warnings, major=1, version_str=str(h.abfVersionString), version_number=round(vnum, 4),
        op_mode=int(h.nOperationMode), nch=nch, rate=1e6 / (fsi * nch), first_interval=fsi, synch=synch,
        data_offset=data_offset, dtype=np.dtype("<f4" if is_float else "<i2"), n_points=int(h.lActualAcqLength),
        n_episodes=int(h.lActualEpisodes), synch_starts=synch_starts, synch_lengths=synch_lengths,
        ep_interval=None, channels=channels, dacs=dacs, tag_times=tag_times, tag_comments=tag_comments,
        comment=comment, protocol_path=protocol_path, creator=creator, start_time=start_time, has_ext=has_ext)


def _abf2(path: str, fb, size: int) -> AbfHeader:
    from pyabf.abf2.adcSection import ADCSection
    from pyabf.abf2.dacSection import DACSection
    from pyabf.abf2.dataSection import DataSection
    from pyabf.abf2.headerV2 import HeaderV2
    from pyabf.abf2.protocolSection import ProtocolSection
    from pyabf.abf2.synchArraySection import SynchArraySection

    h = HeaderV2(fb)
    ps = ProtocolSection(fb)
    data = DataSection(fb)
    adc = ADCSection(fb)
    dsec = DACSection(fb)
    ssec = SynchArraySection(fb)
    strings = _abf2_strings(fb)
    warnings: list[str] = []
    parts = str(h.abfVersionString).split(".")
    vnum = float(parts[0] + "." + "".join(parts[1:]))
    nch = int(adc._entryCount)
    if not 0 < nch <= 16:
        raise CorruptRecordingError(f"{path}: header says {nch} channels")
    if h.nDataFormat not in (0, 1):
        raise CorruptRecordingError(f"{path}: unknown data format nDataFormat={h.nDataFormat}")
    is_float = h.nDataFormat == 1
    seq_interval = float(ps.fADCSequenceInterval)
    if not (_valid_float(seq_interval) and seq_interval > 0):
        raise CorruptRecordingError(f"{path}: fADCSequenceInterval = {seq_interval}")
    synch = float(ps.fSynchTimeUnit) if _valid_float(ps.fSynchTimeUnit) and ps.fSynchTimeUnit > 0 else 0.0

    def string(k: int) -> str:
        return strings[k].replace("\x00", " ").strip() if 0 <= k < len(strings) else ""

    channels = []
    for i in range(nch):
        te = int(adc.nTelegraphEnable[i])
        ra = float(adc.fTelegraphAccessResistance[i])
        if is_float:
            gain, offset = 1.0, 0.0
        else:
            gain = _pyabf_gain(adc.fInstrumentScaleFactor[i], adc.fSignalGain[i], adc.fADCProgrammableGain[i],
                               te, adc.fTelegraphAdditGain[i], ps.fADCRange, ps.lADCResolution)
            offset = float(0 + adc.fInstrumentOffset[i] - adc.fSignalOffset[i])
        channels.append(AbfChannelFacts(
            name=string(adc.lADCChannelNameIndex[i]) or f"ch{i}", units=string(adc.lADCUnitsIndex[i]),
            adc=int(adc.nADCNum[i]), gain=gain, offset=offset, telegraph_enable=te,
            telegraph_instrument=int(adc.nTelegraphInstrument[i]) if te == 1 else None,
            telegraph_mode=int(adc.nTelegraphMode[i]) if te == 1 else None,
            access_resistance=ra if te == 1 and _valid_float(ra) and ra > 0 else None))
    dacs = [AbfDacFacts(name=string(dsec.lDACChannelNameIndex[d]), units=string(dsec.lDACChannelUnitsIndex[d]),
                        holding=float(dsec.fDACHoldingLevel[d]), waveform_enable=int(dsec.nWaveformEnable[d]),
                        waveform_source=int(dsec.nWaveformSource[d]))
            for d in range(dsec._entryCount)]
    synch_starts = synch_lengths = None
    if ssec._entryCount > 0:
        synch_starts = np.asarray(ssec.lStart, dtype=np.int64)
        synch_lengths = np.asarray(ssec.lLength, dtype=np.int64)
    fb.seek(252)
    tag_block, tag_size, tag_count = struct.unpack("<IIi", fb.read(12))
    tag_times, tag_comments = _read_tags(path, tag_block * 512, tag_size, tag_count, size)
    creator_name = string(h.uCreatorNameIndex)
    start_time = h.abfDateTime if int(h.uFileStartDate) != 0 else None
    return _finish(
        path, size, warnings, major=2, version_str=str(h.abfVersionString), version_number=vnum,
        op_mode=int(ps.nOperationMode), nch=nch, rate=1e6 / seq_interval, first_interval=seq_interval / nch,
        synch=synch, data_offset=int(data._byteStart), dtype=np.dtype("<f4" if is_float else "<i2"),
        n_points=int(data._entryCount), n_episodes=int(h.lActualEpisodes), synch_starts=synch_starts,
        synch_lengths=synch_lengths,
        ep_interval=float(ps.fEpisodeStartToStart) if _valid_float(ps.fEpisodeStartToStart) else None,
        channels=channels, dacs=dacs, tag_times=tag_times, tag_comments=tag_comments,
        comment=string(ps.lFileCommentIndex), protocol_path=string(h.uProtocolPathIndex),
        creator=f"{creator_name} {h.creatorVersionString}" if creator_name else None, start_time=start_time,
        has_ext=True)


def _finish(path, size, warnings, *, major, version_str, version_number, op_mode, nch, rate, first_interval, synch,
            data_offset, dtype, n_points, n_episodes, synch_starts, synch_lengths, ep_interval, channels, dacs,
            tag_times, tag_comments, comment, protocol_path, creator, start_time, has_ext) -> AbfHeader:
    """Sweep layout, time base, tags and checks common to ABF1 and ABF2."""
    if op_mode not in _OP_MODES:
        raise CorruptRecordingError(f"{path}: unknown acquisition mode nOperationMode={op_mode}")
    if n_points < 0 or data_offset <= 0:
        raise CorruptRecordingError(f"{path}: bad data section (offset {data_offset}, {n_points} samples)")
    data_end = data_offset + n_points * dtype.itemsize
    if data_end > size:
        raise CorruptRecordingError(
            f"{path}: truncated: the header says the data section ends at byte {data_end} but the file has "
            f"{size} bytes")
    n_frames = n_points // nch
    if n_points % nch:
        warnings.append(f"{path}: {n_points} samples is not a multiple of {nch} channels; last "
                        f"{n_points % nch} ignored")
    if op_mode == 3 or n_episodes <= 1:
        sweep_frames = [(0, n_frames)]
    elif op_mode == 1:
        if synch_lengths is None or len(synch_lengths) != n_episodes:
            raise CorruptRecordingError(f"{path}: variable-length sweeps without a matching synch array")
        lengths = [int(x) // nch for x in synch_lengths]
        if sum(lengths) > n_frames:
            raise CorruptRecordingError(f"{path}: synch array describes more samples than the data section")
        firsts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int).tolist()
        sweep_frames = list(zip(firsts, lengths))
    else:
        per = n_frames // n_episodes
        if per <= 0:
            raise CorruptRecordingError(f"{path}: {n_episodes} sweeps but only {n_frames} samples per channel")
        if n_frames % n_episodes:
            warnings.append(f"{path}: {n_frames} samples per channel do not divide into {n_episodes} sweeps; "
                            f"{n_frames % n_episodes} trailing samples ignored")
        sweep_frames = [(k * per, per) for k in range(n_episodes)]

    synch_s = (synch if synch > 0 else first_interval) * 1e-6
    if (synch_starts is not None and len(synch_starts) == len(sweep_frames) and len(sweep_frames) > 1
            and np.all(np.diff(synch_starts) > 0)):
        sweep_start_s = [float(x) * synch_s for x in synch_starts]
    elif len(sweep_frames) > 1:
        step = ep_interval if ep_interval and ep_interval > 0 else sweep_frames[0][1] / rate
        sweep_start_s = [k * step for k in range(len(sweep_frames))]
    else:
        sweep_start_s = [0.0]
    tags = [(float(t) * synch_s, _ascii(c), bytes(c).rstrip(b"\x00 ")) for t, c in zip(tag_times, tag_comments)]
    if not (isinstance(start_time, _dt.datetime) and start_time.year > 1900):
        start_time = None
        warnings.append(f"{path}: no valid acquisition date in the header; start_time is None")
    return AbfHeader(
        path=path, major=major, version_str=version_str, version_number=version_number, op_mode=op_mode,
        n_channels=nch, sample_rate_hz=rate, data_offset=data_offset, dtype=dtype, n_points=n_points,
        sweep_frames=sweep_frames, sweep_start_s=sweep_start_s, channels=channels, dacs=dacs, tags=tags,
        comment=comment, protocol=_protocol_name(protocol_path), creator=creator, start_time=start_time,
        synch_unit_us=synch, first_sample_interval_us=first_interval, has_ext_header=has_ext, warnings=warnings,
    )


def op_mode_name(op_mode: int) -> str:
    return _OP_MODES[op_mode]


class AbfCommand:
    """Command waveforms from the ABF epoch table, with the true holding levels.

    Parameters
    ----------
    header : AbfHeader
    factors : list of float
        Per DAC, factor from DAC file units to mV / pA.
    holding : list of float
        Per DAC, true holding level in file units.
    """

    def __init__(self, header: AbfHeader, factors, holding):
        self._h = header
        self._factors = list(factors)
        self._holding = list(holding)
        self._tables: dict[int, object] = {}
        self._abf = None

    def _pyabf(self):
        """The full pyabf header object (built on first use; its epoch code needs it)."""
        if self._abf is None:
            import pyabf

            from ephys_correct.io._recording import CommandUnavailableError

            try:
                abf = pyabf.ABF(self._h.path, loadData=False)
            except Exception as exc:  # pyabf raises bare Exception / ValueError on what it does not support
                raise CommandUnavailableError(f"{self._h.path}: pyabf cannot build the epoch table "
                                              f"({type(exc).__name__}: {exc})") from exc
            if abf.sweepCount != len(self._h.sweep_frames):
                raise CommandUnavailableError(f"{self._h.path}: pyabf sees {abf.sweepCount} sweeps, the header "
                                              f"reader {len(self._h.sweep_frames)}; no command waveform")
            self._abf = abf
        return self._abf

    def available(self, dac: int) -> bool:
        h = self._h
        if not 0 <= dac < len(h.dacs) or not h.has_ext_header or h.op_mode == 1:
            return False
        d = h.dacs[dac]
        if h.major == 1 and dac >= 2:
            return False  # ABF1 stores epoch tables for DAC 0 and 1 only
        if d.waveform_enable and d.waveform_source == 2:
            return False  # stimulus file
        return True

    def waveform(self, sweep: int, dac: int, n: int) -> np.ndarray:
        from ephys_correct.io._recording import CommandUnavailableError

        h = self._h
        if not self.available(dac):
            if not 0 <= dac < len(h.dacs):
                why = f"the file has DACs 0..{len(h.dacs) - 1}"
            elif h.major == 1 and dac >= 2:
                why = "ABF1 stores epoch tables for DAC 0 and 1 only"
            elif h.has_ext_header and h.op_mode != 1:
                why = "the waveform comes from a stimulus file"
            else:
                why = "the header does not describe it"
            raise CommandUnavailableError(f"{h.path}: no command waveform for DAC {dac} ({why})")
        d = h.dacs[dac]
        hold = self._holding[dac]
        if not d.waveform_enable or d.waveform_source == 0:
            out = np.full(n, hold, dtype=np.float64)
        else:
            table = self._tables.get(dac)
            if table is None:
                import pyabf.waveform

                abf = self._pyabf()
                table = pyabf.waveform.EpochTable(abf, dac)
                table.holdingLevel = hold  # pyabf uses fEpochInitLevel for ABF1
                table.epochWaveformsBySweep = table.getEpochWaveformsBySweep(abf)
                self._tables[dac] = table
            out = np.asarray(table.epochWaveformsBySweep[sweep].getWaveform(), dtype=np.float64)
            if len(out) != n:
                fixed = np.full(n, hold, dtype=np.float64)
                m = min(n, len(out))
                fixed[:m] = out[:m]
                out = fixed
        return out * self._factors[dac]
