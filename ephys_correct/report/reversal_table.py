"""Reversal potentials as an annotated table (the DataFrame face of potentials.reversal)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ephys_correct.chemistry.activity import DEFAULT_MODEL
from ephys_correct.potentials.reversal import COLUMN_UNITS, reversal_rows


def reversal_potentials(inside: Any, outside: Any, *, temperature_c: float,
                        activity_model: str = DEFAULT_MODEL,
                        inside_override_mm: Mapping[str, float] | None = None,
                        ions: Iterable[str] | None = None,
                        free_ions: bool = True,
                        pH_at_recording: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Per-ion reversal potentials (ideal and activity-corrected) as a DataFrame.

    Parameters
    ----------
    inside, outside : Solution, mapping ion -> mM, solutions_db name or recipe path
        The two sides.
    temperature_c : float
        Recording temperature, degC.
    activity_model : str
        Default ``"truesdell-jones"``.
    inside_override_mm : mapping ion -> mM, optional
        Replace the inside concentration of these ions (see
        :func:`ephys_correct.potentials.reversal.reversal_rows`).
    ions : iterable of str, optional
        Only these ions (each present on both sides).
    free_ions : bool, default True
        Speciate both solutions first (free Ca2+, Mg2+ after binding), at the pH
        of *temperature_c*; False (totals) is an explicit choice, recorded in ``attrs``.
    pH_at_recording : Mapping[str, float], optional
        Measured pH at *temperature_c*: ``{"inside": pH, "outside": pH}``.

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`~ephys_correct.potentials.reversal.reversal_rows`, in its column
        order; ``attrs`` carries units, temperature, model, solutions and package version.

    Examples
    --------
    >>> df = reversal_potentials({"K+": 140, "Cl-": 140}, {"K+": 5, "Na+": 145, "Cl-": 150},
    ...                          temperature_c=25)
    >>> list(df["ion"])
    ['K+', 'Cl-']
    """
    rows, attrs = reversal_rows(inside, outside, temperature_c=temperature_c, activity_model=activity_model,
                                inside_override_mm=inside_override_mm, ions=ions, free_ions=free_ions,
                                pH_at_recording=pH_at_recording)
    df = pd.DataFrame(rows, columns=list(COLUMN_UNITS))
    df.attrs.update(attrs)
    return df
