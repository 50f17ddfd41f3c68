"""Inputs people have (issue 14, item 6): neo objects, one list of readable formats, folders with links."""

from __future__ import annotations

import os
import struct

import neo
import numpy as np
import pytest
import quantities as pq
from io_helpers import copy_to, local

from ephys_correct.errors import ClampModeError, ParameterError, UnsupportedFormatError
from ephys_correct.io import (
    NOT_READABLE,
    READABLE_EXTENSIONS,
    SUPPORTED_EXTENSIONS,
    list_recordings,
    read_recording,
)
from ephys_correct.io import _formats

VC = local("171116sh_0013.abf")
FOUR = local("pclamp11_4ch.abf")
WCP = local("myokit_wcp-file.wcp")


# --------------------------------------------------------------------------- neo objects in
def test_block_round_trip_keeps_headstages_modes_data_and_tags():
    rec = read_recording(local("2018_11_16_sh_0006.abf"))  # 1 tag
    back = read_recording(rec.to_neo())
    assert back.format == "neo" and back.reader.endswith("objects (in memory)")
    assert back.n_sweeps == rec.n_sweeps and back.sweep_lengths == rec.sweep_lengths
    assert [(c.name, c.units, c.kind, c.headstage) for c in back.channels] == [
        (c.name, c.units, c.kind, c.headstage) for c in rec.channels]
    assert back.clamp_modes == rec.clamp_modes and back.headstages[0].clamp_mode_source == "annotation"
    np.testing.assert_array_equal(back.sweep_data(3, 0), rec.sweep_data(3, 0))
    assert [(t.time_s, t.comment) for t in back.tags] == [(t.time_s, t.comment) for t in rec.tags]
    assert back.sweep_start_s == pytest.approx(rec.sweep_start_s)
    assert len(back.sha256) == 64 and back.sha256 == read_recording(rec.to_neo()).sha256


def test_four_headstages_from_a_block():
    back = read_recording(read_recording(FOUR).to_neo(sweeps=[0, 1]))
    assert [c.headstage for c in back.channels] == [0, 1, 2, 3] and back.n_sweeps == 2


def test_plain_segment_units_from_quantities_and_clamp_mode_rules():
    seg = neo.Segment(name="cell")
    seg.analogsignals.append(neo.AnalogSignal(np.full((50, 1), 2e-10), units="A", sampling_rate=10 * pq.kHz,
                                              name="Im"))
    seg.analogsignals.append(neo.AnalogSignal(np.full((50, 1), -0.07), units="V", sampling_rate=10 * pq.kHz,
                                              name="Vm"))
    rec = read_recording(seg)
    assert [(c.name, c.units, c.kind, c.headstage) for c in rec.channels] == [
        ("Im", "pA", "current", 0), ("Vm", "mV", "membrane_potential", 0)]
    np.testing.assert_allclose(rec.sweep_data(0, "Im"), 200.0)
    np.testing.assert_allclose(rec.sweep_data(0, "Vm"), -70.0)
    assert rec.path == "<neo.Segment 'cell'>" and rec.holding == ()
    with pytest.raises(ClampModeError, match="clamp_mode="):  # Im + Vm, no command information: as today
        rec.clamp_modes
    assert read_recording(seg, clamp_mode="current_clamp").clamp_modes == {0: "current_clamp"}
    # a list of AnalogSignals, one multi-column signal: names from array_annotations
    sig = neo.AnalogSignal(np.zeros((20, 2)), units="mV", sampling_rate=1 * pq.kHz, name="V",
                           array_annotations={"channel_names": np.array(["Vm1", "Vm2"])})
    rec = read_recording([sig])
    assert [c.name for c in rec.channels] == ["Vm1", "Vm2"]
    assert any("are all voltages" in w for w in rec.interpretation_warnings)


def test_inconsistent_segments_and_non_neo_objects_are_refused():
    blk = neo.Block()
    for n in (10, 10):
        seg = neo.Segment()
        seg.analogsignals.append(neo.AnalogSignal(np.zeros((n, 1)), units="pA", sampling_rate=1 * pq.kHz))
        blk.segments.append(seg)
    blk.segments[1].analogsignals[0] = neo.AnalogSignal(np.zeros((10, 1)), units="mV", sampling_rate=1 * pq.kHz)
    with pytest.raises(UnsupportedFormatError, match="segment 1 has other signals"):
        read_recording(blk)
    with pytest.raises(ParameterError, match="neo Block"):
        read_recording(42)
    with pytest.raises(UnsupportedFormatError, match="no AnalogSignal"):
        read_recording(neo.Segment())


