"""``ephys-correct plan``: readable table, JSON, plot, exit codes."""

from __future__ import annotations

import json

import pytest

from ephys_correct.cli import main
from ephys_correct.potentials.ljp import liquid_junction_potential

PAIR = ["internal_k_gluconate", "acsf_carbogen_standard", "--temperature", "32"]


def test_plan_text_with_target(capsys):
    rc = main(["plan", *PAIR, "--target", "E_Cl=-70", "--vary", "KCl"])
    out = capsys.readouterr().out
    assert rc == 0
    h, n = (float(liquid_junction_potential(*PAIR[:2], temperature_c=32, method=m))
            for m in ("henderson", "nernst-planck"))
    assert f"Henderson {h:+.2f} mV" in out and f"Nernst-Planck {n:+.2f} mV" in out
    assert "Reversal potentials" in out and "E activity (mV)" in out
    assert "osmolality est. (mOsm/kg)" in out and "osmolarity ideal" in out and "charge balance" in out
    assert "E_Cl-=-70 mV" in out and "4.000 ->" in out and "-81.58 -> -70.00 mV" in out  # free ions, pH at 32 degC (issue 13)


def test_plan_json_and_plot(tmp_path, capsys):
    png = tmp_path / "plan.png"
    rc = main(["plan", *PAIR, "--target", "E_Cl=-70", "--vary", "KCl:K-gluconate", "--json", "--plot", str(png)])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0
    t = d["targets"][0]
    assert abs(t["value"] + 70) < 0.01 and t["vary"] == "KCl:K-gluconate"
    assert abs(t["charge_balance_meq"]) <= t["charge_tolerance_meq"]
    assert d["plot"] == str(png)
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10000
    # the plot is not overwritten without --force
    rc = main(["plan", *PAIR, "--vary", "KCl", "--plot", str(png)])
    assert rc == 1 and "exists" in capsys.readouterr().err
    assert main(["plan", *PAIR, "--vary", "KCl", "--plot", str(png), "--force", "--range", "0:30"]) == 0


def test_plan_errors(capsys):
    assert main(["plan", *PAIR, "--target", "E_Cl=+30", "--vary", "KCl", "--range", "0:20"]) == 1
    assert "out of reach" in capsys.readouterr().err
    assert main(["plan", *PAIR, "--target", "bogus=1"]) == 1
    assert "Unknown target quantity" in capsys.readouterr().err
    assert main(["plan", *PAIR, "--plot", "x.png"]) == 1
    assert "--vary" in capsys.readouterr().err
    assert main(["plan", *PAIR, "--target", "E_Cl=-70", "--range", "5"]) == 1
    assert "ephys-correct plan: --range = '5' is not LO:HI in mM; e.g. --range 0:50" in capsys.readouterr().err
    assert main(["plan", *PAIR, "--target", "E_Cl=-70", "--range", "20:5"]) == 1
    assert "ephys-correct plan: --range = '20:5' is not a range with 0 <= LO < HI" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["plan", "internal_k_gluconate", "acsf_carbogen_standard"])  # --temperature is required
    assert exc.value.code == 2
