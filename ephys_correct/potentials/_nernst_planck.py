"""Stationary Nernst-Planck liquid junction with local electroneutrality.

Numerical core only: plain numbers in, floats out, no ion table, no solutions
and no validation (the public entry points in :mod:`ephys_correct.ljp`
validate once, then call :func:`solve_lists`).

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
analytic Jacobian solves them from the Henderson profile (2-3 iterations).
Newton stops after an update below 1e-10 RT/F, or once the updates shrink
quadratically (update <= 1e-2 x the previous one) and the predicted next
update, update^3/previous^2, is below 1e-4 of the tolerance (the observed
next update is within 10x of that prediction), so the Newton error is far
below the discretisation error.

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

Implementation (speed)
----------------------
The arrays are tiny (a few ions times 9-33 nodes), so the run time is numpy's
per-call overhead, not arithmetic.  The kernel therefore

* solves the three meshes 8, 16 and 32 **at once**: their nodes are
  concatenated into one vector (59 unknowns; a dummy segment of zero weight
  joins consecutive meshes) whose Jacobian is block diagonal, so one Newton
  iteration is one pass of about 60 small numpy calls for all three meshes,
  and the three blocks are factorised separately (LU of 9, 17 and 33 rows,
  through numpy's LAPACK gufunc without its Python wrapper when available).
  All three start from the Henderson profile, which on this mesh is linear in
  ``s`` (``ln kappa`` is), with a first update of typically 1e-3-1e-1 RT/F.
  Finer meshes, when needed, are solved one at a time from the interpolated
  previous solution;
* uses a compact form of the Jacobian.  With ``W_ik = z_i j_i / e^{z_i phi_k}``
  (``j_i = J_i/u_i``), ``D_ij = dI_i/dphi_j``, and ``H``, ``T`` the integrals
  of ``e^{z phi}`` left and right of node k, the derivative of the
  electroneutrality residual ``sum_i z_i c_ik`` is

      [j >= k] (W^T D)_kj - ((W T / I)^T D)_kj
        - delta_kj (sum_i W_ik dE_i,k-1/dphi_k + sum_i z_i^2 c_ik)
        + delta_jM sum_i z_i^2 c_i^S e^{z_i phi_M} H_ik / (I_i e^{z_i phi_k}),

  i.e. one matrix product and two masks; the zero-current row is folded into
  the same product, and every sum over ions of one iteration (residual,
  diagonal, last column) is one further small product;
* gets H and T of all meshes from one product with a constant 0/1 matrix
  (no cumulative sums per mesh), keeps work buffers per solve, and caches
  the index arrays and masks per mesh set;
* takes validated Python lists (:func:`solve_lists`): no checks, conversions
  or sorting through numpy in the loop (canonical order by plain ``sorted``).

The discretisation and the extrapolation are those of the previous
one-mesh-at-a-time implementation, so results agree with it to the Newton
error (< 1e-7 mV); ``tests/test_ljp_kernel.py`` checks the kernel against an
independent ``scipy.integrate.solve_bvp`` solution and its Jacobian against
finite differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ephys_correct.errors import ConvergenceError

__all__ = ["NPSolution", "solve_nernst_planck", "solve_lists"]

#: Newton stops after applying an update whose largest entry is below this
#: (units RT/F) ...
_NEWTON_STEP_TOL = 1e-10
#: ... or, once the updates shrink quadratically (update <= 1e-2 x the previous
#: one), when the predicted remaining error update**3 / previous**2 is below this
#: fraction of the tolerance.  Observed: the next update is at most ~10x the
#: prediction (600 random junctions), so the Newton error is <= 1e-3 tol.
_NEWTON_PREDICTED_REL = 1e-4
_NEWTON_MAX_ITER = 60
#: largest Newton step allowed (RT/F units); larger steps are scaled down.
_MAX_STEP = 2.0
#: below this |d| the series replaces (e^d - 1 - d)/d^2 (see _g3)
_SERIES_D = 1e-5


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
        ``kappa = sum_j z_j^2 u_j c_j``; they sum to ``phi`` (to within the
        Newton error, below 1e-3 of the tolerance).
    error_estimate : float
        Estimated error of the extrapolated value (RT/F units).
    n_segments : int
        Number of mesh segments of the finest mesh.
    newton_iterations : int
        Total Newton iterations (one iteration treats all meshes solved
        together).
    """

    phi: float
    contributions: np.ndarray
    error_estimate: float
    n_segments: int
    newton_iterations: int


