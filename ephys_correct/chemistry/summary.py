"""The numbers of one solution that the planner (``plan_solutions``) and the web planner show."""

from __future__ import annotations

from typing import Any

from ephys_correct.chemistry.solutions import Solution

__all__ = ["solution_summary"]


def solution_summary(sol: Solution) -> dict[str, Any]:
    """Ionic strength, osmolarity, charge balance, pH and titrant of *sol*, JSON-ready.

    Parameters
    ----------
    sol : Solution
        The solution (as built from its recipe).

    Returns
    -------
    dict
        ``name``, ``path``, ``ionic_strength_mm``, ``osm_ideal_mosm_l``,
        ``osm_estimate_mosm_kg`` (None without an estimate), ``osm_estimate_method``,
        ``osm_measured_mosm_kg``, ``charge_balance_meq``, ``charge_tolerance_meq``, ``ph``,
        ``ph_temperature_c``, ``titrant`` and ``titrant_mm`` (None without a titration).
    """
    osm, t = sol.osmolarity(), sol.titration
    return {
        "name": sol.name, "path": sol.path,
        "ionic_strength_mm": float(sol.ionic_strength_mm()),
        "osm_ideal_mosm_l": float(osm.ideal_mosm_l),
        "osm_estimate_mosm_kg": None if osm.estimate_mosm_kg is None else float(osm.estimate_mosm_kg),
        "osm_estimate_method": osm.estimate_method,
        "osm_measured_mosm_kg": osm.measured_mosm_kg,
        "charge_balance_meq": float(sol.charge_balance_meq()),
        "charge_tolerance_meq": float(sol.charge_tolerance_mm()),
        "ph": sol.ph, "ph_temperature_c": sol.ph_temperature_c,
        "titrant": None if t is None else t.titrant,
        "titrant_mm": None if t is None or t.titrant_mm is None else float(t.titrant_mm),
    }
