"""Hostile recording headers: bounded memory and time, refusal of values that cannot be physical.

Every case is a mutated copy of a real file of tests/data written to tmp_path
(tests/data is never modified).  Cases that could exhaust memory if a check
regressed are read in a child process capped in address space and time
(``io_fuzz.ReaderProcess``); the test then asserts the refusal, its message
(path, field, value) and that it came fast and small.  Value checks run
in-process.  The property-based test at the end flips and overwrites header
bytes of the ABF files with a fixed seed; ``scripts/fuzz_abf.py`` runs the
same harness for as long as one likes.

Issue 17 cases (each has a test here): 0 bytes per entry, section at block 0,
high bits in the 64-bit count (ABF2 section map); NaN / 0 / inf gains,
negative ADC resolution, data pointer 1, zero episodes, a 1e-30 us sample
interval, truncation; bit flips in WinWCP/AxoGraph (what can be detected).
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from io_fuzz import (
    ABF1_ADC_FIELDS,
    ABF1_FIELDS,
    ABF2_ADC_FIELDS,
    ABF2_HEADER_FIELDS,
    ABF2_PROTOCOL_FIELDS,
    DEFECTS,
    FIELD_FORMATS,
    INTERESTING_FLOATS,
    INTERESTING_INTS,
    ReaderProcess,
    apply_ops,
    header_extent,
)
from io_helpers import local

from ephys_correct.cli import main
from ephys_correct.errors import CorruptRecordingError, EphysCorrectError
from ephys_correct.io import read_recording
from ephys_correct.io import _checks

ABF2_VC = "171116sh_0013.abf"  # 13 episodes, 1 channel, MultiClamp telegraph enabled
ABF2_4CH = "pclamp11_4ch.abf"  # 10 episodes, 4 channels, no telegraph
ABF1_4CH = "pclamp11_4ch_abf1.abf"  # ABF 1.84 with extended header
ABF1_SAVED = "f1_saved.abf"  # ABF 1.3 written by pyabf (data at byte 2048)
ABF1_TELE = "190619B_0003.abf"  # ABF 1.83, 2 channels, telegraph enabled
ABF_FILES = (ABF2_VC, "2018_11_16_sh_0006.abf", ABF2_4CH, ABF1_4CH, ABF1_SAVED, ABF1_TELE)
WCP = "myokit_wcp-file.wcp"
AXGX = "AxoGraph_X_File.axgx"

#: a normal read of a test file traces a few MiB; a header that makes a reader allocate per declared
#: entry shows up far above this
PEAK_LIMIT_MIB = 64
#: a refusal from the header checks takes milliseconds; a reader that loops over 2**31 entries takes minutes
REFUSAL_SECONDS = 5.0


@pytest.fixture(scope="module")
def reader():
    with ReaderProcess() as r:
        yield r


def mutated(tmp_path: Path, name: str, ops, suffix: str | None = None) -> Path:
    data = local(name).read_bytes()
    p = tmp_path / f"mut_{len(list(tmp_path.iterdir()))}{suffix or Path(name).suffix}"
    p.write_bytes(apply_ops(data, ops))
    return p


def section(index: int, part: str, value):
    return ("section", index, {"block": 0, "bytes": 1, "count": 2}[part], value)


def named(field: str, value, channel: int = 0):
    return ("named", field, channel, value)


def refused_in_child(reader, path: Path, *needles: str) -> dict:
    """The child refuses *path* with CorruptRecordingError naming it and each needle, quickly and small."""
    ans = reader.read(path)
    assert ans["outcome"] == "refused", ans
    assert ans["error_type"] == "CorruptRecordingError", ans
    assert str(path) in ans["message"]
    for n in needles:
        assert n in ans["message"], (n, ans["message"])
    assert ans["peak_mib"] < PEAK_LIMIT_MIB, ans
    assert ans["seconds"] < REFUSAL_SECONDS, ans
    return ans


def refused(path: Path, *needles: str) -> CorruptRecordingError:
    with pytest.raises(CorruptRecordingError) as info:
        read_recording(path)
    msg = str(info.value)
    assert str(path) in msg
    for n in needles:
        assert n in msg, (n, msg)
    return info.value


# ------------------------------------------------------------------------------- the watchdog itself
def test_watchdog_catches_memory_and_time(reader, monkeypatch):
    """An allocation beyond the child's cap is reported as "memory", a stuck read as "hang"; the child restarts."""
    assert reader.read(local(ABF2_VC))["outcome"] == "ok"
    ans = reader.selftest("allocate")  # [None] * 2**31: 16 GiB
    assert ans["outcome"] == "memory" and ans["error_type"] == "MemoryError"
    assert reader.read(local(ABF2_VC))["outcome"] == "ok"  # the same child goes on
    restarts = reader.restarts
    monkeypatch.setattr(reader, "timeout_s", 1.0)
    ans = reader.selftest("spin")
    assert ans["outcome"] == "hang" and reader.restarts == restarts + 1
    assert reader.read(local(ABF2_VC))["outcome"] == "ok"  # a new child


