"""CLI face of issue 13: free ions by default, ``--totals`` and ``--ph`` recorded in the output."""

from __future__ import annotations

import json

from ephys_correct.cli import main


def test_ljp_free_by_default_and_totals_on_request(capsys):
    args = ["ljp", "internal_k_gluconate", "acsf_carbogen_standard", "--temperature", "32", "--json"]
    assert main(args) == 0
    free = json.loads(capsys.readouterr().out)
    assert main([*args, "--totals"]) == 0
    total = json.loads(capsys.readouterr().out)
    free, total = free["results"]["henderson"], total["results"]["henderson"]
    assert free["free_ions"] is True and free["concentration_basis"].startswith("free ions")
    assert total["free_ions"] is False and total["concentration_basis"].startswith("totals")
    # Mg2+ bound to ATP, protons of binding re-titrated with KOH: a different junction
    assert free["ljp_mV"] != total["ljp_mV"]


def test_erev_measured_ph_is_used_and_recorded(capsys):
    args = ["erev", "internal_k_gluconate", "acsf_carbogen_standard", "--temperature", "32", "--json"]
    assert main(args) == 0
    computed = json.loads(capsys.readouterr().out)
    assert main([*args, "--ph", "7.3"]) == 0
    measured = json.loads(capsys.readouterr().out)
    ph_c, ph_m = computed["attrs"]["ph"]["inside"], measured["attrs"]["ph"]["inside"]
    assert ph_c["recipe_ph"] == 7.3 and ph_c["recipe_ph_temperature_degC"] == 22.0
    assert ph_c["ph_used"] < 7.25 and ph_c["ph_source"].startswith("computed")
    assert ph_m["ph_used"] == 7.3 and ph_m["ph_source"].startswith("measured")
    e = {r["ion"]: r["E_rev_mV"] for r in measured["rows"]}
    assert abs(e["Mg2+"] - 10.6) < 0.3  # issue 13: E_Mg ~ +10.6 mV for this internal at 32 degC


def test_erev_text_says_which_concentrations(capsys):
    assert main(["erev", "internal_k_gluconate", "acsf_carbogen_standard", "--temperature", "32",
                 "--totals"]) == 0
    assert "concentrations: totals" in capsys.readouterr().out


def test_speciate_uses_the_ph_at_the_recording_temperature(capsys):
    # the recipe's pH 7.3 was set at 22 degC; at 32 degC the proton balance is solved again
    # (HEPES pKa falls with temperature), not the 22 degC reading used unchanged with a warning
    assert main(["speciate", "internal_k_gluconate", "-T", "32", "--json"]) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc["ph_source"].startswith("computed") and doc["ph"] < 7.25
    assert "used unchanged" not in out.err
    assert main(["speciate", "internal_k_gluconate", "-T", "32", "--ph", "7.3", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ph"] == 7.3 and doc["ph_source"].startswith("measured")


def test_every_solution_argument_takes_an_inline_composition(capsys):
    inside, outside = "K=140,Cl=140", "Na=145,K=5,Cl=150"
    assert main(["erev", inside, outside, "-T", "22", "--json"]) == 0
    e = {r["ion"]: r["E_rev_mV"] for r in json.loads(capsys.readouterr().out)["rows"]}
    assert -90 < e["K+"] < -80
    assert main(["speciate", inside, "-T", "22", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["solution"] == "custom" and doc["temperature_degC"] == 22.0
    assert main(["solutions", "show", inside, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["ions_mM"] == {"K+": 140.0, "Cl-": 140.0}
