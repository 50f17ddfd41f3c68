"""The HTML report of a ``correct`` output folder (ephys_correct.report.html, ``ephys-correct report``).

The page is parsed with the standard library's html.parser and its content
checked against the files it was built from: the summary table, the
driving-force tables' metadata and the corrected traces.
"""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from ephys_correct.cli import main
from ephys_correct.errors import OutputExistsError, ParameterError
from ephys_correct.report.html import _raw_from_corrected, build_report, is_own_report, write_report
from ephys_correct.report.tables import read_table

ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = ROOT / "tests" / "data"
EXAMPLE = ROOT / "ephys_correct" / "data" / "examples" / "17o05028_ic_steps.abf"
SOL = ["--pipette", "internal_k_gluconate", "--bath", "acsf_carbogen_standard", "--temperature", "32"]
#: a file name that is also markup (a '/' cannot be part of a file name, so no closing tag)
HOSTILE = "<img src=x onerror=alert(1)>&\"'<script>alert(2)<script>"


class Page(HTMLParser):
    """What the tests look at: tags with attributes, summary rows, sections, figure titles, scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.rows: list[dict] = []  # summary table rows: attrs + cells [(data-v, text)]
        self.headers: list[str] = []
        self.sections: dict[str, dict] = {}
        self.scripts: list[str] = []
        self._stack: list[str] = []
        self._in_summary = False
        self._row = None
        self._cell = None
        self._th = None
        self._section = None
        self._script = None
        self._figtitle = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table" and a.get("id") == "summary":
            self._in_summary = True
        elif self._in_summary and tag == "tr" and "data-target" in a:
            self._row = {"attrs": a, "cells": []}
        elif self._row is not None and tag == "td":
            self._cell = [a.get("data-v"), ""]
        elif self._in_summary and tag == "th":
            self._th = ""
        elif tag == "details" and "rec" in (a.get("class") or ""):
            self._section = {"attrs": a, "text": "", "titles": [], "imgs": []}
            self.sections[a["id"]] = self._section
        elif tag == "img" and self._section is not None:
            self._section["imgs"].append(a)
        elif tag == "span" and a.get("class") == "figtitle":
            self._figtitle = ""
        elif tag == "script":
            self._script = ""

    def handle_endtag(self, tag):
        if tag == "table" and self._in_summary:
            self._in_summary = False
        elif tag == "td" and self._cell is not None:
            self._row["cells"].append(tuple(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "th" and self._th is not None:
            self.headers.append(self._th.strip())
            self._th = None
        elif tag == "details" and self._section is not None:
            self._section = None
        elif tag == "span" and self._figtitle is not None:
            self._section["titles"].append(self._figtitle)
            self._figtitle = None
        elif tag == "script" and self._script is not None:
            self.scripts.append(self._script)
            self._script = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data
        if self._th is not None:
            self._th += data
        if self._section is not None:
            self._section["text"] += data
        if self._figtitle is not None:
            self._figtitle += data
        if self._script is not None:
            self._script += data


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One ``correct`` run: current clamp, voltage clamp, suspect units, a hostile name, a corrupt file."""
    from io_helpers import make_bad_units_abf

    tmp = tmp_path_factory.mktemp("report")
    src = tmp / "in"
    src.mkdir()
    shutil.copy(EXAMPLE, src / EXAMPLE.name)
    shutil.copy(TEST_DATA / "171116sh_0013.abf", src / "171116sh_0013.abf")
    shutil.copy(EXAMPLE, src / f"{HOSTILE}.abf")
    shutil.move(make_bad_units_abf(tmp), src / "bad_units.abf")
    (src / "cut.abf").write_bytes((TEST_DATA / "171116sh_0013.abf").read_bytes()[:3000])
    out = tmp / "out"
    rc = main(["correct", str(src), "--out", str(out), "-j", "1", "--no-progress", *SOL])
    assert rc == 1  # cut.abf failed; the others are done and the report is written anyway
    return {"src": src, "out": out, "report": out / "report.html", "page": parse(out / "report.html"),
            "summary": read_table(out / "summary.csv")}


def _row_for(page: Page, name: str) -> dict:
    rows = [r for r in page.rows if r["cells"][1][1] == name]
    assert len(rows) == 1, [r["cells"][1][1] for r in page.rows]
    return rows[0]


