"""Issue 12 item 4: one Settings definition drives the sheet, run_batch, the resume marker and the CLI.

Every test here is parametrized over the fields of ``Settings`` (read from the definition, not
a hand list): a setting added there is a sheet column, a run_batch keyword, a ``correct``
option and a key of the marker's options, or these tests fail.  Each field carries an
``example`` (a valid value other than its default) that the tests set it to.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
import threading

import pytest
from hypothesis import given, settings as hsettings, strategies as st

import ephys_correct.batch.run as run_mod
import ephys_correct.batch.sheet as sheet_mod
from ephys_correct.batch.run import _resolve_settings, run_batch
from ephys_correct.batch.settings import (
    REQUIRED_SETTINGS, SETTING_FIELDS, SETTING_NAMES, SHEET_COLUMN_OF, FileSettings, Settings, _options_hash,
    _SolSpec, check_setting, parse_setting,
)
from ephys_correct.batch.sheet import SHEET_COLUMNS, SheetRow, load_sheet
from ephys_correct.cli import build_parser
from ephys_correct.cli import cmd_correct
from ephys_correct.errors import ParameterError, RecipeError

from conftest import ROOT, TEST_DATA  # noqa: E402

BASE = dict(pipette="internal_k_gluconate", bath="acsf_carbogen_standard", temperature_c=32)
FILE = TEST_DATA / "2018_11_16_sh_0006.abf"
IDS = [f.name for f in SETTING_FIELDS]


def _example(f: dataclasses.Field):
    """The field's example (a sheet cell's text) in the setting's type (a solution stays its name)."""
    return check_setting(f.name, parse_setting(f.name, f.metadata["example"], text=True))


# --------------------------------------------------------------------------- the definition
@pytest.mark.parametrize("f", SETTING_FIELDS, ids=IDS)
def test_every_field_is_fully_defined(f):
    m = f.metadata
    assert m["option"] and m["option"][0].startswith("--") and m["help"] and m["doc"]
    example = _example(f)
    assert example is not None and example != f.default  # an example that is a change
    assert check_setting(f.name, example) == example  # parsing is idempotent
    with pytest.raises(ParameterError, match=f.name):
        Settings(**{f.name: object()})  # no setting takes just anything


def test_required_settings_and_defaults():
    assert REQUIRED_SETTINGS == ("pipette", "bath", "temperature_c")
    s = Settings()
    assert all(getattr(s, k) is None for k in REQUIRED_SETTINGS)  # temperature has no default
    assert (s.configuration, s.ljp_method, s.free_ions) == ("whole-cell", "henderson", True)


# --------------------------------------------------------------------------- every face
@pytest.mark.parametrize("f", SETTING_FIELDS, ids=IDS)
def test_every_field_is_a_sheet_column(f):
    assert SHEET_COLUMN_OF[f.name] in SHEET_COLUMNS
    assert f.name in {g.name for g in dataclasses.fields(SheetRow)}
    assert getattr(SheetRow("*.abf"), f.name) is None  # an empty cell: the run's option applies


@pytest.mark.parametrize("f", SETTING_FIELDS, ids=IDS)
def test_every_field_is_a_run_batch_keyword_with_the_same_default(f):
    param = inspect.signature(run_batch).parameters[f.name]
    assert param.kind is inspect.Parameter.KEYWORD_ONLY
    assert param.default == f.default
    assert re.search(rf"^    {f.name}\b|, {f.name}\b", run_batch.__doc__, re.M), "documented"


def test_sheet_columns_are_the_settings_between_pattern_and_notes():
    assert SHEET_COLUMNS == ("pattern", *(SHEET_COLUMN_OF[n] for n in SETTING_NAMES), "notes")
    assert [g.name for g in dataclasses.fields(SheetRow)] == ["pattern", *SETTING_NAMES, "notes", "line"]


