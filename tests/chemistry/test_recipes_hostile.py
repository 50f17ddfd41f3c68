"""Issue 17 items 4 and 6: hostile recipe files are clear errors naming the file and the key,
within bounded time and memory; the parser is fuzzed (fixed seed, small budget) in the suite;
a local ./solutions_db that shadows a shipped recipe says so."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from ephys_correct.chemistry import recipes
from ephys_correct.chemistry.recipes import MAX_RECIPE_BYTES, load_recipe, parse_recipe
from ephys_correct.chemistry.solutions import Solution
from ephys_correct.chemistry.solutions_db import load_solution, locate_solution
from ephys_correct.errors import (
    ConcentrationError,
    EphysCorrectError,
    RecipeError,
    RecipeLimitError,
    ShadowedRecipeWarning,
)

HEAD = 'schema_version = 1\nname = "hostile"\n'


def _recipe(tmp_path: Path, body: str, name: str = "r.toml") -> Path:
    p = tmp_path / name
    p.write_text(HEAD + body, encoding="utf-8")
    return p


# --------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("value", ["1e308", "1.7976931348623157e308", "9e307"])
def test_finite_overflow_is_refused_naming_file_and_key(tmp_path, value):
    p = _recipe(tmp_path, f"[ions_mm]\nNa = {value}\nCl = {value}\n")
    with pytest.raises(ConcentrationError, match=r"r\.toml.*'Na'.*not a concentration"):
        load_recipe(p)


def test_from_ions_refuses_overflowing_amounts_instead_of_returning_nan():
    # before: the tolerance became inf and the LJP NaN
    with pytest.raises(ConcentrationError, match="'K\\+'"):
        Solution.from_ions({"K+": 1e308, "Cl-": 1e308})


def test_huge_integer_is_a_recipe_error_not_overflow(tmp_path):
    p = _recipe(tmp_path, "[ions_mm]\nNa = " + "9" * 400 + "\nCl = 140\n")
    with pytest.raises(RecipeLimitError, match=r"r\.toml.*'ions_mm\.Na'.*400 digits"):
        load_recipe(p)


def test_integer_beyond_pythons_digit_limit_is_a_recipe_error(tmp_path):
    p = _recipe(tmp_path, "[ions_mm]\nNa = " + "9" * 5000 + "\n")
    with pytest.raises(RecipeError, match=r"r\.toml"):
        load_recipe(p)


def test_huge_integer_temperature_is_a_recipe_error(tmp_path):
    p = _recipe(tmp_path, "[ions_mm]\nNa = 140\nCl = 140\n[ph]\ntemperature_c = " + "9" * 320 + "\n")
    with pytest.raises(RecipeLimitError, match="'ph.temperature_c'"):
        load_recipe(p)
    # and through parse_recipe directly (a mapping built in code): no OverflowError either
    with pytest.raises(RecipeError, match="temperature_c"):
        parse_recipe({"name": "x", "ions_mm": {"Na": 1, "Cl": 1}, "ph": {"temperature_c": 10 ** 320}})


# --------------------------------------------------------------------------- structure
def test_deep_nesting_is_a_recipe_error_not_recursion(tmp_path):
    p = _recipe(tmp_path, "tags = " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(RecipeLimitError, match=r"r\.toml.*nested"):
        load_recipe(p)


def test_moderate_nesting_is_refused_by_depth_naming_the_key(tmp_path):
    p = _recipe(tmp_path, "tags = [[[[[[1]]]]]]\n[ions_mm]\nNa = 1\nCl = 1\n")
    with pytest.raises(RecipeLimitError, match=r"'tags\.0\.0\.0\.0'.*nested more than 4"):
        load_recipe(p)


def test_over_long_file_is_refused_unread(tmp_path):
    p = _recipe(tmp_path, "notes = '''" + "x" * (MAX_RECIPE_BYTES + 10) + "'''\n")
    with pytest.raises(RecipeLimitError, match=f"longer than {MAX_RECIPE_BYTES} bytes"):
        load_recipe(p)


# --------------------------------------------------------------------------- not regular files
def _bounded(fn, seconds=10.0):
    """Run fn in a thread; fail (not hang) if it takes longer than *seconds*."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"did not return within {seconds} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(RecipeLimitError, match=r"pipe\.toml.*named pipe"):
        _bounded(lambda: load_recipe(fifo))
    with pytest.raises(RecipeLimitError, match="named pipe"):
        _bounded(lambda: load_solution(fifo))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_without_reading(tmp_path, device):
    link = tmp_path / "dev.toml"
    os.symlink(device, link)
    for target in (device, link):
        with pytest.raises(RecipeLimitError, match="character device"):
            _bounded(lambda: load_recipe(target))


