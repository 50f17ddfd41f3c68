"""The planner's server side without a browser: JSON API, recipe files it writes, HTTP app, command.

Browser tests of the page are in tests/browser/.  Expected numbers come from the public
API (``import ephys_correct as ec``), computed here independently of the web code.
"""

from __future__ import annotations

import json
import socket
import string
import subprocess
import sys
import urllib.request
import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ephys_correct as ec
from ephys_correct.errors import ModelValidityWarning, RecipeError
from ephys_correct.chemistry.speciation import free_ion_solution, speciate_solution  # noqa: F401
from ephys_correct.web import api
from ephys_correct.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
PIPETTE, BATH = "internal_k_gluconate", "acsf_carbogen_standard"


def _payload(**kw):
    out = {"pipette": api.shipped_recipe(PIPETTE), "bath": api.shipped_recipe(BATH),
           "temperature_c": 22, "ljp_temperature_c": 22}
    out.update(kw)
    return out


def _key(r):
    return (r.name, r.role, dict(r.components_mm), dict(r.ions_mm), r.ph, r.source, r.doi, r.notes,
            r.measured_osmolality_mosm_kg)


@pytest.fixture(scope="module")
def client():
    return create_app().test_client()


# --------------------------------------------------------------------------- recipe files
@pytest.mark.parametrize("recipe_id", [r["id"] for r in ec.list_solutions()])
def test_every_shipped_recipe_round_trips_through_the_toml_writer(recipe_id, tmp_path):
    original = ec.load_recipe(ec.load_solution(recipe_id).path)
    page = api.recipe_from_json(api.recipe_to_json(original), where="page")
    assert _key(page) == _key(original)
    path = tmp_path / "r.toml"
    path.write_text(api.recipe_to_toml(page), encoding="utf-8")
    assert _key(ec.load_recipe(path)) == _key(original)


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(name=_text.filter(str.strip), notes=st.none() | _text,
       amounts=st.lists(st.floats(min_value=0, max_value=5000, allow_nan=False, allow_infinity=False),
                        min_size=3, max_size=3))
def test_written_recipes_read_back_equal(name, notes, amounts):
    # any text (quotes, backslashes, newlines, control characters, DEL, non-ASCII) and any float
    data = {"name": name, "role": "bath", "notes": notes,
            "components_mm": [["NaCl", amounts[0]], ["sucrose", amounts[1]]],
            "ions_mm": [["K+", amounts[2]], ["Cl-", amounts[2]]], "ph": {}}
    recipe = api.recipe_from_json(data, where="page")
    text = api.recipe_to_toml(recipe)  # parses its own output and compares
    back = api.parse_recipe(api.tomllib.loads(text), require_schema=True)
    assert _key(back) == _key(recipe)
    assert back.name == name.strip()


def test_recipe_json_refuses_what_a_mapping_would_hide():
    base = {"name": "x", "role": "bath", "components_mm": [["NaCl", 140], ["NaCl", 10]]}
    with pytest.raises(RecipeError, match="'NaCl' is listed twice"):
        api.recipe_from_json(base, where="bath recipe")
    with pytest.raises(RecipeError, match="has no name"):
        api.recipe_from_json(dict(base, components_mm=[["", 3]]), where="bath recipe")
    with pytest.raises(RecipeError, match=r"bath recipe: \[components_mm\]: 'NaCl' = None is not a number; give"):
        api.recipe_from_json(dict(base, components_mm=[["NaCl", None]]), where="bath recipe")
    with pytest.raises(RecipeError, match="unknown recipe field 'colour'"):
        api.recipe_from_json(dict(base, colour="blue"), where="bath recipe")
    with pytest.raises(RecipeError, match="'notes' must be text"):
        api.recipe_from_json(dict(base, components_mm=[["NaCl", 1]], notes=3), where="bath recipe")


