"""Liquid junction potentials: generalized Henderson and stationary Nernst-Planck.

Sign convention (the only one in this package)
----------------------------------------------
``V_L`` is the potential of the **bath relative to the pipette**,
``V_L = V(bath) - V(pipette)`` (Barry & Lynch 1991; JPCalc; LJPcalc).  A
K-gluconate internal against ACSF gives about +15 mV.  For whole-cell and
outside-out data the membrane potential is ``V_m = V_p - V_L``; a direct
measurement of the junction (pipette zeroed in the internal, bath switched to
the external) reads ``-V_L``.

Methods
-------
``"henderson"``
    Generalized Henderson equation (Barry & Lynch 1991)::

        V_L = (RT/F) S_F ln( sum z^2 u a^P / sum z^2 u a^S ),
        S_F = sum z u (a^S - a^P) / sum z^2 u (a^S - a^P),

    with ``u`` the mobility relative to K+ (:attr:`Ion.relative_mobility`),
    ``a`` concentrations (``activity_model=None``) or activities
    ``gamma c``.  It assumes a linear mixing profile across the junction.
    It is evaluated in the algebraically identical form
    ``V_L = -(RT/F) (2 N / K) atanh(y) / y`` with ``N = sum z u (a^S - a^P)``,
    ``K = sum z^2 u (a^P + a^S)`` and ``y = sum z^2 u (a^S - a^P) / K``, which
    has the right limit (``atanh(y)/y -> 1``) when the conductivities of the two
    sides are equal, so identical solutions give exactly 0.
``"nernst-planck"``
    Stationary Nernst-Planck flux with local electroneutrality and zero
    current (no Poisson equation), the problem solved by JLJP/LJPcalc
    (Marino, Misuri & Brogioli 2014).  Solved to 1e-4 mV (see
    :mod:`ephys_correct._nernst_planck`).  Ideal solutions only: activities
    are not part of this model.

Temperature
-----------
Temperature enters only through RT/F
(:func:`ephys_correct._constants.thermal_voltage_mv`).  The mobilities are the
25 degC values at every temperature: the LJP depends only on mobility
*ratios*, and the common (viscosity, Walden) temperature factor cancels.
Pass the temperature at which the pipette offset was **zeroed** (the junction
existed then); use the recording temperature for reversal potentials.

Per-ion contributions
---------------------
Both methods report, for every ion, the additive share

    V_i = -(RT/F) z_i u_i int_0^1 c_i'(x) / kappa(x) dx,   kappa = sum_j z_j^2 u_j c_j,

of ``V_L = sum_i V_i`` (the zero-current field split by ion), along the
junction's own profile: the linear mixing profile for Henderson, where it is
``V_i = -(RT/F) (2 z_i u_i (a_i^S - a_i^P) / K) atanh(y)/y``, and the solved
profile for Nernst-Planck.  An ion with the same concentration on both sides
contributes 0 in Henderson (not necessarily in Nernst-Planck, where its
profile need not be linear).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
import numpy as np
from ephys_correct._constants import thermal_voltage_mv
from ephys_correct._validate import check_choice, check_number, check_ph, check_temperature_c, message
from ephys_correct.potentials._nernst_planck import solve_lists
from ephys_correct.errors import ConcentrationError, ElectroneutralityError, ParameterError
from ephys_correct.chemistry.ions import get_ion
from ephys_correct.potentials.ljp_result import CONTRIBUTION_DEFINITION, IonContribution, LJPResult  # noqa: F401
# =============================================================================
# validation helpers
# =============================================================================


from ephys_correct.chemistry.solutions import Solution
from ephys_correct.chemistry.solutions_db import as_solution
from ephys_correct.chemistry.activity import MODELS, activity_coefficients
from ephys_correct.chemistry.speciation import free_ion_solution


#: the two LJP methods
METHODS = ("henderson", "nernst-planck")
#: accuracy to which Nernst-Planck results are converged, mV
NP_TOLERANCE_MV = 1e-4
#: absolute floor and relative part of the charge-balance tolerance (same rule as
#: :func:`ephys_correct.solutions.charge_tolerance_mm`): max(0.5 mM, 0.5 % of sum|z|c / 2)
_CHARGE_TOL_ABS_MM = 0.5
_CHARGE_TOL_REL = 0.005



#: temperatures over which the 25 degC mobility ratios are used without a warning (degC)
MOBILITY_RANGE_C = (0.0, 50.0)


def _check_temperature(temperature_c: Any, where: str = "") -> float:
    return check_temperature_c(
        temperature_c, where=where, stacklevel=4, valid_range_c=MOBILITY_RANGE_C,
        data="the LJP mobility data (limiting conductivities at 25 degC, whose ratios are used at every "
             "temperature; taken as valid within 25 K of 25 degC)")


def _charge_tolerance(half_total):
    return np.maximum(_CHARGE_TOL_ABS_MM, _CHARGE_TOL_REL * half_total)


def _validate_arrays(c_pipette, c_bath, charges, mobilities):
    z = np.asarray(charges)
    if z.ndim != 1 or z.size == 0:
        raise ParameterError(
            f"Invalid value for the 'charges' parameter: expected a 1-D sequence of "
            f"charge numbers, got shape {z.shape}."
        )
    zf = z.astype(float)
    if not np.all(np.isfinite(zf)) or np.any(zf != np.round(zf)) or np.any(zf == 0):
        raise ParameterError(
            f"Invalid value for the 'charges' parameter: charge numbers must be non-zero "
            f"integers, got {z.tolist()}."
        )
    u = np.asarray(mobilities, dtype=float)
    if u.shape != z.shape:
        raise ParameterError(
            f"Invalid value for the 'mobilities' parameter: shape {u.shape} does not match "
            f"the {z.size} charges."
        )
    if not np.all(np.isfinite(u)) or np.any(u <= 0):
        raise ParameterError(
            f"Invalid value for the 'mobilities' parameter: relative mobilities must be "
            f"finite and > 0, got {u.tolist()}."
        )
    cp = np.asarray(c_pipette, dtype=float)
    cs = np.asarray(c_bath, dtype=float)
    for label, c in (("c_pipette", cp), ("c_bath", cs)):
        if c.ndim == 0 or c.shape[-1] != z.size:
            raise ParameterError(
                f"Invalid value for the {label!r} parameter: the last axis must hold the "
                f"{z.size} ions, got shape {c.shape}."
            )
        if not np.all(np.isfinite(c)):
            raise ConcentrationError(f"{label}: concentrations must be finite (mM).")
        if np.any(c < 0):
            raise ConcentrationError(f"{label}: concentrations must be >= 0 (mM).")
    return cp, cs, zf, u


def _check_neutral_arrays(c, zf, side: str) -> None:
    net = c @ zf
    half = 0.5 * (c @ np.abs(zf))
    tol = _charge_tolerance(half)
    bad = np.abs(net) > tol
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if np.ndim(bad) else ()
        n0 = float(np.asarray(net)[idx])
        t0 = float(np.broadcast_to(tol, np.shape(net))[idx])
        at = f" (first at index {idx})" if idx else ""
        raise ElectroneutralityError(
            f"The {side} solution is not electroneutral{at}: net charge {n0:+.4g} mEq/L "
            f"exceeds the tolerance {t0:.4g} mEq/L (max(0.5 mM, 0.5 % of sum|z|c/2)). "
            "The junction equations assume electroneutral solutions; fix the composition."
        )


def _float_list(x) -> list | None:
    """*x* as a list of floats if it is a flat list, tuple or 1-D array of numbers, else None."""
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            return None
        x = x.tolist()
    elif not isinstance(x, (list, tuple)):
        return None
    try:
        return [float(v) for v in x]
    except (TypeError, ValueError):
        return None


def _valid_lists(c_pipette, c_bath, charges, mobilities):
    """One junction given as flat sequences, validated in plain Python (no numpy calls).

    Returns ``(cp, cs, z, u)`` as lists of floats (z: ints) when every check of
    :func:`_validate_arrays` passes, else None: the array path then validates
    again and raises its specific error.  This is only a faster way to accept
    valid input; it never accepts what the array path would reject.
    """
    z = _float_list(charges)
    u = _float_list(mobilities)
    cp = _float_list(c_pipette)
    cs = _float_list(c_bath)
    if z is None or u is None or cp is None or cs is None:
        return None
    n = len(z)
    if n == 0 or len(u) != n or len(cp) != n or len(cs) != n:
        return None
    # a sum is finite only if every term is (NaN and inf propagate)
    isfinite = math.isfinite
    if not (isfinite(sum(z)) and isfinite(sum(u)) and isfinite(sum(cp)) and isfinite(sum(cs))):
        return None
    if not (min(u) > 0 and min(cp) >= 0 and min(cs) >= 0):
        return None
    zi = [int(v) for v in z]
    if zi != z or 0 in zi:
        return None
    return cp, cs, zi, u


def _neutral_list(c: list, z: list) -> bool:
    """The electroneutrality check of :func:`_check_neutral_arrays` for one side, plain floats."""
    net = 0.0
    half = 0.0
    for a, b in zip(c, z):
        net += a * b
        half += a * abs(b)
    return abs(net) <= max(_CHARGE_TOL_ABS_MM, _CHARGE_TOL_REL * 0.5 * half)


def _check_neutral_list(c: list, z: list, side: str) -> None:
    if not _neutral_list(c, z):  # the array check raises with the full message
        _check_neutral_arrays(np.array(c), np.array(z, float), side)


# =============================================================================
# Henderson: vectorized array API
# =============================================================================


def _henderson_parts(cp, cs, zf, u):
    zu = zf * u
    z2u = zf * zu
    diff = cs - cp
    k_p = cp @ z2u
    k_s = cs @ z2u
    if np.any(k_p <= 0) or np.any(k_s <= 0):
        side = "pipette" if np.any(k_p <= 0) else "bath"
        raise ConcentrationError(
            f"The {side} side has no ions (zero conductivity): a junction needs ions on both sides."
        )
    ksum = k_p + k_s
    y = (diff @ z2u) / ksum
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(y == 0, 1.0, np.arctanh(y) / np.where(y == 0, 1.0, y))
    return diff, zu, ksum, ratio


def _henderson_scalar_parts(cp: list, cs: list, z: list, u: list, check_neutral: bool = False):
    """``(sum z u (cs - cp), K, atanh(y)/y)`` of one junction in plain floats.

    The same formula and operation order as the array path (module
    docstring), so a swap of the sides negates the result exactly.  Returns
    None when a side has no ions or (with *check_neutral*) is not
    electroneutral within the tolerance: the array path then raises.
    """
    n_num = 0.0
    d_num = 0.0
    k_p = 0.0
    k_s = 0.0
    net_p = net_s = half_p = half_s = 0.0
    for a, b, zz, uu in zip(cp, cs, z, u):
        zu = zz * uu
        z2u = zz * zu
        k_p += a * z2u
        k_s += b * z2u
        n_num += (b - a) * zu
        d_num += (b - a) * z2u
        if check_neutral:
            net_p += a * zz
            net_s += b * zz
            half_p += a * abs(zz)
            half_s += b * abs(zz)
    if not (k_p > 0 and k_s > 0):
        return None
    if check_neutral and not (
            abs(net_p) <= max(_CHARGE_TOL_ABS_MM, _CHARGE_TOL_REL * 0.5 * half_p)
            and abs(net_s) <= max(_CHARGE_TOL_ABS_MM, _CHARGE_TOL_REL * 0.5 * half_s)):
        return None
    ksum = k_p + k_s
    y = d_num / ksum
    ratio = math.atanh(y) / y if y != 0 else 1.0
    return n_num, ksum, ratio


def henderson_mv(
    c_pipette,
    c_bath,
    charges,
    mobilities,
    *,
    temperature_c: float,
    check_electroneutrality: bool = True,
) -> np.ndarray:
    """Generalized Henderson LJP for many junctions at once (vectorized).

    Parameters
    ----------
    c_pipette, c_bath : array_like, shape (..., n_ions)
        Pipette and bath concentrations (or activities) in mM; broadcast
        against each other.  Zero is allowed (an ion on one side only).
    charges : array_like of int, shape (n_ions,)
        Charge numbers z.
    mobilities : array_like, shape (n_ions,)
        Mobilities relative to K+ (``Ion.relative_mobility``); only ratios matter.
    temperature_c : float
        Temperature in degC (enters only through RT/F).
    check_electroneutrality : bool
        Raise :class:`ElectroneutralityError` when a row's net charge exceeds
        max(0.5 mM, 0.5 % of sum|z|c/2).  Pass False when the inputs are
        activities (gamma c is not neutral).

    Returns
    -------
    ndarray, shape broadcast(...)
        V_L = V(bath) - V(pipette) in mV (a 0-d result is returned as a numpy float).

    Raises
    ------
    ParameterError, ConcentrationError, ElectroneutralityError

    Notes
    -----
    Evaluated as ``-(RT/F) (2N/K) atanh(y)/y`` (module docstring), exact in
    the limit of equal conductivities.  Swapping the two sides negates the
    result bit for bit.

    Examples
    --------
    >>> round(float(henderson_mv([99.5, 99.5], [4.99, 4.99], [1, -1],
    ...                          [50.11 / 73.5, 76.31 / 73.5], temperature_c=25)), 3)
    -15.935
    """
    vt = thermal_voltage_mv(temperature_c)  # validates the temperature
    one = _valid_lists(c_pipette, c_bath, charges, mobilities)
    parts = None if one is None else _henderson_scalar_parts(*one, check_electroneutrality)
    if parts is not None:  # one valid junction: plain floats, no numpy call overhead
        n_num, ksum, ratio = parts
        return np.float64((-2.0 * vt) * n_num / ksum * ratio + 0.0)
    cp, cs, zf, u = _validate_arrays(c_pipette, c_bath, charges, mobilities)
    if check_electroneutrality:
        _check_neutral_arrays(cp, zf, "pipette")
        _check_neutral_arrays(cs, zf, "bath")
    diff, zu, ksum, ratio = _henderson_parts(cp, cs, zf, u)
    out = (-2.0 * vt) * (diff @ zu) / ksum * ratio + 0.0
    return out[()] if np.ndim(out) == 0 else out


def henderson_contributions_mv(
    c_pipette, c_bath, charges, mobilities, *, temperature_c: float
) -> np.ndarray:
    """Per-ion additive terms of the generalized Henderson sum, mV.

    Same parameters as :func:`henderson_mv` (no electroneutrality check);
    returns an array of shape (..., n_ions) whose last axis sums to the LJP.
    See :data:`CONTRIBUTION_DEFINITION`.
    """
    t = _check_temperature(temperature_c, "henderson_contributions_mv")
    one = _valid_lists(c_pipette, c_bath, charges, mobilities)
    parts = None if one is None else _henderson_scalar_parts(*one)
    if parts is not None:  # one junction: plain floats
        lp, ls, lz, lu = one
        _, ksum, ratio = parts
        f = -2.0 * thermal_voltage_mv(t)
        rk = ratio / ksum
        return np.array([f * ((b - a) * (zz * uu)) * rk + 0.0
                         for a, b, zz, uu in zip(lp, ls, lz, lu)])
    cp, cs, zf, u = _validate_arrays(c_pipette, c_bath, charges, mobilities)
    diff, zu, ksum, ratio = _henderson_parts(cp, cs, zf, u)
    return (-2.0 * thermal_voltage_mv(t)) * (diff * zu) * (ratio / ksum)[..., None] + 0.0


# =============================================================================
# Nernst-Planck: array API
# =============================================================================


@dataclass(frozen=True)
class _NPDetails:
    ljp_mv: float
    contributions_mv: np.ndarray
    error_estimate_mv: float
    n_segments: int
    newton_iterations: int
    charge_adjustment: Mapping[str, Any]


def _neutralize(c: list, z: list, side: str) -> tuple[list, dict | None]:
    """Remove a within-tolerance imbalance: cations x sqrt(Q-/Q+), anions x sqrt(Q+/Q-)."""
    qp = 0.0
    qn = 0.0
    for a, b in zip(c, z):
        if b > 0:
            qp += a * b
        else:
            qn -= a * b
    if abs(qp - qn) <= 1e-12 * (qp + qn):
        return c, None  # neutral to rounding
    if qp == 0 or qn == 0:
        raise ElectroneutralityError(
            f"The {side} solution has only {'anions' if qp == 0 else 'cations'}: "
            "it cannot be electroneutral."
        )
    fp = math.sqrt(qn / qp)
    fn = math.sqrt(qp / qn)
    out = [a * fp if b > 0 else a * fn for a, b in zip(c, z)]
    return out, {"net_meq": qp - qn, "cation_factor": fp, "anion_factor": fn}


def _np_solve(cp, cs, zf, u, temperature_c: float, tol_mv: float,
              contributions: bool = True) -> _NPDetails:
    """NP junction from validated arrays (from :func:`_validate_arrays`) or lists."""
    if isinstance(cp, np.ndarray) or isinstance(cs, np.ndarray):
        _check_np_options(temperature_c, tol_mv)
        if np.ndim(cp) != 1 or np.ndim(cs) != 1:
            raise ParameterError(
                "The Nernst-Planck solver takes one junction at a time: c_pipette and c_bath "
                f"must be 1-D, got shapes {np.shape(cp)} and {np.shape(cs)}."
            )
        cp, cs = cp.tolist(), cs.tolist()
        zf, u = [int(v) for v in np.asarray(zf).tolist()], np.asarray(u).tolist()
    return _np_solve_lists(cp, cs, zf, u, temperature_c, tol_mv, contributions)


def _check_np_options(temperature_c, tol_mv) -> float:
    t = _check_temperature(temperature_c, "nernst_planck_mv")
    if not 1e-9 <= check_number(tol_mv, what="tol_mv", where="nernst_planck_mv", unit="mV") <= 1.0:
        raise ParameterError(message("tol_mv", tol_mv, "outside 1e-9..1 mV", "give the tolerance of the solver in mV",
                                     where="nernst_planck_mv"))
    return t


def _np_solve_lists(cp: list, cs: list, z: list, u: list, temperature_c: float, tol_mv: float,
                    contributions: bool) -> _NPDetails:
    """The NP junction of one validated pair given as lists (z: ints)."""
    t = _check_np_options(temperature_c, tol_mv)
    _check_neutral_list(cp, z, "pipette")
    _check_neutral_list(cs, z, "bath")
    for side, c in (("pipette", cp), ("bath", cs)):
        if not sum(a * b * b * w for a, b, w in zip(c, z, u)) > 0:
            raise ConcentrationError(
                f"The {side} side has no ions (zero conductivity): a junction needs ions on "
                "both sides."
            )
    adjust: dict[str, Any] = {}
    cp2, a = _neutralize(cp, z, "pipette")
    if a:
        adjust["pipette"] = a
    cs2, a = _neutralize(cs, z, "bath")
    if a:
        adjust["bath"] = a
    vt = thermal_voltage_mv(t)
    sol = solve_lists(cp2, cs2, z, u, tol=tol_mv / vt, contributions=contributions)
    return _NPDetails(
        ljp_mv=sol.phi * vt + 0.0,
        contributions_mv=sol.contributions * vt + 0.0,
        error_estimate_mv=sol.error_estimate * vt,
        n_segments=sol.n_segments,
        newton_iterations=sol.newton_iterations,
        charge_adjustment=MappingProxyType(adjust),
    )


def nernst_planck_mv(
    c_pipette,
    c_bath,
    charges,
    mobilities,
    *,
    temperature_c: float,
    tol_mv: float = NP_TOLERANCE_MV,
) -> float:
    """Stationary Nernst-Planck LJP of one junction, mV (V(bath) - V(pipette)).

    Parameters
    ----------
    c_pipette, c_bath : array_like, shape (n_ions,)
        Concentrations in mM (an ion may be absent, 0, on one side).  Each side
        must be electroneutral within max(0.5 mM, 0.5 % of sum|z|c/2).
    charges : array_like of int, shape (n_ions,)
    mobilities : array_like, shape (n_ions,)
        Mobilities relative to K+ (proportional to the diffusion coefficients).
    temperature_c : float
        degC; enters only through RT/F.
    tol_mv : float
        Accuracy target; the returned value is converged to it or
        :class:`ConvergenceError` is raised.

    Returns
    -------
    float

    Raises
    ------
    ElectroneutralityError
        A side's imbalance exceeds the tolerance (the message names the side).
    ConvergenceError
        The solver did not reach *tol_mv* (no unconverged number is returned).

    Notes
    -----
    Ideal solutions (concentrations, not activities).  A residual imbalance
    *within* the tolerance is removed before solving by scaling the cations
    by sqrt(Q-/Q+) and the anions by sqrt(Q+/Q-) (Q = equivalents), which
    changes the LJP by far less than the tolerance allows; the adjustment is
    reported by :func:`liquid_junction_potential` in ``LJPResult.solver``.
    The result does not depend on ion order or on the concentration unit, and
    swapping the sides negates it.
    """
    one = _valid_lists(c_pipette, c_bath, charges, mobilities)
    if one is not None:  # one junction as flat sequences: validated without numpy calls
        return _np_solve_lists(*one, temperature_c, tol_mv, contributions=False).ljp_mv
    cp, cs, zf, u = _validate_arrays(c_pipette, c_bath, charges, mobilities)
    return _np_solve(cp, cs, zf, u, temperature_c, tol_mv, contributions=False).ljp_mv


# =============================================================================
# high-level API
# =============================================================================


def _as_solution(obj: Any, role: str):
    if isinstance(obj, Solution):
        return obj
    # a mapping is named after its role, so that errors say which side is at fault
    return as_solution(obj, name=role) if isinstance(obj, Mapping) else as_solution(obj)


#: how single-ion activity coefficients enter the Henderson equation (see docs/ljp.md)
ACTIVITY_CONVENTION = (
    "mean activity: every ion of a solution carries the solution's mean activity coefficient, "
    "ln gamma_sol = sum_i c_i ln gamma_i / sum_i c_i (single-ion gamma_i from the activity model); "
    "for a single salt this is gamma_+- (IUPAC), and the activity vectors stay electroneutral"
)


def _gammas(sol, ions: Sequence[str], temperature_c: float, model: str | None):
    """Activity coefficients of *ions* in *sol* (1.0 for model None/'ideal').

    Charge-consistent convention (:data:`ACTIVITY_CONVENTION`): one coefficient per solution,
    the concentration-weighted geometric mean of the single-ion coefficients. For a single
    z+:z- salt this is exactly the mean ionic activity coefficient gamma_+- =
    (gamma_+^nu+ gamma_-^nu-)^(1/nu), so a binary-salt junction reproduces the mean-activity
    result; scaling every concentration of a solution by one number keeps it electroneutral,
    which the Henderson equation assumes.
    """
    if model is None or model == "ideal":
        return np.ones(len(ions)), model

    res = activity_coefficients(sol, temperature_c=temperature_c, model=model)
    present = [(float(res[i]), float(sol.ions_mm[i])) for i in ions if sol.ions_mm.get(i, 0.0) > 0]
    total = sum(c for _g, c in present)
    mean = math.exp(sum(c * math.log(g) for g, c in present) / total) if total > 0 else 1.0
    return np.full(len(ions), mean), getattr(res, "model", model)


def ion_arrays(solutions: Sequence[Any]):
    """Union of the ions of *solutions* as arrays.

    Parameters
    ----------
    solutions : sequence
        Anything :func:`ephys_correct.solutions.as_solution` accepts.

    Returns
    -------
    names : list of str
        Canonical ion names (first appearance order).
    charges : ndarray of int, shape (n_ions,)
    mobilities : ndarray, shape (n_ions,)
        ``Ion.relative_mobility``.
    conc_mm : ndarray, shape (n_solutions, n_ions)
    """
    sols = [_as_solution(s, f"solution[{k}]") for k, s in enumerate(solutions)]
    names: list[str] = []
    canon: dict[str, str] = {}  # each key is looked up once
    for s in sols:
        for ion in s.ions_mm:
            if ion not in canon:
                canon[ion] = get_ion(ion).name
            if canon[ion] not in names:
                names.append(canon[ion])
    ions = [get_ion(n) for n in names]
    z = np.array([i.charge for i in ions], dtype=int)
    u = np.array([i.relative_mobility for i in ions], dtype=float)
    c = np.zeros((len(sols), len(names)))
    for k, s in enumerate(sols):
        for ion, v in s.ions_mm.items():
            c[k, names.index(canon[ion])] += float(v)
    return names, z, u, c


def _check_solution_balance(sol, side: str) -> None:
    ions = {get_ion(k): float(v) for k, v in sol.ions_mm.items()}
    net = sum(i.charge * c for i, c in ions.items())
    half = 0.5 * sum(abs(i.charge) * c for i, c in ions.items())
    tol = max(_CHARGE_TOL_ABS_MM, _CHARGE_TOL_REL * half)
    if abs(net) > tol:
        raise ElectroneutralityError(
            f"The {side} solution {sol.name!r} is not electroneutral: net charge {net:+.4g} "
            f"mEq/L exceeds the tolerance {tol:.4g} mEq/L (max(0.5 mM, 0.5 % of sum|z|c/2)). "
            "The junction equations assume electroneutral solutions."
        )


def liquid_junction_potential(
    pipette: Any,
    bath: Any,
    *,
    temperature_c: float,
    method: str = "henderson",
    activity_model: str | None = None,
    free_ions: bool = True,
    pH_at_recording: float | None = None,
) -> LJPResult:
    """Liquid junction potential between a pipette solution and a bath.

    Parameters
    ----------
    pipette, bath : Solution, str, path or Mapping
        Anything :func:`ephys_correct.solutions.as_solution` accepts: a
        :class:`~ephys_correct.solutions.Solution`, a solutions_db name, a
        recipe path, or a mapping ion name -> mM.
    temperature_c : float
        Temperature in degC at which the pipette offset was zeroed (that is
        when the junction existed).  Only RT/F depends on it; 25 degC mobility
        ratios are used at all temperatures.
    method : {"henderson", "nernst-planck"}
        Generalized Henderson (JPCalc-compatible) or stationary Nernst-Planck
        (LJPcalc problem, converged to 1e-4 mV).
    activity_model : str or None
        Henderson only.  None uses concentrations (as JPCalc does); a model
        name (e.g. ``"truesdell-jones"``, ``"davies"``) uses activities
        ``gamma c`` from :func:`ephys_correct.activity.activity_coefficients`,
        which matters for dilution junctions.  ``"ideal"`` is accepted by both
        methods (gamma = 1).  Nernst-Planck is an ideal-solution model:
        any other model raises :class:`ParameterError`.  Activities enter
        with a charge-consistent convention (:data:`ACTIVITY_CONVENTION`):
        each solution's mean activity coefficient for all of its ions.
    free_ions : bool, default True
        Speciate solutions holding a metal-binding ligand (free Ca2+/Mg2+,
        complexes, protons released by binding re-titrated) at
        *temperature_c*, with the pH at that temperature.  False uses the
        totals (an explicit simplification, recorded in the result).
    pH_at_recording : float or Mapping, optional
        pH measured at *temperature_c*, used for the speciation instead of the
        pH computed from the recipe: a number for the pipette, or a mapping
        ``{"pipette": pH, "bath": pH}``.

    Returns
    -------
    LJPResult
        ``float(result)`` is V_L = V(bath) - V(pipette) in mV; whole-cell
        ``V_m = V_p - V_L``.

    Raises
    ------
    ElectroneutralityError
        A solution's net charge exceeds max(0.5 mM, 0.5 % of sum|z|c/2).
    ConvergenceError
        Nernst-Planck did not converge (no number is returned).
    ParameterError, UnknownIonError, ConcentrationError

    Examples
    --------
    >>> r = liquid_junction_potential({"Na": 99.5, "Cl": 99.5}, {"Na": 4.99, "Cl": 4.99},
    ...                               temperature_c=25)
    >>> round(float(r), 2)
    -15.94
    """
    t = _check_temperature(temperature_c, "liquid_junction_potential")
    check_choice(method, METHODS, what="method", where="liquid_junction_potential")
    check_choice(activity_model, (None, *MODELS), what="activity_model", where="liquid_junction_potential")
    if method == "nernst-planck" and activity_model not in (None, "ideal"):
        raise ParameterError(message(
            "activity_model", activity_model, "not available with method='nernst-planck' (an ideal-solution model)",
            "give activity_model=None (or 'ideal'), or method='henderson' for activities",
            where="liquid_junction_potential"))
    psol = _as_solution(pipette, "pipette")
    bsol = _as_solution(bath, "bath")
    ph_key = tuple(_ph_of(pH_at_recording, side) for side in ("pipette", "bath"))
    key = (_solution_key(psol), _solution_key(bsol), t, method, activity_model, bool(free_ions), ph_key)
    cached = _RESULT_CACHE.get(key)
    if cached is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _compute_ljp(psol, bsol, t, method, activity_model, free_ions, pH_at_recording)
        if len(_RESULT_CACHE) >= _RESULT_CACHE_SIZE:
            _RESULT_CACHE.pop(next(iter(_RESULT_CACHE)))
        cached = _RESULT_CACHE[key] = (result, tuple(caught))
    result, caught = cached
    for w in caught:  # a cached result warns exactly as a fresh computation would
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


#: results are immutable and depend only on the compositions and the options, so a batch
#: run over many recordings with the same solutions computes each junction once
_RESULT_CACHE: dict[tuple, tuple[LJPResult, tuple]] = {}
_RESULT_CACHE_SIZE = 256


def _ph_of(ph: Any, side: str) -> float | None:
    """The measured pH of one side from ``pH_at_recording`` (a number: the pipette's)."""
    if ph is None:
        return None
    if isinstance(ph, Mapping):
        for key in ph:
            check_choice(key, ("pipette", "bath"), what="pH_at_recording key", where="liquid_junction_potential")
        ph = ph.get(side)
        if ph is None:
            return None
    elif side != "pipette":
        return None
    return check_ph(ph, what=f"pH_at_recording ({side})", where="liquid_junction_potential")


def _solution_key(sol: Any) -> tuple:
    return (sol.name, sol.identity_key, tuple(sorted(sol.ions_mm.items())), sol.ph, sol.ph_temperature_c,
            sol.speciation is not None)


def _compute_ljp(psol, bsol, t: float, method: str, activity_model: str | None,
                 free_ions: bool, ph_measured: float | None = None) -> LJPResult:
    if free_ions:
        psol = free_ion_solution(psol, temperature_c=t, pH_at_recording=_ph_of(ph_measured, "pipette"))
        bsol = free_ion_solution(bsol, temperature_c=t, pH_at_recording=_ph_of(ph_measured, "bath"))
    _check_solution_balance(psol, "pipette")
    _check_solution_balance(bsol, "bath")
    names, zi, u, c = ion_arrays([psol, bsol])
    cp, cs = c[0], c[1]
    zf = zi.astype(float)
    vt = thermal_voltage_mv(t)
    gp = gs = None
    solver: dict[str, Any] = {}
    if method == "henderson":
        g_p, model_used = _gammas(psol, names, t, activity_model)
        g_s, _ = _gammas(bsol, names, t, activity_model)
        ap, as_ = cp * g_p, cs * g_s
        if activity_model is not None:
            gp, gs = g_p, g_s
        contrib = henderson_contributions_mv(ap, as_, zf, u, temperature_c=t)
        value = float(henderson_mv(ap, as_, zf, u, temperature_c=t, check_electroneutrality=False))
    else:
        model_used = activity_model
        det = _np_solve(cp, cs, zf, u, t, NP_TOLERANCE_MV)
        value = det.ljp_mv
        contrib = det.contributions_mv
        solver = {
            "tolerance_mv": NP_TOLERANCE_MV,
            "error_estimate_mv": det.error_estimate_mv,
            "n_segments": det.n_segments,
            "newton_iterations": det.newton_iterations,
            "charge_adjustment": dict(det.charge_adjustment),
        }
    table = [get_ion(n) for n in names]
    ions = tuple(
        IonContribution(
            name=n,
            charge=int(zi[k]),
            lambda_eq=table[k].lambda_eq,
            relative_mobility=float(u[k]),
            source=table[k].lambda_source,
            locator=table[k].lambda_locator,
            pipette_mm=float(cp[k]),
            bath_mm=float(cs[k]),
            gamma_pipette=None if gp is None else float(gp[k]),
            gamma_bath=None if gs is None else float(gs[k]),
            contribution_mv=float(contrib[k]),
        )
        for k, n in enumerate(names)
    )
    return LJPResult(
        ljp_mv=float(value),
        method=method,
        temperature_c=t,
        activity_model=model_used,
        ions=ions,
        pipette_name=psol.name,
        pipette_identity=psol.identity(),
        bath_name=bsol.name,
        bath_identity=bsol.identity(),
        thermal_voltage_mv=vt,
        solver=MappingProxyType(solver),
        free_ions=bool(free_ions),
        activity_convention=ACTIVITY_CONVENTION if gp is not None else None,
    )


def henderson_matrix_mv(
    pipettes: Sequence[Any],
    baths: Sequence[Any],
    *,
    temperature_c: float,
    activity_model: str | None = None,
) -> np.ndarray:
    """Henderson LJP of every pipette against every bath, shape (n_pipettes, n_baths).

    Parameters
    ----------
    pipettes, baths : sequence
        Anything :func:`ephys_correct.solutions.as_solution` accepts.
    temperature_c : float
    activity_model : str or None
        As in :func:`liquid_junction_potential` (Henderson).

    Returns
    -------
    ndarray
        ``out[i, j]`` = V_L(pipettes[i], baths[j]) in mV.
    """
    t = _check_temperature(temperature_c, "henderson_matrix_mv")
    sols = [_as_solution(s, f"pipettes[{k}]") for k, s in enumerate(pipettes)]
    sols += [_as_solution(s, f"baths[{k}]") for k, s in enumerate(baths)]
    for k, s in enumerate(sols):
        _check_solution_balance(s, "pipette" if k < len(pipettes) else "bath")
    names, z, u, c = ion_arrays(sols)
    a = c.copy()
    if activity_model is not None:
        for k, s in enumerate(sols):
            a[k] *= _gammas(s, names, t, activity_model)[0]
    ap = a[: len(pipettes)]
    ab = a[len(pipettes):]
    return henderson_mv(ap[:, None, :], ab[None, :, :], z, u, temperature_c=t,
                        check_electroneutrality=False)
