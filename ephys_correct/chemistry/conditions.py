"""Chemistry of a solution given in any form a user has: a Solution, a solutions_db name, a
recipe path or a mapping ion -> mM.  The argument is resolved once here, then the kernels in
:mod:`ephys_correct.chemistry.activity` take the resolved :class:`Solution`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ephys_correct.chemistry import activity as _activity
from ephys_correct.chemistry.activity import DEFAULT_MODEL, ActivityResult
from ephys_correct.chemistry.solutions_db import as_solution


def activity_coefficients(solution: Any, *, temperature_c: float, model: str = DEFAULT_MODEL,
                          ions: Any = None) -> ActivityResult:
    """Single-ion activity coefficients of a solution (see :func:`ephys_correct.chemistry.activity.activity_coefficients`).

    Parameters
    ----------
    solution : Solution, str, path or mapping ion -> mM
        A Solution, a solutions_db name, a recipe path, or ion concentrations.
    temperature_c : float
        Temperature, degC.
    model : str
        ``"truesdell-jones"`` (default), ``"extended-debye-huckel"``, ``"davies"`` or ``"ideal"``.
    ions : iterable of str, optional
        Only these ions (default: every ion of the solution).

    Returns
    -------
    ActivityResult
        Read-only mapping ion -> gamma with the model used per ion and its provenance.

    Notes
    -----
    mM are treated as mmol/kg (molar ~ molal).
    """
    sol = solution if hasattr(solution, "ions_mm") or isinstance(solution, Mapping) else as_solution(solution)
    return _activity.activity_coefficients(sol, temperature_c=temperature_c, model=model, ions=ions)
