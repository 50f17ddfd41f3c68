"""``ephys-correct info``."""

from __future__ import annotations

import json

import pytest
from io_helpers import local

from ephys_correct.cli import main
from ephys_correct.cli.cmd_info import parse_clamp_mode

VC = local("171116sh_0013.abf")
TAGGED = local("2018_11_16_sh_0006.abf")
WCP = local("myokit_wcp-file.wcp")


def test_info_text(capsys):
    assert main(["info", str(TAGGED), str(WCP)]) == 0
    out = capsys.readouterr().out
    assert "ABF 2.6.0.0" in out and "60 x 2000 samples @ 20000 Hz" in out
    assert "IN 0" in out and "voltage_clamp (telegraph)" in out
    assert "DAC 0 Cmd 0 = -70 mV" in out
    assert "180.378 s  +drug at 3min" in out
    assert "WinWCP 9" in out and "clamp mode UNKNOWN (pass --clamp-mode)" in out


def test_info_json_uses_attribute_names(capsys):
    assert main(["info", "--json", str(VC), str(TAGGED)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema_version"] == 1 and doc["command"] == "info"
    data = doc["items"]
    assert isinstance(data, list) and len(data) == 2
    d = data[1]
    for key in ("n_sweeps", "sample_rate_Hz", "channels", "holding", "tags", "format", "version"):
        assert key in d
    assert d["n_sweeps"] == 60 and d["sample_rate_Hz"] == 20000.0
    assert {k: d["channels"][0][k] for k in ("name", "units", "kind", "headstage", "clamp_mode")} == {
        "name": "IN 0", "units": "pA", "kind": "current", "headstage": 0, "clamp_mode": "voltage_clamp"}
    assert d["holding"][0] == {"dac": 0, "name": "Cmd 0", "value": -70.0, "units": "mV", "headstage": 0}
    assert d["tags"] == [{"time_s": pytest.approx(180.3776), "comment": "+drug at 3min"}]
    assert d["format"] == "ABF" and d["version"] == "2.6.0.0"


def test_info_continues_after_a_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.abf"
    bad.write_bytes(b"not an abf")
    rc = main(["info", "--json", str(bad), str(VC), str(tmp_path / "missing.abf")])
    cap = capsys.readouterr()
    assert rc == 1
    data = json.loads(cap.out)["items"]
    assert [("error" in d) for d in data] == [True, False, True]
    assert data[0]["error_type"] == "CorruptRecordingError" and data[2]["error_type"] == "RecordingNotFoundError"
    assert str(bad) in cap.err and "missing.abf" in cap.err


def test_info_clamp_mode_option(capsys):
    assert main(["info", "--json", "--clamp-mode", "0=voltage_clamp", str(WCP)]) == 0
    d = json.loads(capsys.readouterr().out)["items"][0]
    assert [c["clamp_mode"] for c in d["channels"]] == ["voltage_clamp", "voltage_clamp"]
    assert main(["info", "--clamp-mode", "bogus", str(WCP)]) == 1
    assert "clamp_mode = 'bogus' is not one of 'voltage_clamp'" in capsys.readouterr().err
    assert main(["info", "--clamp-mode", "x=voltage_clamp", str(WCP)]) == 1
    assert "ephys-correct info: --clamp-mode headstage = 'x' is not an integer" in capsys.readouterr().err


def test_info_sha256_and_backend(capsys):
    assert main(["info", "--json", "--sha256", "--backend", "neo", str(VC)]) == 0
    d = json.loads(capsys.readouterr().out)["items"][0]
    assert d["sha256"] == "97cc2ccedcf0fddfff30e887732612467ddc4e1635834ec0f68f371492c72704"
    assert d["reader"].startswith("neo")


def test_parse_clamp_mode():
    assert parse_clamp_mode(None) is None
    assert parse_clamp_mode("current_clamp") == "current_clamp"
    assert parse_clamp_mode("0=voltage_clamp, 1=i_zero") == {0: "voltage_clamp", 1: "i_zero"}
