"""Batch runs carry each file's warnings: a warnings column, status warn, --strict (issue 14 items 4, 5)."""

from __future__ import annotations

import shutil

import pytest

from ephys_correct.batch.run import WARNING_SEPARATOR, run_batch
from ephys_correct.batch.settings import parse_headstages, parse_unit_fix
from ephys_correct.batch.sheet import ExperimentSheet, SheetRow
from ephys_correct.errors import ParameterError

from conftest import TEST_DATA  # noqa: E402

PIP, BATH = "internal_k_gluconate", "acsf_carbogen_standard"
WEAK = "190619B_0003.abf"      # headstage 1 rests on weak evidence
CLEAN = "171116sh_0013.abf"


@pytest.fixture()
def inputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for f in (WEAK, CLEAN):
        shutil.copy(TEST_DATA / f, src / f)
    return src


def _rows(result):
    return {r["file"].rsplit("/", 1)[-1]: r for r in result.rows}


def test_warned_files_have_status_warn_and_a_warnings_column(inputs, tmp_path):
    res = run_batch([inputs], out_dir=tmp_path / "out", pipette=PIP, bath=BATH, temperature_c=32, jobs=1)
    rows = _rows(res)
    assert rows[WEAK]["status"] == "warn" and rows[WEAK]["warnings"]
    assert any("weak evidence" in w for w in rows[WEAK]["warnings"])
    assert rows[CLEAN]["status"] == "ok" and rows[CLEAN]["warnings"] == []
    assert res.n_warned == 1 and res.n_ok == 1 and res.ok
    s = res.summary.set_index(res.summary.file.str.rsplit("/", n=1).str[-1])
    assert s.loc[WEAK, "status"] == "warn"
    assert s.loc[WEAK, "warnings"] == WARNING_SEPARATOR.join(rows[WEAK]["warnings"])
    assert s.loc[CLEAN, "warnings"] == ""
    assert res.summary.attrs["counts"]["warn"] == 1
    # a rerun skips the file and still carries its warnings
    again = _rows(run_batch([inputs], out_dir=tmp_path / "out", pipette=PIP, bath=BATH, temperature_c=32, jobs=1))
    assert again[WEAK]["status"] == "skipped" and again[WEAK]["warnings"] == rows[WEAK]["warnings"]


def test_strict_turns_warnings_into_failures(inputs, tmp_path):
    out = tmp_path / "out"
    res = run_batch([inputs], out_dir=out, pipette=PIP, bath=BATH, temperature_c=32, jobs=1, strict=True)
    rows = _rows(res)
    assert rows[WEAK]["status"] == "failed" and "StrictModeError" in rows[WEAK]["reason"]
    assert rows[CLEAN]["status"] == "ok" and not res.ok
    assert not list(out.glob("190619B_0003.driving_force.*"))  # no outputs for a failed file


def test_the_override_the_warning_names_clears_it(inputs, tmp_path):
    res = run_batch([inputs / WEAK], out_dir=tmp_path / "o1", pipette=PIP, bath=BATH, temperature_c=32, jobs=1,
                    headstages="1=0")
    row = res.rows[0]
    assert row["status"] == "ok" and row["warnings"] == []  # the user's statement is no warning
    # the same from an experiment sheet column
    sheet = ExperimentSheet((SheetRow(pattern="190619B*", pipette=PIP, bath=BATH, temperature_c=32.0,
                                      headstages="1=0", line=2),))
    res2 = run_batch([inputs / WEAK], out_dir=tmp_path / "o2", sheet=sheet, jobs=1)
    assert res2.rows[0]["warnings"] == row["warnings"]


def test_unit_fix_from_the_options(tmp_path):
    res = run_batch([TEST_DATA / CLEAN], out_dir=tmp_path / "o", pipette=PIP, bath=BATH, temperature_c=32,
                    jobs=1, unit_fix={0: ("pA", 2.0)})
    assert res.rows[0]["status"] in ("ok", "warn")
    assert res.summary.attrs["options"]["unit_fix"] == "0=pA*2.0"


def test_override_text_is_parsed_and_checked():
    assert parse_headstages("0=0, IN 2=none") == {0: 0, "IN 2": None}
    assert parse_unit_fix("0=mV/20,IN 1=pA*2") == {0: ("mV", 0.05), "IN 1": ("pA", 2.0)}
    for bad in ("0", "0=x", "=1"):
        with pytest.raises(ParameterError):
            parse_headstages(bad)
    for bad in ("0=mV", "0=mV/0", "0=mV*abc"):
        with pytest.raises(ParameterError):
            parse_unit_fix(bad)