# --------------------------------------------------------------------------- ABF2 section map (memory)
#: sections pyabf allocates per declared entry, with the bytes per entry they need
ABF2_LIST_SECTIONS = {"ADCSection": 1, "DACSection": 2, "EpochSection": 3, "EpochPerDACSection": 5,
                      "UserListSection": 6, "StringsSection": 9, "TagSection": 11, "SynchArraySection": 15}


@pytest.mark.parametrize("sec", sorted(ABF2_LIST_SECTIONS))
@pytest.mark.parametrize("edit", ["0 bytes per entry", "block 0", "high bits in count", "negative count"])
def test_abf2_section_record_edits_fail_fast(reader, tmp_path, sec, edit):
    k = ABF2_LIST_SECTIONS[sec]
    ops = {"0 bytes per entry": [section(k, "bytes", 0), section(k, "count", 2 ** 31 - 1)],
           "block 0": [section(k, "block", 0), section(k, "count", 10 ** 8)],
           "high bits in count": [section(k, "count", (1 << 40) + 5 * 10 ** 7)],
           "negative count": [section(k, "count", -1)]}[edit]
    p = mutated(tmp_path, ABF2_VC, ops)
    refused_in_child(reader, p, sec, "corrupt header")


@pytest.mark.parametrize("sec", sorted(ABF2_LIST_SECTIONS))
def test_abf2_one_entry_at_block_0_or_0_bytes(reader, tmp_path, sec):
    """A plausible count with an impossible block or entry size is refused too."""
    k = ABF2_LIST_SECTIONS[sec]
    refused_in_child(reader, mutated(tmp_path, ABF2_4CH, [section(k, "count", 1), section(k, "block", 0)]),
                     sec, "block 0 is the file header")
    ops = [section(k, "count", 1), section(k, "block", 600), section(k, "bytes", 0)]
    refused_in_child(reader, mutated(tmp_path, ABF2_4CH, ops), sec, "bytes per entry = 0")


def test_abf2_protocol_and_data_records(reader, tmp_path):
    refused_in_child(reader, mutated(tmp_path, ABF2_VC, [section(0, "count", 0)]), "ProtocolSection",
                     "entry count = 0")
    refused_in_child(reader, mutated(tmp_path, ABF2_VC, [section(0, "block", 0)]), "ProtocolSection", "block 0")
    refused_in_child(reader, mutated(tmp_path, ABF2_VC, [section(1, "count", 0)]), "ADCSection",
                     "at least one ADC channel")
    refused_in_child(reader, mutated(tmp_path, ABF2_VC, [section(1, "count", 17)]), "ADCSection",
                     "entry count = 17")
    # data pointer 1: the data section would start inside the protocol section
    refused_in_child(reader, mutated(tmp_path, ABF2_VC, [section(10, "block", 1)]), "DataSection",
                     "overlaps ProtocolSection")
    refused_in_child(reader, mutated(tmp_path, ABF2_VC, [section(10, "bytes", 3)]), "DataSection",
                     "bytes per entry = 3")
    # a float data format over 2-byte samples
    refused_in_child(reader, mutated(tmp_path, ABF2_VC, [named("nDataFormat", 1)]), "DataSection",
                     "nDataFormat = 1 stores 4-byte samples")
    refused_in_child(reader, mutated(tmp_path, ABF2_VC, [named("nDataFormat", 7)]), "nDataFormat = 7")
    refused_in_child(reader, mutated(tmp_path, ABF2_VC, [section(10, "count", 10 ** 9)]), "truncated or corrupt",
                     "DataSection")
    refused_in_child(reader, mutated(tmp_path, ABF2_VC, [named("lActualEpisodes", 2 ** 32 - 1)]),
                     "lActualEpisodes = 4294967295")


