"""The fast LJP kernels against independent implementations.

* Nernst-Planck: ``ephys_correct._nernst_planck`` (meshes solved together,
  compact analytic Jacobian, Richardson extrapolation) against a
  straightforward ``scipy.integrate.solve_bvp`` collocation of the same
  problem in the physical coordinate x, with the fluxes as unknown
  parameters.  The two share nothing but the equations.
* Henderson: the plain-float path of ``henderson_mv`` /
  ``henderson_contributions_mv`` for one junction against the vectorized
  array path (batch shape (1,)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_bvp

from ephys_correct.potentials import _nernst_planck
from ephys_correct._constants import thermal_voltage_mv
from ephys_correct.chemistry.ions import load_ion_table
from ephys_correct.potentials.ljp import (
    henderson_contributions_mv,
    henderson_mv,
    liquid_junction_potential,
    nernst_planck_mv,
)

TABLE = load_ion_table()
#: mono- and divalent ions (the benchmark's population)
NAMES = sorted(n for n in TABLE if abs(TABLE[n].charge) <= 2)
CATIONS = [n for n in NAMES if TABLE[n].charge > 0]
ANIONS = [n for n in NAMES if TABLE[n].charge < 0]


def neutralize(c: np.ndarray, z: np.ndarray) -> np.ndarray:
    pos = z > 0
    qp = float(c[pos] @ z[pos])
    qn = float(-(c[~pos] @ z[~pos]))
    return np.where(pos, c * math.sqrt(qn / qp), c * math.sqrt(qp / qn))


@st.composite
def pairs(draw, min_ions=2, max_ions=8):
    """2-8 ions, 1-300 mM, both sides electroneutral; an ion may be absent on one side."""
    n = draw(st.integers(min_ions, max_ions))
    cat = draw(st.sampled_from(CATIONS))
    an = draw(st.sampled_from(ANIONS))
    others = draw(st.lists(st.sampled_from(NAMES), min_size=n - 2, max_size=n - 2,
                           unique=True).filter(lambda xs: cat not in xs and an not in xs))
    names = [cat, an, *others]
    z = np.array([TABLE[x].charge for x in names])
    u = np.array([TABLE[x].relative_mobility for x in names])
    sides = []
    for side in range(2):
        c = np.array([draw(st.floats(1.0, 300.0)) for _ in names])
        for k in range(2, n):  # at most one side without the ion
            if side == 1 and sides[0][k] > 0 and draw(st.integers(0, 5)) == 0:
                c[k] = 0.0
            elif side == 0 and draw(st.integers(0, 5)) == 0:
                c[k] = 0.0
        sides.append(neutralize(c, z))
    return names, z, u, sides[0], sides[1]


def bvp_ljp_mv(cp, cs, z, u, temperature_c):
    """Reference NP junction: collocation (solve_bvp) in x with the fluxes as parameters.

    States c_1..c_n and phi; phi' = -sum(z j)/sum(z^2 c) keeps sum z c = 0, and
    c_i' = -j_i - z_i c_i phi' with j_i = J_i/u_i.  Conditions: c(0) = c_P,
    phi(0) = 0, c_i(1) = c_S,i for all ions but the last (the last follows from
    electroneutrality) and zero current sum z u j = 0.
    """
    cp = np.asarray(cp, float)
    cs = np.asarray(cs, float)
    z = np.asarray(z, float)
    u = np.asarray(u, float)
    scale = max(cp.max(), cs.max())
    cp, cs = cp / scale, cs / scale
    n = z.size

    def rhs(_x, y, j):
        c = y[:n]
        dphi = -(z @ j) / (z * z @ c)
        return np.vstack([-j[:, None] - z[:, None] * c * dphi, dphi])

    def bc(ya, yb, j):
        return np.concatenate([ya[:n] - cp, [ya[n]], yb[: n - 1] - cs[: n - 1], [(z * u) @ j]])

    x = np.linspace(0.0, 1.0, 41)
    c0 = cp[:, None] * (1 - x) + cs[:, None] * x
    kappa = (z * z * u) @ c0
    # Henderson profile as the initial guess: linear in ln kappa
    vh = float(henderson_mv(cp, cs, z, u, temperature_c=25, check_electroneutrality=False))
    vh /= thermal_voltage_mv(25)
    ln_k = np.log(kappa / kappa[0])
    phi0 = vh * ln_k / ln_k[-1] if abs(ln_k[-1]) > 1e-9 else vh * x
    sol = solve_bvp(rhs, bc, x, np.vstack([c0, phi0]), p=-(cs - cp), tol=1e-6,
                    max_nodes=20000)
    assert sol.status == 0, f"reference solve_bvp failed: {sol.message}"
    return float(sol.y[n, -1]) * thermal_voltage_mv(temperature_c)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(pairs())
def test_nernst_planck_kernel_agrees_with_solve_bvp(j):
    names, z, u, cp, cs = j
    fast = nernst_planck_mv(cp, cs, z, u, temperature_c=22)
    ref = bvp_ljp_mv(cp, cs, z, u, 22)
    assert abs(fast - ref) <= 1e-3, (names, fast, ref)


def test_solve_bvp_reference_reproduces_published_np_values():
    """The reference itself: AxoBits set, 20 C (LJPcalc README: 16.052319631180264 mV,
    its 1000-step Euler value; our converged value is 16.0509, tests/test_ljp_reference.py)."""
    names = ["K+", "Na+", "Cl-", "gluconate-", "Mg2+", "Ca2+", "HEPES-"]
    cp = [145, 13, 10, 145, 1, 0, 5]
    cs = [2.8, 145, 148.8, 0, 2, 1, 5]
    z = [TABLE[n].charge for n in names]
    u = [TABLE[n].relative_mobility for n in names]
    ref = bvp_ljp_mv(cp, cs, z, u, 20)
    assert ref == pytest.approx(16.0523, abs=0.05)
    assert nernst_planck_mv(cp, cs, z, u, temperature_c=20) == pytest.approx(ref, abs=1e-4)


def test_refined_meshes_and_their_contributions():
    """A tolerance that needs meshes beyond 32 segments: the refinement path, and its
    contributions (quadrature over the three finest meshes of two Newton solves)."""
    cp = np.array([9.0, 0.0, 18.0])
    cs = np.array([0.0284, 3.0, 3.0568])
    z = np.array([2, 1, -1])
    u = np.array([TABLE[n].relative_mobility for n in ("Zn2+", "K+", "Cl-")])
    coarse = _nernst_planck.solve_nernst_planck(cp, cs, z, u, tol=4e-6)
    fine = _nernst_planck.solve_nernst_planck(cp, cs, z, u, tol=1e-9)
    assert coarse.n_segments == 32 and fine.n_segments > 32
    assert fine.error_estimate <= 1e-9
    assert abs(coarse.phi - fine.phi) <= 4e-6
    assert fine.contributions.sum() == pytest.approx(fine.phi, abs=1e-10)
    np.testing.assert_allclose(fine.contributions, coarse.contributions, atol=1e-5)
    # the Zn case of the reference tests (-20.8139 mV at 25 C) through the public call
    r = liquid_junction_potential({"Zn2+": 9, "Cl-": 18}, {"Zn2+": 0.0284, "K+": 3, "Cl-": 3.0568},
                                  temperature_c=25, method="nernst-planck")
    assert float(r) == pytest.approx(-20.8139, abs=5e-4)


def test_solve_without_the_direct_lapack_kernel(monkeypatch):
    """The block solve falls back to np.linalg.solve when numpy's gufunc is not importable."""
    cp, cs = [145, 13, 15, 145, 1, 0], [2.8, 145, 153.8, 0, 2, 1]
    z = [1, 1, -1, -1, 2, 2]
    u = [TABLE[n].relative_mobility for n in ("K+", "Na+", "Cl-", "gluconate-", "Mg2+", "Ca2+")]
    a = _nernst_planck.solve_nernst_planck(cp, cs, z, u, tol=4e-6)
    monkeypatch.setattr(_nernst_planck, "_lapack_solve", None)
    b = _nernst_planck.solve_nernst_planck(cp, cs, z, u, tol=4e-6)
    assert b.phi == pytest.approx(a.phi, abs=1e-12)
    np.testing.assert_allclose(b.contributions, a.contributions, atol=1e-12)