# ----------------------------------------------------------------------------
# small stable helper functions of d = z * (phi_{k+1} - phi_k) + L ds
# ----------------------------------------------------------------------------

_S3 = (1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040)


def _g1(d: np.ndarray) -> np.ndarray:
    """(e^d - 1) / d, = 1 at d = 0 (expm1 keeps it accurate for any d != 0)."""
    if d.all():
        return np.expm1(d) / d
    ds = np.where(d == 0, 1.0, d)
    return np.where(d == 0, 1.0, np.expm1(ds) / ds)


def _g3(d: np.ndarray) -> np.ndarray:
    """(e^d - 1 - d)/d^2 (= 1/2 at d = 0), with the series for |d| < _SERIES_D.

    Only needed when some d is exactly 0; otherwise the Jacobian uses the
    direct form ``(g1 - 1)/d``, whose rounding (about 2e-16/|d| relative)
    merely perturbs Newton's path, never the solution.
    """
    small = np.abs(d) < _SERIES_D
    ds = np.where(small, 1.0, d)
    series = np.full(d.shape, _S3[-1])
    for a in _S3[-2::-1]:  # Horner
        series *= d
        series += a
    return np.where(small, series, (np.expm1(ds) - ds) / (ds * ds))


# ----------------------------------------------------------------------------
# several meshes solved as one concatenated system
# ----------------------------------------------------------------------------


_GL_S, _GL_W = np.polynomial.legendre.leggauss(4)
_GL_S = 0.5 * (_GL_S + 1.0)
_GL_W = 0.5 * _GL_W


class _Layout:
    """Index arrays and masks for meshes of ``ms`` segments, nodes concatenated.

    Mesh b has nodes ``first[b] .. last[b]``; consecutive nodes of one mesh
    form its segments, and the pair (last[b], first[b+1]) is a dummy segment
    with zero weight.  Node ``first[b]`` carries the fixed ``phi = 0`` (an
    identity row and column in the Jacobian), node ``last[b]`` carries the
    zero-current equation, the others electroneutrality.  Depends on the mesh
    sizes only, so it is cached (read-only arrays).
    """

    def __init__(self, ms: tuple[int, ...]):
        sizes = np.array(ms) + 1
        n = int(sizes.sum())
        first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        last = first + np.array(ms)
        blk = np.repeat(np.arange(len(ms)), sizes)
        self.ms = ms
        self.n_nodes = n
        self.first = first
        self.last = last
        self.block_of_node = blk
        self.last_of_node = last[blk]
        self.s = np.concatenate([np.linspace(0.0, 1.0, m + 1) for m in ms])
        real = np.ones(n - 1, bool)
        real[last[:-1]] = False
        self.real_segments = np.flatnonzero(real)
        #: segment start index of each mesh within real_segments (for reduceat)
        self.segment_starts = np.concatenate([[0], np.cumsum(ms)[:-1]])
        self.ds = np.where(real, (1.0 / np.array(ms, float))[blk[:-1]], 0.0)
        #: L ds is added to d on every segment; the dummy ones get 0.5 (any finite
        #: value: their weight is 0) to keep d away from 0 there
        self.ld_dummy = np.where(real, 0.0, 0.5)
        self.s_left = self.s[:-1]
        # E (segment integrals) @ hmat -> H (left of node k) and T (right of k), each
        # (n_ions, n_nodes), within the node's own mesh
        q = np.arange(n - 1)[:, None]
        k = np.arange(n)[None, :]
        qsame = real[:, None] & (blk[:-1, None] == blk[None, :])
        self.hmat = np.concatenate([qsame & (q < k), qsame & (q >= k)], axis=1).astype(float)
        j = k
        k = k.T
        same = (blk[:, None] == blk[None, :]) & (self.s[None, :] > 0)  # phi_0 columns out
        self.mask_upper = (same & (j >= k)).astype(float)
        self.mask_block = same.astype(float)
        interior = np.ones(n, bool)
        interior[first] = False
        interior[last] = False
        self.interior = interior.astype(float)
        self.is_first = np.zeros(n)
        self.is_first[first] = 1.0
        self.is_last = np.zeros(n)
        self.is_last[last] = 1.0
        inner = np.flatnonzero(interior)
        #: flat indices into J of the diagonal and of (interior k, last node of k's mesh)
        self.extra_flat = np.concatenate([np.arange(n) * (n + 1),
                                          inner * n + self.last_of_node[inner]])
        self.inner = inner
        self.block_bounds = [(int(a), int(b) + 1) for a, b in zip(first, last)]
        #: node masks of the ion sums r = coef @ stack (see _Geometry)
        self.row_mask = np.stack([self.interior, self.is_last, np.ones(n), np.ones(n),
                                  self.interior, self.is_last, self.is_first])
        #: real segment -> mesh indicator, (n_segments, n_meshes)
        sb = blk[:-1][self.real_segments]
        self.seg_block = (sb[:, None] == np.arange(len(ms))[None, :]).astype(float)
        for v in self.__dict__.values():
            if isinstance(v, np.ndarray):
                v.setflags(write=False)


