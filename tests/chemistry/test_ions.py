"""The ion table: names, aliases, charges, mobility conversions."""

import pytest
from hypothesis import given, strategies as st

from ephys_correct.errors import UnknownIonError
from ephys_correct.chemistry.ions import canonical_ion_name, get_ion, load_ion_table

REQUIRED = [
    "Na+", "K+", "Cs+", "Li+", "Rb+", "NH4+", "H+", "Ca2+", "Mg2+", "Ba2+", "Sr2+", "Zn2+", "Mn2+",
    "Co2+", "Ni2+", "Cd2+", "Cl-", "Br-", "I-", "F-", "NO3-", "OH-", "HCO3-", "H2PO4-", "HPO4 2-",
    "SO4 2-", "acetate-", "gluconate-", "methanesulfonate-", "methylsulfate-", "aspartate-",
    "glutamate-", "isethionate-", "HEPES-", "EGTA4-", "HEGTA3-", "H2EGTA2-", "BAPTA4-", "HBAPTA3-",
    "ATP4-", "HATP3-", "GTP4-", "HGTP3-", "PCr2-", "HPCr-", "citrate3-", "Hcitrate2-", "MgATP2-",
    "CaEGTA2-", "NMDG+", "TEA+", "choline+", "Tris+",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_required_ions_present(name):
    ion = get_ion(name)
    assert ion.name == name
    assert ion.charge != 0
    assert ion.lambda_eq > 0


def test_relative_mobility_barry_ca():
    # Barry's list (Catacomb JunctionPotential help; Barry & Lynch 1991): Ca2+ u = 0.405
    assert get_ion("Ca2+").relative_mobility == pytest.approx(0.405, abs=5e-4)
    assert get_ion("K+").relative_mobility == 1.0
    # UNSW/JPCalc table values survive the lambda_eq round trip exactly
    assert get_ion("gluconate-").relative_mobility == pytest.approx(0.33, abs=1e-12)
    assert get_ion("HEPES-").relative_mobility == pytest.approx(0.30, abs=1e-12)


def test_diffusion_coefficient_k():
    # Nernst-Einstein with lambda(K+) = 73.5 S cm2/mol: D = 1.957e-9 m2/s at 25 degC
    # (CRC Handbook lists 1.957e-5 cm2/s for K+ at infinite dilution)
    assert get_ion("K+").diffusion_coefficient_m2_s(25.0) == pytest.approx(1.957e-9, rel=1e-3)


@pytest.mark.parametrize(
    "alias, canonical",
    [("K", "K+"), ("potassium", "K+"), ("Ca++", "Ca2+"), ("ca", "Ca2+"), ("HPO42-", "HPO4 2-"),
     ("HPO4 2-", "HPO4 2-"), ("MeSO3", "methanesulfonate-"), ("Gluconate", "gluconate-"),
     ("SO4--", "SO4 2-"), ("Mg-ATP", "MgATP2-")],
)
def test_aliases(alias, canonical):
    assert canonical_ion_name(alias) == canonical


@pytest.mark.parametrize("bad, hint", [("glucnate", "gluconate"), ("Kk", "K"), ("Calcium2+", "Ca")])
def test_unknown_ion_suggests(bad, hint):
    with pytest.raises(UnknownIonError, match=hint) as exc:
        canonical_ion_name(bad)
    assert repr(bad) in str(exc.value)
    assert isinstance(exc.value, KeyError)


def test_no_prefix_matching():
    # LJPcalc's IonLibrary matched "ATP" by prefix; we must not guess from a prefix
    with pytest.raises(UnknownIonError):
        canonical_ion_name("Glu")


def test_canonical_names_round_trip():
    table = load_ion_table()
    for name in table:
        assert table.canonical(name) == name
        for alias in table[name].aliases:
            assert table.canonical(alias) == name


@given(st.sampled_from(sorted(load_ion_table())))
def test_mobility_proportional_to_diffusion(name):
    ion = get_ion(name)
    k = get_ion("K+")
    ratio = ion.diffusion_coefficient_m2_s(25) / k.diffusion_coefficient_m2_s(25)
    assert ratio == pytest.approx(ion.relative_mobility, rel=1e-12)


def test_hpo4_mobility_unsw_not_h2po4_value():
    # UNSW/JPCalc u = 0.39 (CRC: 1/2 HPO4 2- lambda = 57); LJPcalc's Lange transcription
    # repeated the H2PO4- value 33 (u = 0.224) for HPO4 2-.
    assert get_ion("HPO4 2-").relative_mobility == pytest.approx(0.39, abs=1e-9)


@pytest.mark.parametrize("neutral_name", ["meglumine", "N-methyl-D-glucamine", "MES"])
def test_neutral_buffer_names_are_not_ion_aliases(neutral_name):
    # the neutral base / zwitterion must not be read silently as the charged form
    with pytest.raises(UnknownIonError):
        canonical_ion_name(neutral_name)


def test_canonical_ions_spells_names_and_checks_amounts():
    from ephys_correct.chemistry.ions import canonical_ions
    from ephys_correct.errors import ConcentrationError, ParameterError

    assert canonical_ions({"K": 140, "cl": 4.5}) == {"K+": 140.0, "Cl-": 4.5}
    with pytest.raises(ParameterError, match=r"^inside: 'Cl' and another key both name 'Cl-'"):
        canonical_ions({"Cl-": 1, "Cl": 2}, "inside")
    with pytest.raises(ConcentrationError, match=r"^inside_override_mm: 'Cl-' = -1 is negative"):
        canonical_ions({"Cl-": -1}, "inside_override_mm")
    with pytest.raises(ParameterError, match=r"^ions_mm = \[1\] is a list, not a mapping; give a mapping ion -> mM$"):
        canonical_ions([1])
    with pytest.raises(UnknownIonError):
        canonical_ions({"Kalium": 1})
