"""Corrected traces are streamed to disk (issue 17 item 1): same ``.npz`` as ``numpy.savez``, bounded memory."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from abf_craft import write_abf1_large
from conftest import TEST_DATA
from ephys_correct.batch.run import run_batch
from ephys_correct.correction import membrane
from ephys_correct.correction.correct import correct_recording
from ephys_correct.report import driving_force, traces
from ephys_correct.report.traces import load_corrected_npz, write_corrected_npz

PIPETTE = "internal_k_gluconate"
BATH = "acsf_carbogen_standard"


def _members(path: Path) -> list[tuple]:
    """Everything of a zip member but its timestamp: name, method, sizes, CRC, flags, bytes."""
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, i.compress_type, i.file_size, i.compress_size, i.CRC, i.flag_bits,
                 i.create_version, i.extract_version, i.external_attr, zf.read(i)) for i in zf.infolist()]


def _savez_reference(corrected, dest: Path) -> None:
    """The archive as written before issue 17: the whole arrays, then ``numpy.savez``."""
    rec = corrected.recording
    n_sweeps, n_ch = rec.n_sweeps, len(rec.channels)
    arrays = {}
    data = np.empty((n_sweeps, n_ch, rec.sweep_lengths[0]), dtype=np.float32)
    for s in range(n_sweeps):
        for c in range(n_ch):
            data[s, c] = corrected.sweep_data(s, c)
    arrays["data"] = data
    for sc in corrected.command_corrections:
        if sc.headstage is not None and rec.has_command(sc.index):
            arrays[f"command_dac{sc.index}"] = np.stack(
                [corrected.command(s, sc.index).astype(np.float32) for s in range(n_sweeps)])
    with np.load(dest.with_name("streamed.npz")) as z:  # the same metadata string
        arrays["metadata_json"] = z["metadata_json"]
    np.savez(dest, **arrays)


@pytest.mark.parametrize("name", ["pclamp11_4ch.abf", "171116sh_0013.abf"])
def test_streamed_npz_is_what_numpy_savez_writes(tmp_path, name):
    corrected = correct_recording(str(TEST_DATA / name), pipette=PIPETTE, bath=BATH, temperature_c=32)
    # pieces of 999 samples: every sweep ends in a partial piece
    write_corrected_npz(tmp_path / "streamed.npz", corrected, chunk_samples=999, durable=False)
    _savez_reference(corrected, tmp_path / "reference.npz")
    streamed, reference = _members(tmp_path / "streamed.npz"), _members(tmp_path / "reference.npz")
    assert [m[0] for m in streamed][0] == "data.npy" and [m[0] for m in streamed][-1] == "metadata_json.npy"
    assert streamed == reference
    data, meta = load_corrected_npz(tmp_path / "streamed.npz")
    assert data.shape == (corrected.n_sweeps, len(corrected.channels), meta["sweep_lengths"][0])
    np.testing.assert_array_equal(data[-1, -1], corrected.sweep_data(-1, len(corrected.channels) - 1)
                                  .astype(np.float32))
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def _ragged_corrected(lengths):
    """A stand-in CorrectedRecording with sweeps of different lengths (two channels, one DAC)."""
    def sweep_data(s, c, start=0, stop=None):
        return np.arange(lengths[s], dtype=np.float64)[start:stop] * (c + 1) + 1000 * s + 0.1

    chans = [SimpleNamespace(index=i, name=f"IN {i}", units="mV", kind="membrane_potential", headstage=0,
                             units_suspect=False) for i in range(2)]
    cmd = SimpleNamespace(index=0, name="Cmd 0", units="pA", headstage=0, as_dict=lambda: {"formula": "x"})
    rec = SimpleNamespace(channels=chans, n_sweeps=len(lengths), sweep_lengths=lengths, path="ragged.abf",
                          sample_rate_hz=1000.0, t_start_s=0.0, sweep_start_s=[float(i) for i in range(len(lengths))],
                          has_command=lambda d: d == 0)
    return SimpleNamespace(recording=rec, sweep_data=sweep_data, channel_corrections=(),
                           command_corrections=(cmd,), command=lambda s, d, start=0, stop=None: np.full(lengths[s], -5.0 * s)[start:stop],
                           ljp_mv_by_headstage={0: 15.0}, provenance={"input_sha256": "0" * 64})


def test_ragged_sweeps_streamed_one_member_each(tmp_path):
    lengths = [2500, 700, 3001]
    corrected = _ragged_corrected(lengths)
    write_corrected_npz(tmp_path / "r.npz", corrected, chunk_samples=1000, durable=False)
    data, meta = load_corrected_npz(tmp_path / "r.npz")
    assert meta["layout"] == "sweep_<s>_ch<c>" and sorted(data) == [(s, c) for s in range(3) for c in range(2)]
    for (s, c), y in data.items():
        assert y.dtype == np.float32
        np.testing.assert_array_equal(y, corrected.sweep_data(s, c).astype(np.float32))
    with np.load(tmp_path / "r.npz") as z:
        assert z.files == [f"sweep_{s:05d}_ch{c:02d}" for s in range(3) for c in range(2)] + [
            f"command_{s:05d}_dac0" for s in range(3)] + ["metadata_json"]
        np.testing.assert_array_equal(z["command_00002_dac0"], np.full(3001, -10.0, dtype=np.float32))


def test_wrong_piece_count_is_refused_and_nothing_written(tmp_path):
    corrected = _ragged_corrected([2000])
    full = corrected.sweep_data
    corrected.sweep_data = lambda s, c, start=0, stop=None: full(s, c, start, stop)[:-1] if c else full(s, c, start, stop)
    with pytest.raises(RuntimeError, match="ragged.abf: sweep 0, channel 1: 499 samples read for samples 0-500"):
        write_corrected_npz(tmp_path / "bad.npz", corrected, chunk_samples=500, durable=False)
    corrected = _ragged_corrected([2000])
    corrected.command = lambda s, d, start=0, stop=None: np.zeros(2000)[start:stop][1:]
    with pytest.raises(RuntimeError, match=r"command_dac0: 1996 values for an array of shape \(1, 2000\)"):
        write_corrected_npz(tmp_path / "bad.npz", corrected, chunk_samples=500, durable=False)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- memory of a batch run
CHUNK = 1 << 15  # samples per piece in this test (the default is 1 << 20)


@pytest.mark.parametrize("gapfree", [True, False], ids=["gap-free", "episodic"])
def test_batch_memory_bounded_by_the_chunk_not_the_file(tmp_path, monkeypatch, gapfree):
    """A 24 MB file corrected by run_batch: the traced peak stays a small fraction of the data.

    With pieces of 32 k samples the streamed work needs well under 1 MB; the
    bound (10 % of the file) leaves room for the table and its provenance,
    while any step that holds one of the two channels whole as float32 (100 % of
    the file) or float64 (200 %) fails it.
    """
    monkeypatch.setattr(traces, "CHUNK_SAMPLES", CHUNK)
    monkeypatch.setattr(driving_force, "_CHUNK_SAMPLES", CHUNK)
    monkeypatch.setattr(driving_force, "_BLOCK_SAMPLES", CHUNK)
    monkeypatch.setattr(membrane, "SCAN_SAMPLES", CHUNK)
    path = write_abf1_large(tmp_path / "big.abf", n_sweeps=300, samples=20000, gapfree=gapfree)
    size = path.stat().st_size
    assert size > 24e6
    correct_recording(str(path), pipette=PIPETTE, bath=BATH, temperature_c=32)  # warm the caches (recipes, LJP)
    tracemalloc.start()
    try:
        res = run_batch([path], out_dir=tmp_path / "out", pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.n_failed == 0
    data, meta = load_corrected_npz(tmp_path / "out" / "big.corrected.npz")
    assert data.shape == ((1, 2, 300 * 20000) if gapfree else (300, 2, 20000))
    print(f"traced peak {peak / 1e6:.2f} MB for a {size / 1e6:.1f} MB file")
    assert peak < 0.10 * size, f"traced peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"


def test_long_sweep_plotted_as_its_envelope_read_in_pieces(tmp_path, monkeypatch):
    from ephys_correct.report import plot

    monkeypatch.setattr(plot, "SWEEP_PLOT_MAX_SAMPLES", 1000)
    monkeypatch.setattr(plot, "SWEEP_PLOT_BINS", 64)
    monkeypatch.setattr(plot, "_ENVELOPE_CHUNK_SAMPLES", 1000)  # 3 bins of 313 samples per piece
    corrected = correct_recording(str(TEST_DATA / "171116sh_0013.abf"), pipette=PIPETTE, bath=BATH,
                                  temperature_c=32)
    reads = []
    rec_type = type(corrected.recording)
    read = rec_type.sweep_data

    def spy(self, s, c, *, start=0, stop=None):
        reads.append((start, stop))
        return read(self, s, c, start=start, stop=stop)

    monkeypatch.setattr(rec_type, "sweep_data", spy)
    fig = plot.plot_sweep(corrected, 2)
    assert max(b - a for a, b in reads) == 939
    real = corrected.recording.sweep_data
    raw_line, cor_line = fig.axes[0].get_lines()[:2]
    width = -(-20000 // 64)
    assert len(cor_line.get_ydata()) == 2 * -(-20000 // width)
    y = real(2, 0)
    assert raw_line.get_ydata().min() == y.min() and raw_line.get_ydata().max() == y.max()
    c = corrected.sweep_data(2, 0)
    np.testing.assert_allclose([cor_line.get_ydata().min(), cor_line.get_ydata().max()], [c.min(), c.max()])
    np.testing.assert_allclose(cor_line.get_ydata()[4:6], [c[2 * width:3 * width].min(), c[2 * width:3 * width].max()])
    assert cor_line.get_xdata()[-1] == pytest.approx((20000 // width) * width / 20000)
    assert f"min/max of every {width} samples as recorded vs LJP-corrected" in fig.axes[0].get_title()


@pytest.mark.parametrize("ragged", [False, True])
def test_mapped_npz_equals_the_read_one_without_reading_it(tmp_path, ragged):
    """The HTML report maps the traces (npz_arrays(mmap=True)): same values, no copy in memory."""
    if ragged:
        corrected = _ragged_corrected([2500, 700, 3001])
    else:
        corrected = correct_recording(str(TEST_DATA / "171116sh_0013.abf"), pipette=PIPETTE, bath=BATH,
                                      temperature_c=32)
    path = tmp_path / "t.npz"
    write_corrected_npz(path, corrected, durable=False)
    read, meta = load_corrected_npz(path)
    mapped, meta_m = load_corrected_npz(path, mmap=True)
    assert meta_m == meta
    pairs = [(read[k], mapped[k]) for k in read] if ragged else [(read, mapped)]
    for r, m in pairs:
        assert isinstance(m, np.memmap) and not m.flags.writeable
        np.testing.assert_array_equal(r, m)
    members = traces.npz_arrays(path, mmap=True)
    with np.load(path) as z:
        assert sorted(members) == sorted(z.files)
        for k in z.files:
            np.testing.assert_array_equal(members[k], z[k])
