"""The argument checks of ``ephys_correct._validate``: one message shape, the right exception
classes, close-name suggestions, and what each check accepts and refuses."""

from __future__ import annotations

import math
import re
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ephys_correct import _validate as v
from ephys_correct._constants import check_temperature_c as constants_check_temperature_c
from ephys_correct.errors import (
    ConcentrationError,
    DataFileError,
    IonicStrengthError,
    ModelValidityWarning,
    ParameterError,
    RecipeError,
)

MODELS = ("ideal", "davies", "extended-debye-huckel", "truesdell-jones")

#: (check, keyword arguments, a bad value, the exception class it raises)
CHECKS = [
    (v.check_number, {"what": "voltage_mv", "unit": "mV"}, "x", ParameterError),
    (v.check_positive, {"what": "area_cm2", "unit": "cm2"}, 0.0, ParameterError),
    (v.check_nonnegative, {"what": "permeability_cm_s"}, -1.0, ParameterError),
    (v.check_concentration, {"what": "total_ca_mm"}, -2.0, ConcentrationError),
    (v.check_ionic_strength, {"what": "ionic_strength_mm"}, float("nan"), IonicStrengthError),
    (v.check_temperature_c, {}, 500.0, ParameterError),
    (v.check_ph, {}, 14.5, ParameterError),
    (lambda value, **kw: v.check_choice(value, MODELS, **kw), {"what": "activity_model"}, "pitzer",
     ParameterError),
    (v.check_flag, {"what": "overwrite"}, "yes", ParameterError),
    (v.check_integer, {"what": "jobs", "minimum": 1}, 0, ParameterError),
]
IDS = ["number", "positive", "nonnegative", "concentration", "ionic_strength", "temperature", "pH", "choice",
       "flag", "integer_minimum"]


# ----------------------------------------------------------------------------- the one shape
@pytest.mark.parametrize("check, kw, bad, exc", CHECKS, ids=IDS)
def test_one_message_shape_names_where_what_and_value(check, kw, bad, exc):
    what = kw.get("what", "pH" if check is v.check_ph else "temperature_c")
    with pytest.raises(exc) as info:
        check(bad, where="some_function", **kw)
    msg = str(info.value)
    # "<where>: <what> = <value!r> is <problem>; <hint>"
    m = re.fullmatch(rf"some_function: {re.escape(what)} = {re.escape(repr(bad))} is (?P<problem>[^;]+); (?P<hint>.+)",
                     msg)
    assert m, msg
    assert m["problem"].strip() and m["hint"].strip()


@pytest.mark.parametrize("check, kw, bad, exc", CHECKS, ids=IDS)
def test_without_where_the_message_starts_at_what(check, kw, bad, exc):
    what = kw.get("what", "pH" if check is v.check_ph else "temperature_c")
    with pytest.raises(exc, match=rf"^{re.escape(what)} = "):
        check(bad, **kw)


@pytest.mark.parametrize("check, kw, bad, exc", CHECKS, ids=IDS)
def test_the_error_class_can_be_chosen(check, kw, bad, exc):
    # a recipe file's key raises RecipeError, a data file's DataFileError: same message shape
    with pytest.raises(RecipeError, match=r"^r\.toml: "):
        check(bad, where="r.toml", error=RecipeError, **kw)


def test_every_error_is_a_value_error_of_the_package():
    for _check, _kw, _bad, exc in CHECKS:
        assert issubclass(exc, ValueError)
    # an ionic strength is a concentration given as a parameter: either except clause catches it
    assert issubclass(IonicStrengthError, ConcentrationError)
    assert issubclass(IonicStrengthError, ParameterError)


def test_message_helper():
    assert v.message("x", 1, "odd", "give an even number", where="f") == "f: x = 1 is odd; give an even number"
    assert v.message("x", "a", "not a number") == "x = 'a' is not a number"
    assert v.show(10 ** 400) == "an integer of ~401 digits"
    assert v.show("x" * 500).endswith("...") and len(v.show("x" * 500)) < 210