def test_singular_jacobian_is_a_convergence_error(monkeypatch):
    from ephys_correct.errors import ConvergenceError

    def singular(J, F, lay):
        return np.full_like(F, np.nan)

    monkeypatch.setattr(_nernst_planck, "_solve_blocks", singular)
    with pytest.raises(ConvergenceError, match="singular Jacobian"):
        _nernst_planck.solve_nernst_planck([10, 10], [1, 1], [1, -1], [1.0, 1.04], tol=4e-6)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(pairs(max_ions=12), st.floats(0.0, 40.0))
def test_scalar_henderson_equals_the_array_path(j, t):
    names, z, u, cp, cs = j
    one = henderson_mv(cp.tolist(), cs.tolist(), z.tolist(), u.tolist(), temperature_c=t)
    batch = henderson_mv(cp[None, :], cs[None, :], z, u, temperature_c=t)
    assert isinstance(one, np.float64)
    assert one == pytest.approx(float(batch[0]), rel=1e-12, abs=1e-13)
    parts = henderson_contributions_mv(cp.tolist(), cs.tolist(), z, u, temperature_c=t)
    parts_batch = henderson_contributions_mv(cp[None, :], cs[None, :], z, u, temperature_c=t)
    np.testing.assert_allclose(parts, parts_batch[0], rtol=1e-12, atol=1e-13)
    assert parts.shape == (len(names),)