# --------------------------------------------------------------------------- one list of formats
def test_one_list_of_formats_for_reader_and_collection(tmp_path):
    from ephys_correct.batch.inputs import DEFAULT_EXTENSIONS, find_recordings

    assert DEFAULT_EXTENSIONS == READABLE_EXTENSIONS == SUPPORTED_EXTENSIONS
    assert set(READABLE_EXTENSIONS).isdisjoint(NOT_READABLE)
    for ext in (*READABLE_EXTENSIONS, *NOT_READABLE, ".txt"):
        (tmp_path / f"f{ext}").write_bytes(b"x")
    found = sorted(os.path.splitext(p.name)[1] for p, _ in find_recordings([tmp_path]))
    assert found == sorted(READABLE_EXTENSIONS)


@pytest.mark.parametrize("ext", READABLE_EXTENSIONS)
def test_every_listed_format_has_a_working_reader(ext):
    """The reader (and what it imports) is present: a listed format is one this installation reads."""
    _, reader, _ = _formats.FORMATS[ext]
    if reader == "pynwb":
        import pynwb  # noqa: F401
        return
    cls = getattr(neo.rawio, reader.replace("IO", "RawIO"), None) or getattr(neo.io, reader)
    io = cls(filename=os.devnull)
    with pytest.raises(Exception) as exc:  # parsing /dev/null fails, but not for a missing package
        io.parse_header()
    assert not isinstance(exc.value, ImportError)


def test_formats_neo_cannot_read_here_are_not_listed(tmp_path):
    # neo's IgorIO needs igor2, CedIO (smrx) needs sonpy: not installed; neo has no CFS or HEKA reader
    (tmp_path / "x.ibw").write_bytes(b"\x00" * 64)
    (tmp_path / "x.smrx").write_bytes(b"\x00" * 64)
    with pytest.raises(ImportError, match="igor2"):
        neo.io.IgorIO(filename=str(tmp_path / "x.ibw")).read_block()
    with pytest.raises(ImportError, match="sonpy"):
        neo.rawio.CedRawIO(filename=str(tmp_path / "x.smrx")).parse_header()
    assert not [n for n in dir(neo.rawio) if "cfs" in n.lower() or "heka" in n.lower()]
    for ext, why in NOT_READABLE.items():
        p = tmp_path / f"rec{ext}"
        p.write_bytes(b"\x00" * 64)
        with pytest.raises(UnsupportedFormatError, match=f"unsupported file type '{ext}'") as exc:
            read_recording(p)
        assert why in str(exc.value)


def _write_edr(path, im_pa, vm_mv, dt_s=1e-4):
    """A minimal WinEDR file (the header keys neo's WinEdrRawIO reads): Im (pA) and Vm (mV), int16."""
    n = len(im_pa)
    lines = ["VER=6.4", "NC=2", "AD=10.0", "ADCMAX=32767", f"NP={2 * n}", "NBH=2048", f"DT={dt_s}"]
    for c, (name, units, scale) in enumerate((("Im", "pA", 10.0), ("Vm", "mV", 10.0))):
        # value = raw * AD / (YCF * YAG * (ADCMAX + 1)); YCF in V per unit
        lines += [f"YN{c}={name}", f"YU{c}={units}", f"YO{c}={c}", f"YCF{c}={scale / 1000}", f"YAG{c}=1",
                  f"YZ{c}=0"]
    header = "\r\n".join(lines).encode("ascii") + b"\r\n"
    raw = np.empty((n, 2), dtype="<i2")
    for c, (vals, scale) in enumerate(((im_pa, 10.0), (vm_mv, 10.0))):
        raw[:, c] = np.round(np.asarray(vals) * (scale / 1000) * 32768 / 10.0)
    path.write_bytes(header.ljust(2048, b"\x00") + raw.tobytes())
    return path


