"""``ephys-correct correct``: exit codes, summary, resumability, progress bar, sheets."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ephys_correct.cli import main
from ephys_correct.cli.cmd_correct import ProgressBar

from conftest import TEST_DATA  # noqa: E402

# --no-report: the HTML report is tested in tests/report/test_html_report.py (it would double these tests' time)
SOL = ["--pipette", "internal_k_gluconate", "--bath", "acsf_carbogen_standard", "--temperature", "32", "--no-report"]


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(TEST_DATA / "2018_11_16_sh_0006.abf", src / "good1.abf")
    shutil.copy(TEST_DATA / "171116sh_0013.abf", src / "sub" / "good2.abf")
    return src


def _corrupt(src: Path) -> None:
    data = (TEST_DATA / "2018_11_16_sh_0006.abf").read_bytes()
    (src / "cut.abf").write_bytes(data[:4000])
    (src / "sub" / "junk.abf").write_bytes(b"\x00garbage" * 100)


def test_folder_with_corrupt_files_exit_1_and_summary(folder, tmp_path, capsys):
    _corrupt(folder)
    out = tmp_path / "out"
    rc = main(["correct", str(folder), "--out", str(out), "--jobs", "1", *SOL])
    cap = capsys.readouterr()
    assert rc == 1
    assert "FAILED" in cap.err and "cut.abf" in cap.err and "junk.abf" in cap.err
    assert "4 recordings: 2 corrected (0 with warnings), 0 skipped (already done), 2 failed" in cap.out
    assert "\r" not in cap.err  # no progress bar when stderr is not a terminal
    summary = pd.read_csv(out / "summary.csv")
    by = dict(zip(summary["file"].map(lambda p: Path(p).name), summary["status"]))
    assert by == {"cut.abf": "failed", "good1.abf": "ok", "good2.abf": "ok", "junk.abf": "failed"}
    reasons = summary.set_index(summary["file"].map(lambda p: Path(p).name))["reason"]
    assert "truncated" in reasons["cut.abf"]
    assert (out / "sub" / "good2.driving_force.csv").is_file()


def test_rerun_skips_and_force_redoes(folder, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["correct", str(folder), "--out", str(out), "-j", "1", *SOL]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    assert "0 corrected (0 with warnings), 2 skipped" in capsys.readouterr().out
    assert main([*args, "--force"]) == 0
    assert "2 corrected (0 with warnings), 0 skipped" in capsys.readouterr().out


def test_changed_options_refused_without_force(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["correct", str(folder), "--out", str(out), "-j", "1", *SOL]) == 0
    args = ["correct", str(folder), "--out", str(out), "-j", "1", "--pipette", "internal_k_gluconate",
            "--bath", "acsf_carbogen_standard", "--temperature", "25"]
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "OutputExistsError" in err and "--force" in err
    assert main([*args, "--force"]) == 0


def test_sheet_and_parquet(folder, tmp_path, capsys):
    from ephys_correct.report.tables import read_table

    sheet = tmp_path / "sheet.csv"
    sheet.write_text("pattern,pipette,bath,temperature_c\n"
                     "sub/*,internal_cscl,acsf_carbogen_standard,24\n"
                     "*.abf,internal_k_gluconate,acsf_carbogen_standard,33\n")
    out = tmp_path / "out"
    rc = main(["correct", str(folder), "--out", str(out), "--sheet", str(sheet), "--format", "parquet",
               "-j", "1"])
    assert rc == 0, capsys.readouterr().err
    summary = read_table(out / "summary.parquet")
    temps = dict(zip(summary["file"].map(lambda p: Path(p).name), summary["temperature_c"]))
    assert temps == {"good1.abf": 33.0, "good2.abf": 24.0}
    assert summary.attrs["sheet"] == str(sheet)


def test_usage_errors(folder, tmp_path, capsys):
    rc = main(["correct", str(folder), "--out", str(tmp_path / "o"), "--pipette", "internal_k_gluconate",
               "--bath", "acsf_carbogen_standard"])
    assert rc == 1 and "--temperature" in capsys.readouterr().err
    rc = main(["correct", str(tmp_path / "missing"), "--out", str(tmp_path / "o"), *SOL])
    assert rc == 1 and "Input not found" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    rc = main(["correct", str(empty), "--out", str(tmp_path / "o"), *SOL])
    assert rc == 1 and "no recordings found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["correct", str(folder), *SOL])  # --out is required
    assert exc.value.code == 2


def test_progress_bar_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    bar = ProgressBar(stream=tty, enabled=True)
    bar(1, 2, {"status": "ok"})
    bar(2, 2, {"status": "failed"})
    bar.close()
    text = tty.getvalue()
    assert text.count("\r") == 2 and "2/2" in text and "failed 1" in text and text.endswith("\n")
    pipe = io.StringIO()
    bar = ProgressBar(stream=pipe)
    bar(1, 1, {"status": "ok"})
    bar.close()
    assert pipe.getvalue() == "" and bar.counts["ok"] == 1


def test_plots_option(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["correct", str(folder / "good1.abf"), "--out", str(out), "-j", "1", "--plots", *SOL]) == 0
    png = (out / "good1.sweep0.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_nwb_option_writes_nwb_and_resumes(folder, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["correct", str(folder / "good1.abf"), "--out", str(out), "-j", "1", "--nwb", *SOL]
    assert main(args) == 0
    assert (out / "good1.nwb").stat().st_size > 10000 and (out / "good1.ephys_correct_provenance.json").is_file()
    capsys.readouterr()
    assert main(args) == 0
    assert "1 skipped" in capsys.readouterr().out


def test_nwb_metadata_file_and_options(folder, tmp_path, capsys):
    import pynwb

    meta = tmp_path / "session.toml"
    meta.write_text('[NWBFile]\nlab = "Patch Lab"\ninstitution = "Example University"\n'
                    '[Subject]\nsubject_id = "mouse-42"\nspecies = "Mus musculus"\nage = "P30D"\nsex = "F"\n')
    out = tmp_path / "out"
    args = ["correct", str(folder / "sub" / "good2.abf"), "--out", str(out), "-j", "1", "--nwb", *SOL,
            "--nwb-metadata", str(meta), "--nwb-sex", "M", "--nwb-experimenter", "Doe, Jane",
            "--nwb-experimenter", "Roe, Rick", "--nwb-timezone", "Europe/Berlin"]
    assert main(args) == 0
    with pynwb.NWBHDF5IO(str(out / "good2.nwb"), "r") as io:
        nwb = io.read()
        assert (nwb.subject.sex, nwb.subject.species, nwb.lab) == ("M", "Mus musculus", "Patch Lab")
        assert tuple(nwb.experimenter) == ("Doe, Jane", "Roe, Rick")
        assert nwb.session_start_time.utcoffset().total_seconds() == 3600  # 16 Nov 2017, CET
    capsys.readouterr()
    assert main(["correct", str(folder / "good1.abf"), "--out", str(out), *SOL, "--nwb-lab", "X"]) != 0
    assert "without --nwb" in capsys.readouterr().err