@pytest.mark.parametrize("f", SETTING_FIELDS, ids=IDS)
def test_every_field_is_a_correct_option_reaching_run_batch(f, monkeypatch):
    """`correct --option VALUE` -> the Settings run_batch receives (run_batch itself is stopped)."""

    class Stop(Exception):
        pass

    seen = {}

    def fake_run_batch(inputs, **kw):
        seen.update(kw)
        raise Stop

    monkeypatch.setattr(cmd_correct, "run_batch", fake_run_batch)
    flag = f.metadata["option"][0]
    form = [flag] if f.metadata["cli"].get("action") else [flag, f.metadata["example"]]
    options = {g.name: g.metadata["option"][0] for g in SETTING_FIELDS}
    base = [a for k, v in BASE.items() if k != f.name for a in (options[k], str(v))]
    args = build_parser(("correct",)).parse_args(["correct", "x.abf", "--out", "o", *base, *form])
    assert getattr(args, f.name) != f.default
    with pytest.raises(Stop):
        cmd_correct.run(args)
    assert getattr(seen["settings"], f.name) == _example(f)


def test_correct_options_are_generated_from_the_definition():
    parser = build_parser(("correct",))
    sub = next(a for a in parser._actions if a.dest == "command").choices["correct"]
    by_dest = {a.dest: a for a in sub._actions}
    for f in SETTING_FIELDS:
        action = by_dest[f.name]
        assert tuple(action.option_strings) == f.metadata["option"] and action.help == f.metadata["help"]
        assert action.default == f.default


@pytest.mark.parametrize("f", SETTING_FIELDS, ids=IDS)
def test_every_field_keyword_or_settings_reaches_the_marker_options(f, tmp_path, monkeypatch):
    """run_batch(name=example) and run_batch(settings=Settings(name=example)) hash the same options,
    which carry the setting; and they differ from the options without it."""
    tasks = []
    monkeypatch.setattr(run_mod, "_execute", lambda t, **kw: tasks.extend(t) or [])
    kw = {**BASE, f.name: _example(f)}
    run_batch([FILE], out_dir=tmp_path / "a", jobs=1, **kw)
    run_batch([FILE], out_dir=tmp_path / "b", jobs=1, settings=Settings(**kw))
    run_batch([FILE], out_dir=tmp_path / "c", jobs=1, **BASE)
    with_kw, with_settings, without = tasks
    assert with_kw.error is None, with_kw.error
    assert with_kw.options[f.name] == _example(f) == getattr(with_kw.settings, f.name)
    assert with_kw.options_hash == with_settings.options_hash
    assert with_kw.options_hash != without.options_hash
    with pytest.raises(ParameterError, match=f"{f.name}.*not both"):
        run_batch([FILE], out_dir=tmp_path / "d", settings=Settings(**BASE), **{f.name: _example(f)})


# --------------------------------------------------------------------------- the sheet
@pytest.mark.parametrize("fmt", ["csv", "toml"])
@pytest.mark.parametrize("f", SETTING_FIELDS, ids=IDS)
def test_a_sheet_cell_of_every_field_reaches_the_files_settings_and_its_hash(f, fmt, tmp_path):
    col, example = SHEET_COLUMN_OF[f.name], f.metadata["example"]
    path = tmp_path / f"sheet.{fmt}"
    if fmt == "csv":
        path.write_text(f'pattern,{col}\n*.abf,"{example}"\n')
    else:
        path.write_text(f'schema_version = 1\n[[recording]]\npattern = "*.abf"\n{col} = "{example}"\n')
    sheet = load_sheet(path)
    assert getattr(sheet.rows[0], f.name) == _example(f)
    base = Settings(**BASE)
    specs: dict = {}
    over = _resolve_settings("cell.abf", sheet, base, specs, tmp_path)
    plain = _resolve_settings("cell.abf", None, base, specs, None)
    assert isinstance(over, FileSettings) and over.sheet_line == 2 - (fmt == "toml")
    assert getattr(over, f.name) == _example(f) != getattr(plain, f.name)
    assert {n: getattr(over, n) for n in SETTING_NAMES if n != f.name} == \
        {n: getattr(plain, n) for n in SETTING_NAMES if n != f.name}  # the other settings are the run's
    assert _options_hash(over.options()) != _options_hash(plain.options())