def test_abf2_unread_sections_are_not_checked(tmp_path):
    """Sections no reader parses (stats, math, scope, ...) may hold anything."""
    ops = [section(k, part, 2 ** 31 - 1) for k in (4, 7, 8, 12, 13, 14, 16, 17) for part in ("block", "count")]
    rec = read_recording(mutated(tmp_path, ABF2_VC, ops))
    assert rec.n_sweeps == 13


# ------------------------------------------------------------------------------ ABF1 fixed header
@pytest.mark.parametrize("field,value,needle", [
    ("lNumTagEntries", 2 ** 31 - 1, "lNumTagEntries = 2147483647"),
    ("lNumTagEntries", -1, "lNumTagEntries = -1"),
    ("lSynchArraySize", 2 ** 31 - 1, "lSynchArraySize = 2147483647"),
    ("lSynchArraySize", 200_000, "truncated or corrupt"),
    ("lSynchArrayPtr", 1, "lSynchArrayPtr = 1"),
    ("lDataSectionPtr", 1, "lDataSectionPtr = 1"),
    ("lDataSectionPtr", 0, "lDataSectionPtr = 0"),
    ("lDataSectionPtr", 2 ** 31 - 1, "truncated or corrupt"),
    ("lActualAcqLength", 2 ** 31 - 1, "truncated or corrupt"),
    ("lActualAcqLength", -5, "lActualAcqLength = -5"),
    ("nNumPointsIgnored", -1, "nNumPointsIgnored = -1"),
    ("lActualEpisodes", -1, "lActualEpisodes = -1"),
    ("lActualEpisodes", 2 ** 31 - 1, "lActualEpisodes = 2147483647"),
    ("nADCNumChannels", 0, "nADCNumChannels = 0"),
    ("nADCNumChannels", 17, "nADCNumChannels = 17"),
    ("nOperationMode", 9, "nOperationMode = 9"),
    ("nDataFormat", 2, "nDataFormat = 2"),
    ("fFileVersionNumber", float("nan"), "fFileVersionNumber = nan"),
])
def test_abf1_fixed_header_fields(reader, tmp_path, field, value, needle):
    refused_in_child(reader, mutated(tmp_path, ABF1_4CH, [named(field, value)]), needle)


def test_abf1_tags_in_a_file_without_them(reader, tmp_path):
    # pclamp11_4ch_abf1 has no tags: 2**31-1 tags at block 0 was the ABF1 memory bomb (pyabf's HeaderV1 loop)
    refused_in_child(reader, mutated(tmp_path, ABF1_4CH, [named("lNumTagEntries", 2 ** 31 - 1)]),
                     "lNumTagEntries")
    refused_in_child(reader, mutated(tmp_path, ABF1_4CH, [named("lNumTagEntries", 5)]), "lTagSectionPtr = 0")


# --------------------------------------------------------------------------------- physical values
GAINS = ("fInstrumentScaleFactor", "fSignalGain", "fADCProgrammableGain", "fTelegraphAdditGain")


@pytest.mark.parametrize("name", [ABF2_VC, ABF1_TELE])
@pytest.mark.parametrize("field", GAINS)
def test_gain_that_cannot_be_physical(tmp_path, name, field):
    for value in (float("nan"), 0.0, float("inf"), -float("inf"), 1e-30, 3e38):
        p = mutated(tmp_path, name, [named(field, value)])
        stored = float(np.float32(value))  # what the float32 header field holds
        refused(p, f"{field} of channel 0 ", f"= {stored!r}" if math.isfinite(stored) else f"= {stored}")


@pytest.mark.parametrize("name", [ABF2_4CH, ABF1_4CH])
def test_telegraph_gain_is_ignored_when_the_telegraph_is_off(tmp_path, name):
    """pyabf divides by fTelegraphAdditGain only when nTelegraphEnable == 1; garbage there is harmless."""
    rec = read_recording(mutated(tmp_path, name, [named("fTelegraphAdditGain", float("nan"))]))
    ref = read_recording(local(name))
    np.testing.assert_array_equal(rec.sweep_data(0, 0), ref.sweep_data(0, 0))