# ----------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("bad, problem", [
    (float("nan"), "not a finite number"), (float("inf"), "not a finite number"),
    (-float("inf"), "not a finite number"), (10 ** 400, "not a finite number"),
    (True, "not a number"), (False, "not a number"), ("37", "not a number"), (b"3", "not a number"),
    (None, "not a number"), ([1.0], "not a number"), (np.array([1.0, 2.0]), "not a number"),
    (np.bool_(True), "not a number"), (1 + 2j, "not a number"), (Decimal("nan"), "not a finite number"),
])
def test_check_number_refuses(bad, problem):
    with pytest.raises(ParameterError, match=f"x = .* is {problem}; give a number of mV"):
        v.check_number(bad, what="x", unit="mV")


@pytest.mark.parametrize("good, expected", [
    (3, 3.0), (-2.5, -2.5), (np.float32(1.5), 1.5), (np.int64(7), 7.0), (np.array(2.0), 2.0), (0, 0.0),
    (Decimal("2.5"), 2.5), (Fraction(1, 4), 0.25),
])
def test_check_number_accepts_real_scalars(good, expected):
    out = v.check_number(good, what="x")
    assert out == expected and type(out) is float


def test_positive_nonnegative_concentration():
    assert v.check_positive(1e-12, what="a") == 1e-12
    for bad in (0, -1.0):
        with pytest.raises(ParameterError, match=r"a = .* is not > 0; give a positive number of cm2"):
            v.check_positive(bad, what="a", unit="cm2")
    assert v.check_nonnegative(0, what="p") == 0.0
    with pytest.raises(ParameterError, match=r"p = -1 is negative; give a finite number >= 0 \(cm/s\)"):
        v.check_nonnegative(-1, what="p", unit="cm/s")
    assert v.check_concentration(0.0, what="'K+'") == 0.0
    with pytest.raises(ConcentrationError, match=r"'K\+' = -1 is negative; concentrations are finite numbers >= 0 \(mM\)"):
        v.check_concentration(-1, what="'K+'")
    with pytest.raises(ConcentrationError, match="'K\\+' = inf is not a finite number"):
        v.check_concentration(math.inf, what="'K+'")
    with pytest.raises(ConcentrationError, match="'K\\+' = '5 mM' is not a number"):
        v.check_concentration("5 mM", what="'K+'")
    with pytest.raises(IonicStrengthError, match=r"I = -0\.1 is negative; an ionic strength .* \(mol/kg\)"):
        v.check_ionic_strength(-0.1, what="I", unit="mol/kg")


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_concentrations_accept_every_finite_nonnegative_number(x):
    assert v.check_concentration(x, what="c") == x
    assert v.check_ionic_strength(x) == x


@given(st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False))
def test_concentrations_refuse_every_negative_number(x):
    with pytest.raises(ConcentrationError, match="is negative"):
        v.check_concentration(x, what="c")


# ----------------------------------------------------------------------------- temperature
@given(st.floats(min_value=0.0, max_value=100.0))
def test_temperature_accepts_the_whole_liquid_water_range(t):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert v.check_temperature_c(t) == t


@given(st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=100.000001), st.just(math.nan)))
def test_temperature_refuses_outside_the_liquid_water_range(t):
    with pytest.raises(ParameterError, match=r"^f: temperature_c = .* is (outside 0-100 degC|not a finite number)"):
        v.check_temperature_c(t, where="f")


def test_temperature_range_of_the_data_warns_and_names_it():
    with pytest.warns(ModelValidityWarning, match=r"f: temperature_c=60 degC is outside 0-50 degC, the range of "
                                                  r"the mobility data"):
        assert v.check_temperature_c(60, where="f", valid_range_c=(0.0, 50.0), data="the mobility data") == 60.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert v.check_temperature_c(37, valid_range_c=(0.0, 50.0)) == 37.0