# --------------------------------------------------------------------------- evaluation
def test_evaluate_gives_the_numbers_of_the_public_api():
    res = api.evaluate(_payload(temperature_c=32, ljp_temperature_c=22))
    assert res["ok"] and res["errors"] == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ModelValidityWarning)
        plan = ec.plan_solutions(PIPETTE, BATH, temperature_c=32, ljp_temperature_c=22)
        rev = ec.reversal_potentials(plan.pipette, plan.bath, temperature_c=32, free_ions=True)
        spec = {s: free_ion_solution(sol, temperature_c=32) for s, sol in
                (("pipette", plan.pipette), ("bath", plan.bath))}
    assert res["ljp_mv"] == {m: plan.ljp_mv(m) for m in ("henderson", "nernst-planck")}
    assert res["reversal"]["basis"] == "free ions"
    assert [(r["ion"], r["E_rev_mV"], r["E_rev_ideal_mV"]) for r in res["reversal"]["rows"]] == \
        list(zip(rev["ion"], rev["E_rev_mV"], rev["E_rev_ideal_mV"]))
    for side in ("pipette", "bath"):
        got, want = res["solutions"][side], plan.solutions[side]
        for key in ("ionic_strength_mm", "osm_ideal_mosm_l", "osm_estimate_mosm_kg", "charge_balance_meq",
                    "titrant_mm"):
            assert got[key] == want[key], (side, key)
        assert got["free_ca_mm"] == spec[side].ions_mm.get("Ca2+", 0.0)
        assert got["free_mg_mm"] == spec[side].ions_mm["Mg2+"]
    # whatever the API warns about reaches the page's warnings
    said = {str(w.message) for w in caught}
    assert all(any(msg in w for w in res["warnings"]) for msg in said)


def test_bicarbonate_acsf_free_calcium_is_below_its_total():
    # carbogen ACSF: 1.5 mM CaCl2, part of it bound by phosphate/bicarbonate (never free = total)
    bath = api.evaluate(_payload())["solutions"]["bath"]
    assert bath["total_ca_mm"] == 1.5
    assert 1.0 < bath["free_ca_mm"] < 1.5


@pytest.mark.parametrize("edit, where, pattern", [
    (lambda p: p["pipette"]["components_mm"].append(["KClx", 3]), "pipette",
     r"Unknown compound 'KClx'\. Did you mean: 'KCl'"),
    (lambda p: p["bath"]["ions_mm"].append(["Na+", 20]), "bath", r"charge|imbalance|electroneutral"),
    (lambda p: p["pipette"].update(ph={}), "pipette", r"no \[ph\] table"),
    (lambda p: p.pop("temperature_c"), "conditions", r"'temperature_c' is required"),
    (lambda p: p.update(ljp_temperature_c="warm"), "conditions", r"^ljp_temperature_c = 'warm' is not a number; give a number of degC"),
    (lambda p: p.update(activity_model="pitzer"), "conditions", r"^activity_model = 'pitzer' is not one of 'ideal'"),
    (lambda p: p.pop("bath"), "bath", r"missing from the request"),
])
def test_evaluate_says_what_is_wrong_and_keeps_what_it_can(edit, where, pattern):
    payload = _payload()
    edit(payload)
    res = api.evaluate(payload)
    assert not res["ok"]
    assert [e["where"] for e in res["errors"]] == [where]
    assert res["errors"][0]["message"]
    import re

    assert re.search(pattern, res["errors"][0]["message"], flags=re.IGNORECASE), res["errors"]
    if where in ("pipette", "bath"):
        other = "bath" if where == "pipette" else "pipette"
        assert res["ljp_mv"] is None and res["reversal"] is None
        assert res["solutions"][other]["osm_estimate_mosm_kg"] > 0  # the other side still has numbers


def test_a_recipe_without_ph_and_without_binding_ligands_is_used_as_given():
    """Nothing binds Mg2+ in the AxoBits pair: free = total, no pH needed (issue 13 defaults)."""
    payload = _payload(pipette=api.shipped_recipe("axobits39_kgluconate_pipette"),
                       bath=api.shipped_recipe("axobits39_saline_bath"))
    res = api.evaluate(payload)
    assert res["ok"]
    pip = res["solutions"]["pipette"]
    assert pip["free_mg_mm"] == pytest.approx(1.0)
    # JPCalc (AxoBits 39, p. 8): V_L = +15.6 mV at 20 degC for this pair; here at 22 degC
    assert res["ljp_mv"]["henderson"] == pytest.approx(15.6, abs=0.3)


def test_solve_matches_plan_solutions():
    payload = _payload(pipette=api.shipped_recipe("axobits39_kgluconate_pipette"),
                       bath=api.shipped_recipe("axobits39_saline_bath"),
                       targets=[{"target": "E_Cl-=-50", "vary": "KCl", "side": "pipette"}])
    res = api.solve(payload)
    assert res["ok"], res["errors"]
    plan = ec.plan_solutions("axobits39_kgluconate_pipette", "axobits39_saline_bath", temperature_c=22,
                             ljp_temperature_c=22, targets=["E_Cl-=-50"], vary=["KCl"])
    assert res["targets"][0]["amount_mm"] == plan.targets[0].amount_mm
    assert res["final_ljp_mv"] == dict(plan.final_ljp_mv)
    assert res["final_recipes"]["bath"] is None
    assert dict(res["final_recipes"]["pipette"]["components_mm"]) == {"KCl": plan.targets[0].amount_mm}


