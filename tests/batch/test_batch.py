"""Batch correction (ephys_correct.batch): failures reported, resumable, atomic, sheets, scale."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ephys_correct.batch.sheet import ExperimentSheet, SheetRow, load_sheet
from ephys_correct.batch.inputs import find_recordings, output_stem
from ephys_correct.report.traces import load_corrected_npz
from ephys_correct.batch.run import run_batch
from ephys_correct.errors import ParameterError, RecipeError, UnknownSolutionError

from conftest import ROOT, TEST_DATA  # noqa: E402
PIPETTE = "internal_k_gluconate"
BATH = "acsf_carbogen_standard"
SMALL = ("2018_11_16_sh_0006.abf", "171116sh_0013.abf")  # 248 kB and 527 kB, voltage clamp


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_folder(root: Path, *, corrupt: bool = True) -> Path:
    """tmp folder: two good ABFs (one in a sub-folder), a truncated copy and a garbage .abf."""
    src = root / "in"
    (src / "day2").mkdir(parents=True)
    shutil.copy(TEST_DATA / SMALL[0], src / "cellA.abf")
    shutil.copy(TEST_DATA / SMALL[1], src / "day2" / "cellB.abf")
    (src / "notes.txt").write_text("not a recording")
    if corrupt:
        data = (TEST_DATA / SMALL[0]).read_bytes()
        (src / "truncated.abf").write_bytes(data[: len(data) // 3])
        (src / "day2" / "garbage.abf").write_bytes(b"this is not an ABF file" * 10)
    return src


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path)


@pytest.fixture
def clean_folder(tmp_path):
    return make_folder(tmp_path, corrupt=False)


def _by_name(result) -> dict[str, dict]:
    return {Path(r["file"]).name: r for r in result.rows}


def test_find_recordings_recursive_and_relative(folder, tmp_path):
    found = find_recordings([folder])
    rels = [rel for _, rel in found]
    assert rels == ["cellA.abf", "day2/cellB.abf", "day2/garbage.abf", "truncated.abf"]
    # a file given directly is taken whatever its extension; duplicates collapse
    found = find_recordings([folder / "notes.txt", folder / "cellA.abf", folder])
    assert [rel for _, rel in found][:2] == ["notes.txt", "cellA.abf"]
    assert len(found) == 5
    assert output_stem("day2/cellB.abf") == "day2/cellB"
    with pytest.raises(FileNotFoundError, match="Input not found"):
        find_recordings([tmp_path / "nope"])


def test_mixed_folder_failures_reported_and_run_goes_on(folder, tmp_path):
    before = {p: _sha(p) for p in folder.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    res = run_batch(folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1)
    rows = _by_name(res)
    assert (res.n_ok, res.n_failed, res.n_skipped) == (2, 2, 0) and not res.ok
    assert rows["truncated.abf"]["status"] == "failed"
    assert "CorruptRecordingError" in rows["truncated.abf"]["reason"]
    assert "truncated" in rows["truncated.abf"]["reason"]
    assert rows["garbage.abf"]["status"] == "failed"
    assert "not ABF" in rows["garbage.abf"]["reason"]
    ok = rows["cellA.abf"]
    assert ok["status"] == "ok" and ok["n_sweeps"] == 60
    # Henderson, K-gluconate vs ACSF at 32 degC, free ions (MgATP2-, KOH re-titrated; totals: 16.18)
    assert ok["ljp_mv"] == pytest.approx(16.42, abs=0.05)
    # inputs untouched
    assert {p: _sha(p) for p in folder.rglob("*") if p.is_file()} == before
    # outputs mirror the sub-folder; the summary is read back
    assert (out / "day2" / "cellB.corrected.npz").is_file()
    assert (out / "day2" / "cellB.driving_force.csv").is_file()
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns[:6]) == ["file", "status", "reason", "warnings", "ljp_mv", "n_sweeps"]
    assert "mean_Vm_mV_hs0" in summary.columns and "seconds" in summary.columns
    assert sorted(summary["status"]) == ["failed", "failed", "ok", "ok"]
    failed = summary[summary["status"] == "failed"]
    assert failed["reason"].str.contains("CorruptRecordingError").all()
    # no temporary files are left behind
    assert not [p for p in out.rglob("*.tmp")]


def test_outputs_read_back(clean_folder, tmp_path):
    from ephys_correct.correction.correct import correct_recording
    from ephys_correct.report.tables import read_table

    out = tmp_path / "out"
    res = run_batch(clean_folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1)
    assert res.ok
    table = read_table(out / "cellA.driving_force.csv")
    assert set(table["ion"]) >= {"K+", "Cl-", "Na+"}
    assert table.attrs["temperature_c"] == 32
    data, meta = load_corrected_npz(out / "cellA.corrected.npz")
    assert data.shape == (60, 1, meta["sweep_lengths"][0]) and data.dtype == np.float32
    assert meta["channels"][0]["units"] == "pA"
    assert meta["provenance"]["input_sha256"] == _sha(clean_folder / "cellA.abf")
    corrected = correct_recording(str(clean_folder / "cellA.abf"), pipette=PIPETTE, bath=BATH, temperature_c=32)
    np.testing.assert_allclose(data[3, 0], corrected.sweep_data(3, 0), rtol=1e-6, atol=1e-3)
    # the summary's mean V_m is the mean over sweeps of the corrected V_m
    vm = np.mean([corrected.membrane_potential(s, 0)[0] for s in range(corrected.n_sweeps)])
    assert _by_name(res)["cellA.abf"]["mean_Vm_mV"]["0"] == pytest.approx(vm, abs=1e-9)
    marker = json.loads((out / "cellA.done.json").read_text())
    assert marker["input_sha256"] == _sha(clean_folder / "cellA.abf")
    assert set(marker["outputs"]) >= {"traces", "table", "table_sidecar"}


def test_resume_skips_then_force_redoes(clean_folder, tmp_path):
    out = tmp_path / "out"
    first = run_batch(clean_folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1)
    assert first.n_ok == 2
    stamp = (out / "cellA.corrected.npz").stat().st_mtime_ns
    second = run_batch(clean_folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1)
    assert (second.n_ok, second.n_skipped) == (0, 2)
    row = _by_name(second)["cellA.abf"]
    assert row["ljp_mv"] == _by_name(first)["cellA.abf"]["ljp_mv"]  # carried from the marker
    assert (out / "cellA.corrected.npz").stat().st_mtime_ns == stamp
    third = run_batch(clean_folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1,
                      force=True)
    assert third.n_ok == 2
    assert (out / "cellA.corrected.npz").stat().st_mtime_ns != stamp


def test_changed_options_refuse_to_overwrite(clean_folder, tmp_path):
    out = tmp_path / "out"
    run_batch(clean_folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1)
    before = _sha(out / "cellA.driving_force.csv")
    res = run_batch(clean_folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=34, jobs=1)
    assert res.n_failed == 2
    reason = _by_name(res)["cellA.abf"]["reason"]
    assert "OutputExistsError" in reason and "temperature_c 32.0 -> 34.0" in reason and "--force" in reason
    assert _sha(out / "cellA.driving_force.csv") == before
    res = run_batch(clean_folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=34, jobs=1, force=True)
    assert res.n_ok == 2
    # rewriting the same bytes changes nothing; a changed input is detected
    data = bytearray((clean_folder / "cellA.abf").read_bytes())
    (clean_folder / "cellA.abf").write_bytes(bytes(data))
    res = run_batch(clean_folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=34, jobs=1)
    assert res.n_skipped == 2
    data[-2] ^= 0x01  # one sample of the last sweep
    (clean_folder / "cellA.abf").write_bytes(bytes(data))
    res = run_batch(clean_folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=34, jobs=1)
    row = _by_name(res)["cellA.abf"]
    assert row["status"] == "failed" and "the input file changed" in row["reason"]


def test_foreign_output_is_not_overwritten(clean_folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "cellA.driving_force.csv").write_text("my own notes\n")
    res = run_batch(clean_folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1)
    row = _by_name(res)["cellA.abf"]
    assert row["status"] == "failed" and "was not written by a finished run" in row["reason"]
    assert (out / "cellA.driving_force.csv").read_text() == "my own notes\n"
    assert _by_name(res)["cellB.abf"]["status"] == "ok"


def test_interrupted_file_is_finished_without_force(clean_folder, tmp_path):
    out = tmp_path / "out"
    run_batch(clean_folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1)
    done = out / "cellA.done.json"
    marker = json.loads(done.read_text())
    # as if the run had died after writing the table: in-progress marker, no done marker
    (out / ".cellA.partial.json").write_text(json.dumps(
        {"input_sha256": marker["input_sha256"], "options_hash": marker["options_hash"]}))
    done.unlink()
    res = run_batch(clean_folder, out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1)
    assert _by_name(res)["cellA.abf"]["status"] == "ok"
    assert done.is_file() and not (out / ".cellA.partial.json").exists()


def test_output_name_collision_fails_the_second(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    shutil.copy(TEST_DATA / SMALL[0], a / "cell.abf")
    shutil.copy(TEST_DATA / SMALL[0], b / "cell.abf")
    res = run_batch([a / "cell.abf", b / "cell.abf"], out_dir=tmp_path / "out", pipette=PIPETTE, bath=BATH,
                    temperature_c=32, jobs=1)
    assert [r["status"] for r in res.rows] == ["ok", "failed"]
    assert "also used by" in res.rows[1]["reason"]


def test_argument_errors(clean_folder, tmp_path):
    kw = dict(out_dir=tmp_path / "out", pipette=PIPETTE, bath=BATH, temperature_c=32)
    with pytest.raises(ParameterError, match=r"^run_batch: format = 'txt' is not one of 'csv'"):
        run_batch(clean_folder, format="txt", **kw)
    with pytest.raises(ParameterError, match=r"^run_batch: jobs = 0 is less than 1"):
        run_batch(clean_folder, jobs=0, **kw)
    with pytest.raises(ParameterError, match="temperature_c"):
        run_batch(clean_folder, out_dir=tmp_path / "out", pipette=PIPETTE, bath=BATH)
    with pytest.raises(UnknownSolutionError, match="internal_k_glucnate"):
        run_batch(clean_folder, out_dir=tmp_path / "out", pipette="internal_k_glucnate", bath=BATH,
                  temperature_c=32)
    assert not (tmp_path / "out").exists()  # usage errors are raised before anything is written


# --------------------------------------------------------------------------- sheets
SHEET_CSV = """# experiment sheet: first matching row wins
pattern,pipette,bath,temperature_c,configuration,ljp_mv,notes
day2/*,internal_cscl,{bath},25,whole-cell,,CsCl cells on day 2
cellA.abf,,,30,,12.5,given LJP
"""


def test_sheet_matching_first_row_wins(clean_folder, tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(SHEET_CSV.format(bath=BATH))
    res = run_batch(clean_folder, out_dir=tmp_path / "out", pipette=PIPETTE, bath=BATH, temperature_c=32,
                    sheet=sheet, jobs=1)
    rows = _by_name(res)
    b = rows["cellB.abf"]
    assert b["status"] == "ok" and b["pipette"] == "internal_cscl" and b["temperature_c"] == 25
    assert b["sheet_line"] == 3
    a = rows["cellA.abf"]
    # empty cells fall back to the options; the sheet's LJP overrides the computed one
    assert a["pipette"] == PIPETTE and a["temperature_c"] == 30 and a["ljp_mv"] == 12.5
    assert a["sheet_line"] == 4
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert list(summary["temperature_c"]) == [30.0, 25.0]


def test_sheet_without_match_and_without_defaults_fails_that_file(clean_folder, tmp_path):
    sheet = tmp_path / "sheet.toml"
    recipe = tmp_path / "my_internal.toml"
    shutil.copy(ROOT / "solutions_db" / f"{PIPETTE}.toml", recipe)
    sheet.write_text(f"""schema_version = 1
[[recording]]
pattern = "day2/cell*.abf"
pipette = "my_internal.toml"   # relative to the sheet
bath = "{BATH}"
temperature_c = 34
""")
    res = run_batch(clean_folder, out_dir=tmp_path / "out", sheet=sheet, jobs=1)
    rows = _by_name(res)
    assert rows["cellB.abf"]["status"] == "ok" and rows["cellB.abf"]["temperature_c"] == 34
    assert rows["cellA.abf"]["status"] == "failed"
    assert "no row of the experiment sheet" in rows["cellA.abf"]["reason"]


def test_sheet_parsing_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("pattern,pipete\n*.abf,x\n")
    with pytest.raises(RecipeError, match="unknown column 'pipete'.*Did you mean.*'pipette'"):
        load_sheet(bad)
    bad.write_text("pattern,temperature_c\n*.abf,warm\n")
    with pytest.raises(RecipeError, match="line 2: temperature_c must be a number"):
        load_sheet(bad)
    bad.write_text("pipette\nx\n")
    with pytest.raises(RecipeError, match="no 'pattern' column"):
        load_sheet(bad)
    toml = tmp_path / "bad.toml"
    toml.write_text('[[recording]]\npattern = ""\n')
    with pytest.raises(RecipeError, match="'pattern' is empty"):
        load_sheet(toml)
    with pytest.raises(FileNotFoundError):
        load_sheet(tmp_path / "missing.csv")
    with pytest.raises(RecipeError, match="must be .csv, .tsv or .toml"):
        (tmp_path / "x.json").write_text("{}")
        load_sheet(tmp_path / "x.json")


def test_sheet_row_matching_rules():
    sheet = ExperimentSheet((SheetRow("2024-*/cell1*.abf", line=1), SheetRow("*.ABF", line=2)))
    assert sheet.match("2024-05-01/cell1_0001.abf").line == 1
    assert sheet.match("2024-05-01/deep/cell1.abf").line == 1  # '*' crosses '/'
    assert sheet.match("other/cell2.abf").line == 2  # no '/': the file name, case-insensitive
    assert sheet.match("cell.wcp") is None