@lru_cache(maxsize=32)
def _layout(ms: tuple[int, ...]) -> _Layout:
    return _Layout(ms)


class _Problem:
    """One (canonically ordered, normalised) ion set: Python lists in, a few arrays out."""

    def __init__(self, cp: list, cs: list, z: list, u: list):
        ni = len(z)
        self.ni = ni
        zu = [a * b for a, b in zip(z, u)]
        z2u = [a * b for a, b in zip(z, zu)]
        # one conversion for all per-ion vectors (rows of a small table)
        tab = np.array([z, [a * a for a in z], zu, z2u, cp, cs], float)
        self.zf, self.z2, self.zu, self.z2u = tab[0], tab[1], tab[2], tab[3]
        cols = tab[:, :, None]
        self.zcol, self.cpcol, self.cscol = cols[0], cols[4], cols[5]
        self.kp = kp = sum([a * b for a, b in zip(cp, z2u)])
        self.ks = ks = sum([a * b for a, b in zip(cs, z2u)])
        self.kap_bc = kap = kp + ks
        #: L = ln(kappa_S/kappa_P) of the linear conductivity profile; K = L/expm1(L)
        L = math.log(ks / kp)
        #: the Henderson potential of the linear mixture at x(s) is linear in s on
        #: this mesh (ln kappa(x(s)) = ln kappa_P + L s): phi_H(s) = henderson_slope * s
        nz = sum([a * (c - b) for a, b, c in zip(zu, cp, cs)])
        self.henderson_slope = -nz * (L / (ks - kp) if ks != kp else 1.0 / kp)
        if abs(L) < 1e-12:
            L, K = 0.0, 1.0
        else:
            K = L / math.expm1(L)
        self.L, self.K = L, K
        #: coefficients of the ion sums of one Newton iteration (see _Geometry)
        z2 = tab[1].tolist()
        zuk = [a / kap for a in zu]
        self.zu_kap = zuk
        self.coef_values = np.array(
            z2 + [a / kap for a in z2u] + [1.0] * ni + z2 + z + zuk + [1.0])

    def geometry(self, lay: _Layout) -> _Geometry:
        return _Geometry(self, lay)


@lru_cache(maxsize=64)
def _coef_index(ni: int) -> np.ndarray:
    """Flat positions in the (7, 5 ni + 1) coefficient matrix of _Problem.coef_values."""
    w = 5 * ni + 1
    r = np.arange(ni)
    idx = np.concatenate([r, w + ni + r, 2 * w + 2 * ni + r, 3 * w + 3 * ni + r,
                          4 * w + r, 5 * w + 4 * ni + r, [7 * w - 1]])
    idx.setflags(write=False)
    return idx


