"""Stationary Nernst-Planck liquid junction with local electroneutrality.

Numerical core only: plain arrays in, floats out, no ion table and no
solutions.  The public entry points live in :mod:`ephys_correct.ljp`.

Problem
-------
The junction occupies ``0 <= x <= 1`` (pipette at ``x = 0``, bath at ``x = 1``;
the length drops out).  Ion ``i`` (charge ``z_i``, relative mobility ``u_i``)
has the constant steady-state flux

    J_i = -u_i (c_i' + z_i c_i phi'),          phi = F V / (R T),

with ``c_i(0) = c_i^P`` and ``c_i(1) = c_i^S``.  The potential is fixed by
local electroneutrality ``sum_i z_i c_i(x) = 0`` and zero electric current
``sum_i z_i J_i = 0``; there is no Poisson equation (the Debye length is
nanometres, the junction is micrometres or more).  This is the problem solved
by JLJP/LJPcalc (Marino, Misuri & Brogioli 2014, arXiv:1403.3640).

Method
------
For a *given* potential profile each ion is decoupled and its equation is
linear, with the exact solution

    J_i / u_i = (c_i^P e^{z_i phi(0)} - c_i^S e^{z_i phi(1)}) / I_i(1),
    c_i(x)    = [c_i^P e^{z_i phi(0)} (I_i(1) - I_i(x)) + c_i^S e^{z_i phi(1)} I_i(x)]
                / (I_i(1) e^{z_i phi(x)}),
    I_i(x)    = int_0^x e^{z_i phi(s)} ds.

(The second form is a convex combination of the two boundary values, so it
never cancels and never goes negative.)  The potential is taken piecewise
linear on a mesh, which makes every ``I_i`` a closed-form sum of
``h e^{z phi_k} (e^d - 1)/d`` terms.  The unknowns are the nodal potentials
``phi_1 .. phi_M`` (``phi_0 = 0``); the equations are electroneutrality at
the ``M - 1`` interior nodes and zero current.  Newton's method with the
analytic Jacobian solves them (2-6 iterations from the Henderson profile).

The mesh is uniform in a coordinate ``s`` with ``x(s) = expm1(L s)/expm1(L)``,
``L = ln(kappa_S/kappa_P)`` of the linear (Henderson) conductivity profile, and
the potential is piecewise linear in ``s``.  For a single salt (c linear in x,
phi linear in ln c) this represents the exact solution, so binary-salt junctions
are exact to rounding; for mixtures the error is O(h^2) with a small constant.
The value is extrapolated (two Richardson steps, h^2 and h^4) from meshes of
M, 2M and 4M segments (M = 8 first); the error estimate is the size of the last
correction, trusted only when successive differences shrink by about 4
(asymptotic regime).  The mesh is doubled until the estimate is below the
tolerance.  A result is returned only when Newton converged on every mesh and
the estimate met the tolerance; otherwise
:class:`~ephys_correct.errors.ConvergenceError` is raised.

Invariances are built in rather than hoped for: the ions are sorted into a
canonical order, concentrations are divided by their largest value, and the
pair is put in a canonical orientation (the swapped problem is solved and the
result negated when needed), so ion order, units and side swaps change the
result by at most rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ephys_correct.errors import ConvergenceError

__all__ = ["NPSolution", "solve_nernst_planck"]

#: Newton stops after applying an update whose largest entry is below this
#: (units RT/F) ...
_NEWTON_STEP_TOL = 1e-10
#: ... or below this when it is also < 1e-2 of the previous update.
_NEWTON_FAST_TOL = 1e-6
_NEWTON_MAX_ITER = 60
#: largest Newton step allowed (RT/F units); larger steps are scaled down.
_MAX_STEP = 2.0
_SERIES_D = 1e-2


@dataclass(frozen=True)
class NPSolution:
    """Converged result of :func:`solve_nernst_planck` (dimensionless).

    The fields are also the attributes.

    Parameters
    ----------
    phi : float
        Extrapolated ``phi(1) - phi(0)`` in units of RT/F.
    contributions : ndarray
        Per-ion additive shares of ``phi`` in the input ion order (units RT/F),
        ``-z_i u_i int_0^1 c_i'(x) / kappa(x) dx`` with
        ``kappa = sum_j z_j^2 u_j c_j``; they sum to ``phi``.
    error_estimate : float
        Estimated error of the extrapolated value (RT/F units).
    n_segments : int
        Number of mesh segments of the finest mesh.
    newton_iterations : int
        Total Newton iterations over all meshes.
    """

    phi: float
    contributions: np.ndarray
    error_estimate: float
    n_segments: int
    newton_iterations: int


# ----------------------------------------------------------------------------
# small stable helper functions of d = z * (phi_{k+1} - phi_k)
# ----------------------------------------------------------------------------


def _g1(d: np.ndarray) -> np.ndarray:
    """(e^d - 1) / d, = 1 at d = 0."""
    small = np.abs(d) < _SERIES_D
    if not small.any():
        return np.expm1(d) / d
    ds = np.where(small, 1.0, d)
    out = np.expm1(ds) / ds
    ser = 1.0 + d * (1 / 2 + d * (1 / 6 + d * (1 / 24 + d * (1 / 120 + d / 720))))
    return np.where(small, ser, out)


def _g1_g3(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(e^d - 1)/d and (e^d - 1 - d)/d^2 (= 1 and 1/2 at d = 0)."""
    small = np.abs(d) < _SERIES_D
    if not small.any():
        em = np.expm1(d)
        return em / d, (em - d) / (d * d)
    ds = np.where(small, 1.0, d)
    em = np.expm1(ds)
    g1 = em / ds
    g3 = (em - ds) / (ds * ds)
    s1 = 1.0 + d * (1 / 2 + d * (1 / 6 + d * (1 / 24 + d * (1 / 120 + d / 720))))
    s3 = 1 / 2 + d * (1 / 6 + d * (1 / 24 + d * (1 / 120 + d * (1 / 720 + d / 5040))))
    return np.where(small, s1, g1), np.where(small, s3, g3)


