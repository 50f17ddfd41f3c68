"""A root near a good first guess, by secant steps (the caller keeps a bracketing solver as safeguard)."""

from __future__ import annotations

import math


def secant_root(f, x0: float, lo: float, hi: float, *, xtol: float = 1e-9, max_steps: int = 12) -> float | None:
    """A root of *f* near *x0* by secant steps, or None (the caller then brackets it).

    The bound-proton balance is smooth and monotone in pH and the pH moves by a few
    tenths over a temperature change, so secant steps from the recipe pH converge in
    4-6 evaluations where a bracketing solver over +-1 pH unit needs about 20 (each one
    a full speciation).  None when a step leaves [*lo*, *hi*], stalls, or does not
    converge in *max_steps*: the result is then found by bisection-safe means.
    """
    xa, fa = x0, f(x0)
    if fa == 0.0:
        return xa
    xb = x0 - 0.05 if fa > 0 else x0 + 0.05
    fb = f(xb)
    for _ in range(max_steps):
        if fb == 0.0:
            return xb
        if fb == fa or not math.isfinite(fb):
            return None
        xc = xb - fb * (xb - xa) / (fb - fa)
        if not (lo <= xc <= hi and math.isfinite(xc)):
            return None
        if abs(xc - xb) < xtol:
            return float(xc)
        xa, fa, xb, fb = xb, fb, xc, f(xc)
    return None
