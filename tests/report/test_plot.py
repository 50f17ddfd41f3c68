"""Figures (ephys_correct.plot): PNG files written, never overwritten unless asked."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

matplotlib.use("Agg")

from ephys_correct.report import plot
from ephys_correct.errors import OutputExistsError, ParameterError  # noqa: E402

from conftest import TEST_DATA  # noqa: E402
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def corrected():
    from ephys_correct.correction.correct import correct_recording

    return correct_recording(str(TEST_DATA / "171116sh_0013.abf"), pipette="internal_k_gluconate",
                             bath="acsf_carbogen_standard", temperature_c=32)


def _png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 5000


def test_plot_sweep(corrected, tmp_path):
    fig = plot.plot_sweep(corrected, 2, path=tmp_path / "s.png")
    _png(tmp_path / "s.png")
    ax = fig.axes[0]
    raw, cor = (line.get_ydata() for line in ax.get_lines())
    # a voltage-clamp current channel: the LJP does not shift currents in whole-cell
    assert (raw == cor).all()
    with pytest.raises(OutputExistsError, match="overwrite"):
        plot.plot_sweep(corrected, 0, path=tmp_path / "s.png")
    plot.plot_sweep(corrected, 0, path=tmp_path / "s.png", overwrite=True)
    assert not list(tmp_path.glob(".*tmp"))


def test_plot_driving_force(corrected, tmp_path):
    from ephys_correct.report.driving_force import driving_force_table

    table = driving_force_table(corrected)
    fig = plot.plot_driving_force(table, ions=["K+", "Cl-"], path=tmp_path / "df.png")
    _png(tmp_path / "df.png")
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["K+", "Cl-"]
    with pytest.raises(ParameterError, match="needs columns"):
        plot.plot_driving_force(table.drop(columns=["ion"]))


def test_plot_plan_scan(tmp_path):
    from ephys_correct.plan import scan_component

    scan = scan_component("internal_k_gluconate", vary="KCl", other="acsf_carbogen_standard", temperature_c=32,
                          n=9, nernst_planck=False)
    fig = plot.plot_plan_scan(scan, solved_mm=7.5, target="E_Cl-=-70 mV", path=tmp_path / "plan.svg")
    text = (tmp_path / "plan.svg").read_text()
    assert text.lstrip().startswith("<?xml") and "svg" in text
    assert len(fig.axes) == 2


# --------------------------------------------------------------------------- titles, single sweeps, suspect units
def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def _red_frame(fig) -> bool:
    return any(matplotlib.colors.same_color(p.get_edgecolor(), "red") for p in fig.patches)


def test_titles_name_file_headstage_statistic(corrected):
    from ephys_correct.report.driving_force import driving_force_table

    fig = plot.plot_sweep(corrected, 2)
    title = fig.axes[0].get_title()
    assert title.startswith("171116sh_0013.abf | headstage 0 | IN 0, sweep 2 of 13: every sample as recorded")
    fig = plot.plot_headstage(corrected, max_points=500)
    title = fig.axes[0].get_title()
    assert title.startswith("171116sh_0013.abf | headstage 0 | sweeps 0, 6, 12 of 13\nas recorded vs LJP-corrected "
                            "(min/max of 80-sample bins drawn)")
    # voltage clamp: the command first (what the LJP changes), raw and corrected; then the current
    assert fig.axes[0].get_ylabel() == "command Cmd 0 (mV)" and fig.axes[1].get_ylabel() == "IN 0 (pA)"
    raw, cor = fig.axes[0].get_lines()[:2]
    assert len(cor.get_ydata()) <= 500
    np.testing.assert_allclose(raw.get_ydata() - cor.get_ydata(), corrected.ljp_mv)
    table = driving_force_table(corrected, statistic="median")
    title = plot.plot_driving_force(table).axes[0].get_title()
    assert title.startswith("171116sh_0013.abf | headstage 0 | driving force V_m - E_rev per ion, per sweep")
    assert "V_m: median over each sweep" in title
    assert not _red_frame(fig) and not any("UNITS SUSPECT" in t for t in _texts(fig))


def test_single_sweep_driving_force_has_a_time_axis(corrected):
    from ephys_correct.report.driving_force import driving_force_table

    table = driving_force_table(corrected, epochs=[("hold", 0.0, 0.01), ("step", 0.2, 0.9)])
    one = table[table["sweep"] == 4]
    fig = plot.plot_driving_force(one, ions=["K+"])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time in the sweep (s)" and "sweep 4" in ax.get_title()
    # one horizontal segment per epoch, over its window
    (k_hold, k_step) = [seg for c in ax.collections for seg in c.get_segments()]
    assert k_hold[:, 0].tolist() == [0.0, 0.01] and k_step[:, 0].tolist() == [0.2, 0.9]
    expected = one[one["ion"] == "K+"]["driving_force_mV"].tolist()
    assert [k_hold[0, 1], k_step[0, 1]] == pytest.approx(expected)
    # a file of one sweep: time, not a one-point sweep axis
    alone = one.assign(sweep=0)
    ax = plot.plot_driving_force(alone).axes[0]
    assert ax.get_xlabel() == "time (s)" and "per ion, sweep 0\n" in ax.get_title()
    # several sweeps and epochs: the sweep axis, one line per ion and epoch
    ax = plot.plot_driving_force(table, ions=["K+"]).axes[0]
    assert ax.get_xlabel() == "sweep" and [ln.get_label() for ln in ax.get_lines()[:2]] == ["K+ (hold)", "K+ (step)"]
    assert "V_m: mean over each epoch" in ax.get_title()


def test_suspect_units_marked_in_red(tmp_path):
    from io_helpers import make_bad_units_abf

    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.report.driving_force import driving_force_table

    cr = correct_recording(str(make_bad_units_abf(tmp_path)), pipette="internal_k_gluconate",
                           bath="acsf_carbogen_standard", temperature_c=32)
    why = plot.suspect_text(cr)
    assert why == "IN 0 is labelled pA in this file"
    table = driving_force_table(cr)
    for fig in (plot.plot_sweep(cr, 0), plot.plot_headstage(cr),
                plot.plot_driving_force(table, units_suspect=why)):
        assert _red_frame(fig)
        marks = [t for ax in fig.axes for t in ax.texts if t.get_text().startswith("UNITS SUSPECT")]
        assert marks and matplotlib.colors.same_color(marks[0].get_color(), "red")
        assert "bad_units.abf | headstage 0 |" in fig.axes[0].get_title()
    # no V_m (the only signal is 'pA'): the driving-force figure says why instead of an empty axis
    assert any(t.startswith("no driving force to draw") for t in _texts(plot.plot_driving_force(table)))


def test_save_headstage_figure(corrected, tmp_path):
    plot.plot_headstage(corrected, sweeps=[1], path=tmp_path / "hs.png")
    _png(tmp_path / "hs.png")
    with pytest.raises(ParameterError, match="no headstage 3"):
        plot.plot_headstage(corrected, 3)


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=3000), st.integers(2, 700))
def test_downsample_minmax_keeps_extremes(values, max_points):
    y = np.array(values)
    t = np.arange(len(y)) * 0.5
    td, yd, size = plot.downsample_minmax(t, y, max_points)
    assert len(yd) <= max(max_points, len(y) if len(y) <= max_points else 0)
    assert yd.max() == y.max() and yd.min() == y.min()  # spikes survive
    assert (np.diff(td) >= 0).all()  # in time order
    idx = (td / 0.5).astype(int)
    assert (y[idx] == yd).all()  # only points of the trace
    assert size == (1 if len(y) <= max_points else -(-len(y) // (max_points // 2)))


def test_downsample_minmax_rejects_bad_input():
    with pytest.raises(ParameterError, match=r"^downsample_minmax: max_points = 1 is less than 2"):
        plot.downsample_minmax(np.arange(3), np.arange(3), 1)
    with pytest.raises(ParameterError, match=r"^downsample_minmax: max_points = 2\.5 is not an integer"):
        plot.downsample_minmax(np.arange(3), np.arange(3), 2.5)
    with pytest.raises(ParameterError, match="same length"):
        plot.downsample_minmax(np.arange(3), np.arange(4), 10)