class _Geometry:
    """Mesh quantities of one problem on one layout, and work buffers."""

    def __init__(self, prob: _Problem, lay: _Layout):
        L, K = prob.L, prob.K
        ni = prob.ni
        self.lay = lay
        ex = np.exp(lay.s_left * L)
        ex *= lay.ds
        ex *= K
        self.w = ex  # x'(s_left) ds; 0 on dummy segments
        self.ld = lay.ds * L
        self.ld += lay.ld_dummy
        self.zint = prob.zcol * lay.interior  # z on electroneutrality rows, 0 elsewhere
        #: zero-current row weights z u / kappa on the last node of each mesh
        self.zu_last = np.multiply.outer(prob.zu_kap, lay.is_last)
        # All ion sums of one Newton iteration are one product coef @ stack, stack =
        # [c; S/I; W Bsh; betaH; J/u; 1] (rows by ion), coef (7, 5 n_ions + 1):
        #   0: z^2.c  1: z^2 u/kappa.S/I  2: 1.W Bsh  3: z^2.betaH  4: z.c  5: z u/kappa.J/u
        #   6: 1;  then with the node masks lay.row_mask:
        #   diag = -r0 - r1 - r2 + [node is first],  F = r4 + r5.
        self.stack = st = np.zeros((5 * ni + 1, lay.n_nodes))
        st[-1] = 1.0
        self.coef = coef = np.zeros((7, 5 * ni + 1))
        coef.reshape(-1)[_coef_index(ni)] = prob.coef_values
        self.WW = np.empty((ni, 2 * lay.n_nodes))  # [W | W T/I] of the Jacobian
        self.D = np.empty((ni, lay.n_nodes))  # dI/dphi


#: diag and F from the masked ion sums (see _Geometry)
_COMBINE = np.array([[-1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]])


def _state(prob: _Problem, geo: _Geometry, phi: np.ndarray):
    """Integrals and nodal concentrations for a piecewise-linear potential.

    Node arrays are (n_ions, n_nodes) over the concatenated meshes; segment
    arrays have n_nodes - 1 columns (zero weight on the dummy segments).  c,
    betaH and jn are views into ``geo.stack`` (overwritten by the next call).
    ``exact_zero`` tells that some d is exactly 0 (then E used the limit).
    """
    lay = geo.lay
    n = lay.n_nodes
    ni = prob.ni
    st = geo.stack
    zphi = prob.zcol * phi
    ez = np.exp(zphi)
    d = zphi[:, 1:] - zphi[:, :-1]
    d += geo.ld
    base = ez[:, :-1] * geo.w
    exact_zero = not d.all()
    if exact_zero:
        E = _g1(d)
    else:
        E = np.expm1(d)
        E /= d  # (e^d - 1)/d, accurate for any d != 0
    E *= base  # segment integrals of e^{z phi} dx
    HT = E @ lay.hmat
    H = HT[:, :n]  # integral from the mesh's x = 0 to node k
    T = HT[:, n:]  # from node k to x = 1
    I = H + T  # whole junction (of the node's mesh)
    S = prob.cscol * ez.take(lay.last_of_node, axis=1)
    Ie = I * ez
    betaH = st[3 * ni: 4 * ni]
    np.multiply(S, H, betaH)
    betaH /= Ie
    c = st[:ni]
    np.multiply(prob.cpcol, T, c)
    c /= Ie
    c += betaH
    jn = st[4 * ni: 5 * ni]
    np.subtract(prob.cpcol, S, jn)
    jn /= I  # J_i / u_i, constant per mesh
    return ez, d, base, E, H, I, T, S, betaH, c, jn, exact_zero