# --------------------------------------------------------------------------- scale
def test_process_pool_matches_in_process(clean_folder, tmp_path):
    one = run_batch(clean_folder, out_dir=tmp_path / "o1", pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1)
    two = run_batch(clean_folder, out_dir=tmp_path / "o2", pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=2)
    assert [r["status"] for r in two.rows] == ["ok", "ok"]
    for a, b in zip(one.rows, two.rows):
        assert a["file"] == b["file"] and a["ljp_mv"] == b["ljp_mv"] and a["mean_Vm_mV"] == b["mean_Vm_mV"]


def test_dask_local_cluster(folder, tmp_path):
    import distributed

    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        res = run_batch(folder, out_dir=tmp_path / "out", pipette=PIPETTE, bath=BATH, temperature_c=32,
                        dask_client=client)
        # the same by scheduler address (the CLI's --scheduler): a client is opened and closed for the run
        res2 = run_batch(folder, out_dir=tmp_path / "out2", pipette=PIPETTE, bath=BATH, temperature_c=32,
                         scheduler=cluster.scheduler_address)
    assert (res.n_ok, res.n_failed) == (2, 2) and (res2.n_ok, res2.n_failed) == (2, 2)
    assert (tmp_path / "out" / "day2" / "cellB.corrected.npz").is_file()
    with pytest.raises(ParameterError, match="either 'dask_client' or 'scheduler'"):
        run_batch(folder, out_dir=tmp_path / "o", pipette=PIPETTE, bath=BATH, temperature_c=32,
                  dask_client=client, scheduler="tcp://127.0.0.1:1")