def test_temperature_message_names_the_liquid_range():
    with pytest.raises(ParameterError, match=r"^temperature_c = -5 is outside 0-100 degC; an aqueous solution at "
                                             r"atmospheric pressure is liquid between 0 and 100 degC"):
        v.check_temperature_c(-5)


def test_constants_reexport_the_one_temperature_check():
    assert constants_check_temperature_c is v.check_temperature_c


# ----------------------------------------------------------------------------- pH
@given(st.floats(min_value=1e-9, max_value=14.0 - 1e-9))
def test_ph_accepts_the_open_interval(ph):
    assert v.check_ph(ph) == ph


@pytest.mark.parametrize("bad, problem", [(0.0, "outside 0-14"), (14.0, "outside 0-14"), (-1, "outside 0-14"),
                                          (math.nan, "not a finite number"), (math.inf, "not a finite number"),
                                          ("seven", "not a number"), (None, "not a number"),
                                          (True, "not a number")])
def test_ph_refuses(bad, problem):
    with pytest.raises(ParameterError, match=rf"^speciate: pH = {re.escape(repr(bad))} is {problem}; a pH is"):
        v.check_ph(bad, where="speciate")


# ----------------------------------------------------------------------------- choices
def test_choice_returns_the_value_unchanged():
    assert v.check_choice("davies", MODELS, what="model") == "davies"
    assert v.check_choice(None, (None, *MODELS), what="activity_model") is None
    assert v.check_choice(np.str_("ideal"), MODELS, what="model") == "ideal"


@pytest.mark.parametrize("typo, suggested", [
    ("Davies", "'davies'"), ("truesdel-jones", "'truesdell-jones'"), ("ideel", "'ideal'"),
    ("extended-debye-hueckel", "'extended-debye-huckel'"),
])
def test_choice_suggests_close_names(typo, suggested):
    with pytest.raises(ParameterError, match=rf"; did you mean {suggested}"):
        v.check_choice(typo, MODELS, what="model", where="activity_coefficients")


@pytest.mark.parametrize("bad, hint", [("pitzer", "choose one of these"), ("", "choose one of these"),
                                       (None, "give one of these names as a string"),
                                       (3, "give one of these names as a string"),
                                       (True, "give one of these names as a string"),
                                       (["davies"], "give one of these names as a string"),
                                       (np.array(["davies"]), "give one of these names as a string")])
def test_choice_refuses_and_lists_the_choices(bad, hint):
    with pytest.raises(ParameterError) as info:
        v.check_choice(bad, MODELS, what="model", where="log10_gamma")
    msg = str(info.value)
    assert msg.startswith("log10_gamma: model = ")
    assert "is not one of 'ideal', 'davies', 'extended-debye-huckel', 'truesdell-jones'" in msg
    assert msg.endswith(hint)


def test_choice_matches_exactly_and_keeps_types_apart():
    with pytest.raises(ParameterError):
        v.check_choice(1, (True, "a"), what="x")  # 1 == True, but 1 is not the bool
    with pytest.raises(ParameterError):
        v.check_choice(1.0, (1,), what="x")
    assert v.check_choice(1, (1, 2), what="x") == 1
    assert v.check_choice(True, (True,), what="x") is True


def test_close_names():
    assert v.close_names("KCL", ["KCl", "NaCl"]) == ["KCl"]
    assert v.close_names(3, ["a"]) == []
    assert v.close_names("zzz", ["a", "b"]) == []


