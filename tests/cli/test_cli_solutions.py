"""`ephys-correct solutions list|show` on shipped and user recipes."""

from __future__ import annotations

import json

import pytest

from ephys_correct.cli import main


def test_show_user_file_json(tmp_path, capsys):
    p = tmp_path / "k.toml"
    p.write_text('schema_version = 1\nname = "KCl 140"\nrole = "pipette"\n[components_mm]\nKCl = 140\n', encoding="utf-8")
    assert main(["solutions", "show", str(p), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["name"] == "KCl 140"
    assert d["ions_mM"] == {"K+": 140.0, "Cl-": 140.0}
    assert d["ionic_strength_mM"] == 140.0
    assert d["osmolarity"]["ideal_mOsm_L"] == 280.0


def test_show_text(tmp_path, capsys):
    p = tmp_path / "k.toml"
    p.write_text('schema_version = 1\nname = "KCl 140"\n[components_mm]\nKCl = 140\n', encoding="utf-8")
    assert main(["solutions", "show", str(p)]) == 0
    out = capsys.readouterr().out
    assert "KCl 140" in out and "charge balance: +0.000" in out and "ionic strength: 140.0 mM" in out


def test_show_bad_file_reports_error(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text('schema_version = 1\nname = "bad"\n[components_mm]\nKCl = -1\n', encoding="utf-8")
    assert main(["solutions", "show", str(p)]) == 1
    err = capsys.readouterr().err
    assert "negative" in err and str(p) in err and "Traceback" not in err


def test_list_json(capsys):
    assert main(["solutions", "list", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert isinstance(items, list)
    for item in items:
        assert {"name", "role", "id", "path"} <= set(item)


def test_speciate_cli_standard_internal(capsys):
    # docs/speciation.md: 4 mM Mg-ATP in a K-gluconate internal leaves ~0.5-0.7 mM free Mg2+
    assert main(["speciate", "internal_k_gluconate", "--temperature", "22", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert 0.3 < d["free_mM"]["Mg2+"] < 1.0
    assert d["total_or_input_mM"]["Mg2+"] == 4.0
    assert d["free_mM"]["MgATP2-"] > 3.0


@pytest.mark.filterwarnings("always::ephys_correct.errors.ModelValidityWarning")
def test_cli_warnings_are_one_line(capsys):
    # speciation at 55 degC is beyond the 0-50 degC van 't Hoff range (ModelValidityWarning); the CLI
    # prints it as one readable line, not as a Python warning with a source line
    assert main(["erev", "internal_k_gluconate", "acsf_carbogen_standard", "--temperature", "55",
                 "--free-ions"]) == 0
    err = capsys.readouterr().err
    assert "ephys-correct erev: warning:" in err and "speciation.py" not in err


@pytest.mark.parametrize("argv, expected", [
    (["--configuration", "cell-attached"],
     "ephys-correct erev: --configuration = 'cell-attached' is not one of 'whole-cell', 'perforated', "
     "'outside-out', 'inside-out'; in 'cell-attached' the inside is the unknown cytoplasm"),
    (["--inside", "Cl-"], "ephys-correct erev: --inside = 'Cl-' is not ION=MM; e.g. --inside Cl-=10"),
    (["--inside", "Cl-=nan"], "ephys-correct erev: --inside Cl- = nan is not a finite number"),
    (["--inside", "Cl-=-2"], "ephys-correct erev: --inside Cl- = -2.0 is negative"),
])
def test_erev_option_errors_name_the_option_and_value(capsys, argv, expected):
    assert main(["erev", "internal_k_gluconate", "acsf_carbogen_standard", "-T", "32", *argv]) == 1
    assert expected in capsys.readouterr().err
