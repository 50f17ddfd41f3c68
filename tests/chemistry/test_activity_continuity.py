"""No jumps: activity coefficients and the conditional constants built from them are continuous
in ionic strength and temperature (issue 13, item 5).

Before this change the Truesdell-Jones chain switched an ion without phreeqc.dat parameters from
extended Debye-Hueckel to Davies where I crossed 0.1 mol/kg: gamma(Cs+) jumped 4.9 % there
(E_Cs by 1.2 mV) and the apparent K'd of Mg-ADP / Mg-PCr by 4.2 % / 2.4 %. The model of an ion is
now chosen from its parameters only; these scans fail on any such switch.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ephys_correct.chemistry import acidbase as ab
from ephys_correct.chemistry import activity as act
from ephys_correct.chemistry import speciation as sp
from ephys_correct.errors import ModelValidityWarning
from ephys_correct.chemistry.ions import load_ion_table

#: largest relative change of gamma allowed between I and I + 1e-6 mol/kg (or T and T + 1e-4 K)
MAX_JUMP = 2e-3
H_I = 1e-6
H_T = 1e-4
#: ionic strengths where a range limit of some model lies (0.1: ext. DH, 0.5: Davies, 1: TJ)
LIMITS = (0.1, 0.5, 1.0)

IONS = sorted(load_ion_table())
MODELS = ("truesdell-jones", "extended-debye-huckel", "davies")


def _lg(ion: str, i_m: float, t: float, model: str = "truesdell-jones") -> float:
    z = load_ion_table()[ion].charge
    value, _ = act._resolve(z, i_m, t, model, act.ion_activity_parameters(ion), None)
    return value


def _grid() -> np.ndarray:
    """0.001 ... 1 mol/kg every 0.002, plus points just below every model's range limit.

    Below 0.001 mol/kg gamma is continuous but steep (sqrt I): for z = -6 (OGB-1) a step of
    1e-6 there moves it by 0.2 %; test_gamma_is_continuous_at_zero_ionic_strength covers I -> 0.
    """
    pts = list(np.arange(1e-3, 1.0, 2e-3))
    for lim in LIMITS:
        pts += [lim - H_I, lim - H_I / 2, lim - 1e-9]
    return np.array(sorted(pts))


GRID = _grid()


def _representatives(model: str) -> list[str]:
    """One ion per distinct (charge, model used, parameters): the others give identical gammas.

    That the model depends on the ion's parameters only (not on I or T) is tested below in
    test_model_choice_depends_on_the_ion_only_and_is_recorded.
    """
    seen, out = set(), []
    for ion in IONS:
        z = load_ion_table()[ion].charge
        if model == "extended-debye-huckel" and abs(z) > 4:
            continue  # no assumed size for |z| > 4: the model refuses those ions
        _, info = act._resolve(z, 0.05, 25.0, model, act.ion_activity_parameters(ion), None)
        key = (z, info["model"], tuple(sorted(info["parameters"].items())))
        if key not in seen:
            seen.add(key)
            out.append(ion)
    return out


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("t", (0.0, 37.0))
def test_gamma_of_every_ion_is_continuous_in_ionic_strength(model, t):
    worst = (0.0, None, None)
    for ion in _representatives(model):
        for i_m in GRID:
            jump = abs(10.0 ** (_lg(ion, i_m + H_I, t, model) - _lg(ion, i_m, t, model)) - 1.0)
            if jump > worst[0]:
                worst = (jump, ion, float(i_m))
    assert worst[0] < MAX_JUMP, f"{model}: gamma({worst[1]}) jumps {worst[0]:.2%} at I = {worst[2]}"


def test_gamma_is_continuous_at_zero_ionic_strength():
    for ion in IONS:
        assert abs(_lg(ion, 1e-14, 25.0) - _lg(ion, 0.0, 25.0)) < 1e-5, ion


@pytest.mark.parametrize("i_m", (0.05, 0.1, 0.15, 0.5))
def test_gamma_of_every_ion_is_continuous_in_temperature(i_m):
    temps = np.arange(0.0, 50.0 + 1e-9, 0.25)
    for ion in _representatives("truesdell-jones"):
        for t in temps:
            jump = abs(10.0 ** (_lg(ion, i_m, t + H_T) - _lg(ion, i_m, t)) - 1.0)
            assert jump < MAX_JUMP, f"gamma({ion}) jumps {jump:.2%} at T = {t} degC, I = {i_m}"


@settings(max_examples=120, deadline=None)
@given(ion=st.sampled_from(IONS), i_m=st.floats(1e-3, 1.0), t=st.floats(0.0, 50.0))
def test_gamma_continuity_property(ion, i_m, t):
    assert abs(10.0 ** (_lg(ion, i_m + H_I, t) - _lg(ion, i_m, t)) - 1.0) < MAX_JUMP
    assert abs(10.0 ** (_lg(ion, i_m, t + H_T) - _lg(ion, i_m, t)) - 1.0) < MAX_JUMP


def test_model_choice_depends_on_the_ion_only_and_is_recorded():
    for ion in IONS:
        z = load_ion_table()[ion].charge
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelValidityWarning)
            choices = {act.log10_gamma(z, i_m, 25.0, "truesdell-jones", ion=ion)[1]["model_choice"]
                       for i_m in (0.0, 0.05, 0.0999, 0.1001, 0.3, 0.6, 0.9)}
        assert len(choices) == 1, (ion, choices)
    res = act.activity_coefficients({"Cs+": 130, "gluconate-": 130}, temperature_c=22)
    assert res.per_ion["Cs+"]["model_choice"].startswith("truesdell-jones")
    assert res.per_ion["gluconate-"]["model_choice"].startswith("davies")


# CRC Handbook gamma+- of CsCl at 25 degC (crc_activity_acids_bases_salts), m = 0.1 ... 1.0
CSCL_CRC = ((0.1, 0.756), (0.2, 0.694), (0.3, 0.656), (0.4, 0.628), (0.5, 0.606),
            (0.6, 0.589), (0.7, 0.575), (0.8, 0.563), (0.9, 0.553), (1.0, 0.544))


@pytest.mark.parametrize("m,ref", CSCL_CRC)
def test_fitted_cs_parameters_reproduce_cscl(m, ref):
    """ec_fit_tj_rbcl_cscl_crc: within 0.6 % of the CRC table from 0.1 to 1 mol/kg."""
    g = act.mean_activity_coefficient({"Cs+": 1, "Cl-": 1}, m, temperature_c=25.0)
    assert g == pytest.approx(ref, rel=6e-3)


def test_cs_gamma_has_no_jump_at_0p1_any_more():
    below, above = _lg("Cs+", 0.1 - 1e-9, 25.0), _lg("Cs+", 0.1 + 1e-9, 25.0)
    assert abs(10 ** (above - below) - 1) < 1e-6  # was 4.9 % (ext. DH a = 2.5 -> Davies)


# ------------------------------------------------------------------ derived conditional constants
PAIRS = (("Mg2+", "ADP"), ("Mg2+", "PCr"), ("Mg2+", "ATP"), ("Ca2+", "EGTA"), ("Ca2+", "BAPTA"),
         ("Mg2+", "citrate"), ("Ca2+", "ATP"), ("K+", "ATP"))


def _kd(metal, lig, i_mm, t):
    return sp.apparent_kd(metal, lig, pH=7.2, temperature_c=t, ionic_strength_mm=i_mm)


@pytest.mark.parametrize("metal,lig", PAIRS)
def test_apparent_kd_is_continuous_in_ionic_strength(metal, lig):
    h = H_I * 1000.0  # mM
    pts = sorted(set(np.round(np.arange(2.0, 300.0, 5.0), 6)) | {100.0 - h, 100.0 - 1e-6, 99.9995})
    for i_mm in pts:
        jump = abs(_kd(metal, lig, i_mm + h, 22.0) / _kd(metal, lig, i_mm, 22.0) - 1.0)
        assert jump < MAX_JUMP, f"K'd({metal}, {lig}) jumps {jump:.2%} at I = {i_mm} mM"


@pytest.mark.parametrize("metal,lig", PAIRS)
def test_apparent_kd_is_continuous_in_temperature(metal, lig):
    for t in np.arange(0.0, 50.0, 2.5):
        jump = abs(_kd(metal, lig, 150.0, t + H_T) / _kd(metal, lig, 150.0, t) - 1.0)
        assert jump < MAX_JUMP, f"K'd({metal}, {lig}) jumps {jump:.2%} at T = {t} degC"


def test_protonation_fractions_are_continuous_across_0p1():
    for lig in ("ATP", "ADP", "PCr", "HEPES", "EGTA"):
        lo = ab.protonation_fractions(lig, pH=7.3, temperature_c=22, ionic_strength_mm=100.0 - 1e-6)
        hi = ab.protonation_fractions(lig, pH=7.3, temperature_c=22, ionic_strength_mm=100.0 + 1e-6)
        for k in lo:
            assert math.isclose(lo[k], hi[k], rel_tol=1e-5, abs_tol=1e-12), (lig, k)