# ----------------------------------------------------------------------------- routed call sites
def test_public_functions_name_themselves_in_messages():
    """A sample of the routed call sites: the message names the function, the parameter and the value."""
    from ephys_correct.chemistry.activity import activity_coefficients
    from ephys_correct.chemistry.speciation import free_calcium
    from ephys_correct.potentials.ljp import liquid_junction_potential
    from ephys_correct.potentials.reversal import ghk_current

    nacl = {"Na+": 10, "Cl-": 10}
    with pytest.raises(ParameterError, match=r"^activity_coefficients: temperature_c = nan is not a finite"):
        activity_coefficients(nacl, temperature_c=math.nan)
    with pytest.raises(ConcentrationError, match=r"^free_calcium: total_ca_mm = -1 is negative"):
        free_calcium(total_ca_mm=-1, ligands_mm={"EGTA": 1}, pH=7.2, temperature_c=22, ionic_strength_mm=100)
    with pytest.raises(ParameterError, match=r"^liquid_junction_potential: method = 'henderso' is not one of "
                                             r"'henderson', 'nernst-planck'; did you mean 'henderson'\?$"):
        liquid_junction_potential(nacl, nacl, temperature_c=22, method="henderso")
    with pytest.raises(ParameterError, match=r"^liquid_junction_potential: activity_model = 'davis' is not one of "
                                             r"None, 'ideal'.*did you mean 'davies'"):
        liquid_junction_potential(nacl, nacl, temperature_c=22, activity_model="davis")
    with pytest.raises(ParameterError, match=r"^ghk_current: area_cm2 = 0 is not > 0"):
        ghk_current("Na+", voltage_mv=0, permeability_cm_s=1e-6, inside=nacl, outside=nacl, temperature_c=22,
                    area_cm2=0)


def test_data_file_errors_keep_their_class():
    from ephys_correct.chemistry.additives import _check_entry

    with pytest.raises(DataFileError, match=r"^additives\.toml \[x\]: molar_mass_g_mol = -3 is not > 0"):
        _check_entry("x", {"charge": 0, "molar_mass_g_mol": -3}, "additives.toml [x]")


@pytest.mark.parametrize("charge, lam, pattern", [
    ("0", "73.5", r"x\.csv, line 2 \('K\+'\): charge = 0 is zero"),
    ("1", "-1", r"x\.csv, line 2 \('K\+'\): lambda_eq_S_cm2_mol = -1\.0 is not > 0"),
    ("1", "nan", r"x\.csv, line 2 \('K\+'\): lambda_eq_S_cm2_mol = nan is not a finite number"),
])
def test_ion_table_rows_are_checked_in_the_one_shape(charge, lam, pattern):
    from ephys_correct.chemistry.ions import _parse_rows

    row = {"name": "K+", "charge": charge, "lambda_eq_S_cm2_mol": lam, "lambda_source": "s", "lambda_locator": "l"}
    with pytest.raises(DataFileError, match=pattern):
        _parse_rows([row], "x.csv")


@pytest.mark.parametrize("good", [2, -1, 2.0, np.int64(3)])
def test_check_integer_accepts_whole_numbers(good):
    out = v.check_integer(good, what="charge")
    assert out == good and type(out) is int


@pytest.mark.parametrize("bad, problem", [(1.5, "not an integer"), (True, "not a number"), ("2", "not a number"),
                                          (math.nan, "not a finite number"), (math.inf, "not a finite number")])
def test_check_integer_refuses(bad, problem):
    with pytest.raises(ParameterError, match=rf"^log10_gamma: charge = .* is {problem}; give a whole number$"):
        v.check_integer(bad, what="charge", where="log10_gamma")


@pytest.mark.parametrize("bad, problem", [(0, "less than 1"), (-3, "less than 1"), (0.5, "not an integer")])
def test_check_integer_minimum(bad, problem):
    with pytest.raises(ParameterError, match=rf"^run_batch: jobs = {re.escape(repr(bad))} is {problem}; "
                                             r"give a whole number >= 1$"):
        v.check_integer(bad, what="jobs", where="run_batch", minimum=1)
    assert v.check_integer(1, what="jobs", minimum=1) == 1 and v.check_integer(4.0, what="jobs", minimum=1) == 4


@pytest.mark.parametrize("good", [True, False, np.bool_(True), np.array(False)])
def test_check_flag_accepts_python_and_numpy_bools(good):
    out = v.check_flag(good, what="overwrite")
    assert out is bool(good)