# ----------------------------------------------------------------------------
# one mesh
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mesh:
    """Uniform mesh in s on [0, 1] mapped to x by x(s) = expm1(L s) / expm1(L).

    ``L = ln(kappa_S / kappa_P)`` of the linear (Henderson) conductivity
    profile, so ``ln kappa`` is linear in s.  The potential is piecewise linear
    in **s**: for a single salt the exact solution (c linear in x, phi linear in
    ln c) is then represented exactly, and for mixtures the error is small.
    Since dx/ds = K e^{L s} (K = L / expm1(L)) is exponential, the segment
    integrals of e^{z phi} stay in closed form.
    """

    s: np.ndarray  # (M+1,)
    x: np.ndarray  # (M+1,)
    ds: float
    w: np.ndarray  # (M,) dx/ds at the left node times ds
    ld: np.ndarray  # (M,) L * ds
    L: float
    K: float


def _mesh(kp: float, ks: float, m: int) -> _Mesh:
    s = np.linspace(0.0, 1.0, m + 1)
    L = float(np.log(ks / kp))
    ds = 1.0 / m
    if abs(L) < 1e-12:
        L, K = 0.0, 1.0
        x = s.copy()
    else:
        K = L / np.expm1(L)
        x = np.expm1(L * s) / np.expm1(L)
        x[0], x[-1] = 0.0, 1.0
    w = K * np.exp(L * s[:-1]) * ds
    ld = np.full(m, L * ds)
    return _Mesh(s, x, ds, w, ld, L, K)


@lru_cache(maxsize=16)
def _masks(m: int) -> np.ndarray:
    """Index masks (k, j) for dT/dphi (A and B parts) and dH/dphi (A and B parts)."""
    k = np.arange(m + 1)[:, None]
    j = np.arange(m + 1)[None, :]
    out = np.stack([j >= k, j - 1 >= k, j <= k - 1, (j <= k) & (j >= 1)]).astype(float)
    out.setflags(write=False)
    return out


class _Problem:
    """Arrays for one (canonically ordered, normalised) ion set."""

    def __init__(self, cp, cs, z, u):
        self.cp = cp
        self.cs = cs
        self.z = z
        self.u = u
        self.zf = z.astype(float)


