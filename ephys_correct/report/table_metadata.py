"""The metadata of a driving-force table: provenance, Rs notes, the bath of a window."""

from __future__ import annotations

import weakref
from typing import Any
import numpy as np
from ephys_correct._version import __version__
from ephys_correct.report.frozen_attrs import freeze, freeze_json

COLUMN_UNITS: dict[str, str] = {
    "file": "",
    "sweep": "",
    "epoch": "",
    "t_start_s": "s",
    "t_end_s": "s",
    "channel": "",
    "headstage": "",
    "clamp_mode": "",
    "V_m_mV": "mV",
    "V_m_source": "",
    "ion": "",
    "charge": "",
    "c_in_mM": "mM",
    "c_out_mM": "mM",
    "E_rev_mV": "mV",
    "E_rev_ideal_mV": "mV",
    "driving_force_mV": "mV",
    "current_direction": "",
    "ion_flux": "",
    "E_rev_basis": "",
    "note": "",
    "flag": "",
}

_RS_WARN_MV = 1.0



def _bath_for_window(corrected, sweep: int, t0: float, t1: float):
    """(bath solution, note) for a window; note non-empty when the bath is not single/known."""
    axis = corrected._schedule_axis()
    if axis == "piecewise in time":
        rec = corrected.recording
        start = rec.sweep_start_s[sweep]
        last = t1 - 1.0 / rec.sample_rate_hz
        b0 = corrected.bath_at(sweep, time_s=start + t0)
        b1 = corrected.bath_at(sweep, time_s=start + max(t0, last))
        if b0 is not b1:
            return None, (f"the bath changes within {t0:g}-{t1:g} s of sweep {sweep}: E_rev undefined for the "
                          "window; choose epochs within one bath")
        return b0, ""
    b = corrected.bath_at(sweep)
    if b is None:
        return None, ("the bath after the BathChange is not known (not a solutions_db recipe); pass a "
                      "BathSchedule to carry its composition")
    return b, ""


def _rs_note(corrected, sweep: int, hs: int, cur_idx: int, win) -> str:
    rec = corrected.recording
    rs = rec.access_resistance_by_headstage.get(hs, rec.access_resistance_mohm)
    if rs is None:
        return ""
    i0, i1, _ = corrected._window(sweep, win)
    i_pa = float(np.mean(corrected.sweep_data(sweep, cur_idx, start=i0, stop=i1)))
    err = abs(i_pa) * float(rs) * 1e-3  # pA * MOhm = 1e-6 V = 1e-3 mV
    if err <= _RS_WARN_MV:
        return ""
    return (f"V_m from the command ignores I*R_s: |mean I| = {abs(i_pa):.0f} pA x R_s = {float(rs):.3g} MOhm "
            f"-> about {err:.1f} mV error (true V_m = command - I*R_s, not corrected)")