def _residual_jacobian(prob: _Problem, geo: _Geometry, phi: np.ndarray):
    """Residual (electroneutrality, zero current, phi_0 = 0) and its Jacobian."""
    ez, d, base, E, H, I, T, S, betaH, c, jn, exact_zero = _state(prob, geo, phi)
    lay = geo.lay
    n = lay.n_nodes
    ni = prob.ni
    zcol = prob.zcol
    st = geo.stack
    # dE/dphi_left = A = z base (e^d - 1 - d)/d^2 = (z E - z base)/d, dE/dphi_right =
    # B = z E - A, and D_j = dI/dphi_j = A_j + B_{j-1}.  (A cancels for small d: only
    # the Jacobian, i.e. Newton's path, not the solution, sees that rounding.)
    D = geo.D
    A = D[:, :-1]
    zE = zcol * E
    zb = zcol * base
    if exact_zero:
        np.multiply(zb, _g3(d), A)
    else:
        np.subtract(zE, zb, A)
        A /= d
    B = zE - A
    D[:, -1] = 0.0
    D[:, 1:] += B
    WW = geo.WW
    W = WW[:, :n]
    WT = WW[:, n:]
    np.multiply(geo.zint, jn, W)
    W /= ez
    np.multiply(W, T, WT)
    WT += geo.zu_last * jn  # zero-current rows
    WT /= I
    G = WW.T @ D
    np.divide(S, I, st[ni: 2 * ni])
    np.multiply(W[:, 1:], B, st[2 * ni: 3 * ni, 1:])
    r = geo.coef @ st
    diag, F = _COMBINE @ (lay.row_mask * r)
    J = G[:n]
    J *= lay.mask_upper
    J -= lay.mask_block * G[n:]
    J.reshape(-1)[lay.extra_flat] += np.concatenate((diag, r[3].take(lay.inner)))
    return F, J


try:  # numpy's own solve kernel without the Python wrapper (~10 us less per call)
    from numpy.linalg._umath_linalg import solve1 as _lapack_solve
except ImportError:  # pragma: no cover - layout of a future numpy
    _lapack_solve = None


def _solve_blocks(J: np.ndarray, F: np.ndarray, lay: _Layout) -> np.ndarray:
    """Solve the block-diagonal Newton system mesh by mesh (LU of 9, 17, 33 not 59).

    Returns NaN entries for a singular block (the caller checks).
    """
    out = np.empty_like(F)
    solve = _lapack_solve
    for a, b in lay.block_bounds:
        if solve is None:
            try:
                out[a:b] = np.linalg.solve(J[a:b, a:b], F[a:b])
            except np.linalg.LinAlgError:
                out[a:b] = np.nan
        else:
            out[a:b] = solve(J[a:b, a:b], F[a:b])
    return out


def _newton(prob: _Problem, geo: _Geometry, phi0: np.ndarray, tol: float):
    """Newton on the nodal potentials of all meshes; returns (phi, iterations) or raises."""
    small = _NEWTON_PREDICTED_REL * tol
    lay = geo.lay
    first = lay.first
    phi = phi0.copy()
    nb = len(lay.ms)
    prev = [0.0] * nb  # no history: the first update must be tiny
    done = [False] * nb
    big = [math.inf]
    it = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for it in range(1, _NEWTON_MAX_ITER + 1):
            F, J = _residual_jacobian(prob, geo, phi)
            step = _solve_blocks(J, F, lay)
            big = np.maximum.reduceat(np.abs(step), first).tolist()
            if not all(map(math.isfinite, big)):
                if np.isfinite(F).all() and np.isfinite(J).all():
                    raise ConvergenceError(
                        "Nernst-Planck solver: singular Jacobian (no unique electroneutral "
                        "potential profile found)."
                    )
                break  # overflow: reported as non-convergence below
            if max(big) > _MAX_STEP:
                step *= np.minimum(1.0, _MAX_STEP / np.array(big))[lay.block_of_node]
            phi -= step
            # converged: a tiny update, or quadratic convergence (update <= 1e-2 x the
            # previous one) with a predicted next update big**3 / prev**2 below `small`
            for b in range(nb):
                bb, pb = big[b], prev[b]
                if bb < _NEWTON_STEP_TOL or (bb <= 1e-2 * pb and bb * bb * bb <= small * pb * pb):
                    done[b] = True
            if all(done):
                return phi, it
            prev = big
    raise ConvergenceError(
        f"Nernst-Planck solver: Newton did not converge in {it} iterations on the "
        f"{'/'.join(map(str, lay.ms))}-segment mesh(es) (last update "
        f"{max(big):.3g} RT/F)."
    )