def test_negative_gain_reads(tmp_path):
    """A negative scale factor inverts the signal (possible in Clampex's lab bench); it is not refused."""
    rec = read_recording(mutated(tmp_path, ABF2_4CH, [named("fInstrumentScaleFactor", -1.0)]))
    ref = read_recording(local(ABF2_4CH))
    np.testing.assert_array_equal(rec.sweep_data(0, 0), -ref.sweep_data(0, 0))


@pytest.mark.parametrize("name", [ABF2_VC, ABF1_4CH])
@pytest.mark.parametrize("field,value,needle", [
    ("lADCResolution", -32768, "lADCResolution = -32768"),
    ("lADCResolution", 0, "lADCResolution = 0"),
    ("lADCResolution", 2 ** 31 - 1, "lADCResolution = 2147483647"),
    ("fADCRange", 0.0, "fADCRange = 0.0"),
    ("fADCRange", -10.0, "fADCRange = -10.0"),
    ("fADCRange", float("nan"), "fADCRange = nan"),
    ("fInstrumentOffset", float("nan"), "fInstrumentOffset of channel 0"),
    ("fSignalOffset", float("inf"), "fSignalOffset of channel 0"),
    ("fSynchTimeUnit", float("nan"), "fSynchTimeUnit = nan"),
    ("fSynchTimeUnit", -12.5, "fSynchTimeUnit = -12.5"),
])
def test_scaling_and_time_fields(tmp_path, name, field, value, needle):
    refused(mutated(tmp_path, name, [named(field, value)]), needle)


@pytest.mark.parametrize("value", [1e-30, 0.0, -50.0, float("nan"), float("inf"), 1e30, 0.01])
def test_sample_interval(tmp_path, value):
    refused(mutated(tmp_path, ABF2_VC, [named("fADCSequenceInterval", value)]), "fADCSequenceInterval")
    # ABF1: fADCSampleInterval is per multiplexed sample (4 channels here)
    refused(mutated(tmp_path, ABF1_4CH, [named("fADCSampleInterval", value)]), "fADCSampleInterval")


def test_sample_interval_limits_are_per_channel(tmp_path):
    # 0.05 us per multiplexed sample x 4 channels = 0.2 us per channel (5 MHz): plausible
    rec = read_recording(mutated(tmp_path, ABF1_4CH, [named("fADCSampleInterval", 0.05)]))
    assert rec.sample_rate_hz == pytest.approx(5e6)
    refused(mutated(tmp_path, ABF1_4CH, [named("fADCSampleInterval", 0.02)]), "0.08 us between samples")
    refused(mutated(tmp_path, ABF2_VC, [named("fADCSequenceInterval", 2e7)]), "fADCSequenceInterval = 20000000.0")


@pytest.mark.parametrize("name", [ABF2_VC, ABF1_4CH, ABF1_SAVED])
def test_zero_episodes_in_episodic_mode(tmp_path, name):
    refused(mutated(tmp_path, name, [named("lActualEpisodes", 0)]), "lActualEpisodes = 0",
            "nOperationMode = 5 (episodic) records at least one episode")


@pytest.mark.parametrize("name,value", [(ABF2_VC, 7), (ABF2_VC, 256), (ABF1_4CH, 9), (ABF1_SAVED, 11)])
def test_episode_count_contradicting_samples_per_episode(tmp_path, name, value):
    refused(mutated(tmp_path, name, [named("lActualEpisodes", value)]), f"lActualEpisodes = {value}",
            "lNumSamplesPerEpisode")


def test_episode_count_contradicting_the_synch_array(tmp_path):
    # 13 episodes of 20000 samples; a 12-entry synch array
    refused(mutated(tmp_path, ABF2_VC, [section(15, "count", 12)]), "the synch array has 12 entries")


def test_gap_free_ignores_the_episode_count(tmp_path):
    ops = [named("nOperationMode", 3), named("lActualEpisodes", 0)]
    rec = read_recording(mutated(tmp_path, ABF2_VC, ops + [section(15, "count", 0)]))
    assert rec.n_sweeps == 1 and rec.sweep_lengths == (260000,)


