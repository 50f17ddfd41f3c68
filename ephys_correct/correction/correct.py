"""LJP correction of recordings: the one place the sign convention is applied.

Convention (``docs/conventions.md``)
------------------------------------
``V_L`` is the liquid junction potential of the **bath relative to the
pipette**, ``V_L = V(bath) - V(pipette)``, with the pipette open in the bath
in which the amplifier offset was zeroed (Barry & Lynch 1991; JPCalc;
LJPcalc; HEKA "LJ").  The amplifier reports the pipette potential ``V_p``
relative to the bath reference.  :func:`apply_ljp` turns a recorded potential
into a membrane potential ``V_m = V_in - V_out``::

    V_p = -V_rec if polarity_inverted_at_acquisition else V_rec
    V_m = s_V * (V_p - (V_L - V_L,online) - delta_ref)      (+ V_rest, cell-attached)

with ``s_V`` the configuration's voltage sign (:data:`CONFIGURATIONS`),
``V_L,online`` the part of V_L the amplifier already subtracted (HEKA LJ,
same sign convention) and ``delta_ref`` the change of the bath/reference
potential after a bath exchange (:class:`ephys_correct.ljp.BathChange`).
Currents only get the configuration's sign (membrane-current convention:
outward positive), see :func:`apply_current_sign`.

:func:`correct_recording` applies this to every potential of a recording
(current-clamp traces, voltage monitors, holding levels, command waveforms)
and returns an immutable :class:`CorrectedRecording`; the file and the
:class:`~ephys_correct.io.Recording` are never modified.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
import numpy as np
from ephys_correct._version import __version__
from ephys_correct._constants import check_temperature_c
from ephys_correct._validate import check_choice, check_number, check_ph, message
from ephys_correct.errors import ParameterError
from ephys_correct.correction.configurations import _get_agent, get_configuration
from ephys_correct.correction.corrected import CorrectedRecording, HeadstageCorrection, SignalCorrection, _identity_differs, _solution_summary
from ephys_correct.correction.sign import _flag, _resting_potential
from ephys_correct.io import Recording, read_recording
from ephys_correct.potentials.ljp import METHODS, liquid_junction_potential
from ephys_correct.potentials.bath import BathChange, BathSchedule
from ephys_correct.chemistry.solutions_db import as_solution
from ephys_correct.chemistry.speciation import free_ion_solution
from ephys_correct.chemistry.solutions import Solution
from ephys_correct.errors import EphysCorrectError


# =============================================================================
# correct_recording
# =============================================================================


def _is_headstage_mapping(obj: Any) -> bool:
    return (isinstance(obj, Mapping) and len(obj) > 0
            and all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in obj))


def _per_headstage(value: Any, name: str, headstages: list[int], conv) -> dict[int | None, Any]:
    """Expand a scalar or a headstage mapping to {headstage: value}."""
    keys: list[int | None] = list(headstages) if headstages else [None]
    if _is_headstage_mapping(value):
        given = sorted(int(k) for k in value)
        extra = sorted(set(given) - set(headstages))
        if extra:
            raise ParameterError(message(
                f"{name} headstages", given, f"not within the recording's headstages {headstages}",
                f"headstage(s) {extra} do not exist", where="correct_recording"))
        missing = [h for h in headstages if h not in set(given)]
        if missing:
            raise ParameterError(message(
                f"{name} headstages", given, f"missing headstage(s) {missing}",
                f"give one value per headstage {headstages} (or a single value for all)", where="correct_recording"))
        return {h: conv(value[h], f"{name}[{h}]") for h in headstages}
    v = conv(value, name)
    return {k: v for k in keys}




def _number(value: Any, name: str) -> float:
    return check_number(value, what=name, where="correct_recording", unit="mV")


def _ph_at_recording(value: Any) -> dict[str, float] | None:
    """``pH_at_recording`` as {"pipette": pH, "bath": pH} (a number is the pipette's)."""
    if value is None:
        return None
    items = dict(value) if isinstance(value, Mapping) else {"pipette": value}
    out = {}
    for side, v in items.items():
        check_choice(side, ("pipette", "bath"), what="pH_at_recording key", where="correct_recording")
        out[side] = check_ph(v, what=f"pH_at_recording[{side!r}]", where="correct_recording")
    return out


def correct_recording(
    recording,
    *,
    pipette,
    bath,
    temperature_c: float,
    configuration: str = "whole-cell",
    ljp_method: str = "henderson",
    ljp_mv=None,
    ljp_applied_online_mv=0.0,
    bath_change=None,
    perforating_agent: str | None = None,
    polarity_inverted_at_acquisition: bool = False,
    zeroing_temperature_c: float | None = None,
    resting_potential_mv: float | None = None,
    free_ions: bool = True,
    pH_at_recording=None,
    ljp_activity_model: str | None = None,
    clamp_mode=None,
    headstages=None,
    unit_fix=None,
) -> CorrectedRecording:
    """LJP-correct every potential of a recording.

    Parameters
    ----------
    recording : Recording or path
        A :class:`~ephys_correct.io.Recording`, or a file path
        (read with :func:`~ephys_correct.io.read_recording`).
    pipette : solution or Mapping[int, solution]
        The pipette solution (anything :func:`~ephys_correct.solutions.as_solution`
        accepts), or a mapping headstage -> solution (paired recordings, one
        pipette per headstage; every headstage needs one).
    bath : solution
        The bath in which the pipette offset was zeroed.
    temperature_c : float
        Recording temperature, degC (reversal potentials).
    configuration : str
        A key of :data:`CONFIGURATIONS` (``"whole-cell"``, ``"perforated"``,
        ``"outside-out"``, ``"inside-out"``, ``"cell-attached"``).
    ljp_method : {"henderson", "nernst-planck"}
    ljp_mv : float or Mapping[int, float], optional
        User-supplied V_L (bath relative to pipette, mV) overriding the
        computation (per headstage with a mapping); recorded as source
        ``"user"``.  A *measured* junction reads -V_L: negate it first.
    ljp_applied_online_mv : float or Mapping[int, float]
        The part of V_L already applied online by the amplifier (HEKA LJ),
        same sign convention.  Must be 0 when *bath_change* is given.
    bath_change : BathSchedule or BathChange, optional
        Bath exchange(s) after zeroing (:mod:`ephys_correct.ljp`).  A
        :class:`~ephys_correct.ljp.BathChange` applies to the whole recording;
        a sweep-indexed :class:`~ephys_correct.ljp.BathSchedule` per sweep; a
        time-indexed schedule (seconds from the start of the recording)
        piecewise in time, sample by sample.  Its zeroing bath must be *bath*.
    perforating_agent : {None, "gramicidin", "amphotericin", "nystatin", "escin"}
        Perforated patch only: which ions equilibrate with the pipette
        (:data:`PERFORATING_AGENTS`).  None: reversal potentials are reported
        unknown.
    polarity_inverted_at_acquisition : bool
        The acquisition software inverted voltages and currents (HEKA on-cell /
        inside-out modes); undone before the configuration's signs.
    zeroing_temperature_c : float, optional
        Temperature at zeroing, for the LJP (default *temperature_c*).
    resting_potential_mv : float, optional
        Cell-attached only: the resting potential, for an absolute V_m.
    free_ions : bool, default True
        Speciate solutions holding metal-binding ligands (free Ca2+/Mg2+,
        protons released by binding re-titrated) for the LJP and, later, the
        reversal potentials of :func:`~ephys_correct.report.driving_force.driving_force_table`;
        the pH is computed at each temperature from the recipe.  False uses the
        totals: an explicit simplification, recorded in the provenance.
    pH_at_recording : float or Mapping, optional
        pH measured at the recording temperature: a number for the pipette, or
        ``{"pipette": pH, "bath": pH}``.  Used for the reversal potentials, and
        for the LJP when the zeroing temperature is the recording temperature.
        Recorded with the recipe pH in the provenance.
    ljp_activity_model : str or None
        Activity model of the Henderson LJP; None (default) uses
        concentrations, as JPCalc and LJPcalc do.
    clamp_mode, headstages, unit_fix : optional
        Passed to :func:`~ephys_correct.io.read_recording` when *recording* is
        a path (the overrides that the recording's interpretation warnings
        name: clamp mode, channel -> headstage mapping, channel unit fix).

    Returns
    -------
    CorrectedRecording

    Raises
    ------
    ParameterError
        Unknown configuration or agent, an agent for a non-perforated
        configuration, an online LJP combined with a bath change, a resting
        potential for a configuration other than cell-attached, a pipette
        mapping that does not match the headstages, a bath change whose
        zeroing bath is not *bath*.
    """

    cfg = get_configuration(configuration)
    t_rec = check_temperature_c(temperature_c)
    t_zero = t_rec if zeroing_temperature_c is None else check_temperature_c(zeroing_temperature_c)
    agent = _get_agent(perforating_agent, cfg)
    check_choice(ljp_method, METHODS, what="ljp_method", where="correct_recording")
    inverted = _flag(polarity_inverted_at_acquisition, "polarity_inverted_at_acquisition", "correct_recording")
    free_ions = _flag(free_ions, "free_ions", "correct_recording")
    rest = _resting_potential(resting_potential_mv, cfg)
    ph_measured = _ph_at_recording(pH_at_recording)

    # --- the recording
    if isinstance(recording, Recording):
        rec = recording
        for name, value in (("clamp_mode", clamp_mode), ("headstages", headstages), ("unit_fix", unit_fix)):
            if value is not None:
                raise ParameterError(message(
                    name, value, "given with a Recording already read",
                    f"it only applies when 'recording' is a path; read the file with read_recording(path, {name}=...)",
                    where="correct_recording"))
    elif isinstance(recording, (str, os.PathLike)):
        rec = read_recording(recording, clamp_mode=clamp_mode, headstages=headstages, unit_fix=unit_fix)
    else:
        raise ParameterError(message("recording", recording, f"a {type(recording).__name__}, not a Recording or a path",
                                     "give a file path or read_recording(path)", where="correct_recording"))
    hs_ids = [h.index for h in rec.headstages]

    # --- solutions
    bath_sol = bath if _is_solution(bath) else as_solution(bath, name="bath") if isinstance(bath, Mapping) \
        else as_solution(bath)
    if _is_headstage_mapping(pipette):
        pipettes = _per_headstage(pipette, "pipette", hs_ids, lambda v, n: _as_sol(v, n, as_solution))
        if not hs_ids:
            raise ParameterError(message("pipette headstages", sorted(pipette), f"given but {rec.path} has no headstage",
                                         "give a single solution", where="correct_recording"))
    else:
        sol = _as_sol(pipette, "pipette", as_solution)
        pipettes = {k: sol for k in (hs_ids or [None])}

    # --- LJP per headstage
    if ljp_mv is not None:
        user_ljp = _per_headstage(ljp_mv, "ljp_mv", hs_ids, _number)
    else:
        user_ljp = None
    online = _per_headstage(ljp_applied_online_mv, "ljp_applied_online_mv", hs_ids, _number)

    # --- bath change
    new_bath = None
    if bath_change is not None:
        if any(v != 0.0 for v in online.values()):
            raise ParameterError(
                f"ljp_applied_online_mv={ljp_applied_online_mv!r} cannot be combined with a bath change: "
                "an LJP correction applied online (HEKA LJ, 'a priori') was set for the bath in which the "
                "pipette was zeroed, and after a bath exchange the offset it leaves is no longer known "
                "(Barry, 'a priori corrections'). Set the amplifier's LJ to 0 and let correct_recording "
                "apply the whole V_L, or correct each bath separately."
            )
        if isinstance(bath_change, BathChange):
            if _identity_differs(bath_change.old_bath_identity, bath_sol):
                raise ParameterError(message(
                    "bath_change zeroing (old) bath", bath_change.old_bath_name,
                    f"not the 'bath' argument {bath_sol.name!r} (identities differ)",
                    "the LJP is computed against the bath in which the pipette was zeroed: give that bath as both",
                    where="correct_recording"))
            new_bath = _lookup_new_bath(bath_change, as_solution)
        elif isinstance(bath_change, BathSchedule):
            first = bath_change.steps[0]
            if _identity_differs(first.bath_identity, bath_sol):
                raise ParameterError(message(
                    "bath_change first bath", first.bath_name,
                    f"not the 'bath' argument {bath_sol.name!r} (identities differ)",
                    "the schedule starts with the bath in which the pipette was zeroed", where="correct_recording"))
            if bath_change.axis == "sweep":
                last = max(s.start for s in bath_change.steps)
                if last >= rec.n_sweeps:
                    raise ParameterError(message(
                        "bath_change last sweep", last, f"beyond the last sweep of {rec.path} ({rec.n_sweeps - 1})",
                        "start every bath within the recording", where="correct_recording"))
        else:
            raise ParameterError(message(
                "bath_change", bath_change, f"a {type(bath_change).__name__}, not a BathSchedule or a BathChange",
                "make one with ephys_correct.potentials.bath (BathSchedule, bath_change_offset)",
                where="correct_recording"))

    if free_ions:
        sols = [bath_sol, *pipettes.values()]
        if isinstance(bath_change, BathSchedule):
            sols += [b for _s, b in bath_change.entries]

        for sol in sols:  # fail early: a buffered solution without a pH cannot be speciated
            free_ion_solution(sol, temperature_c=t_zero)

    ljp_model = ljp_activity_model if ljp_method == "henderson" else None
    cache: dict[tuple[str, str], Any] = {}
    hcs: dict[Any, HeadstageCorrection] = {}
    for h, sol in pipettes.items():
        on = online[h]
        if user_ljp is not None:
            hcs[h] = HeadstageCorrection(h, sol, user_ljp[h], on, "user", None)
            continue
        key = (sol.identity_key, bath_sol.identity_key)
        if key not in cache:
            cache[key] = liquid_junction_potential(sol, bath_sol, temperature_c=t_zero, method=ljp_method,
                                                   activity_model=ljp_model, free_ions=free_ions,
                                                   pH_at_recording=ph_measured if t_zero == t_rec else None)
        res = cache[key]
        hcs[h] = HeadstageCorrection(h, sol, float(res.ljp_mv), on, "computed", res)

    # --- per-signal corrections
    schedule_kind = "none"
    if bath_change is not None:
        schedule_kind = ("constant" if isinstance(bath_change, BathChange)
                         else "per sweep" if bath_change.axis == "sweep" else "piecewise in time")
    single = len({(v.ljp_mv, v.ljp_applied_online_mv) for v in hcs.values()}) == 1

    def potential(sig, index, name, units, kind, headstage, note=""):
        hkey = headstage if headstage in hcs else (None if None in hcs else headstage)
        if hkey not in hcs:
            if not single:
                return SignalCorrection(
                    sig, index, name, units, kind, headstage, "none",
                    note="not corrected: the signal belongs to no headstage and the pipette "
                         "solutions (LJPs) differ per headstage")
            hkey = next(iter(hcs))
            note = (note + "; " if note else "") + "belongs to no headstage: the common LJP was applied"
        hc = hcs[hkey]
        sv = cfg.voltage_sign
        off = hc.applied_offline_mv
        vp = "(-V_rec)" if inverted else "V_rec"
        delta = "" if schedule_kind == "none" else " - delta_ref"
        core = f"{'+' if sv > 0 else '-'}({vp} - {off:.6g}{delta})"
        if cfg.needs_resting_potential:
            formula = (f"V_m = {rest:.6g} {core}" if rest is not None
                       else f"V_m - V_rest = {core} (relative to the resting potential)")
        else:
            formula = f"V_m = {core}" if sv < 0 else f"V_m = {vp} - {off:.6g}{delta}"
        return SignalCorrection(
            sig, index, name, units, kind, headstage, "potential", voltage_sign=sv, current_sign=None,
            ljp_mv=hc.ljp_mv, ljp_applied_online_mv=hc.ljp_applied_online_mv, offset_mv=off,
            bath_change=schedule_kind, resting_potential_mv=rest, polarity_inverted_at_acquisition=inverted,
            formula=formula, note=note)

    def current(sig, index, name, units, kind, headstage):
        s = cfg.current_sign * (-1 if inverted else 1)
        return SignalCorrection(
            sig, index, name, units, kind, headstage, "current", voltage_sign=None,
            current_sign=cfg.current_sign, polarity_inverted_at_acquisition=inverted,
            formula=f"I_m = {'+' if s > 0 else '-'}I_rec (outward positive)")

    chans = []
    for c in rec.channels:
        if c.units == "mV" and c.kind in ("membrane_potential", "command"):
            chans.append(potential("channel", c.index, c.name, c.units, c.kind, c.headstage))
        elif c.units == "pA" and c.kind in ("current", "command"):
            chans.append(current("channel", c.index, c.name, c.units, c.kind, c.headstage))
        else:
            chans.append(SignalCorrection("channel", c.index, c.name, c.units, c.kind, c.headstage, "none",
                                          note=f"not a membrane potential or current ({c.kind}, "
                                               f"units {c.units!r}): unchanged"))
    cmds = []
    hs_mode = {}
    for h in rec.headstages:
        hs_mode[h.index] = h.clamp_mode if h.clamp_mode_known else None
    for h in rec.holding:
        if h.headstage is None:
            cmds.append(SignalCorrection("dac", h.dac, h.name, h.units, "command", None, "none",
                                         note="DAC commands no headstage: unchanged"))
        elif h.units == "mV":
            mode = hs_mode.get(h.headstage)
            if mode in ("current_clamp", "i_zero"):
                cmds.append(SignalCorrection(
                    "dac", h.dac, h.name, h.units, "command", h.headstage, "none",
                    note=f"voltage DAC of a headstage in {mode}: not a membrane-potential command, unchanged"))
            else:
                cmds.append(potential("dac", h.dac, h.name, h.units, "command", h.headstage,
                                      note="" if mode else "clamp mode not established; corrected as a "
                                                           "voltage command (DAC units mV)"))
        elif h.units == "pA":
            cmds.append(current("dac", h.dac, h.name, h.units, "command", h.headstage))
        else:
            cmds.append(SignalCorrection("dac", h.dac, h.name, h.units, "command", h.headstage, "none",
                                         note=f"DAC units {h.units!r} unknown: unchanged"))

    # --- provenance
    caveats = list(cfg.caveats)
    if cfg.needs_resting_potential and rest is None:
        caveats.append("cell-attached without resting_potential_mv: corrected potentials are the patch "
                       "potential relative to rest (V_m - V_rest), not absolute membrane potentials")
    if cfg.name == "perforated" and agent is None:
        caveats.append("perforated patch without perforating_agent: which ions equilibrate with the "
                       "pipette is unknown, so reversal potentials are reported unknown")
    bc_dict = None
    if bath_change is not None:
        bc_dict = {"kind": type(bath_change).__name__, **bath_change.as_dict()}
        if schedule_kind == "piecewise in time":
            bc_dict["time_origin"] = "seconds from the start of the recording"
    prov = {
        "software": "ephys_correct",
        "package_version": __version__,
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "sign_convention": "V_L = V(bath) - V(pipette) at zeroing; Vm = s_V*(Vp - (V_L - V_L,online) - "
                           "delta_ref) (+ V_rest, cell-attached); currents I_m = s_I*I_p (outward positive)",
        "configuration": cfg.as_dict(),
        "input_file": rec.path,
        "input_sha256": rec.sha256,
        "input_format": f"{rec.format} {rec.version}",
        "reader": rec.reader,
        "temperature_c": t_rec,
        "zeroing_temperature_c": t_zero,
        "free_ions": free_ions,
        "concentration_basis": ("free ions (speciated; protons released by binding re-titrated)"
                                if free_ions else "totals (free_ions=False: speciation not applied)"),
        "ph_at_recording": ph_measured,
        "ljp": {
            "method": ljp_method if user_ljp is None else None,
            "activity_model": ljp_model if user_ljp is None else None,
            "source": "user" if user_ljp is not None else "computed",
            "by_headstage": {str(k): v.as_dict() for k, v in hcs.items()},
        },
        "solutions": {
            "bath": _solution_summary(bath_sol),
            "pipette": {str(k): _solution_summary(v) for k, v in pipettes.items()},
        },
        "ljp_applied_online_mv": {str(k): v for k, v in online.items()},
        "bath_change": bc_dict,
        "polarity_inverted_at_acquisition": inverted,
        "perforating_agent": None if agent is None else agent.as_dict(),
        "resting_potential_mv": rest,
        "caveats": caveats,
    }
    if len({v.ljp_mv for v in hcs.values()}) == 1:
        prov["ljp"]["ljp_mv"] = next(iter(hcs.values())).ljp_mv
        prov["ljp"]["ljp_applied_online_mv"] = next(iter(hcs.values())).ljp_applied_online_mv
    return CorrectedRecording(
        recording=rec,
        configuration=cfg,
        temperature_c=t_rec,
        zeroing_temperature_c=t_zero,
        bath=bath_sol,
        headstage_corrections=MappingProxyType(hcs),
        channel_corrections=tuple(chans),
        command_corrections=tuple(cmds),
        bath_change=bath_change,
        perforating_agent=agent,
        polarity_inverted_at_acquisition=inverted,
        resting_potential_mv=rest,
        ljp_method=ljp_method,
        ljp_activity_model=ljp_model,
        free_ions=free_ions,
        _provenance_data=prov,
        _new_bath=new_bath,
        ph_at_recording=None if ph_measured is None else dict(ph_measured),
    )


def _is_solution(obj: Any) -> bool:
    return isinstance(obj, Solution)


def _as_sol(obj: Any, name: str, as_solution):
    if _is_solution(obj):
        return obj
    if isinstance(obj, Mapping):
        return as_solution(obj, name=name)
    return as_solution(obj)


def _lookup_new_bath(change, as_solution):
    """The new bath of a single BathChange (carried by it, or a solutions_db recipe; else None)."""

    if getattr(change, "new_bath", None) is not None:
        return change.new_bath
    try:
        sol = as_solution(change.new_bath_name)
    except (EphysCorrectError, OSError):
        return None
    return None if _identity_differs(change.new_bath_identity, sol) else sol