def test_correct_writes_the_report(run):
    assert run["report"].is_file() and is_own_report(run["report"])
    assert not list(run["out"].glob(".*tmp*"))  # written atomically, nothing left behind
    page = run["page"]
    assert len(page.rows) == len(run["summary"]) == 5
    assert len(page.sections) == 5
    for tag in ("input", "select"):
        assert any(t == tag for t, _ in page.tags)
    options = [a.get("value") for t, a in page.tags if t == "option"]
    assert options == ["all", "ok", "warn", "skipped", "failed", "warnings", "suspect"]


def test_summary_rows_equal_the_summary_table(run):
    page, summary = run["page"], run["summary"]
    heads = [c for c in summary.columns if c.startswith("mean_Vm_mV_hs")]
    assert heads == ["mean_Vm_mV_hs0"]
    col = {h: i for i, h in enumerate(page.headers)}
    for rec in summary.to_dict("records"):
        name = Path(rec["file"]).name
        cells = _row_for(page, name)["cells"]
        assert cells[col["status"]][1].startswith(rec["status"])
        assert cells[col["configuration"]][1] == rec["configuration"]
        assert cells[col["pipette"]][1] == rec["pipette"] and cells[col["bath"]][1] == rec["bath"]
        ljp_v, ljp_text = cells[col["LJP VL (mV)"]]
        vm_v, vm_text = cells[col["mean Vm hs0 (mV)"]]
        if rec["status"] == "failed":
            assert ljp_v == "" and vm_v == "" and cells[col["sweeps"]][0] == ""
            assert cells[col["warnings / reason"]][0] == rec["reason"] and "truncated" in rec["reason"]
            continue
        # the exact value in data-v (sorting), the rounded one shown
        assert float(ljp_v) == rec["ljp_mv"] and ljp_text == f"{rec['ljp_mv']:+.2f}"
        if np.isfinite(rec["mean_Vm_mV_hs0"]):
            assert float(vm_v) == rec["mean_Vm_mV_hs0"] and vm_text == f"{rec['mean_Vm_mV_hs0']:.2f}"
        else:
            assert vm_v == "" and vm_text == ""  # bad units: no V_m
        assert int(cells[col["sweeps"]][1]) == rec["n_sweeps"]
        assert cells[col["LJP method"]][1] == "henderson"


def test_ljp_shown_equals_the_table_metadata(run):
    page = run["page"]
    for name, stem in ((EXAMPLE.name, EXAMPLE.stem), ("171116sh_0013.abf", "171116sh_0013")):
        attrs = read_table(run["out"] / f"{stem}.driving_force.csv").attrs
        ljp = attrs["ljp"]["by_headstage"]["0"]["ljp_mv"]
        assert attrs["ljp"]["method"] == "henderson" and attrs["ljp"]["source"] == "computed"
        sid = _row_for(page, name)["attrs"]["data-target"]
        text = page.sections[sid]["text"]
        assert f"headstage 0: {ljp:+.2f} mV (henderson)" in text
        # and in the trace figure's title
        assert any(f"V_L = {ljp:+.2f} mV (henderson; whole-cell" in t for t in page.sections[sid]["titles"])


def test_titles_name_the_file_headstage_and_statistic(run):
    page = run["page"]
    for name in (EXAMPLE.name, "171116sh_0013.abf", f"{HOSTILE}.abf"):
        sec = page.sections[_row_for(page, name)["attrs"]["data-target"]]
        titles = sec["titles"]
        assert len(titles) == 2 and len(sec["imgs"]) == 2
        traces, driving = titles
        assert traces.startswith(f"{name} | headstage 0 | sweeps ")
        assert "min/max of" in traces and "bins drawn" in traces  # what the drawn points are
        assert driving.startswith(f"{name} | headstage 0 | driving force V_m - E_rev per ion, per sweep")
        assert "V_m: mean over each sweep" in driving
        assert [i["alt"] for i in sec["imgs"]] == titles
    # voltage clamp: the command (what the LJP changes) is drawn, raw vs corrected
    vc = page.sections[_row_for(page, "171116sh_0013.abf")["attrs"]["data-target"]]
    assert "as recorded vs LJP-corrected" in vc["titles"][0] and "(voltage_clamp)" in vc["text"]
    assert "at most 2000 points" in vc["text"]