def _state(prob: _Problem, mesh: _Mesh, phi: np.ndarray):
    """Integrals and nodal concentrations for a piecewise-linear potential.

    ``phi`` has M + 1 entries with ``phi[0] = 0``.  Returns a dict of arrays
    with shapes (n, M + 1) for nodal quantities and (n, M) for segments.
    """
    z = prob.zf[:, None]
    zphi = z * phi[None, :]  # (n, M+1)
    ez = np.exp(zphi)
    d = np.diff(zphi, axis=1) + mesh.ld[None, :]  # (n, M)
    base = mesh.w[None, :] * ez[:, :-1]
    g1, g3 = _g1_g3(d)
    E = base * g1  # segment integrals of e^{z phi} dx
    A = z * base * g3  # dE/dphi_left
    B = z * base * (g1 - g3)  # dE/dphi_right
    n, m = E.shape
    H = np.zeros((n, m + 1))
    np.cumsum(E, axis=1, out=H[:, 1:])
    T = np.zeros((n, m + 1))
    T[:, :-1] = np.cumsum(E[:, ::-1], axis=1)[:, ::-1]
    I = H[:, -1]
    P = prob.cp * ez[:, 0]
    S = prob.cs * ez[:, -1]
    c = (P[:, None] * T + S[:, None] * H) / (I[:, None] * ez)
    return dict(ez=ez, E=E, A=A, B=B, H=H, T=T, I=I, P=P, S=S, c=c, d=d, base=base)


def _residual_jacobian(prob: _Problem, mesh: _Mesh, phi: np.ndarray, want_jac=True):
    """Residual F(phi_1..phi_M) and its Jacobian."""
    st = _state(prob, mesh, phi)
    z = prob.zf
    u = prob.u
    c = st["c"]
    n, mp1 = c.shape
    m = mp1 - 1
    # electroneutrality at interior nodes 1..M-1, zero current
    F = np.empty(m)
    F[:-1] = z @ c[:, 1:-1]
    I = st["I"]
    P, S = st["P"], st["S"]
    jflux = u * (P - S) / I  # J_i (up to the common length scale)
    kap_bc = float(np.sum(z * z * u * (prob.cp + prob.cs)))
    F[-1] = float(z @ jflux) / kap_bc
    if not want_jac:
        return F, None, st
    A, B = st["A"], st["B"]
    ez = st["ez"]
    H = st["H"]
    masks = _masks(m)
    # dE_m/dphi_j = A_m [m = j] + B_m [m + 1 = j]; padded to columns j = 0..M
    Apad = np.zeros((n, mp1))
    Apad[:, :-1] = A
    Bpad = np.zeros((n, mp1))
    Bpad[:, 1:] = B
    dI = Apad + Bpad  # dI_i/dphi_j
    # c_k = (P T_k + S H_k) / (I e_k);  dT_k/dphi_j = [j>=k] A_j + [j-1>=k] B_{j-1},
    # dH_k/dphi_j = [j<=k-1] A_j + [1<=j<=k] B_{j-1}.  Sum over ions with weight z:
    inv = 1.0 / (I[:, None] * ez)  # (n, M+1)
    aP = (z * P)[:, None] * inv
    aS = (z * S)[:, None] * inv
    Jf = masks[0] * (aP.T @ Apad)
    Jf += masks[1] * (aP.T @ Bpad)
    Jf += masks[2] * (aS.T @ Apad)
    Jf += masks[3] * (aS.T @ Bpad)
    Jf[:, -1] += ((z * z * S)[:, None] * H * inv).sum(axis=0)  # dS/dphi_M = z S
    zc = z[:, None] * c
    Jf -= zc.T @ (dI / I[:, None])
    Jf[np.arange(mp1), np.arange(mp1)] -= (z[:, None] * zc).sum(axis=0)
    Jm = np.empty((m, m))
    Jm[:-1] = Jf[1:-1, 1:]
    # zero current: d/dphi_j of sum z u (P - S)/I
    dS = np.zeros((n, mp1))
    dS[:, -1] = z * S
    dflux = u[:, None] * (-dS / I[:, None] - ((P - S) / I**2)[:, None] * dI)
    Jm[-1] = (z @ dflux)[1:] / kap_bc
    return F, Jm, st


def _newton(prob: _Problem, mesh: _Mesh, phi0: np.ndarray):
    """Newton on the nodal potentials; returns (phi, iterations) or raises."""
    phi = phi0.copy()
    prev = np.inf
    big = np.inf
    for it in range(1, _NEWTON_MAX_ITER + 1):
        F, Jm, _ = _residual_jacobian(prob, mesh, phi)
        if not (np.all(np.isfinite(F)) and np.all(np.isfinite(Jm))):
            break
        try:
            step = np.linalg.solve(Jm, -F)
        except np.linalg.LinAlgError:
            raise ConvergenceError(
                "Nernst-Planck solver: singular Jacobian (no unique electroneutral "
                "potential profile found)."
            ) from None
        big = float(np.max(np.abs(step)))
        if not np.isfinite(big):
            break
        if big > _MAX_STEP:
            step *= _MAX_STEP / big
        phi[1:] += step
        # converged: a tiny step, or a small step that shows quadratic convergence
        # (then the remaining error is about big**2 / prev <= 1e-2 * big).
        if big < _NEWTON_STEP_TOL or (big < _NEWTON_FAST_TOL and big <= 1e-2 * prev):
            return phi, it
        prev = big
    raise ConvergenceError(
        f"Nernst-Planck solver: Newton did not converge in {it} iterations on a "
        f"{mesh.s.size - 1}-segment mesh (last update {big:.3g} RT/F)."
    )