def test_winedr_reads(tmp_path):
    p = _write_edr(tmp_path / "cell.edr", np.full(100, 50.0), np.full(100, -65.0))
    rec = read_recording(p)
    assert rec.format == "WinEDR" and rec.reader.endswith("WinEdrIO")
    assert [(c.name, c.units, c.kind) for c in rec.channels] == [("Im", "pA", "current"),
                                                                  ("Vm", "mV", "membrane_potential")]
    # one ADC step is 10 V / 32768 / (10 mV per unit) = 0.03 units
    np.testing.assert_allclose(rec.sweep_data(0, "Vm"), -65.0, atol=0.031)
    np.testing.assert_allclose(rec.sweep_data(0, "Im"), 50.0, atol=0.031)
    assert rec.sample_rate_hz == pytest.approx(10000.0)


# --------------------------------------------------------------------------- folders and links
def test_folder_listing_reports_links_and_unreadable_entries(tmp_path, monkeypatch):
    root = tmp_path / "data"
    (root / "day1").mkdir(parents=True)
    a = copy_to(root / "day1", "171116sh_0013.abf", "a.abf")
    copy_to(root, "myokit_wcp-file.wcp", "b.wcp")
    other = tmp_path / "elsewhere"
    other.mkdir()
    target = copy_to(other, "2018_11_16_sh_0006.abf", "t.abf")
    (root / "linked.abf").symlink_to(target)  # a link to a file outside: followed and reported
    (root / "again.abf").symlink_to(a)  # a second name for a listed file
    (root / "linked_dir").symlink_to(other, target_is_directory=True)  # not followed
    (root / "broken.abf").symlink_to(tmp_path / "missing.abf")
    (root / "heka.dat").write_bytes(b"DATA")
    (root / "wave.ibw").write_bytes(b"x")
    (root / "notes.txt").write_text("ignored: not a recording format")
    (root / ".hidden.abf").write_bytes(b"x")
    denied = copy_to(root, "171116sh_0013.abf", "denied.abf")
    real_access = os.access
    monkeypatch.setattr(_formats.os, "access", lambda p, m: False if str(p) == str(denied) else real_access(p, m))

    listing = list_recordings(root)
    assert [e.relpath for e in listing.recordings] == ["b.wcp", "day1/a.abf", "linked.abf"]
    assert [e.relpath for e in listing.links] == ["linked.abf"]
    assert listing.links[0].link_target == target.resolve()
    reasons = {e.relpath: e.reason for e in listing.skipped}
    assert set(reasons) == {"again.abf", "broken.abf", "denied.abf", "heka.dat", "linked_dir", "wave.ibw"}
    assert "same file as day1/a.abf (symbolic link)" == reasons["again.abf"]
    assert reasons["broken.abf"].startswith("broken symbolic link")
    assert "symbolic link to the folder" in reasons["linked_dir"] and "not followed" in reasons["linked_dir"]
    assert reasons["denied.abf"] == "permission denied (cannot read)"
    assert reasons["heka.dat"] == NOT_READABLE[".dat"] and reasons["wave.ibw"] == NOT_READABLE[".ibw"]
    # every listed recording reads
    for e in listing.recordings:
        assert read_recording(e.path).n_sweeps > 0
    with pytest.raises(NotADirectoryError):
        list_recordings(a)
    with pytest.raises(FileNotFoundError):
        list_recordings(tmp_path / "nope")


def test_folder_listing_excludes_and_extensions(tmp_path):
    (tmp_path / "out").mkdir()
    copy_to(tmp_path / "out", "171116sh_0013.abf", "x.abf")
    copy_to(tmp_path, "myokit_wcp-file.wcp", "y.wcp")
    listing = list_recordings(tmp_path, exclude=[tmp_path / "out"], extensions=["wcp"])
    assert [e.relpath for e in listing.recordings] == ["y.wcp"] and listing.skipped == ()


def test_magic_names_an_hdf5_file_with_the_wrong_extension(tmp_path):
    p = tmp_path / "cell.abf"
    p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 600)
    with pytest.raises(Exception, match=r"HDF5 \(NWB\)"):
        read_recording(p)
    q = tmp_path / "cell.h5"
    q.write_bytes(struct.pack("8s", b"\x89HDF\r\n\x1a\n") + b"\x00" * 600)
    with pytest.raises(UnsupportedFormatError, match=r"looks like HDF5 \(NWB\)"):
        read_recording(q)