def test_reversal_potential_table(run):
    page = run["page"]
    table = read_table(run["out"] / "171116sh_0013.driving_force.csv")
    text = page.sections[_row_for(page, "171116sh_0013.abf")["attrs"]["data-target"]]["text"]
    for ion in ("K+", "Na+", "Cl-"):
        e = table.loc[table["ion"] == ion, "E_rev_mV"].iloc[0]
        df = table.loc[table["ion"] == ion, "driving_force_mV"]
        assert f"{ion}" in text and f"{e:+.2f}" in text
        assert f"{df.min():+.1f} to {df.max():+.1f}" in text


def test_offline_no_external_resources(run):
    page, text = run["page"], run["report"].read_text(encoding="utf-8")
    for tag, a in page.tags:
        for key in ("src", "href", "data", "action", "poster"):
            v = (a.get(key) or "").strip().lower()
            assert not v.startswith(("http:", "https:", "//", "ftp:")), (tag, key, v)
        assert tag not in ("link", "iframe", "object", "embed")
        if tag == "script":
            assert "src" not in a
        if tag == "img":
            assert a["src"].startswith("data:image/png;base64,")
    assert "@import" not in text and "url(" not in text
    # relative links to the outputs resolve from the report's folder
    hrefs = [a["href"] for t, a in page.tags if t == "a" and not a["href"].startswith("#")]
    assert hrefs and all((run["out"] / h).exists() for h in hrefs
                         if "%" not in h)  # percent-encoded ones: the hostile name below


def test_hostile_file_name_is_escaped(run):
    text = run["report"].read_text(encoding="utf-8")
    page = run["page"]
    assert "<img src=x" not in text and "<script>alert" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#x27;&lt;script&gt;alert(2)&lt;script&gt;" in text
    # exactly our one script, and only our figures as images
    assert len(page.scripts) == 1 and "alert" not in page.scripts[0]
    n_figs = sum(len(s["imgs"]) for s in page.sections.values())
    assert sum(t == "img" for t, _ in page.tags) == n_figs
    # the name round-trips through the parser (shown as text, not markup), and its links resolve
    assert _row_for(page, f"{HOSTILE}.abf")
    from urllib.parse import unquote

    hrefs = [unquote(a["href"]) for t, a in page.tags if t == "a" and HOSTILE in unquote(a.get("href", ""))]
    assert len(hrefs) == 3 and all((run["out"] / h).is_file() for h in hrefs)


def test_suspect_units_marked(run):
    page = run["page"]
    row = _row_for(page, "bad_units.abf")
    assert row["attrs"]["data-suspect"] == "1"
    assert "units suspect" in row["cells"][2][1]
    sec = page.sections[row["attrs"]["data-target"]]
    assert "UNITS SUSPECT: IN 0 is labelled pA in this file" in sec["text"]
    assert "no driving force" in sec["text"]  # no V_m: a note, not an empty figure
    assert len(sec["imgs"]) == 1
    others = [r for r in page.rows if r is not row]
    assert all(r["attrs"]["data-suspect"] == "0" for r in others)


def test_failed_file_section(run):
    page = run["page"]
    row = _row_for(page, "cut.abf")
    sec = page.sections[row["attrs"]["data-target"]]
    assert sec["attrs"]["data-status"] == "failed"
    assert "why it failed:" in sec["text"] and "CorruptRecordingError" in sec["text"] and not sec["imgs"]


def test_report_command_refuses_to_overwrite(run, tmp_path, capsys):
    out = run["out"]
    before = run["report"].read_bytes()
    assert main(["report", str(out)]) == 1
    assert "exists" in capsys.readouterr().err and run["report"].read_bytes() == before
    other = tmp_path / "elsewhere" / "r.html"
    other.parent.mkdir()
    other.write_text("mine")
    with pytest.raises(OutputExistsError, match="r.html: exists"):
        write_report(out, other)
    assert other.read_text() == "mine"
    assert main(["report", str(out), "-o", str(other), "--force", "-j", "1", "--max-sweeps", "1"]) == 0
    assert "report: " in capsys.readouterr().out
    page = parse(other)
    # links are relative to the report's own folder
    hrefs = [a["href"] for t, a in page.tags if t == "a" and not a["href"].startswith("#") and "%" not in a["href"]]
    assert hrefs and all((other.parent / h).resolve().is_file() for h in hrefs)
    titles = page.sections[_row_for(page, EXAMPLE.name)["attrs"]["data-target"]]["titles"]
    assert "| sweep 0 of 16" in titles[0]