def test_solve_reports_an_unreachable_target():
    res = api.solve(_payload(targets=[{"target": "osm=200", "vary": "sucrose", "side": "bath"}]))
    assert not res["ok"] and res["errors"][0]["type"] == "ConvergenceError"
    assert "out of reach" in res["errors"][0]["message"]
    res = api.solve(_payload(targets=[]))
    assert "no targets given" in res["errors"][0]["message"]


# --------------------------------------------------------------------------- HTTP
def test_page_and_assets_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/static/planner.js" in html and "/static/planner.css" in html
    assert "http://" not in html and "https://" not in html  # no CDN
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in ("/static/planner.js", "/static/planner.css"):
        with client.get(asset) as r:
            assert r.status_code == 200 and len(r.get_data()) > 1000
            assert b"http://" not in r.get_data().replace(b"http://www.w3.org/2000/svg", b"")


def test_api_answers_with_reasons(client):
    meta = client.get("/api/meta").get_json()
    assert "KCl" in [c["name"] for c in meta["compounds"]] and "truesdell-jones" in meta["activity_models"]
    ids = [r["id"] for r in client.get("/api/solutions").get_json()["solutions"]]
    assert PIPETTE in ids and all("path" not in r for r in client.get("/api/solutions").get_json()["solutions"])
    missing = client.get("/api/solutions/internal_k_gluconat")
    assert missing.status_code == 404 and "Did you mean" in missing.get_json()["errors"][0]["message"]
    assert client.get("/api/solutions/..%2Fpyproject").status_code == 404
    bad = client.post("/api/evaluate", data="not json", content_type="text/plain")
    assert bad.status_code == 400 and "JSON object" in bad.get_json()["errors"][0]["message"]
    payload = _payload()
    payload["pipette"]["components_mm"].append(["KClx", 3])
    res = client.post("/api/evaluate", json=payload)
    assert res.status_code == 200 and res.get_json()["ok"] is False
    assert client.get("/api/nothing").status_code == 404


def test_only_localhost_may_ask(client):
    assert client.get("/api/meta", headers={"Host": "localhost:8765"}).status_code == 200
    assert client.get("/api/meta", headers={"Host": "[::1]:8765"}).status_code == 200
    refused = client.get("/api/meta", headers={"Host": "evil.example:8765"})
    assert refused.status_code == 403 and "localhost only" in refused.get_json()["errors"][0]["message"]
    assert create_app(loopback_only=False).test_client().get(
        "/api/meta", headers={"Host": "lab-pc:8765"}).status_code == 200


def test_download_is_a_recipe_file_or_a_refusal(client, tmp_path):
    recipe = api.shipped_recipe(PIPETTE)
    recipe["components_mm"] = [[n, 7.5 if n == "KCl" else a] for n, a in recipe["components_mm"]]
    r = client.post("/api/recipe.toml", json={"side": "pipette", "recipe": recipe})
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == 'attachment; filename="k_gluconate_internal_mahn_et_al_2018.toml"'
    path = tmp_path / "p.toml"
    path.write_bytes(r.get_data())
    loaded = ec.load_recipe(path)
    assert loaded.components_mm["KCl"] == 7.5
    assert _key(loaded) == _key(api.recipe_from_json(recipe, where="x"))
    bad = api.shipped_recipe(BATH)
    bad["ions_mm"] = [["Na+", 20]]
    refused = client.post("/api/recipe.toml", json={"side": "bath", "recipe": bad})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["type"] == "ElectroneutralityError"


# --------------------------------------------------------------------------- command line
def test_planner_command_serves_on_localhost():
    proc = subprocess.Popen([sys.executable, "-m", "ephys_correct", "planner", "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("ephys_correct planner: http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split(": ", 1)[1].strip()
        with urllib.request.urlopen(url + "api/meta", timeout=30) as r:
            assert json.load(r)["version"] == ec.__version__
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_planner_command_refuses_a_busy_port(capsys):
    from ephys_correct.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["planner", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port} cannot be used" in err and "0 picks a free one" in err
    assert main(["planner", "--port", "70000"]) == 1
    assert "ephys-correct planner: --port = 70000 is outside 0-65535; 0 picks a free port" in capsys.readouterr().err


def test_filenames_are_slugs():
    r = api.recipe_from_json({"name": "K/Cs: 140 mM (v2)", "components_mm": [["KCl", 1]]}, where="x")
    assert api.recipe_filename(r) == "k_cs_140_mm_v2.toml"
    assert set(api.recipe_filename(r)) <= set(string.ascii_lowercase + string.digits + "_.")
