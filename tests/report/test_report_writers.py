"""write_table / read_table: round trips, atomic writes, refusal to overwrite."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from conftest import TEST_DATA

from ephys_correct.correction.correct import correct_recording
from ephys_correct.errors import OutputExistsError, ParameterError
from ephys_correct.report.driving_force import COLUMN_UNITS, channel_corrections_table, driving_force_table
from ephys_correct.report.tables import read_table, sidecar_path, write_table


@pytest.fixture(scope="module")
def table():
    cr = correct_recording(TEST_DATA / "pclamp11_4ch.abf", pipette="axobits39_kgluconate_pipette",
                           bath="axobits39_saline_bath", temperature_c=22, zeroing_temperature_c=20,
                           configuration="perforated", perforating_agent="gramicidin")
    df = driving_force_table(cr, epochs=[("baseline", 0.0, 0.002), ("step", 0.01, 0.05)])
    assert df["E_rev_mV"].isna().any() and (df["note"] != "").any()  # NaNs and notes round-trip too
    return df


def _no_temp_files(d):
    return [n for n in os.listdir(d) if n.endswith(".tmp") or ".tmp." in n]


def test_csv_sidecar_round_trip(tmp_path, table):
    p = write_table(table, tmp_path / "df.csv")
    side = sidecar_path(p)
    assert side.name == "df.csv.json" and side.is_file()
    meta = json.loads(side.read_text())
    assert {c["name"]: c["unit"] for c in meta["columns"]} == COLUMN_UNITS
    assert meta["attrs"]["input_sha256"] == table.attrs["input_sha256"]
    back = read_table(p)
    pd.testing.assert_frame_equal(back, table, check_exact=True)
    assert back.attrs == json.loads(json.dumps(table.attrs))
    assert _no_temp_files(tmp_path) == []


def test_parquet_round_trip(tmp_path, table):
    import pyarrow.parquet as pq

    p = write_table(table, tmp_path / "df.parquet")
    assert b"ephys_correct" in pq.read_schema(p).metadata
    back = read_table(p)
    pd.testing.assert_frame_equal(back, table, check_exact=True)
    assert back.attrs == json.loads(json.dumps(table.attrs))


def test_xlsx_round_trip(tmp_path, table):
    p = write_table(table, tmp_path / "df.xlsx")
    sheets = pd.read_excel(p, sheet_name=None, engine="openpyxl")
    assert set(sheets) == {"data", "metadata"}
    meta = dict(zip(sheets["metadata"]["key"], sheets["metadata"]["value"]))
    assert meta["unit:driving_force_mV"] == "mV"
    back = read_table(p)
    # Excel keeps 15-16 significant digits
    pd.testing.assert_frame_equal(back, table, check_exact=False, rtol=1e-14, atol=0)
    assert back.attrs == json.loads(json.dumps(table.attrs))


def test_markdown_and_html_for_the_notebook(tmp_path, table):
    md = write_table(table, tmp_path / "df.md").read_text()
    assert md.startswith("## ephys_correct driving-force table")
    head, body = md.split("\n| file |", 1)
    for s in ("input SHA-256", table.attrs["input_sha256"], "LJP V_L", "activity model", "truesdell-jones",
              "pipette (headstage 0)", "units", "driving_force_mV [mV]", "gramicidin"):
        assert s in head
    assert body.count("\n") == len(table) + 2  # header end, separator, one line per row
    html = write_table(table, tmp_path / "df.html").read_text()
    assert "<dl class=\"metadata\">" in html and html.count("<tr>") == len(table) + 1
    assert "&#x27;" in html or "&quot;" in html or "'" not in html.split("<table>")[1]  # escaped
    with pytest.raises(ParameterError, match="not read back"):
        read_table(tmp_path / "df.md")


def test_refuses_to_overwrite(tmp_path, table):
    p = tmp_path / "df.csv"
    p.write_text("precious\n")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        write_table(table, p)
    assert p.read_text() == "precious\n" and not sidecar_path(p).exists()
    # a sidecar alone also blocks (it would be replaced)
    q = tmp_path / "other.csv"
    sidecar_path(q).write_text("{}")
    with pytest.raises(OutputExistsError):
        write_table(table, q)
    assert not q.exists() and sidecar_path(q).read_text() == "{}"
    write_table(table, p, overwrite=True)
    pd.testing.assert_frame_equal(read_table(p), table)
    assert _no_temp_files(tmp_path) == []


@pytest.mark.parametrize("suffix", ["csv", "parquet", "xlsx", "md"])
def test_failure_leaves_no_partial_file(tmp_path, table, monkeypatch, suffix):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    if suffix == "csv":
        monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    elif suffix == "parquet":
        import pyarrow.parquet as pq

        monkeypatch.setattr(pq, "write_table", boom)
    elif suffix == "xlsx":
        monkeypatch.setattr(pd.DataFrame, "to_excel", boom)
    else:
        monkeypatch.setattr("pathlib.Path.write_text", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_table(table, tmp_path / f"df.{suffix}")
    assert os.listdir(tmp_path) == []


def test_unserializable_attrs_fail_before_writing(tmp_path, table):
    bad = table.copy()
    bad.attrs = {**table.attrs, "thing": object()}
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_table(bad, tmp_path / "df.csv")
    assert os.listdir(tmp_path) == []


def test_format_errors(tmp_path, table):
    with pytest.raises(ParameterError, match="suffix '.txt'"):
        write_table(table, tmp_path / "df.txt")
    p = write_table(table, tmp_path / "df.txt", format="csv")
    assert p.is_file() and sidecar_path(p).is_file()
    with pytest.raises(ParameterError, match=r"^write_table: format = 'tsv' is not one of 'csv'"):
        write_table(table, tmp_path / "x.csv", format="tsv")
    with pytest.raises(FileNotFoundError, match="no such directory"):
        write_table(table, tmp_path / "missing" / "df.csv")
    (tmp_path / "bare.csv").write_text("a\n1\n")
    with pytest.raises(FileNotFoundError, match="sidecar"):
        read_table(tmp_path / "bare.csv")


def test_channel_corrections_table():
    cr = correct_recording(TEST_DATA / "pclamp11_4ch.abf", pipette="axobits39_kgluconate_pipette",
                           bath="axobits39_saline_bath", temperature_c=20)
    df = channel_corrections_table(cr)
    assert list(df["signal"][:4]) == ["channel"] * 4
    assert set(df[df.signal == "dac"].quantity[:4]) == {"potential"}
    assert (df[df.quantity == "potential"].offset_mv == cr.ljp_mv).all()


def test_clear_error_without_optional_writers(tmp_path, table, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(ImportError, match="needs pyarrow"):
        write_table(table, tmp_path / "df.parquet")
    with pytest.raises(ImportError, match="needs openpyxl"):
        write_table(table, tmp_path / "df.xlsx")
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- nullable dtypes
def _nullable_frame():
    import numpy as np

    df = pd.DataFrame({
        "file": ["a.abf", "b.abf", "c.abf"],
        "status": ["ok", "failed", "ok"],
        # as in the batch summary: no sweep count / sheet line for a failed file
        "n_sweeps": pd.array([13, None, 2**53 + 1], dtype="Int64"),
        "sheet_line": pd.array([None, None, None], dtype="Int64"),
        "small": pd.array([1, None, 3], dtype="Int32"),
        "flag": pd.array([True, None, False], dtype="boolean"),
        "gain": pd.array([1.5, None, 0.1], dtype="Float64"),
        "count": np.array([1, 2, 3], dtype=np.int64),
        "ljp_mv": [15.5, np.nan, 1e-17],
        "ok": [True, False, True],
    })
    df.attrs = {"description": "summary", "units": {"ljp_mv": "mV"}}
    return df


@pytest.mark.parametrize("suffix", ["csv", "parquet", "xlsx"])
def test_nullable_integer_round_trip(tmp_path, suffix):
    df = _nullable_frame()
    if suffix == "xlsx":  # Excel keeps 15-16 digits
        df["n_sweeps"] = pd.array([13, None, 7], dtype="Int64")
    p = write_table(df, tmp_path / f"summary.{suffix}")
    back = read_table(p)
    assert back["n_sweeps"].dtype == "Int64" and back["n_sweeps"].isna().tolist() == [False, True, False]
    pd.testing.assert_frame_equal(back, df, check_exact=suffix != "xlsx")
    assert back.attrs == df.attrs


def test_sidecar_records_nullable_dtypes(tmp_path):
    p = write_table(_nullable_frame(), tmp_path / "summary.csv")
    meta = json.loads(sidecar_path(p).read_text())
    dtypes = {c["name"]: c["dtype"] for c in meta["columns"]}
    assert dtypes == {"file": "str", "status": "str", "n_sweeps": "Int64", "sheet_line": "Int64", "small": "Int32",
                      "flag": "boolean", "gain": "Float64", "count": "int64", "ljp_mv": "float64", "ok": "bool"}
    assert p.read_text().splitlines()[2].startswith("b.abf,failed,,,,,,2,,False")


def test_old_sidecar_int64_with_missing_values_reads_as_nullable(tmp_path):
    """Sidecars written before nullable dtypes were recorded said "int64" for an Int64 column."""
    df = _nullable_frame()[["file", "n_sweeps", "count"]]
    p = write_table(df, tmp_path / "old.csv")
    side = sidecar_path(p)
    meta = json.loads(side.read_text())
    for c in meta["columns"]:
        if c["dtype"] == "Int64":
            c["dtype"] = "int64"
    side.write_text(json.dumps(meta))
    back = read_table(p)
    assert back["n_sweeps"].dtype == "Int64" and back["count"].dtype == "int64"
    pd.testing.assert_frame_equal(back, df, check_exact=True)


def test_batch_summary_round_trip(tmp_path):
    from ephys_correct.batch.run import _summary_frame

    rows = [{"file": "a.abf", "status": "ok", "n_sweeps": 10, "sheet_line": 3, "ljp_mv": 15.2,
             "mean_Vm_mV": {"0": -70.0}, "seconds": 0.1},
            {"file": "b.abf", "status": "failed", "reason": "ClampModeError: ...", "seconds": 0.01}]
    df = _summary_frame(rows)
    assert df["n_sweeps"].isna().any()
    back = read_table(write_table(df, tmp_path / "summary.csv"))
    pd.testing.assert_frame_equal(back[["n_sweeps", "sheet_line"]], df[["n_sweeps", "sheet_line"]])
    assert back["n_sweeps"].tolist()[0] == 10 and back["n_sweeps"].isna().tolist() == [False, True]


# ----------------------------------------------------------------------------- permissions
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002, 0o077])
def test_written_files_respect_the_umask(tmp_path, table, umask):
    old = os.umask(umask)
    try:
        written = []
        for suffix in ("csv", "parquet", "xlsx", "md", "html"):
            written.append(write_table(table, tmp_path / f"df.{suffix}"))
        written.append(sidecar_path(tmp_path / "df.csv"))
        # replacing an existing file (os.replace) and a fresh one (hard link) alike
        written.append(write_table(table, tmp_path / "df.csv", overwrite=True))
    finally:
        os.umask(old)
    for p in written:
        assert (p.stat().st_mode & 0o777) == 0o666 & ~umask, (p.name, oct(p.stat().st_mode))
    assert _no_temp_files(tmp_path) == []