def test_rerun_replaces_own_report_but_not_a_foreign_file(run, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(run["out"], out)  # a rerun over a copy: the files are done (skipped)
    args = ["correct", str(run["src"]), "--out", str(out), "-j", "1", *SOL]
    report = out / "report.html"
    report.write_text("<html>my notes</html>")
    assert main(args) == 1  # cut.abf fails again; then the report is refused
    err = capsys.readouterr().err
    assert "report.html: exists" in err and report.read_text() == "<html>my notes</html>"
    assert main([*args, "--no-report"]) == 1
    assert "report.html" not in capsys.readouterr().err
    shutil.copy(run["report"], report)
    assert main(args) == 1  # our own report: replaced on a rerun
    assert "report: " in capsys.readouterr().out
    page = parse(report)
    assert [r["attrs"]["data-status"] for r in page.rows].count("skipped") == 4


def test_folder_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 1
    assert "no summary.csv" in capsys.readouterr().err
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(TEST_DATA / "171116sh_0013.abf", src / "vc.abf")
    out = tmp_path / "out"
    assert main(["correct", str(src), "--out", str(out), "-j", "1", "--format", "md", *SOL]) == 0
    err = capsys.readouterr().err
    assert "no report.html: a Markdown summary cannot be read back" in err and not (out / "report.html").exists()
    with pytest.raises(ParameterError, match="Markdown summary is not machine-readable"):
        build_report(out)
    with pytest.raises(ParameterError, match=r"^build_report: max_points = 10 is less than 100"):
        build_report(out, max_points=10)
    with pytest.raises(ParameterError, match=r"^build_report: jobs = True is not a number"):
        build_report(out, jobs=True)


def test_missing_outputs_reported_not_hidden(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(TEST_DATA / "171116sh_0013.abf", src / "vc.abf")
    out = tmp_path / "out"
    assert main(["correct", str(src), "--out", str(out), "-j", "1", "--no-report", *SOL]) == 0
    (out / "vc.corrected.npz").write_bytes(b"not a zip")
    page = Page()
    page.feed(build_report(out, jobs=1))
    sec = next(iter(page.sections.values()))
    assert "corrected traces:" in sec["text"] and "incomplete" in sec["text"]
    assert len(sec["imgs"]) == 1  # the driving force is still drawn from its table


@pytest.mark.parametrize("configuration, extra", [
    ("whole-cell", {}),
    ("inside-out", {}),
    ("cell-attached", {"resting_potential_mv": -65.0}),
    ("whole-cell", {"polarity_inverted_at_acquisition": True, "ljp_applied_online_mv": 5.0}),
])
def test_raw_traces_recovered_from_the_recorded_correction(configuration, extra):
    """The report's 'as recorded' traces: the corrected values with the recorded correction undone."""
    from ephys_correct.correction.correct import correct_recording

    cr = correct_recording(str(TEST_DATA / "171116sh_0013.abf"), pipette="internal_k_gluconate",
                           bath="acsf_carbogen_standard", temperature_c=32, configuration=configuration, **extra)
    rec = cr.recording
    cmd = cr.command_corrections[0].as_dict()
    raw, why = _raw_from_corrected(cr.command(3, 0), json.loads(json.dumps(cmd)))
    assert why == "" and cmd["quantity"] == "potential"
    np.testing.assert_allclose(raw, rec.command(3, 0), rtol=0, atol=1e-9)
    cur = cr.channel_corrections[0].as_dict()
    raw, why = _raw_from_corrected(cr.sweep_data(3, 0), cur)
    np.testing.assert_allclose(raw, cr.raw_sweep_data(3, 0), rtol=0, atol=1e-9)
    # with a bath change the reference moves in time: not recovered, and said so
    raw, why = _raw_from_corrected(cr.command(3, 0), {**cmd, "bath_change": "per sweep"})
    assert raw is None and "bath reference changes" in why


def test_without_matplotlib_the_report_has_no_figures_and_says_so(tmp_path, monkeypatch, capsys):
    import sys

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(TEST_DATA / "171116sh_0013.abf", src / "vc.abf")
    out = tmp_path / "out"
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert main(["correct", str(src), "--out", str(out), "-j", "1", *SOL]) == 0
    err = capsys.readouterr().err
    assert "warning: the report's figures need matplotlib" in err
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "<img" not in text and "figures not drawn: they need matplotlib" in text
    page = parse(out / "report.html")
    assert "Cl-" in next(iter(page.sections.values()))["text"]  # the tables are still there
