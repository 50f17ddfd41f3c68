"""_repr_html_ of Solution, LJPResult, Recording, CorrectedRecording, Plan and TargetSolution.

Each view is parsed with html.parser: the tags balance, the numbers shown are the
API's (to the 4 significant digits shown), and text from files is escaped.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from conftest import TEST_DATA

from ephys_correct._html import number, table
from ephys_correct.chemistry.solutions import Solution
from ephys_correct.correction.correct import correct_recording
from ephys_correct.io import read_recording
from ephys_correct.plan import plan_solutions
from ephys_correct.potentials.ljp import liquid_junction_potential

WCP = TEST_DATA / "myokit_wcp-file.wcp"
HOSTILE = '<script>alert("x")</script> & Co'
PIPETTE = {"K+": 145, "Na+": 13, "Cl-": 10, "gluconate-": 145, "Mg2+": 1, "HEPES-": 5}
BATH = {"Na+": 145, "K+": 5, "Cl-": 150}
VOID = {"br", "hr", "img", "meta", "input", "col"}


class _Tables(HTMLParser):
    """Collects every table as rows of cell texts, checking that tags balance."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.notes: list[str] = []
        self._cap = self._cell = self._row = None
        self._p = None
        self.current = None
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts += 1
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "caption":
            self._cap = ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "p":
            self._p = ""

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()
        if tag == "caption":
            self.current = self._cap
            assert self.current not in self.tables, self.current
            self.tables[self.current] = []
            self._cap = None
        elif tag in ("td", "th"):
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr":
            self.tables[self.current].append(self._row)
        elif tag == "p":
            self.notes.append(self._p)
            self._p = None

    def handle_data(self, data):
        for name in ("_cap", "_cell", "_p"):
            if getattr(self, name) is not None:
                setattr(self, name, getattr(self, name) + data)


def parse(obj) -> _Tables:
    text = obj._repr_html_()
    assert isinstance(text, str) and text.startswith("<div")
    p = _Tables()
    p.feed(text)
    p.close()
    assert p.stack == [] and p.scripts == 0
    return p


def pairs(p: _Tables, caption: str) -> dict[str, str]:
    return {r[0]: r[1] for r in p.tables[caption]}


def close(cell: str, value: float) -> bool:
    return float(cell) == pytest.approx(value, rel=1e-3, abs=1e-9)


@pytest.fixture(scope="module")
def solutions():
    return (Solution.from_ions(PIPETTE, name="K-gluconate", role="pipette"),
            Solution.from_ions(BATH, name="saline", role="bath"))


def test_solution(solutions):
    sol = solutions[0]
    p = parse(sol)
    kv = pairs(p, "Solution K-gluconate")
    assert close(kv["ionic strength (mM)"], sol.ionic_strength_mm())
    assert close(kv["osmolarity, ideal (mOsm/L)"], sol.osmolarity().ideal_mosm_l)
    assert kv["role"] == "pipette"
    comp = {r[0]: float(r[2]) for r in p.tables["composition"][1:]}
    assert comp == pytest.approx(dict(sol.ions_mm))


def test_ljp(solutions):
    r = liquid_junction_potential(*solutions, temperature_c=20)
    p = parse(r)
    kv = pairs(p, "Liquid junction potential K-gluconate | saline")
    assert close(kv["V_L = V(bath) - V(pipette) (mV)"], float(r))
    assert close(kv["temperature (degC)"], 20.0) and kv["method"] == r.method
    shares = {row[0]: float(row[4]) for row in p.tables["ions"][1:]}
    assert shares == pytest.approx(r.contributions_mv, rel=1e-3, abs=1e-6)


def test_recording_and_corrected_recording():
    rec = read_recording(WCP)
    p = parse(rec)
    kv = pairs(p, "Recording")
    assert int(kv["sweeps"]) == rec.n_sweeps and int(kv["channels"]) == rec.n_channels
    assert close(kv["sample rate (Hz)"], rec.sample_rate_hz) and close(kv["duration (s)"], rec.duration_s)
    assert [r[1] for r in p.tables["channels"][1:]] == list(rec.channel_names)

    cr = correct_recording(WCP, pipette="axobits39_kgluconate_pipette", bath="axobits39_saline_bath",
                           temperature_c=22, zeroing_temperature_c=20, clamp_mode="voltage_clamp")
    p = parse(cr)
    kv = pairs(p, "Corrected recording")
    assert close(kv["zeroing temperature (degC)"], 20) and close(kv["recording temperature (degC)"], 22)
    heads = p.tables["LJP per headstage"][1:]
    assert len(heads) == len(cr.headstage_corrections)
    assert close(heads[0][2], cr.ljp_mv)
    offsets = {int(r[0]): r[4] for r in p.tables["channels"][1:]}
    for c in cr.channel_corrections:
        assert (offsets[c.index] == "") if c.offset_mv is None else close(offsets[c.index], c.offset_mv)


def test_plan_and_target():
    plan = plan_solutions("internal_k_gluconate", "acsf_carbogen_standard", temperature_c=32,
                          ljp_temperature_c=22, targets=["E_Cl=-70"], vary=["KCl:K-gluconate"])
    p = parse(plan)
    kv = pairs(p, "Plan")
    for m in plan.ljp:
        assert close(kv[f"V_L {m} (mV)"], plan.ljp_mv(m))
    rev = {r[0]: r for r in p.tables["reversal potentials (inside = pipette)"][1:]}
    for rec in plan.reversal.to_dict(orient="records"):
        assert close(rev[rec["ion"]][2], rec["E_rev_mV"])
    t = plan.targets[0]
    assert close(p.tables["targets"][1][5], t.amount_mm)
    kv = pairs(parse(t), "Target solution")
    assert close(kv["amount after (mM)"], t.amount_mm) and close(kv["value reached"], t.value)


def test_hostile_names_are_escaped(solutions):
    sol = Solution.from_ions(PIPETTE, name=HOSTILE, source=HOSTILE)
    for obj in (sol, liquid_junction_potential(sol, solutions[1], temperature_c=20)):
        text = obj._repr_html_()
        assert "<script>" not in text and "&lt;script&gt;" in text
        parse(obj)  # balanced, no script element
    p = _Tables()
    p.feed(table(HOSTILE, [(HOSTILE, HOSTILE)], notes=[HOSTILE]))
    assert list(p.tables) == [HOSTILE] and p.tables[HOSTILE] == [[HOSTILE, HOSTILE]] and p.notes == [HOSTILE]


def test_number_format():
    assert number(15.6349) == "15.63" and number(-0.5, signed=True) == "-0.5" and number(3.0, signed=True) == "+3"
    assert number(None) == "" and number(True) == "yes" and number(float("nan")) == "nan" and number(7) == "7"
