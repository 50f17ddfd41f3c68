"""Figures (ephys_correct.plot): PNG files written, never overwritten unless asked."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

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
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["K+", "Cl-"]
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
