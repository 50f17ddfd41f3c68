"""``ephys-correct demo``: the whole workflow on the bundled recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyabf

import ephys_correct
from ephys_correct.cli import main
from ephys_correct.potentials.ljp import liquid_junction_potential


EXAMPLE = Path(ephys_correct.__file__).parent / "data" / "examples" / "17o05028_ic_steps.abf"


def test_demo_runs_and_is_rerunnable(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    v_l = float(liquid_junction_potential("internal_k_gluconate", "acsf_carbogen_standard", temperature_c=32))
    assert f"Henderson {v_l:+.2f} mV" in text and "Nernst-Planck" in text
    assert "Reversal potentials" in text and "Cl-" in text
    # sweep 0 of the bundled recording averages -75.93 mV as recorded (MANIFEST), current step included;
    # the demo shows the baseline before the step (pyabf's command waveform: its first change)
    abf = pyabf.ABF(str(EXAMPLE))
    k = int(np.flatnonzero(abf.sweepC != abf.sweepC[0])[0])
    baseline = float(abf.sweepY[:k].mean())
    assert -45 < baseline < -40
    assert "LJP-corrected membrane potential" in text and f"{baseline - v_l:.2f}" in text
    assert f"{-75.9253 - v_l:.2f}" not in text
    for name in ("summary.csv", "ljp.csv", "reversal_potentials.csv", "17o05028_ic_steps.driving_force.csv",
                 "17o05028_ic_steps.corrected.npz", "17o05028_ic_steps.sweep0.png"):
        assert (out / name).is_file(), name
    stamp = (out / "ljp.csv").stat().st_mtime_ns
    assert main(["demo", "--out", str(out)]) == 0
    assert "kept from an earlier demo" in capsys.readouterr().out
    assert (out / "ljp.csv").stat().st_mtime_ns == stamp
    assert main(["demo", "--out", str(out), "--force"]) == 0
    assert "kept" not in capsys.readouterr().out


def test_demo_default_folder(tmp_cwd, capsys):
    assert main(["demo"]) == 0
    assert (tmp_cwd / "demo_output" / "summary.csv").is_file()