def test_scalar_henderson_rejects_what_the_array_path_rejects():
    from ephys_correct.errors import ConcentrationError, ParameterError

    with pytest.raises(ParameterError, match="charges"):
        henderson_mv([1.0, 1.0], [1.0, 1.0], [1, 0], [1, 1], temperature_c=20)
    with pytest.raises(ConcentrationError, match="finite"):
        henderson_mv([1.0, math.inf], [1.0, 1.0], [1, -1], [1, 1], temperature_c=20)
    with pytest.raises(ParameterError, match="temperature"):
        henderson_mv([1.0, 1.0], [2.0, 2.0], [1, -1], [1, 1], temperature_c=math.nan)


def _fd_jacobian_check(prob, lay, phi):
    geo = prob.geometry(lay)
    F, J = _nernst_planck._residual_jacobian(prob, geo, phi)
    F, J = F.copy(), J.copy()
    h = 1e-6
    fd = np.zeros_like(J)
    for j in range(lay.n_nodes):
        if j in lay.first:  # phi_0 = 0 is fixed: identity row and column
            continue
        e = np.zeros_like(phi)
        e[j] = h
        fp, _ = _nernst_planck._residual_jacobian(prob, geo, phi + e)
        fp = fp.copy()
        fm, _ = _nernst_planck._residual_jacobian(prob, geo, phi - e)
        fd[:, j] = (fp - fm) / (2 * h)
    fd[lay.first, lay.first] = 1.0
    scale = np.abs(J).max()
    np.testing.assert_allclose(J, fd, rtol=0, atol=1e-6 * scale)
    return F


def test_compact_jacobian_equals_finite_differences():
    """The analytic Jacobian of the three concatenated meshes (compact form, module
    docstring) against central differences of the residual, off the solution."""
    names = ["K+", "Na+", "Cl-", "gluconate-", "Mg2+", "Ca2+", "HEPES-"]
    z = [TABLE[n].charge for n in names]
    u = [TABLE[n].relative_mobility for n in names]
    cp = [145 / 148.8, 13 / 148.8, 10 / 148.8, 145 / 148.8, 1 / 148.8, 0.0, 5 / 148.8]
    cs = [2.8 / 148.8, 145 / 148.8, 1.0, 0.0, 2 / 148.8, 1 / 148.8, 5 / 148.8]
    prob = _nernst_planck._Problem(cp, cs, z, u)
    lay = _nernst_planck._layout((4, 8))
    rng = np.random.default_rng(0)
    phi = prob.henderson_slope * lay.s + 0.05 * rng.standard_normal(lay.n_nodes)
    phi[lay.first] = 0.0
    _fd_jacobian_check(prob, lay, phi)


def test_jacobian_where_segment_exponents_are_exactly_zero():
    """Equal conductivities (L = 0) and a flat potential: every d = z dphi + L ds is 0,
    so E, dE/dphi use their d -> 0 limits (series); the residual is still exact."""
    uk, una, ucl = (TABLE[n].relative_mobility for n in ("K+", "Na+", "Cl-"))
    c_na = (uk + ucl) / (una + ucl)  # same conductivity as unit KCl
    prob = _nernst_planck._Problem([1.0, 0.0, 1.0], [0.0, c_na, c_na], [1, 1, -1], [uk, una, ucl])
    assert prob.L == 0.0
    lay = _nernst_planck._layout((4,))
    F = _fd_jacobian_check(prob, lay, np.zeros(lay.n_nodes))
    assert np.all(np.isfinite(F))
    # and the solve through this path agrees with the solve_bvp reference
    v = nernst_planck_mv([100, 0, 100], [0, 100 * c_na, 100 * c_na], [1, 1, -1], [uk, una, ucl],
                         temperature_c=25)
    ref = bvp_ljp_mv([100, 0, 100], [0, 100 * c_na, 100 * c_na], [1, 1, -1], [uk, una, ucl], 25)
    assert v == pytest.approx(ref, abs=1e-3)


def test_bench_ljp_runs_and_reports_ratios(capsys):
    """scripts/bench_ljp.py end to end on a few pairs (its numbers are not judged here)."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("bench_ljp", root / "scripts" / "bench_ljp.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    kernel = root / "ephys_correct" / "potentials" / "_nernst_planck.py"
    rc = bench.main(["--pairs", "4", "--repeat", "1", "--startup-repeat", "0",
                     "--vector-pairs", "100", "--slowest", "1", "--baseline-np", str(kernel)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "4/4 converged" in out
    assert "ratio ours/plain" in out and "ratio ours/baseline" in out
    pairs = bench.random_pairs(50, 3)
    assert len({(tuple(p[0]), tuple(p[3]), tuple(p[4])) for p in pairs}) == 50
    for names, z, _u, cp, cs in pairs:
        assert 2 <= len(names) <= 8 and set(np.abs(z)) <= {1, 2}
        assert abs(cp @ z) < 1e-9 * cp.sum() and abs(cs @ z) < 1e-9 * cs.sum()
        assert np.all((cp > 0) | (cs > 0))