def _contributions(prob: _Problem, geo: _Geometry, phi: np.ndarray) -> np.ndarray:
    """Per-ion shares -z u int c'/kappa dx of phi(1) on every mesh, shape (n_meshes, n_ions).

    Gauss-Legendre quadrature (4 points) on every segment of the exact
    within-segment profiles; the shares add up to phi(1) whatever the
    quadrature error, because sum_i z_i J_i = 0 and the transference numbers
    sum to 1 at every quadrature point.  With dc/dx = -J/u - z c dphi/dx the
    integrand per unit s is z u (J/u x'(s) + z c dphi/ds) / kappa.
    """
    lay = geo.lay
    sg = _GL_S[:, None, None]  # quadrature points first: long inner loops over segments
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        ez, d, base, E, H, I, T, S, betaH, c, jn, _ = _state(prob, geo, phi)
        seg = lay.real_segments
        seg1 = seg + 1
        dseg = d.take(seg, axis=1)  # z dphi + L ds, (n_ions, n_segments)
        dq = sg * dseg  # d at the quadrature points, (4, n_ions, n_segments)
        em = np.expm1(dq)
        if dseg.all():
            left = em / dseg  # int_0^sg e^{z phi} dx / base
        else:
            left = _g1(dq) * sg
        left *= base.take(seg, axis=1)
        Hq = H.take(seg, axis=1) + left
        Tq = (T.take(seg1, axis=1) + E.take(seg, axis=1)) - left
        # e^{z phi} = e^{z phi_left} e^{sg d} e^{-sg L ds}
        ds = lay.ds.take(seg)
        em += 1.0
        em *= ez.take(seg, axis=1)
        em *= np.exp((-prob.L * ds) * sg)
        cq = prob.cpcol * Tq
        cq += S.take(seg, axis=1) * Hq
        em *= I.take(seg, axis=1)
        cq /= em
        a = (_GL_W[:, None] * ds) / (prob.z2u @ cq)  # GL weight * ds / kappa, (4, n_segments)
        xp = prob.K * np.exp(prob.L * (lay.s_left.take(seg) + _GL_S[:, None] * ds))  # x'(s)
        X = (a * xp).sum(axis=0) @ lay.seg_block  # (n_meshes,)
        a *= (phi.take(seg1) - phi.take(seg)) / ds  # dphi/ds
        cq *= a[:, None, :]
        Y = cq.sum(axis=0) @ lay.seg_block  # (n_ions, n_meshes)
        out = prob.zu[:, None] * (jn.take(lay.last, axis=1) * X + prob.zcol * Y)
    return out.T


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


def _canonical(cp: list, cs: list, z: list, u: list):
    """Drop absent ions, sort by (z, u, cp, cs), orient so that cp <= cs (as sequences).

    Returns the four sorted lists, the input index of each, and whether the
    sides were swapped.
    """
    keep = [i for i, (a, b) in enumerate(zip(cp, cs)) if a > 0 or b > 0]
    order = sorted(keep, key=lambda i: (z[i], u[i], cp[i], cs[i]))
    a = [cp[i] for i in order]
    b = [cs[i] for i in order]
    flip = a > b
    if flip:
        cp, cs = cs, cp
        order = sorted(keep, key=lambda i: (z[i], u[i], cp[i], cs[i]))
        a = [cp[i] for i in order]
        b = [cs[i] for i in order]
    return a, b, [z[i] for i in order], [u[i] for i in order], order, flip


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
        non-negative, electroneutral, some ion on each side (all checked by
        the caller: nothing is validated here).
    z : ndarray of int
        Charge numbers (non-zero).
    u : ndarray
        Relative mobilities (> 0); only ratios matter.
    tol : float
        Required accuracy of ``phi`` (units RT/F).
    m0 : int
        Segments of the coarsest mesh; meshes m0, 2 m0 and 4 m0 are solved
        together, then the mesh is doubled until the error estimate meets *tol*.
    m_max : int
        Largest number of segments before :class:`ConvergenceError`.
    contributions : bool
        Compute the per-ion shares; when False ``NPSolution.contributions``
        is all NaN.

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
    return solve_lists(np.asarray(cp, float).tolist(), np.asarray(cs, float).tolist(),
                       np.asarray(z, int).tolist(), np.asarray(u, float).tolist(), tol=tol,
                       m0=m0, m_max=m_max, contributions=contributions)