@pytest.mark.parametrize("fmt", ["parquet", "xlsx", "md"])
def test_other_table_formats(clean_folder, tmp_path, fmt):
    from ephys_correct.report.tables import read_table

    out = tmp_path / "out"
    res = run_batch(clean_folder / "cellA.abf", out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=32,
                    format=fmt, jobs=1)
    assert res.ok
    assert (out / f"summary.{fmt}").is_file() and (out / f"cellA.driving_force.{fmt}").is_file()
    if fmt != "md":
        table = read_table(out / f"cellA.driving_force.{fmt}")
        assert len(table) > 0 and "driving_force_mV" in table.columns


def test_plots_and_progress_callback(clean_folder, tmp_path):
    seen = []
    res = run_batch(clean_folder / "cellA.abf", out_dir=tmp_path / "out", pipette=PIPETTE, bath=BATH,
                    temperature_c=32, jobs=1, plots=True, progress=lambda d, n, r: seen.append((d, n, r["status"])))
    assert res.ok and seen == [(1, 1, "ok")]
    for name in ("cellA.sweep0.png", "cellA.driving_force.png"):
        data = (tmp_path / "out" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_deleted_output_is_rewritten(clean_folder, tmp_path):
    out = tmp_path / "out"
    run_batch(clean_folder / "cellA.abf", out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1)
    (out / "cellA.corrected.npz").unlink()
    res = run_batch(clean_folder / "cellA.abf", out_dir=out, pipette=PIPETTE, bath=BATH, temperature_c=32, jobs=1)
    assert res.rows[0]["status"] == "ok"  # same input and options: the earlier run's files are ours to redo
    assert (out / "cellA.corrected.npz").is_file()


def test_bad_configuration_fails_before_any_file(clean_folder, tmp_path):
    with pytest.raises(ParameterError, match=r"configuration = 'wholecel' .*did you mean 'whole-cell'"):
        run_batch(clean_folder, out_dir=tmp_path / "out", pipette=PIPETTE, bath=BATH, temperature_c=32,
                  configuration="wholecel")
    sheet = tmp_path / "s.csv"
    sheet.write_text("pattern,ljp_method\n*.abf,jpcalc\n")
    with pytest.raises(ParameterError, match=r"s\.csv: line 2: ljp_method = 'jpcalc' is not one of 'henderson', 'nernst-planck'"):
        run_batch(clean_folder, out_dir=tmp_path / "out", pipette=PIPETTE, bath=BATH, temperature_c=32,
                  sheet=sheet)
    assert not (tmp_path / "out").exists()
