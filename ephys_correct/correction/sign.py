"""The sign convention, applied in one place: :func:`apply_ljp` (and the current sign)."""

from __future__ import annotations

from typing import Any
import numpy as np
from ephys_correct._validate import check_flag, check_number, message
from ephys_correct.errors import ParameterError
from ephys_correct.correction.configurations import Configuration, get_configuration


# =============================================================================
# the one function that applies the LJP
# =============================================================================


def _finite(value: Any, name: str, where: str = "apply_ljp") -> float:
    return check_number(value, what=name, where=where, unit="mV")


def _flag(value: Any, name: str, where: str = "apply_ljp") -> bool:
    return check_flag(value, what=name, where=where)


def _as_float_array(x: Any, name: str):
    scalar = np.ndim(x) == 0
    try:
        arr = np.array(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(message(name, x, "not numbers", "give a number or an array of numbers (mV)",
                                     where="apply_ljp")) from None
    return arr, scalar


def apply_ljp(
    recorded_mv,
    *,
    ljp_mv: float,
    configuration: str | Configuration,
    delta_ref_mv=0.0,
    ljp_applied_online_mv: float = 0.0,
    polarity_inverted_at_acquisition: bool = False,
    resting_potential_mv: float | None = None,
):
    """Membrane potential from a recorded potential (the only place V_L is applied).

    ::

        V_p = -V_rec if polarity_inverted_at_acquisition else V_rec
        V_m = s_V * (V_p - (ljp_mv - ljp_applied_online_mv) - delta_ref_mv)
        cell-attached: V_m = V_rest + s_V * (...)  (s_V = -1)

    Parameters
    ----------
    recorded_mv : float or array_like
        Recorded potential (pipette potential, command or holding level), mV.
    ljp_mv : float
        ``V_L = V(bath) - V(pipette)`` at zeroing, mV (JPCalc/LJPcalc sign).
        A *measured* junction (pipette zeroed in the internal, bath switched
        to the external) reads ``-V_L``: negate it before passing it here.
    configuration : str or Configuration
        A key of :data:`CONFIGURATIONS`.
    delta_ref_mv : float or array_like
        Change of the bath/reference potential after a bath exchange
        (:attr:`ephys_correct.ljp.BathChange.delta_ref_mv`); broadcast
        against *recorded_mv* (per sample for a time-based schedule).
    ljp_applied_online_mv : float
        Part of V_L the amplifier already subtracted online (HEKA "LJ"), in
        the same sign convention; only the remainder is subtracted here.
    polarity_inverted_at_acquisition : bool
        True when the acquisition software already inverted the recorded
        potential (HEKA in on-cell / inside-out mode); it is undone first,
        so the configuration's sign is never applied twice.
    resting_potential_mv : float, optional
        Cell-attached only: the cell's resting potential.  Without it the
        result is the patch potential relative to rest, ``V_m - V_rest``.

    Returns
    -------
    float or numpy.ndarray
        Membrane potential ``V_in - V_out`` in mV (a float for a scalar input).

    Raises
    ------
    ParameterError
        Non-finite parameters, unknown configuration, or a resting
        potential given for a configuration other than cell-attached.

    Examples
    --------
    LJPcalc's worked example (AxoBits 39 solutions, V_L = +16.05 mV):

    >>> round(apply_ljp(-48.13, ljp_mv=16.05, configuration="whole-cell"), 2)
    -64.18
    """
    cfg = get_configuration(configuration)
    vl = _finite(ljp_mv, "ljp_mv")
    online = _finite(ljp_applied_online_mv, "ljp_applied_online_mv")
    inverted = _flag(polarity_inverted_at_acquisition, "polarity_inverted_at_acquisition")
    rest = _resting_potential(resting_potential_mv, cfg)
    v, scalar = _as_float_array(recorded_mv, "recorded_mv")
    d, d_scalar = _as_float_array(delta_ref_mv, "delta_ref_mv")
    if not np.all(np.isfinite(d)):
        raise ParameterError(message("delta_ref_mv", delta_ref_mv, "not finite everywhere", "give finite numbers (mV)",
                                     where="apply_ljp"))
    vp = -v if inverted else v
    out = cfg.voltage_sign * (vp - (vl - online) - d)
    if rest is not None:
        out = out + rest
    if scalar and d_scalar:
        return float(out)
    return np.asarray(out, dtype=np.float64)


def apply_current_sign(
    recorded_pa,
    configuration: str | Configuration,
    polarity_inverted_at_acquisition: bool = False,
):
    """Membrane current (outward positive) from a recorded pipette current.

    ``I_p = -I_rec if polarity_inverted_at_acquisition else I_rec``, then
    ``I_m = s_I * I_p`` with the configuration's current sign (+1 whole-cell,
    perforated, outside-out; -1 inside-out, cell-attached).  Values are
    otherwise unchanged (same units).

    Parameters
    ----------
    recorded_pa : float or array_like
        Recorded current (any current unit; pA in this package).
    configuration : str or Configuration
    polarity_inverted_at_acquisition : bool
        True when the acquisition software already inverted the current.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    An inward (negative membrane) current of 20 pA flows *out of* an
    inside-out pipette, which records +20 pA:

    >>> apply_current_sign(20.0, "inside-out")
    -20.0
    """
    cfg = get_configuration(configuration)
    inverted = _flag(polarity_inverted_at_acquisition, "polarity_inverted_at_acquisition")
    arr, scalar = _as_float_array(recorded_pa, "recorded_pa")
    sign = cfg.current_sign * (-1 if inverted else 1)
    out = sign * arr
    return float(out) if scalar else np.asarray(out, dtype=np.float64)


def _resting_potential(resting_potential_mv: Any, cfg: Configuration) -> float | None:
    """Validated resting potential (mV), accepted only where the configuration needs it."""
    if resting_potential_mv is None:
        return None
    if not cfg.needs_resting_potential:
        raise ParameterError(message(
            "resting_potential_mv", resting_potential_mv, f"given for configuration={cfg.name!r}",
            "only cell-attached recordings need the resting potential; give None"))
    return _finite(resting_potential_mv, "resting_potential_mv", "")
