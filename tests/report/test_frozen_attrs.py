"""The driving-force table's provenance in DataFrame.attrs: read-only, shared by reference, complete.

pandas deep-copies ``attrs`` on nearly every operation; the provenance values are
read-only records (``report.frozen_attrs``) that copy by reference (issue 16).
"""

from __future__ import annotations

import copy
import json
import pickle
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import TEST_DATA
from ephys_correct.correction.correct import correct_recording
from ephys_correct.report.driving_force import driving_force_table
from ephys_correct.report.frozen_attrs import FrozenDict, FrozenList, freeze, thaw
from ephys_correct.report.tables import read_table, write_table

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20)


@given(json_values)
def test_freeze_keeps_content_and_json(value):
    frozen = freeze(value)
    assert frozen == value
    assert json.dumps(frozen, sort_keys=True) == json.dumps(value, sort_keys=True)
    assert copy.deepcopy(frozen) is frozen and copy.copy(frozen) is frozen
    assert pickle.loads(pickle.dumps(frozen)) == value
    assert thaw(frozen) == value


def test_frozen_records_refuse_mutation():
    d = freeze({"a": [1, {"b": 2}]})
    assert isinstance(d, FrozenDict) and isinstance(d["a"], FrozenList) and isinstance(d, dict)
    for mutate in (lambda: d.__setitem__("x", 1), lambda: d.update(x=1), lambda: d.pop("a"),
                   lambda: d.setdefault("x", 1), lambda: d.clear(), lambda: d["a"].append(3),
                   lambda: d["a"][1].__setitem__("b", 3), lambda: d["a"].sort()):
        with pytest.raises(TypeError, match="read-only"):
            mutate()
    assert d == {"a": [1, {"b": 2}]}
    back = pickle.loads(pickle.dumps(d))
    assert isinstance(back, FrozenDict) and isinstance(back["a"], FrozenList)
    edit = thaw(d)
    edit["a"][1]["b"] = 3
    assert d["a"][1]["b"] == 2


@pytest.fixture(scope="module")
def table():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cr = correct_recording(TEST_DATA / "pclamp11_4ch.abf", pipette="axobits39_kgluconate_pipette",
                               bath="axobits39_saline_bath", temperature_c=22)
        return cr, driving_force_table(cr)


def test_pandas_copies_share_the_provenance(table):
    cr, df = table
    assert df.attrs["correction"] == cr.provenance  # the full provenance, unchanged in content
    for derived in (df[["ion", "V_m_mV"]], df.head(3), df.copy(), df.groupby("ion").first()):
        assert derived.attrs == df.attrs
        assert derived.attrs["correction"] is df.attrs["correction"]
    # the top-level dict is each frame's own: adding a key to a copy leaves the table alone
    c = df.copy()
    c.attrs["mine"] = 1
    assert "mine" not in df.attrs


def test_provenance_written_in_full(table, tmp_path):
    cr, df = table
    for name in ("t.csv", "t.parquet"):
        write_table(df, tmp_path / name)
        back = read_table(tmp_path / name)
        assert back.attrs == json.loads(json.dumps(df.attrs))
        assert back.attrs["correction"]["ljp"] == cr.provenance["ljp"]


# ----------------------------------------------------------------------------- freeze_json (issue 16)
def _round_trip(value):
    from ephys_correct._fileio import to_jsonable

    return freeze(json.loads(json.dumps(to_jsonable(value))))


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (st.lists(inner, max_size=4) | st.tuples(inner, inner)
                   | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)),
    max_leaves=20)


@given(json_like)
def test_freeze_json_is_the_json_round_trip(value):
    from ephys_correct.report.frozen_attrs import freeze_json

    got = freeze_json(value)
    want = _round_trip(value)
    assert json.dumps(got) == json.dumps(want)
    assert got == want or json.dumps(got) == json.dumps(want)  # NaN -> None on both sides


def test_freeze_json_numpy_paths_and_shared_parts(tmp_path):
    import numpy as np

    from ephys_correct.report.frozen_attrs import freeze_json

    shared = {"ions": [{"name": "K+", "mM": np.float64(140.0)}]}
    value = {"a": shared, "b": shared, "c": np.arange(3), "p": tmp_path, "n": np.int64(2), 1: float("inf"),
             "t": (np.bool_(True),)}
    got = freeze_json(value)
    assert json.dumps(got) == json.dumps(_round_trip(value))
    assert got["a"] is got["b"]  # one object met twice: converted once, shared
    with pytest.raises(TypeError, match="not JSON serializable"):
        freeze_json({"x": object()})


def test_table_provenance_equals_the_corrections_and_shares_the_ljp_record():
    from ephys_correct.report.table_metadata import _frozen_provenance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cr = correct_recording(TEST_DATA / "pclamp11_4ch.abf", pipette="internal_k_gluconate",
                               bath="acsf_carbogen_standard", temperature_c=32.0)
        prov = _frozen_provenance(cr)
        assert json.dumps(prov) == json.dumps(cr.provenance)
        assert prov == freeze(cr.provenance)
        recs = [r["ljp"] for r in prov["ljp"]["by_headstage"].values()]
        assert len(recs) == 4 and all(r is recs[0] for r in recs)  # one LJP computation, one record
        table = driving_force_table(cr)
    assert json.dumps(table.attrs["correction"]) == json.dumps(cr.provenance)