_GL_S, _GL_W = np.polynomial.legendre.leggauss(4)
_GL_S = 0.5 * (_GL_S + 1.0)
_GL_W = 0.5 * _GL_W


def _contributions(prob: _Problem, mesh: _Mesh, phi: np.ndarray) -> np.ndarray:
    """Per-ion shares -z u int c'/kappa dx of phi(1).

    Gauss-Legendre quadrature on every segment of the exact within-segment
    profiles; the shares add up to phi(1) to rounding whatever the quadrature
    error, because sum_i z_i J_i = 0 and the transference numbers sum to 1
    at every quadrature point.
    """
    st = _state(prob, mesh, phi)
    z = prob.zf[:, None, None]
    u = prob.u[:, None, None]
    sg = _GL_S[None, None, :]
    d = st["d"][:, :, None]  # (n, M, 1), includes L ds
    base = st["base"][:, :, None]
    dphi = np.diff(phi)[None, :, None]
    left = base * sg * _g1(sg * d)
    right = base * np.exp(sg * d) * (1 - sg) * _g1((1 - sg) * d)
    H = st["H"][:, :-1, None] + left
    T = st["T"][:, 1:, None] + right
    I = st["I"][:, None, None]
    P = st["P"][:, None, None]
    S = st["S"][:, None, None]
    ezx = st["ez"][:, :-1, None] * np.exp(sg * z * dphi)
    c = (P * T + S * H) / (I * ezx)
    # x'(s) at the quadrature points and dphi/dx there
    xp = mesh.K * np.exp(mesh.L * (mesh.s[:-1, None] + sg[0] * mesh.ds))[None]  # (1, M, q)
    dphidx = (dphi / mesh.ds) / xp
    j_over_u = (P - S) / I
    grad = -j_over_u - z * c * dphidx  # dc/dx inside the segment
    kappa = np.sum(z * z * u * c, axis=0, keepdims=True)
    integrand = -z * u * grad / kappa * xp  # per unit s
    return np.sum(integrand * (_GL_W * mesh.ds)[None, None, :], axis=(1, 2))


def _henderson_profile(prob: _Problem, x: np.ndarray) -> np.ndarray:
    """Henderson potential between the pipette and the linear mixture at each node."""
    z, u = prob.zf, prob.u
    zu = z * u
    z2u = z * zu
    cx = prob.cp[None, :] * (1 - x)[:, None] + prob.cs[None, :] * x[:, None]
    num = (cx - prob.cp[None, :]) @ zu
    sp = prob.cp @ z2u
    sx = cx @ z2u
    den = (cx - prob.cp[None, :]) @ z2u
    y = den / (sp + sx)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(y == 0, 1.0, np.arctanh(y) / np.where(y == 0, 1.0, y))
    return -num / ((sp + sx) / 2) * ratio


def _solve_one_mesh(prob: _Problem, kp: float, ks: float, m: int, prev=None):
    mesh = _mesh(kp, ks, m)
    if prev is None:
        phi0 = _henderson_profile(prob, mesh.x)
    else:
        phi0 = np.interp(mesh.s, prev[0].s, prev[1])
    phi0 = phi0 - phi0[0]
    phi, its = _newton(prob, mesh, phi0)
    return mesh, phi, its


def _romberg_estimate(v1: float, v2: float, v3: float, tol: float) -> tuple[float, float]:
    """Two-level Richardson (Romberg) value and error estimate from meshes M, 2M, 4M.

    The discretisation error is c2 h^2 + c4 h^4 + ...; one Richardson step
    removes h^2 and the difference of two such steps estimates what is left
    (divided by 15 for the h^4 term).  The estimate is trusted only in the
    asymptotic regime, i.e. when successive differences shrink by about 4;
    otherwise an infinite error is returned and the mesh is refined -- unless
    the raw values themselves already agree far below *tol*.
    """
    d1 = v2 - v1
    d2 = v3 - v2
    r1a = v2 + d1 / 3.0
    r1b = v3 + d2 / 3.0
    best = r1b + (r1b - r1a) / 15.0
    err = abs(r1b - r1a) / 15.0
    if abs(d1) <= tol and abs(d2) <= 0.1 * tol:
        return best, max(err, abs(d2))
    if d2 == 0.0 or not (2.5 <= d1 / d2 <= 6.0):
        return best, float("inf")
    return best, err


