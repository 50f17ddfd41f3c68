"""The configuration table and the one function that applies the LJP.

Every configuration row has a hand-computed case; the arithmetic is written
next to each assertion.  Sign convention: V_L = V(bath) - V(pipette) at
zeroing (Barry & Lynch 1991; JPCalc; LJPcalc); see docs/conventions.md.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest

from ephys_correct._constants import thermal_voltage_mv
from ephys_correct.correction.configurations import CONFIGURATIONS, PERFORATING_AGENTS, get_configuration
from ephys_correct.correction.sign import apply_current_sign, apply_ljp
from ephys_correct.errors import ParameterError
from ephys_correct.potentials.bath import bath_change_offset


# ----------------------------------------------------------------------------- the table
@pytest.mark.parametrize(
    "name, inside, outside, s_v, s_i, needs_rest",
    [
        ("whole-cell", "pipette", "bath", +1, +1, False),
        ("perforated", "cytoplasm", "bath", +1, +1, False),
        ("outside-out", "pipette", "bath", +1, +1, False),
        ("inside-out", "bath", "pipette", -1, -1, False),
        ("cell-attached", "cytoplasm", "pipette", -1, -1, True),
    ],
)
def test_configuration_rows(name, inside, outside, s_v, s_i, needs_rest):
    cfg = CONFIGURATIONS[name]
    assert (cfg.inside, cfg.outside, cfg.voltage_sign, cfg.current_sign, cfg.needs_resting_potential) == (
        inside, outside, s_v, s_i, needs_rest)


def test_table_is_complete_and_read_only():
    assert set(CONFIGURATIONS) == {"whole-cell", "perforated", "outside-out", "inside-out", "cell-attached"}
    with pytest.raises(TypeError):
        CONFIGURATIONS["loose-patch"] = CONFIGURATIONS["whole-cell"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        CONFIGURATIONS["whole-cell"].voltage_sign = -1  # type: ignore[misc]
    # perforated records the unknown Donnan potential as a caveat
    assert any("Donnan" in c for c in CONFIGURATIONS["perforated"].caveats)


def test_configuration_names_are_forgiving_but_not_guessing():
    assert get_configuration("Whole_cell").name == "whole-cell"
    assert get_configuration("on-cell").name == "cell-attached"
    assert get_configuration("inside out").name == "inside-out"
    with pytest.raises(ParameterError, match=r"^configuration = 'whole-cel' is not one of .*; did you mean 'whole-cell'\?$"):
        get_configuration("whole-cel")


def test_perforating_agents():
    g = PERFORATING_AGENTS["gramicidin"]
    assert g.equilibrates("K+") and g.equilibrates("Na+") and g.equilibrates("Cs+")
    assert not g.equilibrates("Cl-") and not g.equilibrates("Ca2+") and not g.equilibrates("NMDG+")
    for name in ("amphotericin", "nystatin"):
        a = PERFORATING_AGENTS[name]
        assert a.equilibrates("K+") and a.equilibrates("Cl-")
        assert not a.equilibrates("Ca2+") and not a.equilibrates("Mg2+") and not a.equilibrates("gluconate-")
    assert PERFORATING_AGENTS["escin"].equilibrates("Ca2+")


# ----------------------------------------------------------------------------- apply_ljp per row
def test_whole_cell_ljpcalc_worked_example():
    # LJPcalc README (AxoBits 39 set, NP, 20 degC): V_L = +16.05 mV;
    # measured -48.13 mV -> Vm = -48.13 - 16.05 = -64.18 mV
    assert apply_ljp(-48.13, ljp_mv=16.05, configuration="whole-cell") == pytest.approx(-64.18, abs=1e-12)


def test_perforated_same_correction_as_whole_cell():
    # Vp = -60.0, V_L = +10.0 -> Vm = -60 - 10 = -70 (plus an unknown Donnan term, not corrected)
    assert apply_ljp(-60.0, ljp_mv=10.0, configuration="perforated") == pytest.approx(-70.0, abs=1e-12)


def test_outside_out():
    # JPCalcWin manual p.7: CsF internal vs NaCl, V_L = +8.74 mV at 20 degC.
    # Vp = +20 -> Vm = 20 - 8.74 = +11.26
    assert apply_ljp(20.0, ljp_mv=8.74, configuration="outside-out") == pytest.approx(11.26, abs=1e-12)


def test_inside_out():
    # Ng & Barry 1995: NaCl 50 (pipette) | KCl 50 (bath), V_L = -4.3 mV.
    # Vp = +40 -> Vm = -(Vp - V_L) = -(40 - (-4.3)) = -44.3
    assert apply_ljp(40.0, ljp_mv=-4.3, configuration="inside-out") == pytest.approx(-44.3, abs=1e-12)


def test_cell_attached_with_resting_potential():
    # Vp = +30, V_L = +5, V_rest = -65 -> Vm = V_rest - (Vp - V_L) = -65 - (30 - 5) = -90
    v = apply_ljp(30.0, ljp_mv=5.0, configuration="cell-attached", resting_potential_mv=-65.0)
    assert v == pytest.approx(-90.0, abs=1e-12)


def test_cell_attached_without_resting_potential_is_relative_to_rest():
    # Vm - V_rest = -(Vp - V_L) = -(30 - 5) = -25
    assert apply_ljp(30.0, ljp_mv=5.0, configuration="cell-attached") == pytest.approx(-25.0, abs=1e-12)


def test_resting_potential_refused_outside_cell_attached():
    with pytest.raises(ParameterError, match=r"^resting_potential_mv = -70\.0 is given for configuration='whole-cell'"):
        apply_ljp(-50.0, ljp_mv=10.0, configuration="whole-cell", resting_potential_mv=-70.0)


# ----------------------------------------------------------------------------- bath change
def test_bath_change_bare_agagcl_plus_16_65():
    # 145 -> 75 mM Cl- at 20 degC, bare Ag/AgCl, concentrations:
    # delta_ref = (RT/F) ln(75/145) = 25.2615 mV * (-0.65925) = -16.65 mV
    hand = thermal_voltage_mv(20.0) * math.log(75.0 / 145.0)
    assert hand == pytest.approx(-16.65, abs=0.005)
    bc = bath_change_offset({"Na": 145, "Cl": 145}, {"Na": 145, "Cl": 75, "gluconate": 70},
                            temperature_c=20, reference="ag_agcl", activity_model=None)
    assert bc.delta_ref_mv == pytest.approx(hand, abs=1e-9)
    # whole-cell Vm = Vp - V_L - delta_ref = Vp - V_L + 16.65: -50 - 10 + 16.65 = -43.35
    v = apply_ljp(-50.0, ljp_mv=10.0, configuration="whole-cell", delta_ref_mv=bc.delta_ref_mv)
    assert v == pytest.approx(-50.0 - 10.0 - hand, abs=1e-12)
    assert v == pytest.approx(-43.35, abs=0.005)
    # inside-out: Vm = -(Vp - V_L - delta_ref) = -(40 - 10 + 16.65) = -46.65
    v_io = apply_ljp(40.0, ljp_mv=10.0, configuration="inside-out", delta_ref_mv=bc.delta_ref_mv)
    assert v_io == pytest.approx(-(40.0 - 10.0 - hand), abs=1e-12)


def test_delta_ref_broadcasts_per_sample():
    v = apply_ljp(np.array([-50.0, -50.0, -50.0]), ljp_mv=10.0, configuration="whole-cell",
                  delta_ref_mv=np.array([0.0, 0.0, -16.65]))
    np.testing.assert_allclose(v, [-60.0, -60.0, -43.35], atol=1e-12)


# ----------------------------------------------------------------------------- online part
def test_online_part_is_not_subtracted_twice():
    # V_L = 15, amplifier already applied 10 (HEKA LJ) -> only 5 remains: -50 - (15 - 10) = -55
    assert apply_ljp(-50.0, ljp_mv=15.0, ljp_applied_online_mv=10.0,
                     configuration="whole-cell") == pytest.approx(-55.0, abs=1e-12)
    # all of it applied online -> nothing left to do
    assert apply_ljp(-50.0, ljp_mv=15.0, ljp_applied_online_mv=15.0, configuration="whole-cell") == -50.0


def test_measured_junction_must_be_negated():
    # A direct measurement (pipette zeroed in the internal, bath switched to the external) reads
    # V(pipette) - V(bath) = -V_L.  For the AxoBits pair it would read about -16.05 mV:
    measured_reading = -16.05
    v = apply_ljp(-48.13, ljp_mv=-measured_reading, configuration="whole-cell")
    assert v == pytest.approx(-64.18, abs=1e-12)


# ----------------------------------------------------------------------------- polarity
def test_polarity_flag_undoes_acquisition_inversion_once():
    # inside-out, HEKA inverted at acquisition: the file holds -Vp.  Vp = -40, V_L = +5:
    # Vm = -(Vp - V_L) = -(-40 - 5) = +45, whether or not the file was inverted
    not_inverted = apply_ljp(-40.0, ljp_mv=5.0, configuration="inside-out")
    inverted = apply_ljp(+40.0, ljp_mv=5.0, configuration="inside-out", polarity_inverted_at_acquisition=True)
    assert not_inverted == pytest.approx(45.0, abs=1e-12)
    assert inverted == pytest.approx(45.0, abs=1e-12)


def test_current_signs_per_configuration():
    # recorded pipette current +20 pA
    assert apply_current_sign(20.0, "whole-cell") == 20.0      # outward membrane current
    assert apply_current_sign(20.0, "perforated") == 20.0
    assert apply_current_sign(20.0, "outside-out") == 20.0
    assert apply_current_sign(20.0, "inside-out") == -20.0     # flows into the cytoplasmic face: inward
    assert apply_current_sign(20.0, "cell-attached") == -20.0
    # HEKA already inverted (file holds -I_p = -20): undo, then the configuration's sign -> -20 once
    assert apply_current_sign(-20.0, "inside-out", True) == -20.0
    arr = apply_current_sign([1.0, -2.0], "cell-attached", polarity_inverted_at_acquisition=False)
    np.testing.assert_array_equal(arr, [-1.0, 2.0])


def test_arrays_in_arrays_out_and_inputs_untouched():
    x = np.array([-48.13, -60.0])
    y = apply_ljp(x, ljp_mv=16.05, configuration="whole-cell")
    assert isinstance(y, np.ndarray) and y.dtype == np.float64
    np.testing.assert_array_equal(x, [-48.13, -60.0])
    assert isinstance(apply_ljp(-48.13, ljp_mv=16.05, configuration="whole-cell"), float)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "16", None, True])
def test_bad_ljp_values_raise(bad):
    with pytest.raises(ParameterError, match=rf"^apply_ljp: ljp_mv = {re.escape(repr(bad))} is not a"):
        apply_ljp(-50.0, ljp_mv=bad, configuration="whole-cell")


def test_bad_flag_raises():
    with pytest.raises(ParameterError, match=r"^apply_ljp: polarity_inverted_at_acquisition = 'yes' is not True or False"):
        apply_ljp(-50.0, ljp_mv=1.0, configuration="whole-cell", polarity_inverted_at_acquisition="yes")


# ----------------------------------------------------------------------------- properties
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_mv = st.floats(min_value=-500, max_value=500, allow_nan=False)


@given(cfg=st.sampled_from(sorted(CONFIGURATIONS)), v=_mv, vl=_mv, online=_mv, d=_mv)
def test_inversion_flag_is_exactly_a_negated_input(cfg, v, vl, online, d):
    kw = dict(ljp_mv=vl, configuration=cfg, delta_ref_mv=d, ljp_applied_online_mv=online)
    assert apply_ljp(-v, polarity_inverted_at_acquisition=True, **kw) == apply_ljp(v, **kw)
    assert apply_current_sign(-v, cfg, True) == apply_current_sign(v, cfg)


@given(cfg=st.sampled_from(sorted(CONFIGURATIONS)), v=_mv, vl=_mv, d=_mv)
def test_formula_against_the_table(cfg, v, vl, d):
    c = CONFIGURATIONS[cfg]
    out = apply_ljp(v, ljp_mv=vl, configuration=cfg, delta_ref_mv=d)
    assert out == pytest.approx(c.voltage_sign * (v - vl - d), abs=1e-9)
    # the online part only moves what is left to subtract
    part = apply_ljp(v, ljp_mv=vl, configuration=cfg, delta_ref_mv=d, ljp_applied_online_mv=vl)
    assert part == pytest.approx(c.voltage_sign * (v - d), abs=1e-9)