def solve_lists(cp: list, cs: list, z: list, u: list, *, tol: float, m0: int = 8,
                m_max: int = 1024, contributions: bool = True) -> NPSolution:
    """:func:`solve_nernst_planck` for Python lists of floats (z: ints), nothing converted."""
    contrib_full = np.zeros(len(cp))
    if cp == cs:
        return NPSolution(0.0, contrib_full, 0.0, 0, 0)
    cp_k, cs_k, z_k, u_k, idx, flip = _canonical(cp, cs, z, u)
    scale = max(max(cp_k), max(cs_k))
    prob = _Problem([c / scale for c in cp_k], [c / scale for c in cs_k], z_k, u_k)

    # meshes m0, 2 m0, 4 m0 together, from the Henderson profile (linear in s)
    ms = (m0, 2 * m0, 4 * m0)
    lay = _layout(ms)
    geo = prob.geometry(lay)
    phi, total_its = _newton(prob, geo, prob.henderson_slope * lay.s, tol)
    values = phi[lay.last].tolist()
    solved = [(geo, phi)]  # (geometry, nodal potentials) of every Newton solve
    best, err = _romberg_estimate(values[-3], values[-2], values[-1], tol)
    m = ms[-1]
    while not err <= tol:
        if 2 * m > m_max:
            raise ConvergenceError(
                f"Nernst-Planck solver: mesh refinement did not reach {tol:.3g} RT/F "
                f"with {m} segments (last error estimate {err:.3g} RT/F)."
            )
        m *= 2
        prev_lay = lay
        b = len(prev_lay.ms) - 1
        sl = slice(prev_lay.first[b], prev_lay.last[b] + 1)
        lay = _layout((m,))
        geo = prob.geometry(lay)
        phi0 = np.interp(lay.s, prev_lay.s[sl], phi[sl])
        phi0[0] = 0.0
        phi, its = _newton(prob, geo, phi0, tol)
        total_its += its
        values.append(float(phi[-1]))
        solved.append((geo, phi))
        best, err = _romberg_estimate(values[-3], values[-2], values[-1], tol)
    sign = -1.0 if flip else 1.0
    if contributions:
        c3 = _last_three_contributions(prob, solved)
        r1a = c3[1] + (c3[1] - c3[0]) / 3.0
        r1b = c3[2] + (c3[2] - c3[1]) / 3.0
        contrib_full[idx] = sign * (r1b + (r1b - r1a) / 15.0)
    else:
        contrib_full[:] = np.nan
    return NPSolution(sign * float(best), contrib_full, float(err), m, total_its)


def _last_three_contributions(prob: _Problem, solved) -> list[np.ndarray]:
    """Contributions on the three finest meshes (one batched quadrature)."""
    if len(solved) == 1:
        geo, phi = solved[0]
        out = _contributions(prob, geo, phi)
        return [out[0], out[1], out[2]]
    ms: list[int] = []
    phis: list[np.ndarray] = []
    for geo, phi in solved:
        lay = geo.lay
        for b, m in enumerate(lay.ms):
            ms.append(m)
            phis.append(phi[lay.first[b]: lay.last[b] + 1])
    lay3 = _layout(tuple(ms[-3:]))
    out = _contributions(prob, prob.geometry(lay3), np.concatenate(phis[-3:]))
    return [out[0], out[1], out[2]]