def solve_nernst_planck(
    cp: np.ndarray,
    cs: np.ndarray,
    z: np.ndarray,
    u: np.ndarray,
    *,
    tol: float,
    m0: int = 8,
    m_max: int = 1024,
    contributions: bool = True,
) -> NPSolution:
    """Solve the electroneutral stationary NP junction (dimensionless).

    Parameters
    ----------
    cp, cs : ndarray
        Concentrations on the pipette (x = 0) and bath (x = 1) side; any unit,
        non-negative, electroneutral (checked by the caller).
    z : ndarray of int
        Charge numbers (non-zero).
    u : ndarray
        Relative mobilities (> 0); only ratios matter.
    tol : float
        Required accuracy of ``phi`` (units RT/F).
    m0 : int
        Segments of the first mesh; each refinement doubles them.
    m_max : int
        Most segments tried before giving up.
    contributions : bool
        Compute the per-ion shares (about 20 % of the run time); when False
        ``NPSolution.contributions`` is all NaN.

    Returns
    -------
    NPSolution
        ``phi(1) - phi(0)`` extrapolated from the last three meshes (h^2, h^4),
        with its error estimate (<= *tol*) and the per-ion contributions.

    Raises
    ------
    ConvergenceError
        If Newton fails on a mesh or the mesh sequence does not reach *tol*
        by ``m_max`` segments.
    """
    cp = np.asarray(cp, float)
    cs = np.asarray(cs, float)
    z = np.asarray(z, int)
    u = np.asarray(u, float)
    n_in = cp.size
    contrib_full = np.zeros(n_in)
    if np.array_equal(cp, cs):
        return NPSolution(0.0, contrib_full, 0.0, 0, 0)
    keep = (cp > 0) | (cs > 0)
    idx = np.flatnonzero(keep)
    cp_k, cs_k, z_k, u_k = cp[idx], cs[idx], z[idx], u[idx]
    # canonical ion order: by (z, u, cp, cs)
    order = np.lexsort((cs_k, cp_k, u_k, z_k))
    cp_k, cs_k, z_k, u_k, idx = cp_k[order], cs_k[order], z_k[order], u_k[order], idx[order]
    # canonical orientation: solve the lexicographically smaller side first
    flip = tuple(cp_k) > tuple(cs_k)
    if flip:
        cp_k, cs_k = cs_k, cp_k
        order2 = np.lexsort((cs_k, cp_k, u_k, z_k))
        cp_k, cs_k, z_k, u_k, idx = (
            cp_k[order2], cs_k[order2], z_k[order2], u_k[order2], idx[order2]
        )
    scale = max(float(cp_k.max()), float(cs_k.max()))
    prob = _Problem(cp_k / scale, cs_k / scale, z_k, u_k)
    z2u = z_k.astype(float) ** 2 * u_k
    kp = float(prob.cp @ z2u)
    ks = float(prob.cs @ z2u)

    values = []
    meshes = []
    total_its = 0
    m = m0
    err = np.inf
    while True:
        mesh, phi, its = _solve_one_mesh(prob, kp, ks, m, meshes[-1] if meshes else None)
        total_its += its
        values.append(phi[-1])
        meshes.append((mesh, phi))
        if len(values) >= 3:
            best, err = _romberg_estimate(values[-3], values[-2], values[-1], tol)
            if err <= tol:
                break
        if 2 * m > m_max:
            raise ConvergenceError(
                f"Nernst-Planck solver: mesh refinement did not reach {tol:.3g} RT/F "
                f"with {m} segments (last error estimate {err:.3g} RT/F)."
            )
        m *= 2
    rich = best
    sign = -1.0 if flip else 1.0
    if contributions:
        c3 = [_contributions(prob, *mp) for mp in meshes[-3:]]
        r1a = c3[1] + (c3[1] - c3[0]) / 3.0
        r1b = c3[2] + (c3[2] - c3[1]) / 3.0
        contrib_full[idx] = sign * (r1b + (r1b - r1a) / 15.0)
    else:
        contrib_full[:] = np.nan
    return NPSolution(sign * float(rich), contrib_full, float(err), m, total_its)