def test_physical_adc_number(tmp_path):
    refused(mutated(tmp_path, ABF2_4CH, [named("nADCNum", 99, channel=2)]), "nADCNum of channel 2", "= 99")


def test_episode_interval_garbage_is_flagged(tmp_path):
    # used only without a synch array: drop it, then the interval decides the sweep start times
    rec = read_recording(mutated(tmp_path, "2018_11_16_sh_0006.abf",
                                 [section(15, "count", 0), named("fEpisodeStartToStart", float("nan"))]))
    assert any("fEpisodeStartToStart = nan" in w for w in rec.warnings)
    assert rec.sweep_start_s[1] == pytest.approx(2000 / 20000)


#: 171116sh_0013: data 6656..526656, synch array 526848..526952, then padding to 527360 (cutting padding is harmless)
@pytest.mark.parametrize("name,keep", [(ABF2_VC, 526952 - 1), (ABF2_VC, 526656 - 1), (ABF2_VC, 6656 + 100),
                                       (ABF2_VC, 600),
                                       ("2018_11_16_sh_0006.abf", 483 * 512 + 10),
                                       (ABF1_4CH, 637 * 512 + 8 * 5), (ABF1_4CH, 5000), (ABF1_SAVED, 2047)])
def test_truncation(tmp_path, name, keep):
    p = mutated(tmp_path, name, [("truncate", keep)])
    refused(p, "truncated")