# --------------------------------------------------------------------------- fuzz (fixed seed, small budget)
_keys = st.sampled_from(["name", "schema_version", "role", "ions_mm", "components_mm", "ph", "osmolality",
                         "tags", "notes", "Na", "Cl", "K", "NaCl", "KCl", "value", "temperature_c", "titrant"])
_scalars = st.one_of(
    st.integers(min_value=-(10 ** 400), max_value=10 ** 400), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.booleans(), st.none().map(lambda _: "")
)
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(_keys, inner, max_size=4)),
                       max_leaves=12)


@settings(max_examples=80, derandomize=True, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=6))
def test_fuzz_parse_recipe_mappings(data):
    """Any mapping: a Recipe or an ephys_correct error, never a bare builtin error."""
    try:
        parse_recipe(data, path="fuzz.toml")
    except EphysCorrectError:
        pass


_toml_text = st.one_of(
    st.text(alphabet=st.sampled_from(list('[]{}="\'.,#=\n ') + list("abcNaCl019e+-_")), max_size=80),
    st.builds(lambda body: HEAD + body, st.text(alphabet=st.sampled_from(list('[]{}="\n ') + list("NaCl019e+-.")),
                                                  max_size=60)),
)


@settings(max_examples=120, derandomize=True, deadline=None)
@given(_toml_text)
def test_fuzz_load_recipe_files(text):
    """Any text: a Recipe or an ephys_correct error naming the file."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "fuzz.toml"
        p.write_text(text, encoding="utf-8")
        try:
            load_recipe(p)
        except EphysCorrectError as exc:
            assert "fuzz.toml" in str(exc)


# --------------------------------------------------------------------------- shadowing
def test_local_solutions_db_shadowing_a_shipped_recipe_warns_and_is_stated(tmp_path, monkeypatch):
    shipped = locate_solution("internal_k_gluconate")
    assert shipped["kind"] == "shipped" and shipped["shadows"] == ()
    local = tmp_path / "solutions_db"
    local.mkdir()
    (local / "internal_k_gluconate.toml").write_text(
        HEAD + 'role = "pipette"\n[ions_mm]\nK = 140\nCl = 140\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.warns(ShadowedRecipeWarning, match=r"hides the shipped recipe .*internal_k_gluconate\.toml"):
        sol = load_solution("internal_k_gluconate")
    assert Path(sol.path).parent == local.resolve()  # provenance names the file used
    loc = locate_solution("internal_k_gluconate")
    assert loc["kind"] == "working directory" and loc["path"].parent == local.resolve()
    assert [f.parent for f in loc["shadows"]] == [shipped["folder"]]
    # a name only the local folder has: no warning
    (local / "my_bath.toml").write_text(HEAD + "[ions_mm]\nNa = 140\nCl = 140\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_solution("my_bath")


def test_cli_solutions_show_states_where_the_name_resolved(tmp_path, monkeypatch, capsys):
    from ephys_correct.cli import main

    local = tmp_path / "solutions_db"
    local.mkdir()
    (local / "internal_k_gluconate.toml").write_text(
        HEAD.replace("hostile", "local\\u001b[31m") + '[ions_mm]\nK = 140\nCl = 140\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("always", ShadowedRecipeWarning)  # as outside pytest: shown, not raised
        assert main(["solutions", "show", "internal_k_gluconate"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "hides the shipped recipe" in captured.err  # the CLI shows the warning
    assert "working directory solutions_db" in out and "hides:" in out
    assert "\x1b" not in out and "local\\x1b[31m" in out  # the escape from the file is shown, not run


def test_recipe_limit_errors_are_recipe_errors():
    assert issubclass(RecipeLimitError, RecipeError) and issubclass(RecipeLimitError, ValueError)
    assert recipes.MAX_RECIPE_INT == 2 ** 53


def test_ph_temperature_below_freezing_is_refused_at_parse_naming_the_file(tmp_path):
    # found by scripts/fuzz_recipes.py (seed 1): -1 degC passed the parser and failed later in
    # the water-property correlations (0-150 degC) with a message that did not name the file
    p = _recipe(tmp_path, "[ions_mm]\nNa = 140\nCl = 140\n[ph]\ntemperature_c = -1\n")
    with pytest.raises(RecipeError, match=r"r\.toml: \[ph\] temperature_c = -1 is outside 0-100 degC"):
        load_recipe(p)
