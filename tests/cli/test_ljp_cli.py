"""``ephys-correct ljp``: output, sign wording, JSON, errors (exit status 1)."""

from __future__ import annotations

import json

import pytest

from ephys_correct.cli import main
from ephys_correct.cli.cmd_ljp import whole_cell_sentence

PIP = "K=145,Na=13,Cl=10,gluconate=145,Mg=1,HEPES-=5"
BATH = "K=2.8,Na=145,Cl=148.8,Mg=2,Ca=1,HEPES-=5"


def test_text_output_henderson(capsys):
    rc = main(["ljp", PIP, BATH, "--temperature", "20"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "V_L = +15.61 mV  (bath relative to pipette)" in out
    assert "true Vm = measured - 15.61 mV" in out
    assert "measured -60.00 mV -> -75.61 mV" in out
    assert "reads -15.61 mV" in out  # direct measurement reads -V_L
    # per-ion contributions, largest first
    lines = [ln for ln in out.splitlines() if ln.startswith(("K+", "Cl-", "HEPES-"))]
    assert lines[0].startswith("Cl-") and lines[0].split()[-1] == "15.307"
    assert any(ln.startswith("HEPES-") and ln.split()[-1] == "0.000" for ln in lines)


def test_both_methods_and_difference(capsys):
    rc = main(["ljp", PIP, BATH, "-T", "20", "--method", "both"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "Henderson liquid junction potential at 20 degC" in out
    assert "Nernst-Planck liquid junction potential at 20 degC" in out
    assert "V_L = +16.05 mV" in out
    assert "Nernst-Planck - Henderson = +0.443 mV" in out


def test_json_output(capsys):
    rc = main(["ljp", PIP, BATH, "--temperature", "20", "--method", "nernst-planck", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert doc["schema_version"] == 1 and doc["command"] == "ljp" and doc["difference_mV"] is None
    d = doc["results"]["nernst-planck"]
    assert d["method"] == "nernst-planck"
    assert d["ljp_mV"] == pytest.approx(16.0509, abs=5e-4)
    assert d["whole_cell"].startswith("whole-cell / outside-out: true Vm = measured - 16.05 mV")
    assert {i["name"] for i in d["ions"]} >= {"K+", "gluconate-", "Ca2+"}
    assert d["solver"]["error_estimate_mV"] <= 1e-4
    rc = main(["ljp", PIP, BATH, "-T", "20", "--method", "both", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert d["difference_mV"] == pytest.approx(0.443, abs=0.001)
    assert d["results"]["henderson"]["method"] == "henderson"
    assert set(d) == set(doc)  # one shape whatever --method


def test_negative_ljp_wording(capsys):
    rc = main(["ljp", "Na=99.5,Cl=99.5", "Na=4.99,Cl=4.99", "-T", "25"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "V_L = -15.94 mV" in out
    assert "true Vm = measured + 15.94 mV" in out
    assert whole_cell_sentence(-2.0).startswith("whole-cell / outside-out: true Vm = measured + 2.00")


def test_activity_model_option(capsys):
    rc = main(["ljp", "Na=100,Cl=100", "Na=10,Cl=10", "-T", "25",
               "--activity-model", "davies", "--json"])
    d = json.loads(capsys.readouterr().out)["results"]["henderson"]
    assert rc == 0 and d["activity_model"] == "davies"
    assert d["ions"][0]["gamma_pipette"] < 1


def test_errors_exit_1_with_message(capsys):
    rc = main(["ljp", "K=145,Cl=10", "Na=145,Cl=145", "-T", "20"])
    err = capsys.readouterr().err
    assert rc == 1 and "not electroneutral" in err and "Traceback" not in err
    rc = main(["ljp", "K=145,Cl=145", "Na=145,Cl=145", "-T", "20", "--method", "nernst-planck",
               "--activity-model", "davies"])
    # Nernst-Planck is ideal: an activity model is refused, not ignored
    assert rc == 1 and "ideal-solution model" in capsys.readouterr().err
    rc = main(["ljp", "K=145,Cl=145", "Na=145,Cl=145", "-T", "20", "--method", "both",
               "--activity-model", "davies"])
    out = capsys.readouterr().out
    assert rc == 0 and "(Henderson used activities, Nernst-Planck concentrations)" in out
    rc = main(["ljp", "K=abc,Cl=145", "Na=145,Cl=145", "-T", "20"])
    assert rc == 1 and "'abc'" in capsys.readouterr().err
    rc = main(["ljp", "no_such_solution_xyz", "Na=145,Cl=145", "-T", "20"])
    assert rc == 1
    assert capsys.readouterr().err.startswith("ephys-correct ljp: error:")


def test_temperature_is_required():
    with pytest.raises(SystemExit) as exc:
        main(["ljp", "K=145,Cl=145", "Na=145,Cl=145"])
    assert exc.value.code == 2


def test_solutions_db_names(capsys):
    rc = main(["ljp", "axobits39_kgluconate_pipette", "axobits39_saline_bath", "-T", "20"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "V_L = +15.61 mV" in out and "K-gluconate pipette, AxoBits 39" in out