@pytest.mark.parametrize("bad", [1, 0, None, "yes", "False", 1.0, np.array([True]), np.int64(1)])
def test_check_flag_refuses_everything_else(bad):
    with pytest.raises(ParameterError, match=r"^write_table: overwrite = .* is not True or False; give True or False$"):
        v.check_flag(bad, what="overwrite", where="write_table")


def test_choice_hint_is_said_when_no_name_is_close():
    with pytest.raises(ParameterError, match=r"^m: window = 'epochs' is not one of 'baseline', 'sweep'; "
                                             r"per-epoch values: elsewhere$"):
        v.check_choice("epochs", ("baseline", "sweep"), what="window", where="m", hint="per-epoch values: elsewhere")
    with pytest.raises(ParameterError, match=r"did you mean 'sweep'\?$"):  # a close name wins over the hint
        v.check_choice("swep", ("baseline", "sweep"), what="window", hint="per-epoch values: elsewhere")


def test_correction_report_batch_io_name_themselves_in_messages(tmp_path):
    """The routed call sites below the chemistry: function, parameter and value are named."""
    import pandas as pd

    from ephys_correct.correction.configurations import get_configuration
    from ephys_correct.correction.correct import _ph_at_recording
    from ephys_correct.correction.sign import apply_ljp
    from ephys_correct.io import read_recording
    from ephys_correct.report.tables import write_table

    with pytest.raises(ParameterError, match=r"^configuration = 3 is not one of 'whole-cell'.*give one of these names "):
        get_configuration(3)
    with pytest.raises(ParameterError, match=r"^apply_ljp: recorded_mv = 'x' is not numbers"):
        apply_ljp("x", ljp_mv=1.0, configuration="whole-cell")
    with pytest.raises(ParameterError, match=r"^apply_ljp: delta_ref_mv = \[0\.0, nan\] is not finite everywhere"):
        apply_ljp([1.0, 2.0], ljp_mv=1.0, configuration="whole-cell", delta_ref_mv=[0.0, math.nan])
    with pytest.raises(ParameterError, match=r"^correct_recording: pH_at_recording key = 'pipet' .*did you mean "
                                             r"'pipette'"):
        _ph_at_recording({"pipet": 7.2})
    with pytest.raises(ParameterError, match=r"^correct_recording: pH_at_recording\['bath'\] = 15 is outside 0-14"):
        _ph_at_recording({"bath": 15})
    assert _ph_at_recording(7.3) == {"pipette": 7.3}
    with pytest.raises(ParameterError, match=r"^read_recording: backend = 'neoo' .*did you mean 'neo'"):
        read_recording(tmp_path / "x.abf", backend="neoo")
    with pytest.raises(ParameterError, match=r"^write_table: overwrite = 1 is not True or False"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.csv", overwrite=1)


def test_potentials_option_keys_in_the_one_shape():
    from ephys_correct.potentials.ljp import liquid_junction_potential
    from ephys_correct.potentials.reversal import ghk_potential, reversal_rows

    nacl, kcl = {"Na+": 150, "Cl-": 150}, {"K+": 150, "Cl-": 150}
    with pytest.raises(ParameterError, match=r"^liquid_junction_potential: pH_at_recording key = 'bat' is not one "
                                             r"of 'pipette', 'bath'; did you mean 'bath'\?$"):
        liquid_junction_potential(nacl, kcl, temperature_c=22, pH_at_recording={"bat": 7.3})
    with pytest.raises(ParameterError, match=r"^reversal_rows: pH_at_recording key = 'pipette' is not one of "
                                             r"'inside', 'outside'"):
        reversal_rows(kcl, nacl, temperature_c=22, pH_at_recording={"pipette": 7.3})
    with pytest.raises(ParameterError, match=r"^ghk_potential: permeabilities = \{\} is not a non-empty mapping"):
        ghk_potential(kcl, nacl, permeabilities={}, temperature_c=22)
