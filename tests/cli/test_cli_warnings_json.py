"""Warnings on stderr, --strict, one option vocabulary, JSON documents and JSON errors (issue 14 items 4, 5, 7)."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from ephys_correct.cli import main
from ephys_correct.cli._common import json_key

from conftest import ROOT, TEST_DATA  # noqa: E402

PIP, BATH = "internal_k_gluconate", "acsf_carbogen_standard"
WEAK = "190619B_0003.abf"


@pytest.fixture()
def weak_file(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(TEST_DATA / WEAK, src / WEAK)
    return src / WEAK


def test_correct_prints_each_warning_and_counts_warned_files(weak_file, tmp_path, capsys):
    rc = main(["correct", str(weak_file), "--pipette", PIP, "--bath", BATH, "-T", "32", "-o", str(tmp_path / "o"),
               "-j", "1"])
    cap = capsys.readouterr()
    assert rc == 0
    lines = [ln for ln in cap.err.splitlines() if ln.startswith("ephys-correct correct: warning: ")]
    assert lines and all(WEAK in ln for ln in lines)
    assert any("weak evidence" in ln for ln in lines)
    assert "1 corrected (1 with warnings)" in cap.out


def test_strict_fails_and_the_named_override_passes(weak_file, tmp_path, capsys):
    base = ["correct", str(weak_file), "--pipette", PIP, "--bath", BATH, "-T", "32", "-j", "1"]
    assert main([*base, "-o", str(tmp_path / "a"), "--strict"]) == 1
    cap = capsys.readouterr()
    assert "FAILED" in cap.err and "strict" in cap.err
    assert main([*base, "-o", str(tmp_path / "b"), "--strict", "--headstages", "1=0"]) == 0
    cap = capsys.readouterr()
    assert "warning" not in cap.err and "1 corrected (0 with warnings)" in cap.out


def test_unit_fix_option_reaches_the_reader_and_implausible_values_warn(tmp_path, capsys):
    demo = ROOT / "ephys_correct" / "data" / "examples" / "17o05028_ic_steps.abf"
    # a wrong fix (x 20): V_m near -900 mV is flagged, the file is warned, the CLI says so
    rc = main(["correct", str(demo), "--pipette", PIP, "--bath", BATH, "-T", "32", "-o", str(tmp_path / "o"),
               "-j", "1", "--unit-fix", "0=mV*20"])
    cap = capsys.readouterr()
    assert rc == 0 and "implausible V_m" in cap.err and "(1 with warnings)" in cap.out
    table = (tmp_path / "o" / "17o05028_ic_steps.driving_force.csv").read_text()
    assert "implausible" in table


@pytest.mark.parametrize("cmd", [["erev", PIP, BATH], ["speciate", PIP], ["ljp", PIP, BATH],
                                 ["plan", PIP, BATH]])
def test_short_temperature_option_everywhere(cmd, capsys):
    assert main([*cmd, "-T", "22", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1 and doc["command"] == cmd[0]


def test_zeroing_temperature_is_one_name(capsys):
    assert main(["plan", PIP, BATH, "-T", "32", "--zeroing-temperature", "22", "--json"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    assert "--ljp-temperature" not in capsys.readouterr().out


def test_unknown_option_shows_the_sub_commands_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["erev", PIP, BATH, "-T", "32", "--bogus"])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.startswith("usage: ephys-correct erev") and "--bogus" in err


def test_json_error_object_on_stdout(capsys):
    rc = main(["ljp", "K=145,Cl=10", "Na=145,Cl=145", "-T", "20", "--json"])
    cap = capsys.readouterr()
    assert rc == 1 and "not electroneutral" in cap.err
    doc = json.loads(cap.out)
    assert doc["schema_version"] == 1 and doc["command"] == "ljp"
    assert doc["error"]["type"] == "ElectroneutralityError" and "electroneutral" in doc["error"]["message"]
    rc = main(["solutions", "show", "no_such_solution_xyz", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1 and doc["error"]["type"] == "UnknownSolutionError"


def _keys(obj, out):
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.add(k)
            _keys(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _keys(v, out)
    return out


@pytest.mark.parametrize("cmd", [["ljp", PIP, BATH, "-T", "22", "--json"], ["erev", PIP, BATH, "-T", "22", "--json"],
                                 ["solutions", "show", PIP, "--json"], ["speciate", PIP, "-T", "22", "--json"],
                                 ["plan", PIP, BATH, "-T", "22", "--json"],
                                 ["info", str(TEST_DATA / "171116sh_0013.abf"), "--json"]])
def test_one_unit_key_style(cmd, capsys):
    assert main(cmd) == 0
    keys = _keys(json.loads(capsys.readouterr().out), set())
    lower_units = [k for k in keys if re.search(r"_(mv|mm|mosm_l|mohm|hz)$", k)
                   or (k.endswith("_c") and "temperature" in k)]
    assert lower_units == []


def test_json_key_rule():
    assert json_key("ljp_mv") == "ljp_mV" and json_key("ionic_strength_mm") == "ionic_strength_mM"
    assert json_key("temperature_c") == "temperature_degC" and json_key("osm_ideal_mosm_l") == "osm_ideal_mOsm_L"
    assert json_key("K+") == "K+" and json_key("E_rev_mV") == "E_rev_mV" and json_key("duration_s") == "duration_s"


def test_info_prints_warnings_and_takes_the_overrides(capsys):
    f = str(TEST_DATA / WEAK)
    assert main(["info", f]) == 0
    err = capsys.readouterr().err
    assert any(ln.startswith("ephys-correct info: warning: ") and "weak evidence" in ln for ln in err.splitlines())
    assert main(["info", f, "--headstages", "1=0", "--json"]) == 0
    cap = capsys.readouterr()
    assert "weak evidence" not in cap.err
    d = json.loads(cap.out)["items"][0]
    assert [h["confidence"] for h in d["headstages"]] == ["user"]
