"""ABF1 / ABF2 header facts (through pyabf's header readers) for the memmap source.

pyabf's header classes (``HeaderV1``; ``HeaderV2`` and the ABF2 section
readers) parse the header.  ``pyabf.ABF`` itself is not built (its strings
parser reads byte by byte and costs more than reading the data): command
waveforms are made from the epoch table by :class:`AbfCommand`, with pyabf's
rules, and ``pyabf.ABF`` is only the fallback for epoch tables it cannot read.
The fields pyabf gets wrong or does not read are read here from the raw bytes:

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
import math
import os
import struct
from dataclasses import dataclass
from pathlib import PureWindowsPath

import numpy as np

from ephys_correct.errors import CorruptRecordingError
from ephys_correct.io import _checks
from ephys_correct.io._recording import CommandUnavailableError

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
    #: epochs of its epoch table that are not "off" (None: not recorded, ABF1 DAC 2/3 or no extended header)
    active_epochs: int | None = None

    @property
    def use(self) -> str | None:
        """``"epochs"``, ``"file"``, ``"none"``, or None when the header does not record it."""
        if self.waveform_enable is None:
            return None
        if self.waveform_enable and self.waveform_source == 2:
            return "file"
        if self.waveform_enable and self.waveform_source == 1:
            if self.active_epochs is None:
                return None
            return "epochs" if self.active_epochs > 0 else "none"
        return "none"


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
    #: what the command waveform needs besides the header facts (see AbfCommand); None: no epoch table
    epochs: dict | None = None
    #: (offset, value) of the CRC-32 of the whole file stored in the header (ABF >= 1.82), or None
    file_crc: tuple[int, int] | None = None


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


def _read_synch(path: str, block: int, count: int, entry_size: int = 8):
    """(starts, lengths) of the synch array (int32 pairs), or (None, None) when there is none.

    The layout checks have bounded *count* and checked that the array lies inside the file.
    """
    if count <= 0 or block <= 0:
        return None, None
    if entry_size == 8:
        pairs = np.fromfile(path, dtype="<i4", count=2 * count, offset=block * 512)
    else:  # only the first 8 bytes of each entry are read (memory: 8 bytes per sweep)
        mm = np.memmap(path, dtype=np.uint8, mode="r", offset=block * 512, shape=(count, entry_size))
        pairs = np.ascontiguousarray(mm[:, :8]).view("<i4")
        del mm
    if pairs.size != 2 * count:  # pragma: no cover - excluded by the layout checks
        raise CorruptRecordingError(f"{path}: synch array ends past the end of the file")
    pairs = pairs.reshape(count, 2)
    return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)


def _episode_interval(path: str, value: float, warnings: list) -> float | None:
    """fEpisodeStartToStart (s); None with a warning when it is not a usable number."""
    value = float(value)
    if _valid_float(value) and value >= 0:
        return value
    warnings.append(f"{path}: fEpisodeStartToStart = {value!r} is not a valid interval; sweeps without a "
                    "synch array are placed back to back")
    return None


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


def _abf2_active_epochs(fb, size: int) -> dict[int, int] | None:
    """DAC -> number of its EpochPerDAC entries whose type is not "off"; None when the section is unreadable."""
    fb.seek(156)  # EpochPerDAC section record
    block, entry_size, count = struct.unpack("<IIi", fb.read(12))
    if count <= 0:
        return {}
    start = block * 512
    if count > 100_000 or entry_size < 6 or start + count * entry_size > size:
        return None
    fb.seek(start)
    blob = fb.read(count * entry_size)
    out: dict[int, int] = {}
    for i in range(count):
        _, dac, kind = struct.unpack_from("<hhh", blob, i * entry_size)
        if kind != 0:
            out[dac] = out.get(dac, 0) + 1
    return out


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
    _checks.check_abf_layout(path, raw, size)  # counts, sizes and offsets, before pyabf allocates anything
    try:
        with open(path, "rb") as fb:
            if sig == b"ABF ":
                h = _abf1(path, fb, raw, size)
                h.file_crc = _checks.abf1_file_crc(raw)
                return h
            return _abf2(path, fb, size)
    except CorruptRecordingError:
        raise
    except (struct.error, IndexError, UnicodeDecodeError, ZeroDivisionError, OverflowError, KeyError, ValueError,
            AssertionError, TypeError) as exc:  # not MemoryError: the layout checks bound every allocation
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
    _checks.check_sample_interval(path, "fADCSampleInterval", fsi, fsi * nch)
    synch = _checks.check_synch_unit(path, h.fSynchTimeUnit)
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
        name = _clean(adc_names[p]) or f"ch{i}"
        if is_float:
            gain, offset = 1.0, 0.0
        else:
            gains = {"fInstrumentScaleFactor": h.fInstrumentScaleFactor[p], "fSignalGain": h.fSignalGain[p],
                     "fADCProgrammableGain": h.fADCProgrammableGain[p]}
            # pyabf divides by the telegraph gain whenever it is enabled; without the extended header the
            # telegraph fields are sample data (pyabf reads them anyway), so the telegraph counts as disabled
            tele_on = int(h.nTelegraphEnable[p]) if has_ext else 0
            if tele_on == 1:
                gains["fTelegraphAdditGain"] = h.fTelegraphAdditGain[p]
            _checks.check_adc_scaling(path, i, name, adc_range=h.fADCRange, resolution=h.lADCResolution,
                                      gains=gains, offsets={"fInstrumentOffset": h.fInstrumentOffset[p],
                                                            "fSignalOffset": h.fSignalOffset[p]})
            gain = _pyabf_gain(h.fInstrumentScaleFactor[p], h.fSignalGain[p], h.fADCProgrammableGain[p],
                               tele_on, h.fTelegraphAdditGain[p], h.fADCRange, h.lADCResolution)
            offset = float(0 + h.fInstrumentOffset[p] - h.fSignalOffset[p])
        channels.append(AbfChannelFacts(
            name=name, units=_clean(adc_units[p]), adc=int(p), gain=gain,
            offset=offset, telegraph_enable=te, telegraph_instrument=ti, telegraph_mode=tm,
            access_resistance=None))
    ep_types = list(h.nEpochType)
    dacs = [AbfDacFacts(name=_clean(dac_names[d]), units=_clean(dac_units[d]), holding=float(holding[d]),
                        waveform_enable=None if wf_en is None or d >= 2 else int(wf_en[d]),
                        waveform_source=None if wf_src is None or d >= 2 else int(wf_src[d]),
                        active_epochs=(None if wf_en is None or d >= 2
                                       else sum(1 for t in ep_types[10 * d:10 * d + 10] if t != 0)))
            for d in range(4)]
    synch_starts, synch_lengths = _read_synch(path, int(h.lSynchArrayPtr), int(h.lSynchArraySize))
    tag_times, tag_comments = _read_tags(path, int(h.lTagSectionPtr) * 512, 64, int(h.lNumTagEntries), size)
    start_time = h.abfDateTime if int(h.lFileStartDate) != 0 else None
    epochs = {"n_episodes": int(h.lActualEpisodes), "float_data": is_float,
              "inter_episode": list(h.nInterEpisodeLevel), "type": list(h.nEpochType),
              "level": list(h.fEpochInitLevel), "level_inc": list(h.fEpochLevelInc),
              "duration": list(h.lEpochInitDuration), "duration_inc": list(h.lEpochDurationInc)}
    return _finish(
        path, size, warnings, epochs=epochs, major=1, version_str=str(h.abfVersionString),
        version_number=round(vnum, 4), op_mode=int(h.nOperationMode), nch=nch, rate=1e6 / (fsi * nch),
        first_interval=fsi, synch=synch,
        data_offset=data_offset, dtype=np.dtype("<f4" if is_float else "<i2"), n_points=int(h.lActualAcqLength),
        n_episodes=int(h.lActualEpisodes), samples_per_episode=int(h.lNumSamplesPerEpisode),
        synch_starts=synch_starts, synch_lengths=synch_lengths, ep_interval=None, channels=channels, dacs=dacs,
        tag_times=tag_times, tag_comments=tag_comments,
        comment=comment, protocol_path=protocol_path, creator=creator, start_time=start_time, has_ext=has_ext)


def _abf2(path: str, fb, size: int) -> AbfHeader:
    from pyabf.abf2.adcSection import ADCSection
    from pyabf.abf2.dacSection import DACSection
    from pyabf.abf2.dataSection import DataSection
    from pyabf.abf2.headerV2 import HeaderV2
    from pyabf.abf2.protocolSection import ProtocolSection

    h = HeaderV2(fb)
    ps = ProtocolSection(fb)
    data = DataSection(fb)
    adc = ADCSection(fb)
    dsec = DACSection(fb)
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
    seq_interval = float(ps.fADCSequenceInterval)  # us between samples of one channel
    _checks.check_sample_interval(path, "fADCSequenceInterval", seq_interval, seq_interval)
    synch = _checks.check_synch_unit(path, ps.fSynchTimeUnit)

    def string(k: int) -> str:
        return strings[k].replace("\x00", " ").strip() if 0 <= k < len(strings) else ""

    channels = []
    for i in range(nch):
        te = int(adc.nTelegraphEnable[i])
        ra = float(adc.fTelegraphAccessResistance[i])
        name = string(adc.lADCChannelNameIndex[i]) or f"ch{i}"
        if not 0 <= adc.nADCNum[i] < _checks.MAX_ADC_CHANNELS:
            raise _checks.corrupt(path, f"nADCNum of channel {i} {name!r}", adc.nADCNum[i],
                                  f"physical ADC 0..{_checks.MAX_ADC_CHANNELS - 1}")
        if is_float:
            gain, offset = 1.0, 0.0
        else:
            gains = {"fInstrumentScaleFactor": adc.fInstrumentScaleFactor[i], "fSignalGain": adc.fSignalGain[i],
                     "fADCProgrammableGain": adc.fADCProgrammableGain[i]}
            if te == 1:  # pyabf divides by the telegraph gain whenever it is enabled
                gains["fTelegraphAdditGain"] = adc.fTelegraphAdditGain[i]
            _checks.check_adc_scaling(path, i, name, adc_range=ps.fADCRange, resolution=ps.lADCResolution,
                                      gains=gains, offsets={"fInstrumentOffset": adc.fInstrumentOffset[i],
                                                            "fSignalOffset": adc.fSignalOffset[i]})
            gain = _pyabf_gain(adc.fInstrumentScaleFactor[i], adc.fSignalGain[i], adc.fADCProgrammableGain[i],
                               te, adc.fTelegraphAdditGain[i], ps.fADCRange, ps.lADCResolution)
            offset = float(0 + adc.fInstrumentOffset[i] - adc.fSignalOffset[i])
        channels.append(AbfChannelFacts(
            name=name, units=string(adc.lADCUnitsIndex[i]),
            adc=int(adc.nADCNum[i]), gain=gain, offset=offset, telegraph_enable=te,
            telegraph_instrument=int(adc.nTelegraphInstrument[i]) if te == 1 else None,
            telegraph_mode=int(adc.nTelegraphMode[i]) if te == 1 else None,
            access_resistance=ra if te == 1 and _valid_float(ra) and ra > 0 else None))
    active = _abf2_active_epochs(fb, size)
    dacs = [AbfDacFacts(name=string(dsec.lDACChannelNameIndex[d]), units=string(dsec.lDACChannelUnitsIndex[d]),
                        holding=float(dsec.fDACHoldingLevel[d]), waveform_enable=int(dsec.nWaveformEnable[d]),
                        waveform_source=int(dsec.nWaveformSource[d]),
                        active_epochs=None if active is None else active.get(d, 0))
            for d in range(dsec._entryCount)]
    fb.seek(316)
    synch_block, synch_size, synch_count = struct.unpack("<IIq", fb.read(16))
    synch_starts, synch_lengths = _read_synch(path, synch_block, synch_count, entry_size=synch_size)
    fb.seek(252)
    tag_block, tag_size, tag_count = struct.unpack("<IIi", fb.read(12))
    tag_times, tag_comments = _read_tags(path, tag_block * 512, tag_size, tag_count, size)
    creator_name = string(h.uCreatorNameIndex)
    start_time = h.abfDateTime if int(h.uFileStartDate) != 0 else None
    epochs = {"n_episodes": int(h.lActualEpisodes), "float_data": is_float,
              "inter_episode": list(dsec.nInterEpisodeLevel), "active_dac": int(ps.nActiveDACChannel)}
    return _finish(
        path, size, warnings, epochs=epochs, major=2, version_str=str(h.abfVersionString), version_number=vnum,
        op_mode=int(ps.nOperationMode), nch=nch, rate=1e6 / seq_interval, first_interval=seq_interval / nch,
        synch=synch, data_offset=int(data._byteStart), dtype=np.dtype("<f4" if is_float else "<i2"),
        n_points=int(data._entryCount), n_episodes=int(h.lActualEpisodes),
        samples_per_episode=int(ps.lNumSamplesPerEpisode), synch_starts=synch_starts,
        synch_lengths=synch_lengths,
        ep_interval=_episode_interval(path, ps.fEpisodeStartToStart, warnings),
        channels=channels, dacs=dacs, tag_times=tag_times, tag_comments=tag_comments,
        comment=string(ps.lFileCommentIndex), protocol_path=string(h.uProtocolPathIndex),
        creator=f"{creator_name} {h.creatorVersionString}" if creator_name else None, start_time=start_time,
        has_ext=True)


def _finish(path, size, warnings, *, epochs, major, version_str, version_number, op_mode, nch, rate, first_interval,
            synch, data_offset, dtype, n_points, n_episodes, samples_per_episode, synch_starts, synch_lengths,
            ep_interval, channels, dacs, tag_times, tag_comments, comment, protocol_path, creator, start_time,
            has_ext) -> AbfHeader:
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
    _checks.check_episodes(path, op_mode, n_episodes, n_frames, n_points=n_points,
                           samples_per_episode=samples_per_episode,
                           synch_count=0 if synch_starts is None else len(synch_starts))
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
        epochs=epochs,
    )


def op_mode_name(op_mode: int) -> str:
    return _OP_MODES[op_mode]


#: pyabf's names of the epoch types (``pyabf.waveform.Epoch.epochTypeStr``); others are "Unknown"
_EPOCH_TYPES = {1: "Step", 2: "Ramp", 3: "Pulse", 4: "Tri", 5: "Cos", 7: "BiPhsc"}
_EPOCH_ENTRY = struct.Struct("<hhhffiiii")  # ABF2 EpochPerDAC entry: the 30 bytes pyabf reads


@dataclass
class _EpochPlan:
    """One DAC's epoch table, parsed once per file: what pyabf's ``EpochTable`` holds."""

    epochs: list  # (type name, level, level inc, duration, duration inc, pulse period, pulse width), "Off" removed
    return_to_hold: bool  # pyabf's name for nInterEpisodeLevel != 0 (the last level carries into the next sweep)
    n_points: int  # pyabf's sweepPointCount


class AbfCommand:
    """Command waveforms from the ABF epoch table, with the true holding levels.

    The waveform is pyabf's ``sweepC`` (``pyabf.waveform.EpochTable`` /
    ``EpochSweepWaveform.getWaveform``) with the holding level replaced by the
    true one (pyabf uses ``fEpochInitLevel`` for ABF1), but the epoch table is
    read once per file from the header (ABF1: HeaderV1's epoch arrays; ABF2:
    the EpochPerDAC section, read on first use) instead of building a full
    ``pyabf.ABF``, and a sweep is built without stepping through every sweep.
    Step and ramp epochs are filled here (the same ``numpy`` calls as pyabf);
    a sweep with any other epoch type, or with epochs pyabf would not lay out
    inside the sweep, is handed to pyabf's ``EpochSweepWaveform`` with the same
    epoch list.  Files whose epoch table cannot be read that way (ABF1 float
    data, which pyabf refuses; unreadable epoch sections; more epochs than
    digital-output entries on the active DAC) take the old path through
    ``pyabf.ABF``, errors included.

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
        self.ranges = True  # waveform() builds a sample range without the rest of the sweep
        self._factors = list(factors)
        self._holding = list(holding)
        self._tables: dict[int, object] = {}
        self._plans: dict[int, _EpochPlan | None] = {}
        self._abf2_epochs = None  # (EpochPerDAC entries, EpochSection count), read on first use
        self._abf = None

    def _pyabf(self):
        """The full pyabf header object (the fallback path; built on first use)."""
        if self._abf is None:
            import pyabf


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

    # ------------------------------------------------------------ epoch table
    def _read_abf2_epochs(self):
        """EpochPerDAC entries as pyabf reads them, and the EpochSection entry count; None if unreadable."""
        if self._abf2_epochs is None:
            with open(self._h.path, "rb") as f:
                f.seek(124)
                info = f.read(48)
                if len(info) < 48:
                    return None
                _, _, n_digital = struct.unpack_from("<IIi", info, 0)
                block, entry_size, count = struct.unpack_from("<IIi", info, 32)
                count = max(count, 0)
                if count > 100_000:
                    return None
                start = block * 512
                need = (count - 1) * entry_size + _EPOCH_ENTRY.size if count else 0
                f.seek(start)
                blob = f.read(need)
            if len(blob) < need:
                return None
            entries = [_EPOCH_ENTRY.unpack_from(blob, i * entry_size) for i in range(count)]
            self._abf2_epochs = (entries, n_digital)
        return self._abf2_epochs

    def _plan(self, dac: int) -> _EpochPlan | None:
        """The epoch table of *dac* (cached); None when the pyabf path must be used."""
        if dac in self._plans:
            return self._plans[dac]
        plan = None
        h = self._h
        e = h.epochs
        n_sweeps = len(h.sweep_frames)
        # pyabf's sweepCount and sweepPointCount
        n_episodes = None if e is None else e["n_episodes"]
        if n_episodes is not None and h.op_mode == 3:
            n_episodes = 1
        if n_episodes == 0:
            n_episodes = 1
        if e is not None and n_episodes == n_sweeps and not (h.major == 1 and e["float_data"]):
            n_points = int(h.n_points / n_sweeps / h.n_channels)
            epochs = None
            if h.major == 1 and dac <= 1:
                sl = slice(10 * dac, 10 * dac + 10)
                epochs = list(zip(e["type"][sl], e["level"][sl], e["level_inc"][sl], e["duration"][sl],
                                  e["duration_inc"][sl], [0] * 10, [0] * 10))
            elif h.major == 2:
                read = self._read_abf2_epochs()
                if read is not None:
                    entries, n_digital = read
                    # (num, dac, type, level, level inc, duration, duration inc, period, width)
                    mine = [x[2:] for x in entries if x[1] == dac]
                    if dac != e["active_dac"] or len(mine) <= n_digital:  # pyabf indexes the digital outputs
                        epochs = mine
            if epochs is not None:
                epochs = [(_EPOCH_TYPES.get(t, "Unknown"), *rest) for t, *rest in epochs if t != 0]
                plan = _EpochPlan(epochs=epochs, return_to_hold=bool(e["inter_episode"][dac]), n_points=n_points)
        self._plans[dac] = plan
        return plan

    def _sweep_from_plan(self, plan: _EpochPlan, sweep: int, hold: float, lo: int = 0,
                         hi: int | None = None) -> np.ndarray:
        """pyabf's ``getEpochWaveformsBySweep`` (for one sweep) + ``getWaveform``, with holding level *hold*.

        Samples *lo*..*hi* of it (default: all); steps and ramps are filled only where they overlap
        that range (a long gap-free sweep is synthesized piece by piece).
        """
        n = plan.n_points
        hi = n if hi is None else hi
        epochs = plan.epochs
        # the level a sweep starts at: the last epoch level of the previous sweep (nInterEpisodeLevel) or holding
        if plan.return_to_hold and sweep > 0 and epochs:
            last = epochs[-1]
            start_level = last[1] + last[2] * (sweep - 1)
        else:
            start_level = hold
        pre = int(n / 64)
        segs = [(0, pre, start_level, "Step", 0, 0)]
        position = pt2 = pre
        level = hold
        for kind, lev, lev_inc, dur, dur_inc, period, width in epochs:
            pt1, pt2 = position, position + (dur + dur_inc * sweep)
            level = lev + lev_inc * sweep
            segs.append((pt1, pt2, level, kind, width, period))
            position = pt2
        segs.append((pt2, n, level if plan.return_to_hold else hold, "Step", 0, 0))

        if all(s[3] in ("Step", "Ramp") and 0 <= s[0] <= s[1] <= n for s in segs) and 0 <= lo <= hi <= n:
            out = np.empty(hi - lo, dtype=np.float64)  # the segments tile [0, n)
            before = start_level
            for p1, p2, lev, kind, _, _ in segs:
                a, b = max(p1, lo), min(p2, hi)
                if a < b:
                    if kind == "Step":
                        out[a - lo:b - lo] = lev
                    else:
                        out[a - lo:b - lo] = np.linspace(before, lev, p2 - p1)[a - p1:b - p1]
                before = lev
            return out
        # anything else: pyabf's own synthesis of the same epoch list.  pyabf allocates each epoch before
        # placing it; an epoch longer than the sweep can never be placed (pyabf raises ValueError), so it is
        # refused here before a header-sized duration allocates gigabytes
        for p1, p2, *_ in segs:
            if p2 - p1 > n:
                raise ValueError(f"an epoch spans samples {p1}..{p2} of a {n}-sample sweep")
        from pyabf.waveform import _DIGITAL_OUTPUT_COUNT, EpochSweepWaveform

        ep = EpochSweepWaveform()
        for p1, p2, lev, kind, width, period in segs:
            ep.addEpoch(p1, p2, lev, kind, width, period, [0] * _DIGITAL_OUTPUT_COUNT)
        return np.asarray(ep.getWaveform(), dtype=np.float64)[lo:hi]

    def _sweep_from_pyabf(self, sweep: int, dac: int, hold: float) -> np.ndarray:
        """The old path: pyabf's epoch table from a full ``pyabf.ABF``."""
        table = self._tables.get(dac)
        if table is None:
            import pyabf.waveform

            abf = self._pyabf()
            table = pyabf.waveform.EpochTable(abf, dac)
            table.holdingLevel = hold  # pyabf uses fEpochInitLevel for ABF1
            table.epochWaveformsBySweep = table.getEpochWaveformsBySweep(abf)
            self._tables[dac] = table
        wave = table.epochWaveformsBySweep[sweep]
        n = wave.p2s[-1] if wave.p2s else 0
        for p1, p2 in zip(wave.p1s, wave.p2s):  # as in _sweep_from_plan: pyabf would allocate, then raise
            if p2 - p1 > n:
                raise ValueError(f"an epoch spans samples {p1}..{p2} of a {n}-sample sweep")
        return wave.getWaveform()

    # ------------------------------------------------------------------- API
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

    def steps(self, sweep: int, dac: int, n: int) -> list[tuple[int, int, float]] | None:
        """The waveform of :meth:`waveform` as constant pieces ``(i0, i1, value)`` tiling ``[0, n)``.

        Same values as :meth:`waveform` (the same level x factor product), without building the
        array.  None when the waveform is not a sequence of steps (a ramp, a pulse train, pyabf's
        own synthesis, a length that differs from *n*, a non-finite level) or is unavailable:
        the caller then uses :meth:`waveform`.
        """
        cache = self.__dict__.setdefault("_steps", {})
        key = (sweep, dac, n)
        if key not in cache:
            cache[key] = self._steps_of(sweep, dac, n)
        hit = cache[key]
        return None if hit is None else list(hit)

    def _steps_of(self, sweep: int, dac: int, n: int) -> tuple[tuple[int, int, float], ...] | None:
        if not self.available(dac):
            return None
        d = self._h.dacs[dac]
        hold = self._holding[dac]
        factor = self._factors[dac]
        if not d.waveform_enable or d.waveform_source == 0:
            pieces = [(0, n, float(hold))]
        else:
            plan = self._plan(dac)
            if plan is None or plan.n_points != n:
                return None
            epochs = plan.epochs
            if plan.return_to_hold and sweep > 0 and epochs:
                last = epochs[-1]
                start_level = last[1] + last[2] * (sweep - 1)
            else:
                start_level = hold
            pre = int(n / 64)
            pieces = [(0, pre, start_level)]
            position = pt2 = pre
            level = hold
            for kind, lev, lev_inc, dur, dur_inc, _period, _width in epochs:
                if kind != "Step":
                    return None
                pt1, pt2 = position, position + (dur + dur_inc * sweep)
                level = lev + lev_inc * sweep
                pieces.append((pt1, pt2, level))
                position = pt2
            pieces.append((pt2, n, level if plan.return_to_hold else hold))
            if not all(0 <= a <= b <= n for a, b, _ in pieces):
                return None
            pieces = [(int(a), int(b), float(v)) for a, b, v in pieces]
        out = []
        for a, b, v in pieces:
            if a == b:
                continue
            if factor != 1.0:
                v = float(np.float64(v) * factor)  # as waveform's out *= factor
            if not math.isfinite(v):
                return None
            out.append((a, b, v))
        return tuple(out)

    def waveform(self, sweep: int, dac: int, n: int, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Samples *lo*..*hi* (default all *n*) of the command of *dac* in *sweep*."""
        h = self._h
        hi = n if hi is None else hi
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
            out = np.full(hi - lo, hold, dtype=np.float64)
        else:
            plan = self._plan(dac)
            out = None
            if plan is not None and plan.n_points == n and (lo, hi) != (0, n):
                out = self._sweep_from_plan(plan, sweep, hold, lo, hi)
                if len(out) != hi - lo:  # pyabf laid the epochs out differently: build the sweep
                    out = None
            if out is None:
                out = self._sweep_from_plan(plan, sweep, hold) if plan is not None else \
                    self._sweep_from_pyabf(sweep, dac, hold)
                out = np.asarray(out, dtype=np.float64)
                if len(out) != n:
                    fixed = np.full(n, hold, dtype=np.float64)
                    m = min(n, len(out))
                    fixed[:m] = out[:m]
                    out = fixed
                if (lo, hi) != (0, n):
                    out = out[lo:hi].copy()
        # out is a fresh array: scale it in place (a second sweep-long temporary costs page faults per call)
        factor = self._factors[dac]
        if factor != 1.0:
            out *= factor
        return out