def test_float_samples_that_are_not_numbers(tmp_path):
    """A NaN stored in a float32 data section is refused when it is read."""
    data = bytearray(local(ABF2_4CH).read_bytes())
    block, _, count = struct.unpack_from("<IIq", data, 236)
    # rewrite as float32 data: half the samples, 4 bytes each, episodes halved to keep the layout consistent
    struct.pack_into("<IIq", data, 236, block, 4, count // 2)
    struct.pack_into("<H", data, 30, 1)
    pblock, = struct.unpack_from("<I", data, 76)
    spe, = struct.unpack_from("<i", data, pblock * 512 + 22)
    struct.pack_into("<i", data, pblock * 512 + 22, spe // 2)
    n = count // 2
    struct.pack_into(f"<{n}f", data, block * 512, *np.linspace(-1, 1, n, dtype=np.float32))
    struct.pack_into("<f", data, block * 512 + 4 * (3 * 2000 * 4 + 2 * 4 + 1), float("nan"))  # sweep 3, ch 1
    p = tmp_path / "float.abf"
    p.write_bytes(bytes(data))
    rec = read_recording(p)
    rec.sweep_data(2, 1)
    with pytest.raises(CorruptRecordingError, match=r"sample 2 of sweep 3, channel 1 is nan"):
        rec.sweep_data(3, 1)
    with pytest.raises(CorruptRecordingError, match=str(p)):
        rec.to_array()


# ----------------------------------------------------------------------- pyabf errors never escape raw
@pytest.mark.parametrize("ops", [
    [("bytes", 4, b"\xff\xff\xff\xff")],  # ABF1 version NaN: pyabf's HeaderV1 fails on int(nan)
    [named("fFileVersionNumber", 0.5)],
])
def test_pyabf_failures_are_corrupt_recording_errors(tmp_path, ops):
    refused(mutated(tmp_path, ABF1_4CH, ops), "fFileVersionNumber")


def test_info_cli_reports_hostile_files_without_traceback(tmp_path, capsys):
    files = [mutated(tmp_path, ABF2_VC, [section(1, "bytes", 0), section(1, "count", 2 ** 31 - 1)]),
             mutated(tmp_path, ABF1_4CH, [named("lNumTagEntries", 2 ** 31 - 1)]),
             mutated(tmp_path, ABF2_VC, [named("fInstrumentScaleFactor", float("nan"))]),
             mutated(tmp_path, WCP, [("bytes", 0, b"VER=9\r\nXXXX")])]
    rc = main(["info", "--json", *map(str, files), str(local(ABF2_VC))])
    cap = capsys.readouterr()
    assert rc == 1
    rows = json.loads(cap.out)["items"]
    assert [r.get("error_type") for r in rows[:3]] == ["CorruptRecordingError"] * 3
    assert "error" not in rows[-1]
    assert "Traceback" not in cap.err
    for f in files[:3]:
        assert str(f) in cap.err


# ------------------------------------------------------------------------------ WinWCP and AxoGraph
def _wcp_with(tmp_path, key: str, value: str) -> Path:
    data = bytearray(local(WCP).read_bytes())
    head = data[:1024].decode("ascii")
    lines = head.split("\r\n")
    for i, line in enumerate(lines):
        if line.startswith(key + "="):
            lines[i] = f"{key}={value}"
            break
    else:  # pragma: no cover
        raise AssertionError(key)
    new = "\r\n".join(lines).encode("ascii")[:1024].ljust(1024, b"\x00")
    data[:1024] = new
    p = tmp_path / f"{key}_{len(list(tmp_path.iterdir()))}.wcp"
    p.write_bytes(bytes(data))
    return p


@pytest.mark.parametrize("key,value,needle", [
    ("YG0", "0", "YG0 (gain of channel 0 'Im') = 0.0"),
    ("YG0", "nan", "YG0 (gain of channel 0 'Im') = nan"),
    ("YG1", "inf", "YG1 (gain of channel 1 'Vm') = inf"),
    ("YG1", "x", "YG1 = x (not a number)"),
    ("ADCMAX", "0", "ADCMAX = 0"),
    ("ADCMAX", "-32768", "ADCMAX = -32768"),
    ("NBD", "100000", "truncated or corrupt"),
    ("NBD", "0", "NBD = 0"),
    ("NR", "2147483647", "truncated or corrupt"),
    ("NC", "0", "NC = 0"),
    ("NC", "100000", "NC = 100000"),
    ("DT", "1e-30", "DT = 1e-30"),
])
def test_wcp_header_values(reader, tmp_path, key, value, needle):
    """WinWCP's text header is checked before neo parses it; the field is named."""
    p = _wcp_with(tmp_path, key, value)
    refused_in_child(reader, p, needle)


def test_wcp_record_sampling_interval(tmp_path):
    """neo takes the rate from each record's analysis block (SamplingInterval, float32 at byte 20)."""
    data = bytearray(local(WCP).read_bytes())
    for rec_index in range(11):
        struct.pack_into("<f", data, 1024 + rec_index * 2048 + 20, 1e-30)
    p = tmp_path / "rate.wcp"
    p.write_bytes(bytes(data))
    refused(p, "sampling rate of stream 0")


def test_wcp_sample_bit_flips_are_not_detectable(tmp_path):
    """WinWCP has no checksum: a flipped bit in an int16 sample changes one value, and nothing can tell."""
    data = bytearray(local(WCP).read_bytes())
    data[1024 + 1024 + 10] ^= 0x40  # record 0, after its 1024-byte analysis block
    p = tmp_path / "flip.wcp"
    p.write_bytes(bytes(data))
    a, b = read_recording(p), read_recording(local(WCP))
    changed = sum(int(np.count_nonzero(a.sweep_data(0, c) != b.sweep_data(0, c))) for c in (0, 1))
    assert changed == 1  # one sample changed, silently (documented)
    assert not any("corrupt" in w for w in a.warnings)


@pytest.mark.parametrize("offset", [0x14, 0x30, 0x200])
def test_axograph_header_corruption_is_refused(reader, tmp_path, offset):
    ans = reader.read(mutated(tmp_path, AXGX, [("bytes", offset, b"\x7f\xff\xff\xf0")]))
    assert ans["outcome"] in ("refused", "ok"), ans
    if ans["outcome"] == "refused":
        assert ans["error_type"] == "CorruptRecordingError"
    assert ans["peak_mib"] < PEAK_LIMIT_MIB


def test_axograph_string_length_memory(reader, tmp_path):
    """neo's AxoGraph reader reads length-prefixed strings with file.read(length): a corrupt length is refused."""
    data = local(AXGX).read_bytes()
    # the fuzzing find (scripts/fuzz_abf.py --other-formats, seed 5): random bytes in the column header
    ops = [("bytes", 5, bytes.fromhex("18adcbe5a47ba87bc7004b41")), ("bytes", 631, bytes.fromhex("fb7b")),
           ("flip", 278, 0)]
    p = tmp_path / "strlen.axgx"
    p.write_bytes(apply_ops(data, ops))
    ans = reader.read(p)
    assert ans["outcome"] == "refused" and ans["error_type"] == "CorruptRecordingError", ans


# --------------------------------------------------------------------------------- property-based
ABF_DATA = {name: local(name).read_bytes() for name in ABF_FILES}


@st.composite
def header_mutations(draw):
    name = draw(st.sampled_from(ABF_FILES))
    data = ABF_DATA[name]
    hdr = header_extent(data)
    abf2 = data[:4] == b"ABF2"
    fields = (list(ABF2_HEADER_FIELDS) + list(ABF2_PROTOCOL_FIELDS) + list(ABF2_ADC_FIELDS) if abf2
              else list(ABF1_FIELDS) + list(ABF1_ADC_FIELDS))
    offset = st.integers(0, hdr - 1)

    def numeric(fmt_or_field: str):
        is_float = fmt_or_field == "<f" or fmt_or_field.startswith("f")
        return (st.sampled_from(INTERESTING_FLOATS) | st.floats(width=32)) if is_float else \
            (st.sampled_from(INTERESTING_INTS) | st.integers(-2 ** 31, 2 ** 32))

    op = st.one_of(
        st.tuples(st.just("flip"), offset, st.integers(0, 7)),
        st.tuples(st.just("bytes"), offset, st.binary(min_size=1, max_size=16)),
        st.sampled_from(FIELD_FORMATS).flatmap(
            lambda fmt: st.tuples(st.just("field"), offset.map(lambda k: k - k % 2), st.just(fmt), numeric(fmt))),
        st.sampled_from(fields).flatmap(
            lambda f: st.tuples(st.just("named"), st.just(f), st.integers(0, 3), numeric(f))),
        *([st.tuples(st.just("section"), st.sampled_from((0, 1, 2, 3, 5, 6, 9, 10, 11, 15)), st.integers(0, 2),
                     st.sampled_from(INTERESTING_INTS) | st.integers(0, 1 << 20))] if abf2 else []),
    )
    return name, draw(st.lists(op, min_size=1, max_size=4))


@settings(max_examples=100, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=header_mutations())
def test_mutated_headers_read_or_refuse(reader, tmp_path_factory, case):
    """A mutated ABF header gives a Recording whose values are all finite, or an EphysCorrectError.

    Never another exception type, never MemoryError under the child's cap, never a hang; the traced
    memory of a read stays below PEAK_LIMIT_MIB.
    """
    name, ops = case
    data = apply_ops(ABF_DATA[name], ops)
    p = tmp_path_factory.mktemp("fuzz") / f"m{Path(name).suffix}"
    p.write_bytes(data)
    ans = reader.read(p)
    assert ans["outcome"] not in DEFECTS, (name, ops, ans)
    assert ans["outcome"] in ("ok", "refused"), ans
    assert ans["peak_mib"] < PEAK_LIMIT_MIB, (name, ops, ans)
    # command(): pyabf's own ValueError/IndexError are mirrored on purpose (see io_fuzz._probe_commands)
    assert not str(ans.get("command", "")).startswith("exception:"), (name, ops, ans)
    if ans["outcome"] == "refused":
        assert str(p) in ans["message"], ans


def test_limits_are_consistent():
    assert _checks.MIN_SAMPLE_INTERVAL_US < _checks.MAX_SAMPLE_INTERVAL_US
    assert 1e6 / _checks.MIN_SAMPLE_INTERVAL_US >= 20 * 500e3  # 20x the Digidata 1550B's 500 kHz
    assert math.log2(_checks.MAX_ADC_RESOLUTION) == 24
    assert issubclass(CorruptRecordingError, EphysCorrectError)


# ------------------------------------------------------------------------------ stored checksums
def test_abf1_crc_detects_a_flipped_sample_bit(tmp_path):
    """ABF >= 1.82 stores a CRC-32 of the file (ulFileCRC); a bit flip in the samples is caught when hashing."""
    rec = read_recording(local(ABF1_TELE))  # ABF 1.83, CRC 2207151939
    assert rec.verify_checksum() is True
    data = bytearray(local(ABF1_TELE).read_bytes())
    data[16 * 512 + 1001] ^= 0x04  # one bit of one sample
    p = tmp_path / "flip.abf"
    p.write_bytes(bytes(data))
    bad = read_recording(p)  # the header is intact: reading works
    assert np.count_nonzero(bad.to_array() != rec.to_array()) == 1
    with pytest.raises(CorruptRecordingError, match="CRC-32 is .* but its header .* says 2207151939"):
        bad.verify_checksum()
    with pytest.raises(CorruptRecordingError, match=str(p)):
        bad.sha256  # what `correct` records as input_sha256: the same pass refuses the file
    with pytest.raises(CorruptRecordingError):
        bad.with_offsets({0: 1.0}, note="x").verify_checksum()


def test_checksum_absent(tmp_path):
    for name in (ABF2_VC, ABF1_4CH, ABF1_SAVED, WCP, AXGX):
        assert read_recording(local(name)).verify_checksum() is False, name


def test_checksum_field_zeroed_while_hashing_across_block_boundaries(tmp_path, monkeypatch):
    """The 4 CRC bytes count as zeros wherever the read blocks split them."""
    import builtins

    real_open = builtins.open

    class Small:
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            return self.f.read(5315 if n == 1 << 20 else n)  # the first block ends inside the CRC field

        def readinto(self, b):  # the hashing reads into a reused buffer: same short blocks
            data = self.read(len(b))
            b[:len(data)] = data
            return len(data)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

    rec = read_recording(local(ABF1_TELE))
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: Small(real_open(f, *a, **k))
                        if str(f) == rec.path else real_open(f, *a, **k))
    assert rec.verify_checksum() is True


# --------------------------------------------------------------------------- end to end: `correct`
def test_correct_never_reports_nonsense_headers_as_ok(tmp_path, capsys):
    """Issue 17: NaN/zero gains, negative resolution, zero episodes, a 1e-30 us interval, a data pointer of 1
    and a flipped sample bit under a CRC were written with status ok; each is a failed row naming the field."""
    import pandas as pd

    src = tmp_path / "in"
    src.mkdir()
    cases = {
        "nan_gain.abf": (ABF2_VC, [named("fInstrumentScaleFactor", float("nan"))], "fInstrumentScaleFactor"),
        "zero_gain.abf": (ABF2_VC, [named("fSignalGain", 0.0)], "fSignalGain"),
        "inf_gain.abf": (ABF1_TELE, [named("fADCProgrammableGain", float("inf"))], "fADCProgrammableGain"),
        "neg_resolution.abf": (ABF2_VC, [named("lADCResolution", -32768)], "lADCResolution"),
        "zero_episodes.abf": (ABF2_VC, [named("lActualEpisodes", 0)], "lActualEpisodes"),
        "tiny_interval.abf": (ABF2_VC, [named("fADCSequenceInterval", 1e-30)], "fADCSequenceInterval"),
        "data_ptr_1.abf": (ABF1_TELE, [named("lDataSectionPtr", 1)], "lDataSectionPtr"),
        "crc_flip.abf": (ABF1_TELE, [("flip", 16 * 512 + 1001, 2)], "CRC-32"),
    }
    for out_name, (name, ops, _) in cases.items():
        (src / out_name).write_bytes(apply_ops(local(name).read_bytes(), ops))
    (src / "good.abf").write_bytes(local(ABF2_VC).read_bytes())
    out = tmp_path / "out"
    rc = main(["correct", str(src), "--out", str(out), "--jobs", "1", "--pipette", "internal_k_gluconate",
               "--bath", "acsf_carbogen_standard", "--temperature", "32"])
    capsys.readouterr()
    assert rc == 1
    summary = pd.read_csv(out / "summary.csv")
    rows = {Path(f).name: (st_, r) for f, st_, r in zip(summary["file"], summary["status"], summary["reason"])}
    assert rows["good.abf"][0] == "ok"
    for out_name, (_, _, field) in cases.items():
        status, reason = rows[out_name]
        assert status == "failed", (out_name, status)
        assert field in reason, (out_name, reason)


def test_fuzz_script_runs(tmp_path, capsys):
    """scripts/fuzz_abf.py (the long run) works: a few iterations, counts printed, exit 0 without defects."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fuzz_abf", Path(__file__).resolve().parents[2] / "scripts" / "fuzz_abf.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rc = mod.main(["-n", "8", "--seed", "11", "--other-formats", "--out", str(tmp_path / "defects")])
    out = capsys.readouterr().out
    assert "8 mutated files from 9 originals, seed 11" in out
    assert rc == 0 and not (tmp_path / "defects").exists(), out