def test_sheet_numbers_are_floats_whatever_their_spelling(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('[[recording]]\npattern = "*"\ntemperature_c = 32\nph = 7\nfree_ions = false\n')
    csv = tmp_path / "s.csv"
    csv.write_text("pattern,temperature_c,ph,free_ions\n*,32,7.0,no\n")
    a, b = load_sheet(toml).rows[0], load_sheet(csv).rows[0]
    assert (a.temperature_c, a.ph, a.free_ions) == (b.temperature_c, b.ph, b.free_ions) == (32.0, 7.0, False)
    assert type(a.ph) is float


@pytest.mark.parametrize("column, cell, match", [
    ("free_ions", "maybe", "free_ions must be true or false"),
    ("ph", "15", "ph 15.0 is outside 0..14"),
    ("zeroing_temperature_c", "99", "zeroing_temperature_c 99.0 degC is outside"),
    ("ljp_mv", "nan", "ljp_mv must be finite"),
])
def test_sheet_cells_are_checked_by_the_definition(column, cell, match, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(f"pattern,{column}\n*,{cell}\n")
    with pytest.raises(RecipeError, match=rf"s.csv: line 2: {match}"):
        load_sheet(path)


def test_a_bad_override_in_a_sheet_fails_before_any_file(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("pattern,headstages\n*,0\n")
    with pytest.raises(ParameterError, match=r"s.csv: line 2: .*'headstages'"):
        run_batch([FILE], out_dir=tmp_path / "out", sheet=path, **BASE)
    assert not (tmp_path / "out").exists()


def test_with_overrides_and_merged():
    s = Settings(**BASE)
    assert s.with_overrides({"ph": None}) == s  # an empty cell keeps the value
    assert s.with_overrides({"ph": 7.2}).ph == 7.2
    with pytest.raises(ParameterError, match="ph must be a number, got '7.2'"):
        s.with_overrides({"ph": "7.2"})  # text is read as a number in a sheet, not in Python
    with pytest.raises(ParameterError, match="free_ions must be true or false, got 'false'"):
        Settings(free_ions="false")
    with pytest.raises(ParameterError, match="unknown setting 'temprature_c'.*Did you mean.*'temperature_c'"):
        s.with_overrides({"temprature_c": 30})
    row = SheetRow("*", temperature_c=25.0, configuration="outside-out")
    m = s.merged(row)
    assert (m.temperature_c, m.configuration, m.pipette) == (25.0, "outside-out", BASE["pipette"])
    with pytest.raises(ParameterError, match="configuration = 'wholecel' is not one of .*did you mean 'whole-cell'"):
        s.with_overrides({"configuration": "wholecel"})
    assert Settings(headstages={1: 0, "IN 3": None}).headstages == "1=0,IN 3=none"  # a mapping as the text


def test_run_batch_settings_must_be_settings(tmp_path):
    with pytest.raises(ParameterError, match="'settings' must be a Settings"):
        run_batch([FILE], out_dir=tmp_path / "o", settings=dict(BASE))


# --------------------------------------------------------------------------- marker stability
def test_options_hash_of_unchanged_values_is_the_one_before_the_single_definition():
    """Markers written before the Settings definition stay valid (their hash was computed by
    the hand-written FileSettings.options of 0.x; the values below were hashed by that code)."""
    pip, bath = _SolSpec("path", "internal_k_gluconate", "a" * 64), _SolSpec("path", "acsf", "b" * 64)
    kw = dict(pipette="internal_k_gluconate", bath="acsf", temperature_c=32.0, configuration="whole-cell",
              ljp_method="henderson", _pipette=pip, _bath=bath)
    assert _options_hash(FileSettings(**kw).options()) == \
        "7f4190a895bb2f4d52012a7ac25b4764b18c77d43d3fdd759719ddaab28b1516"
    every = dict(ljp_mv=12.5, ph=7.2, zeroing_temperature_c=22.0, free_ions=False, clamp_mode="current_clamp",
                 perforating_agent="gramicidin", headstages="1=0", unit_fix="0=mV/20")
    assert _options_hash(FileSettings(**kw, **every).options()) == \
        "691be5e47ff5d1b55ec0c1daa05dffe7023ab734398db0f404b1d6e31b53872b"


# --------------------------------------------------------------------------- docs
def test_docs_sheet_table_lists_every_column():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    table = text[text.index("| column | meaning |"):]
    table = table[:table.index("\n\n")]
    listed = set(re.findall(r"`([a-z_]+)`", "\n".join(ln.split("|")[1] for ln in table.splitlines()[2:])))
    assert listed == set(SHEET_COLUMNS)


# --------------------------------------------------------------------------- issue 17: hostile sheet paths
def test_a_fifo_sheet_is_refused_unread_in_bounded_time(tmp_path):
    fifo = tmp_path / "sheet.csv"
    os.mkfifo(fifo)
    result = {}

    def load():
        try:
            load_sheet(fifo)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            result["exc"] = exc

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():  # unblock the reader so the thread ends, then fail
        with open(fifo, "w"):
            pass
        pytest.fail("load_sheet blocked on a FIFO")
    assert isinstance(result.get("exc"), RecipeError)
    assert str(fifo) in str(result["exc"]) and "named pipe (FIFO)" in str(result["exc"])


def test_a_device_or_a_huge_sheet_is_refused(tmp_path, monkeypatch):
    with pytest.raises(RecipeError, match="/dev/zero: is a character device, not a sheet file"):
        load_sheet("/dev/zero")
    big = tmp_path / "big.csv"
    big.write_text("pattern,temperature_c\n" + "*.abf,32\n" * 100)
    monkeypatch.setattr(sheet_mod, "MAX_SHEET_BYTES", 512)
    with pytest.raises(RecipeError, match=rf"{re.escape(str(big))}: longer than 512 bytes"):
        load_sheet(big)
    with pytest.raises(RecipeError, match="is a folder"):
        run_batch([FILE], out_dir=tmp_path / "out", sheet=tmp_path, **BASE)
    assert not (tmp_path / "out").exists()


def test_correct_names_the_missing_required_options_from_the_definition():
    args = build_parser(("correct",)).parse_args(["correct", "x.abf", "--out", "o", "--bath", BASE["bath"]])
    missing = [f.metadata["option"][0] for f in SETTING_FIELDS if f.name in REQUIRED_SETTINGS and f.name != "bath"]
    with pytest.raises(ParameterError, match=re.escape(f"give {', '.join(missing)} (or an experiment sheet")):
        cmd_correct.run(args)
    assert missing == ["--pipette", "--temperature"]


NUMERIC = [f for f in SETTING_FIELDS if f.metadata["cli"].get("type") is float]


@pytest.mark.parametrize("f", NUMERIC, ids=[f.name for f in NUMERIC])
def test_any_change_of_a_number_changes_the_options_hash(f):
    pip, bath = _SolSpec("path", "p", "a" * 64), _SolSpec("path", "b", "b" * 64)
    base = dict(pipette="p", bath="b", temperature_c=32.0, _pipette=pip, _bath=bath)
    # any value the setting accepts: probe its range with the definition's own parser
    lo = -1e6 if f.name == "ljp_mv" else next(x / 10 for x in range(-1000, 1000) if _accepts(f.name, x / 10))
    hi = 1e6 if f.name == "ljp_mv" else next(x / 10 for x in range(1000, -1000, -1) if _accepts(f.name, x / 10))
    values = st.floats(lo, hi, allow_nan=False)

    @hsettings(max_examples=60, deadline=None)
    @given(values, values)
    def check(a, b):
        ha = _options_hash(FileSettings(**{**base, f.name: a}).options())
        hb = _options_hash(FileSettings(**{**base, f.name: b}).options())
        assert (ha == hb) == (repr(a) == repr(b))  # -0.0 and 0.0 are two spellings: two hashes

    check()


def _accepts(name, value) -> bool:
    try:
        check_setting(name, value)
    except ParameterError:
        return False
    return True


def test_ph_is_an_open_interval_as_before():
    for bad in (0, 14, -0.1, 14.5):
        with pytest.raises(ParameterError, match="ph .* is outside 0..14"):
            Settings(ph=bad)
    assert Settings(ph=0.1).ph == 0.1