def _table_attrs(corrected, ions, windows, statistic) -> dict[str, Any]:
    # Read-only values (frozen_attrs): pandas deep-copies attrs on nearly every operation, and a
    # frozen record is copied by reference.  The provenance is built once per corrected recording.
    prov = _frozen_provenance(corrected)
    cfg = corrected.configuration
    attrs = {
        "title": "ephys_correct driving-force table",
        "units": dict(COLUMN_UNITS),
        "software_version": __version__,
        "input_file": prov["input_file"],
        "input_sha256": prov["input_sha256"],
        "configuration": cfg.name,
        "inside": cfg.inside,
        "outside": cfg.outside,
        "temperature_c": corrected.temperature_c,
        "zeroing_temperature_c": corrected.zeroing_temperature_c,
        "activity_model": corrected.activity_model,
        "E_rev_basis": "free" if corrected.free_ions else "total",
        "statistic": statistic,
        "epochs": None if windows is None else [list(w) for w in windows],
        "ions_requested": None if ions is None else list(ions),
        "ljp": prov["ljp"],
        "ljp_applied_online_mv": prov["ljp_applied_online_mv"],
        "bath_change": prov["bath_change"],
        "polarity_inverted_at_acquisition": prov["polarity_inverted_at_acquisition"],
        "perforating_agent": prov["perforating_agent"],
        "resting_potential_mv": prov["resting_potential_mv"],
        "inside_override_mm": dict(corrected.inside_override_mm),
        "concentration_basis": prov.get("concentration_basis"),
        "ph_at_recording": prov.get("ph_at_recording"),
        "solutions": prov["solutions"],
        "caveats": list(prov["caveats"]) + [
            "voltage clamp: V_m is the corrected command and ignores the I*R_s drop across the access "
            "resistance (a note warns when the file records R_s and |I|*R_s > 1 mV)",
        ],
        "conventions": {
            "V_m": "V_in - V_out, LJP-corrected (docs/conventions.md)",
            "driving_force_mV": "V_m_mV - E_rev_mV",
            "current_direction": "membrane-current convention: positive driving force -> outward current",
            "E_rev": "Nernst with activities, E = (RT/zF) ln(a_out/a_in), at temperature_c",
        },
        "correction": prov,
    }
    return {k: freeze(v) for k, v in attrs.items()}


_FROZEN_PROV: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
#: id(LJPResult) -> (the result, its frozen ``as_dict()``): the LJP record of a pipette/bath pair is
#: frozen once and shared by every headstage and every recording that uses the same (cached) result
_FROZEN_LJP: dict[int, tuple[Any, Any]] = {}
_FROZEN_LJP_MAX = 64


def _frozen_provenance(corrected):
    """``corrected.provenance`` as a read-only record, made once per CorrectedRecording.

    Equal to ``freeze(corrected.provenance)`` (``tests/report/test_frozen_attrs.py``), built
    without the JSON round trip, and with the LJP record of each headstage shared (not
    copied) when headstages use the same LJP computation (``CorrectedRecording.provenance``
    writes it out once per headstage, and so do the table's outputs).
    """
    corrected = getattr(corrected, "_corrected", corrected)  # driving_force's view with E_rev options
    try:
        hit = _FROZEN_PROV.get(corrected)
    except TypeError:  # not weak-referenceable
        return freeze(corrected.provenance)
    if hit is None:
        data = getattr(corrected, "_provenance_data", None)
        if not isinstance(data, dict):
            hit = freeze(corrected.provenance)
        else:
            hit = freeze_json(data, _shared_ljp_records(corrected, data))
        try:
            _FROZEN_PROV[corrected] = hit
        except TypeError:
            pass
    return hit


def _shared_ljp_records(corrected, data) -> dict:
    """A :func:`freeze_json` memo in which each headstage's LJP record is a shared frozen record.

    ``data["ljp"]["by_headstage"][str(k)]["ljp"]`` is ``headstage_corrections[k].ljp.as_dict()``
    (a pure function of an immutable result): the frozen record of that result is reused.
    Anything of another shape is left to the plain conversion.
    """
    memo: dict = {}
    try:
        by_hs = data["ljp"]["by_headstage"]
        items = list(corrected.headstage_corrections.items())
    except (KeyError, TypeError, AttributeError):
        return memo
    for k, hc in items:
        res = getattr(hc, "ljp", None)
        rec = by_hs.get(str(k)) if isinstance(by_hs, dict) else None
        raw = rec.get("ljp") if isinstance(rec, dict) else None
        if res is None or type(raw) is not dict or raw.get("ljp_mv") != float(res.ljp_mv):
            continue
        entry = _FROZEN_LJP.get(id(res))
        if entry is None or entry[0] is not res:
            entry = (res, freeze_json(raw))
            if len(_FROZEN_LJP) >= _FROZEN_LJP_MAX:
                _FROZEN_LJP.pop(next(iter(_FROZEN_LJP)))
            _FROZEN_LJP[id(res)] = entry
        memo[id(raw)] = (raw, entry[1])
    return memo
