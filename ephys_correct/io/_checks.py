"""Bounds and plausibility checks of recording headers: every limit the readers enforce.

Two kinds of check live here, and nowhere else:

* **Layout** (:func:`check_abf_layout`), on the raw header bytes *before* any
  header parser runs: every count, entry size and offset the ABF1 fixed header
  or the ABF2 section map declares is checked against the file size and
  against fixed limits.  pyabf's section readers (and neo's AxonIO) allocate
  one Python list element per declared entry before reading any, so a single
  edited count (2**31 entries, 0 bytes per entry, a section at block 0, high
  bits in the 64-bit count) would otherwise cost gigabytes or hours.
* **Plausibility** of the numbers that turn raw samples into physical values
  (gains, offsets, ADC range and resolution, sample interval, synch time
  unit, episode count) and, for files read through neo, of the gains, sample
  rate and sample counts neo derived.  A value that cannot be physical is
  refused: a recording whose traces would be all-NaN, all-zero or scaled by
  1e30 is never returned.

Every failure is a :class:`~ephys_correct.errors.CorruptRecordingError` whose
message names the file, the header field and its value.  The limits are
module constants documented in ``docs/recordings.md`` ("Header checks").
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from ephys_correct.errors import CorruptRecordingError

__all__ = [
    "check_abf_layout",
    "check_sample_interval",
    "check_adc_scaling",
    "check_synch_unit",
    "check_episodes",
    "check_neo_header",
    "check_wcp_header",
    "check_finite_samples",
    "abf1_file_crc",
    "corrupt",
]

BLOCK = 512  #: ABF block size (bytes); section offsets are counted in blocks

# --- limits ---------------------------------------------------------------------------------------
#: ADC channels: ABF_ADCCOUNT = 16 (Axon File Support Pack, abfheadr.h)
MAX_ADC_CHANNELS = 16
#: DAC entries: ABF_DACCOUNT is 4 in ABF1 and Clampex 10/11 write 8 DAC entries in ABF2; 16 leaves room
MAX_DAC_CHANNELS = 16
#: sweeps (lActualEpisodes, synch-array entries): far above any acquisition (the shared files have <= 60)
MAX_SWEEPS = 1_000_000
#: tags (64 bytes each): far above any acquisition (the shared files have <= 4)
MAX_TAGS = 100_000
#: ABF2 epoch and epoch-per-DAC entries (Clampex: 10 epochs x 8 DACs; ABF1: ABF_EPOCHCOUNT = 10)
MAX_EPOCH_ENTRIES = 1024
#: ABF2 user-list entries (ABF_USERLISTCOUNT = 4 in ABF1)
MAX_USER_LISTS = 64
#: ABF2 strings section: bytes pyabf reads (entries x bytes per entry); the shared files use < 16 KB
MAX_STRINGS_BYTES = 4 << 20
#: bytes per entry of any ABF2 section other than the strings (the largest Clampex entry is 769 bytes)
MAX_ENTRY_BYTES = 1 << 16
#: per-channel sample interval, microseconds: 10 MHz (20x the 500 kHz of the fastest Axon digitizer,
#: Digidata 1550B) to 0.1 Hz (no patch-clamp recording samples slower)
MIN_SAMPLE_INTERVAL_US = 0.1
MAX_SAMPLE_INTERVAL_US = 1e7
#: magnitude of each gain factor (V per unit, or dimensionless): 0.5 mV/pA is 5e-4 V/pA or 5e8 V/A;
#: no amplifier/unit combination leaves [1e-12, 1e12]; random bits mostly do (float32 spans 1e+-38)
MIN_GAIN, MAX_GAIN = 1e-12, 1e12
#: offsets (in the channel's units)
MAX_OFFSET = 1e12
#: ADC input range (V): Axon digitizers are +-10 V (+-10.24 V on some); 1 mV..1 kV is the envelope
MIN_ADC_RANGE_V, MAX_ADC_RANGE_V = 1e-3, 1e3
#: ADC resolution (counts for the positive half range): 8- to 25-bit converters (Digidata: 32768)
MIN_ADC_RESOLUTION, MAX_ADC_RESOLUTION = 2 ** 7, 2 ** 24
#: fSynchTimeUnit (microseconds; 0 means "one sample interval")
MAX_SYNCH_UNIT_US = 1e7

#: nOperationMode values whose data are a sequence of episodes that must be counted
EPISODIC_MODES = {1: "event-driven variable-length", 2: "event-driven fixed-length", 4: "high-speed oscilloscope",
                  5: "episodic"}


def corrupt(path: str, field: str, value, why: str) -> CorruptRecordingError:
    """The error for a header *field* of *path* whose *value* is refused because *why*."""
    return CorruptRecordingError(f"{path}: corrupt header: {field} = {_show(value)} ({why})")


def _show(value) -> str:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError, OverflowError):
        return False


# --- ABF layout -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Section:
    name: str
    index: int  # position in the ABF2 section map (16-byte records from byte 76)
    min_entry: int  # bytes the readers read from one entry
    max_entry: int
    max_count: int
    what: str


#: the ABF2 sections that pyabf, neo or this package read; the others are never parsed
ABF2_SECTIONS = (
    _Section("ProtocolSection", 0, 208, MAX_ENTRY_BYTES, 1, "one protocol entry"),
    _Section("ADCSection", 1, 82, MAX_ENTRY_BYTES, MAX_ADC_CHANNELS, f"at most {MAX_ADC_CHANNELS} ADC channels"),
    _Section("DACSection", 2, 132, MAX_ENTRY_BYTES, MAX_DAC_CHANNELS, f"at most {MAX_DAC_CHANNELS} DACs"),
    _Section("EpochSection", 3, 4, MAX_ENTRY_BYTES, MAX_EPOCH_ENTRIES, f"at most {MAX_EPOCH_ENTRIES} epochs"),
    _Section("EpochPerDACSection", 5, 30, MAX_ENTRY_BYTES, MAX_EPOCH_ENTRIES,
             f"at most {MAX_EPOCH_ENTRIES} epoch entries"),
    _Section("UserListSection", 6, 10, MAX_ENTRY_BYTES, MAX_USER_LISTS, f"at most {MAX_USER_LISTS} user lists"),
    _Section("StringsSection", 9, 1, MAX_STRINGS_BYTES, MAX_STRINGS_BYTES, "strings"),
    _Section("DataSection", 10, 2, 4, 2 ** 62, "samples"),
    _Section("TagSection", 11, 64, MAX_ENTRY_BYTES, MAX_TAGS, f"at most {MAX_TAGS} tags"),
    _Section("SynchArraySection", 15, 8, MAX_ENTRY_BYTES, MAX_SWEEPS, f"at most {MAX_SWEEPS} sweeps"),
)
_ABF2_MAP = 76  # byte offset of the section map


def abf2_section_record(raw: bytes, index: int) -> tuple[int, int, int]:
    """(block, bytes per entry, entry count) of ABF2 section *index*: uint32, uint32, int64."""
    return struct.unpack_from("<IIq", raw, _ABF2_MAP + 16 * index)


def check_abf_layout(path: str, raw: bytes, size: int) -> None:
    """Check the counts, sizes and offsets of an ABF header before anything parses it.

    Parameters
    ----------
    path : str
        File path (for messages).
    raw : bytes
        The first bytes of the file (at least the 512-byte ABF2 header or the
        2048-byte ABF1 header; up to 6144).
    size : int
        File size in bytes.

    Raises
    ------
    CorruptRecordingError
        A count above its limit, an entry size outside its bounds, a section
        inside the file header or overlapping another, or a section that
        extends past the end of the file ("truncated or corrupt").
    """
    if raw[:4] == b"ABF2":
        _check_abf2_layout(path, raw, size)
    elif raw[:4] == b"ABF ":
        _check_abf1_layout(path, raw, size)
    else:  # pragma: no cover - read_abf_header checks the signature first
        raise CorruptRecordingError(f"{path}: not an ABF file (signature {raw[:4]!r})")


def _truncated(path: str, end: int, size: int, what: str) -> CorruptRecordingError:
    return CorruptRecordingError(
        f"{path}: truncated or corrupt: the header describes {end} bytes ({what}) but the file has {size}")


def _check_abf2_layout(path: str, raw: bytes, size: int) -> None:
    major = raw[7]
    if major != 2:
        raise corrupt(path, "fFileVersionNumber", ".".join(str(b) for b in raw[7:3:-1]),
                      "an ABF2 signature with a major version other than 2")
    n_episodes, = struct.unpack_from("<I", raw, 12)
    if n_episodes > MAX_SWEEPS:
        raise corrupt(path, "lActualEpisodes", n_episodes, f"limit {MAX_SWEEPS}")
    data_format, = struct.unpack_from("<H", raw, 30)
    if data_format not in (0, 1):
        raise corrupt(path, "nDataFormat", data_format, "0 = int16 or 1 = float32")
    extents = [("file header", 0, BLOCK)]
    for sec in ABF2_SECTIONS:
        block, entry, count = abf2_section_record(raw, sec.index)
        field = f"{sec.name} (section map at byte {_ABF2_MAP + 16 * sec.index})"
        if count < 0 or count > sec.max_count:
            raise corrupt(path, f"{field} entry count", count, sec.what)
        if sec.name == "ProtocolSection" and count != 1:
            raise corrupt(path, f"{field} entry count", count, sec.what)
        if sec.name == "ADCSection" and count < 1:
            raise corrupt(path, f"{field} entry count", count, "at least one ADC channel")
        if count == 0:
            continue  # an empty section is never read
        if block == 0:
            raise corrupt(path, f"{field} block", block, "block 0 is the file header")
        if not sec.min_entry <= entry <= sec.max_entry:
            raise corrupt(path, f"{field} bytes per entry", entry,
                          f"{sec.min_entry}..{sec.max_entry} for {sec.name}")
        if sec.name == "DataSection" and entry != (4 if data_format == 1 else 2):
            raise corrupt(path, f"{field} bytes per entry", entry,
                          f"nDataFormat = {data_format} stores {4 if data_format == 1 else 2}-byte samples")
        if sec.name == "StringsSection" and entry * count > MAX_STRINGS_BYTES:
            raise corrupt(path, f"{field} size", f"{count} x {entry} bytes", f"limit {MAX_STRINGS_BYTES} bytes")
        start = block * BLOCK
        end = start + entry * count
        if end > size:
            raise _truncated(path, end, size, f"{sec.name}: block {block}, {count} entries of {entry} bytes")
        # the strings section is one blob of `entry` bytes (count = number of strings)
        extents.append((sec.name, start, start + entry if sec.name == "StringsSection" else end))
    _check_disjoint(path, extents)


def _check_disjoint(path: str, extents) -> None:
    spans = sorted(extents, key=lambda e: (e[1], e[2]))
    for (n1, s1, e1), (n2, s2, e2) in zip(spans, spans[1:]):
        if s2 < e1:
            raise CorruptRecordingError(
                f"{path}: corrupt header: {n2} (bytes {s2}-{e2}) overlaps {n1} (bytes {s1}-{e1})")


def _check_abf1_layout(path: str, raw: bytes, size: int) -> None:
    def get(fmt: str, offset: int):
        return struct.unpack_from(fmt, raw, offset)[0]

    version = get("<f", 4)
    if not (_finite(version) and 1.0 <= version < 2.0):
        raise corrupt(path, "fFileVersionNumber", version, "ABF1 versions are 1.x")
    op_mode = get("<h", 8)
    if op_mode not in (1, 2, 3, 4, 5):
        raise corrupt(path, "nOperationMode", op_mode, "1..5")
    n_points = get("<i", 10)
    if n_points < 0:
        raise corrupt(path, "lActualAcqLength", n_points, "a sample count")
    ignored = get("<h", 14)
    if ignored < 0:
        raise corrupt(path, "nNumPointsIgnored", ignored, "a sample count")
    n_episodes = get("<i", 16)
    if not 0 <= n_episodes <= MAX_SWEEPS:
        raise corrupt(path, "lActualEpisodes", n_episodes, f"0..{MAX_SWEEPS}")
    data_format = get("<h", 100)
    if data_format not in (0, 1):
        raise corrupt(path, "nDataFormat", data_format, "0 = int16 or 1 = float32")
    nch = get("<h", 120)
    if not 1 <= nch <= MAX_ADC_CHANNELS:
        raise corrupt(path, "nADCNumChannels", nch, f"1..{MAX_ADC_CHANNELS}")
    header_blocks = 2048 // BLOCK  # the ABF1 header is 2048 bytes (6144 with the v1.6 extension)
    data_ptr = get("<i", 40)
    if data_ptr < header_blocks:
        raise corrupt(path, "lDataSectionPtr", data_ptr, f"the data start at block {header_blocks} or later; "
                      f"block {data_ptr} is inside the 2048-byte header")
    item = 4 if data_format == 1 else 2
    extents = [("header", 0, 2048)]
    start = data_ptr * BLOCK
    end = start + (ignored + n_points) * item
    if end > size:
        raise _truncated(path, end, size, f"data section: block {data_ptr}, {ignored} + {n_points} samples of "
                                          f"{item} bytes")
    extents.append(("data section", start, end))
    for name, ptr_field, ptr_at, n_field, n_at, entry, limit in (
            ("tag section", "lTagSectionPtr", 44, "lNumTagEntries", 48, 64, MAX_TAGS),
            ("synch array", "lSynchArrayPtr", 92, "lSynchArraySize", 96, 8, MAX_SWEEPS)):
        ptr, n = get("<i", ptr_at), get("<i", n_at)
        if not 0 <= n <= limit:
            raise corrupt(path, n_field, n, f"0..{limit}")
        if n == 0:
            continue
        if ptr < header_blocks:
            raise corrupt(path, ptr_field, ptr, f"the {name} starts at block {header_blocks} or later")
        start = ptr * BLOCK
        end = start + entry * n
        if end > size:
            raise _truncated(path, end, size, f"{name}: block {ptr}, {n} entries of {entry} bytes")
        extents.append((name, start, end))
    _check_disjoint(path, extents)


#: ABF1 ulFileCRC: CRC-32 (zlib's) of the whole file with these 4 bytes zeroed; 0 = none.  Added in ABF 1.82
#: (abfheadr.h revision notes); verified on every ABF 1.83 file of the pyABF sample set (5 of 5 match)
ABF1_CRC_OFFSET = 5314


def abf1_file_crc(raw: bytes) -> tuple[int, int] | None:
    """(offset, stored CRC-32) of an ABF1 file that stores one, else None.

    Only files of version 1.82 or later whose data start after the 6144-byte
    extended header have the field; pyabf-written v1.3 files keep samples
    there.
    """
    if raw[:4] != b"ABF " or len(raw) < ABF1_CRC_OFFSET + 4:
        return None
    version, = struct.unpack_from("<f", raw, 4)
    data_ptr, = struct.unpack_from("<i", raw, 40)
    stored, = struct.unpack_from("<I", raw, ABF1_CRC_OFFSET)
    if not (_finite(version) and version >= 1.815) or data_ptr * BLOCK < 6144 or stored == 0:
        return None
    return ABF1_CRC_OFFSET, stored


# --- plausibility ---------------------------------------------------------------------------------
def check_sample_interval(path: str, field: str, value_us: float, per_channel_us: float) -> None:
    """Refuse a sample interval that is not finite or outside the documented limits.

    Parameters
    ----------
    path, field : str
        File and header field (for the message).
    value_us : float
        The header value (microseconds).
    per_channel_us : float
        The resulting interval between two samples of one channel.
    """
    if not (_finite(value_us) and value_us > 0):
        raise corrupt(path, field, float(value_us), "a sample interval must be a positive number of microseconds")
    if not MIN_SAMPLE_INTERVAL_US <= per_channel_us <= MAX_SAMPLE_INTERVAL_US:
        raise corrupt(path, field, float(value_us),
                      f"{per_channel_us:g} us between samples of one channel; plausible: "
                      f"{MIN_SAMPLE_INTERVAL_US:g} us (10 MHz) to {MAX_SAMPLE_INTERVAL_US:g} us (0.1 Hz)")


def check_adc_scaling(path: str, channel: int, name: str, *, adc_range: float, resolution: int,
                      gains: dict, offsets: dict) -> None:
    """Refuse ADC scaling that cannot be physical (int16 data only).

    Parameters
    ----------
    path : str
    channel : int
        Channel index (sampling order).
    name : str
        Channel name.
    adc_range : float
        ``fADCRange`` (V).
    resolution : int
        ``lADCResolution`` (counts).
    gains : dict
        Field name -> value of each gain factor that divides the scale
        (``fInstrumentScaleFactor``, ``fSignalGain``, ``fADCProgrammableGain``,
        and ``fTelegraphAdditGain`` when the telegraph is enabled).
    offsets : dict
        Field name -> value of each offset (``fInstrumentOffset``, ``fSignalOffset``).
    """
    if not (_finite(adc_range) and MIN_ADC_RANGE_V <= adc_range <= MAX_ADC_RANGE_V):
        raise corrupt(path, "fADCRange", float(adc_range),
                      f"the ADC input range must be {MIN_ADC_RANGE_V:g}..{MAX_ADC_RANGE_V:g} V")
    if not MIN_ADC_RESOLUTION <= resolution <= MAX_ADC_RESOLUTION:
        raise corrupt(path, "lADCResolution", int(resolution),
                      f"the ADC resolution must be {MIN_ADC_RESOLUTION}..{MAX_ADC_RESOLUTION} counts")
    where = f"channel {channel} {name!r}"
    for field, g in gains.items():
        if not _finite(g) or g == 0:
            raise corrupt(path, f"{field} of {where}", float(g), "a gain must be a finite, non-zero number")
        if not MIN_GAIN <= abs(g) <= MAX_GAIN:
            raise corrupt(path, f"{field} of {where}", float(g),
                          f"a gain of magnitude {MIN_GAIN:g}..{MAX_GAIN:g} is expected")
    for field, o in offsets.items():
        if not (_finite(o) and abs(o) <= MAX_OFFSET):
            raise corrupt(path, f"{field} of {where}", float(o), f"an offset must be finite, |x| <= {MAX_OFFSET:g}")


def check_synch_unit(path: str, value_us: float) -> float:
    """``fSynchTimeUnit`` in microseconds (0: one sample interval); refuse NaN, inf, negative, huge."""
    if not (_finite(value_us) and 0 <= value_us <= MAX_SYNCH_UNIT_US):
        raise corrupt(path, "fSynchTimeUnit", float(value_us),
                      f"0 (one sample interval) or a time unit up to {MAX_SYNCH_UNIT_US:g} us")
    return float(value_us)


def check_episodes(path: str, op_mode: int, n_episodes: int, n_frames: int, *, n_points: int,
                   samples_per_episode: int, synch_count: int) -> None:
    """Refuse an episode count that the rest of the header contradicts.

    Episodic files (``nOperationMode`` 1, 2, 4, 5) with samples must count at
    least one episode.  Fixed-length episodic files (2, 4, 5) store
    ``lActualEpisodes`` x ``lNumSamplesPerEpisode`` samples exactly, and a
    synch array, when there is one, has one entry per episode: both hold in
    every episodic file of the pyABF sample set (66 files, ABF1 and ABF2,
    Clampex 8-11 and pyabf-written).

    Parameters
    ----------
    path : str
    op_mode : int
        ``nOperationMode``.
    n_episodes : int
        ``lActualEpisodes``.
    n_frames : int
        Samples per channel in the data section.
    n_points : int
        Samples in the data section (all channels).
    samples_per_episode : int
        ``lNumSamplesPerEpisode`` (all channels).
    synch_count : int
        Entries of the synch array (0: none).
    """
    if op_mode not in EPISODIC_MODES or n_frames <= 0:
        return
    mode = f"nOperationMode = {op_mode} ({EPISODIC_MODES[op_mode]})"
    if n_episodes < 1:
        raise corrupt(path, "lActualEpisodes", n_episodes, f"{mode} records at least one episode")
    if op_mode != 1 and n_episodes * samples_per_episode != n_points:
        raise corrupt(path, "lActualEpisodes", n_episodes,
                      f"{mode}: {n_episodes} episodes of lNumSamplesPerEpisode = {samples_per_episode} samples "
                      f"are {n_episodes * samples_per_episode} samples, but the data section holds {n_points}")
    if synch_count and synch_count != n_episodes:
        raise corrupt(path, "lActualEpisodes", n_episodes, f"{mode}: the synch array has {synch_count} entries")


# --- WinWCP ---------------------------------------------------------------------------------------
#: WinWCP channels (WinWCP records up to 128 channels)
MAX_WCP_CHANNELS = 128
_WCP_SECTOR = 512


def check_wcp_header(path: str, head: bytes, size: int) -> None:
    """Check the text header of a WinWCP file (the first 1024 bytes) before neo parses it.

    The header is ``KEY=value`` lines (John Dempster's WinWCP format, as
    neo's ``WinWcpRawIO`` reads it): ``NC`` channels, ``NR`` records,
    ``NBA``/``NBD`` analysis/data blocks of 512 bytes per record, ``ADCMAX``
    (the largest ADC count), ``YGn`` (gain of channel n), ``DT`` (sampling
    interval, s).  neo places record *k* at byte ``1024 + k * (1024 + 512 *
    NBD)``.

    Parameters
    ----------
    path : str
    head : bytes
        The first 1024 bytes of the file.
    size : int
        File size in bytes.
    """
    fields = {}
    for line in head.decode("ascii", errors="replace").split("\r\n"):
        key, sep, val = line.partition("=")
        if sep:
            fields[key.strip()] = val.strip()

    def number(key: str, kind=int):
        if key not in fields:
            raise corrupt(path, key, "missing", "a WinWCP header has it")
        text = fields[key].replace(",", ".")
        try:
            return kind(text)
        except ValueError:
            raise corrupt(path, key, fields[key], "not a number") from None

    nc, nr, nba, nbd = number("NC"), number("NR"), number("NBA"), number("NBD")
    if not 1 <= nc <= MAX_WCP_CHANNELS:
        raise corrupt(path, "NC", nc, f"1..{MAX_WCP_CHANNELS} channels")
    if nr < 0:
        raise corrupt(path, "NR", nr, "a record count")
    if nba < 0:
        raise corrupt(path, "NBA", nba, "a block count")
    if nbd < 1:
        raise corrupt(path, "NBD", nbd, "each record holds at least one 512-byte data block")
    adcmax = number("ADCMAX")
    if not 1 <= adcmax <= MAX_ADC_RESOLUTION:
        raise corrupt(path, "ADCMAX", adcmax, f"the largest ADC count is 1..{MAX_ADC_RESOLUTION}")
    if "DT" in fields:
        dt = number("DT", float)
        if not (_finite(dt) and MIN_SAMPLE_INTERVAL_US <= dt * 1e6 <= MAX_SAMPLE_INTERVAL_US):
            raise corrupt(path, "DT", dt, f"a sampling interval of {MIN_SAMPLE_INTERVAL_US:g} us to "
                                          f"{MAX_SAMPLE_INTERVAL_US:g} us")
    for c in range(nc):
        g = number(f"YG{c}", float)
        if not _finite(g) or g == 0:
            raise corrupt(path, f"YG{c} (gain of channel {c} {fields.get(f'YN{c}', '')!r})", g,
                          "a gain must be a finite, non-zero number")
    if nr:
        # neo's layout: record k at 1024 + k * (1024 + 512 NBD); its analysis block (56 bytes read) there,
        # its NP x NC int16 samples at + 512 NBA
        per_channel = (_WCP_SECTOR * nbd) // 2
        per_channel = (per_channel - per_channel % nc) // nc
        last = 1024 + (nr - 1) * (1024 + _WCP_SECTOR * nbd)
        end = last + max(56, _WCP_SECTOR * nba + 2 * per_channel * nc)
        if end > size:
            raise CorruptRecordingError(
                f"{path}: truncated or corrupt: the header describes {end} bytes (NR = {nr} records of NBA = "
                f"{nba} + NBD = {nbd} blocks) but the file has {size}")


# --- neo ------------------------------------------------------------------------------------------
def check_neo_header(io, path: str, size: int) -> None:
    """Check what neo derived from a header: gains, offsets, sample rate, sample counts vs file size.

    Parameters
    ----------
    io : neo RawIO
        Parsed reader.
    path : str
    size : int
        File size in bytes.

    Raises
    ------
    CorruptRecordingError
        A non-finite or zero gain, a non-finite offset, a sample rate outside
        the documented limits, a non-finite segment start time, or more
        sample bytes than the file holds.
    """
    import numpy as np

    sc = io.header["signal_channels"]
    for k in range(len(sc)):
        name, gain, offset = str(sc["name"][k]), float(sc["gain"][k]), float(sc["offset"][k])
        where = f"channel {k} {name!r}"
        if not _finite(gain) or gain == 0:
            raise corrupt(path, f"gain of {where}", gain, "the header's scaling gives a non-finite or zero gain")
        if not _finite(offset):
            raise corrupt(path, f"offset of {where}", offset, "the header's scaling gives a non-finite offset")
    streams = io.header["signal_streams"]
    n_bytes = 0
    for s in range(len(streams)):
        rate = float(io.get_signal_sampling_rate(stream_index=s))
        interval_us = 1e6 / rate if _finite(rate) and rate > 0 else float("nan")
        if not (_finite(interval_us) and MIN_SAMPLE_INTERVAL_US <= interval_us <= MAX_SAMPLE_INTERVAL_US):
            raise corrupt(path, f"sampling rate of stream {s}", rate,
                          f"plausible: {1e6 / MAX_SAMPLE_INTERVAL_US:g} Hz to {1e6 / MIN_SAMPLE_INTERVAL_US:g} Hz")
        mask = sc["stream_id"] == streams["id"][s]
        per_sample = int(sum(np.dtype(d).itemsize for d in sc["dtype"][mask]))
        for seg in range(io.segment_count(0)):
            n = int(io.get_signal_size(block_index=0, seg_index=seg, stream_index=s))
            if n < 0:
                raise corrupt(path, f"samples of segment {seg}", n, "a sample count")
            n_bytes += n * per_sample
            t0 = float(io.get_signal_t_start(block_index=0, seg_index=seg, stream_index=s))
            if not _finite(t0):
                raise corrupt(path, f"start time of segment {seg}", t0, "not a number")
    if n_bytes > size:
        raise CorruptRecordingError(
            f"{path}: truncated or corrupt: the header describes {n_bytes} bytes of samples but the file has "
            f"{size} bytes")


def check_finite_samples(path: str, values, sweep: int, channel: int) -> None:
    """Refuse NaN or infinite samples read from a float-typed data section.

    Integer samples scaled by checked gains are always finite; float32/float64
    samples are stored as such and a corrupt byte can make them NaN or inf.

    Parameters
    ----------
    path : str
    values : numpy.ndarray
        The samples as read (float).
    sweep, channel : int
        Where they come from (for the message).
    """
    import numpy as np

    ok = np.isfinite(values)
    if not ok.all():
        k = int(np.argmin(ok))
        raise CorruptRecordingError(
            f"{path}: corrupt data: sample {k} of sweep {sweep}, channel {channel} is {float(values[k])!r} (the file "
            "stores floating-point samples; a NaN or infinite sample is not a measurement)")
