"""Headstage assignment, signal kinds, clamp mode and suspect-unit detection.

The rules (documented in ``docs/recordings.md``):

Headstages
    decided from the file's evidence by
    :func:`ephys_correct.io._headstages.plan_headstages` (telegraphs and their
    instrument, ADC/DAC units and names, which DACs the protocol drives, ABF1
    vs ABF2); a headstage with a DAC has the DAC's number.  Weak or
    conflicting evidence gives a warning that names the ``headstages=``
    override.  Formats without DAC information put every voltage and current
    on headstage 0.
Clamp mode of a headstage, first rule that decides
    user ``clamp_mode=`` > MultiClamp telegraph (0 V-clamp, 1 I-clamp, 2 I=0)
    > DAC/ADC unit pairing (current command + a voltage signal = current
    clamp; voltage command + a current signal = voltage clamp) > protocol name
    (``VC``/``voltage clamp`` or ``CC``/``IC``/``current clamp``) > ADC units
    alone, only when the headstage has no DAC with units (only currents =
    voltage clamp, only voltages = current clamp; reported in ``warnings``).
    Otherwise the mode is unresolved and reading it raises
    :class:`ClampModeError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ephys_correct._validate import check_choice, check_integer, check_number, message
from ephys_correct.errors import ClampModeError, ParameterError, UnitError, suggest
from ephys_correct.io._recording import CLAMP_MODES, Channel, Headstage, UnitFix, _clamp_mode_help
from ephys_correct.io._headstages import TELEGRAPH_INSTRUMENTS, is_command_name, plan_headstages
from ephys_correct.io._units import CURRENT, VOLTAGE, UnitInfo, channel_unit, parse_unit

__all__ = ["AdcSpec", "DacSpec", "Assignment", "assign", "MULTICLAMP_INSTRUMENTS", "TELEGRAPH_MODES"]

#: nTelegraphInstrument values whose nTelegraphMode is meaningful (MultiClamp 700)
MULTICLAMP_INSTRUMENTS = frozenset({24})
#: MultiClamp telegraph mode -> clamp mode (MCTG_MODE_VCLAMP, _ICLAMP, _ICLAMPZERO)
TELEGRAPH_MODES = {0: "voltage_clamp", 1: "current_clamp", 2: "i_zero"}

_VC_PROTOCOL = re.compile(r"(?<![a-z0-9])(vc|v-clamp|vclamp|voltage[\s_-]*clamp)(?![a-z0-9])", re.IGNORECASE)
_CC_PROTOCOL = re.compile(r"(?<![a-z0-9])(cc|ic|i-clamp|iclamp|current[\s_-]*clamp)(?![a-z0-9])", re.IGNORECASE)


@dataclass(frozen=True)
class AdcSpec:
    """What a reader knows about one ADC channel before assignment."""

    index: int
    name: str
    file_units: str
    unit: UnitInfo
    adc: int | None = None
    telegraph: int | None = None  # valid MultiClamp telegraph mode, else None
    access_resistance_mohm: float | None = None
    telegraph_instrument: int | None = None  # nTelegraphInstrument of an enabled telegraph (any amplifier)


@dataclass(frozen=True)
class DacSpec:
    """What a reader knows about one DAC.

    ``holding`` is in the file's DAC units (None: not recorded); ``use`` is
    ``"epochs"`` (an epoch table with active epochs), ``"file"`` (a stimulus
    file), ``"none"`` (no waveform) or None (the file does not record it).
    """

    index: int
    name: str
    file_units: str
    unit: UnitInfo
    holding: float | None = None
    use: str | None = None


class Assignment(NamedTuple):
    """What :func:`assign` returns."""

    channels: list
    headstages: list
    warnings: list  # every warning of the interpretation (headstages, clamp mode, units, unit fixes)
    evidence: list  # how the headstages and clamp modes were decided, one sentence each


def protocol_mode(protocol: str | None) -> str | None:
    """Clamp mode named by a protocol name, or None when it names none or both."""
    if not protocol:
        return None
    vc = bool(_VC_PROTOCOL.search(protocol))
    cc = bool(_CC_PROTOCOL.search(protocol))
    if vc == cc:
        return None
    return "voltage_clamp" if vc else "current_clamp"


def _check_mode(value, what: str, where: str) -> str:
    return check_choice(value, CLAMP_MODES, what=what, where=where, error=ClampModeError)


def _resolve_channel_key(key, adcs: Sequence[AdcSpec], path: str, what: str) -> int:
    names = [a.name for a in adcs]
    if isinstance(key, bool):
        raise ParameterError(f"{path}: {what}: channel key must be an index or a name, got {key!r}")
    if isinstance(key, int):
        if not 0 <= key < len(adcs):
            raise ParameterError(f"{path}: {what}: channel index {key} out of range (0..{len(adcs) - 1})")
        return key
    if isinstance(key, str):
        hits = [i for i, n in enumerate(names) if n == key]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise ParameterError(f"{path}: {what}: channel name {key!r} is not unique; use its index")
        raise ParameterError(f"{path}: {what}: no channel named {key!r}; channels: {names}." + suggest(key, names))
    raise ParameterError(f"{path}: {what}: channel key must be an index or a name, got {key!r}")


def _unit_fixes(unit_fix, adcs, path) -> dict[int, UnitFix]:
    out: dict[int, UnitFix] = {}
    if unit_fix is None:
        return out
    if not isinstance(unit_fix, Mapping):
        raise ParameterError(f"{path}: unit_fix must be a mapping channel -> (units, scale), got {unit_fix!r}")
    for key, val in unit_fix.items():
        c = _resolve_channel_key(key, adcs, path, "unit_fix")
        if isinstance(val, UnitFix):
            fix = val
        elif isinstance(val, (tuple, list)) and len(val) == 2:
            fix = UnitFix(str(val[0]), val[1])
        else:
            raise ParameterError(f"{path}: unit_fix[{key!r}] must be (units, scale) or UnitFix, got {val!r}")
        scale = check_number(fix.scale, what=f"unit_fix[{key!r}] scale", where=path)
        if scale == 0:
            raise ParameterError(message(f"unit_fix[{key!r}] scale", fix.scale, "zero", "give a finite non-zero scale",
                                         where=path))
        try:
            info = parse_unit(fix.units)
        except UnitError as exc:
            raise UnitError(f"{path}: unit_fix[{key!r}]: unknown unit {fix.units!r}") from exc
        if info.dimension not in (VOLTAGE, CURRENT):
            raise UnitError(f"{path}: unit_fix[{key!r}]: units must be a voltage or a current, got {fix.units!r}")
        out[c] = UnitFix(fix.units, scale)
    return out


def assign(path: str, adcs: Sequence[AdcSpec], dacs: Sequence[DacSpec], *, protocol: str | None, abf: bool,
           clamp_mode=None, headstages=None, unit_fix=None, plan=None, file_modes=None) -> Assignment:
    """Build Channels and Headstages from reader facts and user overrides.

    Parameters
    ----------
    path : str
        File path, named in messages.
    adcs, dacs : sequences of AdcSpec, DacSpec
        What the reader knows (``dacs`` empty for formats without DACs).
    protocol : str or None
        Protocol name (clamp-mode hint).
    abf : bool
        True for ABF files.
    clamp_mode, headstages, unit_fix
        The user's overrides, as in :func:`ephys_correct.io.read_recording`.
    plan : HeadstagePlan, optional
        Headstages the format states itself (NWB electrodes, annotated neo
        signals); default: :func:`plan_headstages` decides from the evidence.
    file_modes : Mapping[int, tuple[str or None, str, str]], optional
        Headstage -> (clamp mode or None, source, evidence) stated by the
        format (NWB series types); used before the telegraph rule.

    Returns
    -------
    Assignment
        ``(channels, headstages, warnings, evidence)``.
    """
    warnings: list[str] = []
    evidence: list[str] = []
    fixes = _unit_fixes(unit_fix, adcs, path)

    # effective units (after a user unit fix)
    units: list[UnitInfo] = []
    scales: list[float] = []
    for a in adcs:
        if a.index in fixes:
            fx = fixes[a.index]
            info = parse_unit(fx.units)
            units.append(info)
            scales.append(fx.scale * info.factor)
            warnings.append(f"{path}: channel {a.index} {a.name!r}: unit fix applied by the user: stored values "
                            f"({a.file_units or 'no unit'}) x {fx.scale:g} read as {fx.units}")
        else:
            units.append(a.unit)
            scales.append(a.unit.factor)
    electrical = [u.dimension in (VOLTAGE, CURRENT) for u in units]
    command = [is_command_name(a.name) for a in adcs]

    # ---- headstage assignment: the file's evidence, then the user's overrides
    if plan is None:
        plan = plan_headstages(path, adcs, dacs, abf=abf, dims=[u.dimension for u in units])
    hs: list[int | None] = list(plan.headstage)
    evidence += plan.evidence
    user_set: set[int] = set()
    if headstages is not None:
        if not isinstance(headstages, Mapping):
            raise ParameterError(f"{path}: headstages must be a mapping channel -> headstage (int or None), "
                                 f"got {headstages!r}")
        for key, val in headstages.items():
            c = _resolve_channel_key(key, adcs, path, "headstages")
            if val is not None:
                val = check_integer(val, what=f"headstages[{key!r}]", where=path, minimum=0)
            if hs[c] != val:
                evidence.append(f"{path}: channel {c} {adcs[c].name!r}: headstage {val} given by the user "
                                f"(the file's evidence said {hs[c]})")
            hs[c] = val
            user_set.add(c)
    for w in plan.warnings:
        if w.channels and (w.channels & user_set if w.any_channel else w.channels <= user_set):
            continue  # the user stated what the file could not
        if w.dacs and not w.channels and any(hs[c] == d for d in w.dacs for c in range(len(adcs))):
            continue  # a DAC the user gave a channel to
        warnings.append(w.message)

    def dac_of(h: int) -> int | None:
        """The DAC of headstage *h*: the plan's, else DAC *h* (ABF's numbering) for a headstage the user made."""
        if h in plan.dac:
            return plan.dac[h]
        return h if abf and h < len(dacs) else None

    # ---- clamp mode per headstage
    head_ids = sorted({h for h in hs if h is not None})
    if isinstance(clamp_mode, str):
        user_modes = {h: _check_mode(clamp_mode, "clamp_mode", path) for h in head_ids}
    elif clamp_mode is None:
        user_modes = {}
    elif isinstance(clamp_mode, Mapping):
        user_modes = {}
        for key, val in clamp_mode.items():
            check_choice(key, tuple(head_ids), what="clamp_mode key", where=path, hint="give a headstage of this file")
            user_modes[key] = _check_mode(val, f"clamp_mode[{key}]", path)
    else:
        check_choice(clamp_mode, (None, *CLAMP_MODES), what="clamp_mode", where=path,
                     hint="or give a mapping headstage -> mode")  # raises: clamp_mode is none of these
    proto_mode = protocol_mode(protocol)

    modes: dict[int, tuple[str | None, str, str]] = {}
    for h in head_ids:
        members = [i for i in range(len(adcs)) if hs[i] == h]
        measured = [i for i in members if not command[i]]
        dims = {units[i].dimension for i in measured}
        d_index = dac_of(h)
        dac = dacs[d_index] if d_index is not None and d_index < len(dacs) else None
        dac_dim = dac.unit.dimension if dac is not None else None
        tele = {adcs[i].telegraph for i in members if adcs[i].telegraph is not None}
        decided: tuple[str | None, str, str] | None = None
        if file_modes and h in file_modes:
            decided = file_modes[h]
        tele_mode = TELEGRAPH_MODES[next(iter(tele))] if len(tele) == 1 else None
        if len(tele) > 1:
            labels = ", ".join(f"{i} {adcs[i].name!r}: {TELEGRAPH_MODES[adcs[i].telegraph]}" for i in members
                               if adcs[i].telegraph is not None)
            warnings.append(f"{path}: headstage {h}: its channels report different MultiClamp telegraph modes "
                            f"({labels}), so they are not outputs of one amplifier channel; the telegraph was "
                            f"not used for its clamp mode. Check headstages=.")
        unit_mode = None
        if dac_dim in (VOLTAGE, CURRENT):
            if dac_dim == CURRENT and VOLTAGE in dims:
                unit_mode = ("current_clamp", "units", f"DAC {dac.index} in {dac.file_units}, signal in voltage units")
            elif dac_dim == VOLTAGE and CURRENT in dims:
                unit_mode = ("voltage_clamp", "units", f"DAC {dac.index} in {dac.file_units}, signal in current units")
        if decided is None and tele_mode is not None:
            decided = (tele_mode, "telegraph", f"MultiClamp telegraph says {tele_mode}")
            dac_mode = "voltage_clamp" if dac_dim == VOLTAGE else "current_clamp" if dac_dim == CURRENT else None
            if dac_mode is not None and dac_mode != tele_mode and not (
                    dac_mode == "current_clamp" and tele_mode == "i_zero"):
                used = plan.dac_status.get(dac.index) in ("driven", "held")
                msg = (f"{path}: headstage {h}: the MultiClamp telegraph says {tele_mode} but DAC {dac.index} "
                       f"{dac.name!r} is in {dac.file_units} (a {'voltage' if dac_dim == VOLTAGE else 'current'} "
                       f"command); the telegraph was followed")
                if used:
                    warnings.append(msg + ". If that is wrong, pass clamp_mode={" + str(h) + ": '<mode>'}.")
                else:
                    evidence.append(msg + f" (DAC {dac.index} is not used by the protocol)")
        if decided is None and unit_mode is not None:
            decided = unit_mode
        if decided is None and proto_mode is not None:
            decided = (proto_mode, "protocol", f"protocol name {protocol!r}")
        if decided is not None and decided[0] is None:  # the format says it cannot say: unresolved
            pass
        elif decided is None and dac_dim not in (VOLTAGE, CURRENT) and len(dims) == 1:
            only = next(iter(dims))
            if only in (VOLTAGE, CURRENT):
                m = "voltage_clamp" if only == CURRENT else "current_clamp"
                decided = (m, "adc_units", f"no telegraph, command units or protocol hint; signals only in "
                                           f"{'current' if only == CURRENT else 'voltage'} units")
                warnings.append(f"{path}: headstage {h}: clamp mode {m} inferred from the ADC units alone "
                                "(weak evidence; pass clamp_mode= to state it)")
        if decided is None:
            parts = []
            if dac is not None:
                parts.append(f"DAC {dac.index} units {dac.file_units or 'blank'!r}")
            else:
                parts.append("no command (DAC) information")
            parts.append("signal units " + ", ".join(repr(adcs[i].file_units) for i in measured))
            parts.append("no MultiClamp telegraph")
            parts.append(f"protocol {protocol!r} names no mode")
            decided = (None, "unresolved", "; ".join(parts))
        if h in user_modes:
            um = user_modes[h]
            if decided[0] is not None and decided[0] != um:
                warnings.append(f"{path}: headstage {h}: clamp_mode={um!r} given by the user overrides the file's "
                                f"evidence ({decided[2]}: {decided[0]})")
            decided = (um, "user", "given by the user")
        modes[h] = decided
        evidence.append(f"{path}: headstage {h}: clamp mode "
                        f"{decided[0] or 'unresolved'} ({decided[1]}: {decided[2]})")

    # ---- suspect units: a headstage's signals must include what it measures
    suspect = [False] * len(adcs)
    for h in head_ids:
        mode, source, ev = modes[h]
        if mode is None:
            continue
        members = [i for i in range(len(adcs)) if hs[i] == h and not command[i] and i not in fixes]
        fixed = [i for i in range(len(adcs)) if hs[i] == h and i in fixes]
        dims = [units[i].dimension for i in members] + [units[i].dimension for i in fixed]
        want, wrong = (VOLTAGE, CURRENT) if mode in ("current_clamp", "i_zero") else (CURRENT, VOLTAGE)
        if members and want not in dims and wrong in dims:
            i = next(i for i in members if units[i].dimension == wrong)
            suspect[i] = True
            d_index = dac_of(h)
            dac = dacs[d_index] if d_index is not None and d_index < len(dacs) else None
            dac_note = (f"; DAC {dac.index} is also in {dac.file_units}" if dac is not None
                        and dac.unit.dimension == wrong else "")
            true_units = "mV" if want == VOLTAGE else "pA"
            warnings.append(
                f"{path}: channel {i} {adcs[i].name!r} is labelled {adcs[i].file_units} but headstage {h} is in "
                f"{mode} ({ev}){dac_note}, and the headstage has no {want} signal: the units are probably "
                f"wrong (pyABF's 'bad units' case: membrane potential stored as pA x 20). The data are returned "
                f"unchanged in {units[i].units}; once you know the true scale pass "
                f"unit_fix={{{i}: ('{true_units}', <scale>)}}, e.g. ('{true_units}', 1/20)."
            )

    # ---- build objects
    channels: list[Channel] = []
    for i, a in enumerate(adcs):
        u = units[i]
        h = hs[i]
        if command[i] and electrical[i] and h is not None:
            kind = "command"
        elif h is not None and u.dimension == VOLTAGE:
            kind = "membrane_potential"
        elif h is not None and u.dimension == CURRENT:
            kind = "current"
        else:
            kind = "other"
        mode, source, ev = modes.get(h, (None, None, "")) if h is not None else (None, None, "")
        if h is None or not electrical[i]:
            role = None
        elif command[i]:
            role = "command"
        elif mode is not None:
            role = "measured" if u.dimension == (CURRENT if mode == "voltage_clamp" else VOLTAGE) else "monitor"
        else:
            role = plan.role[i] if i not in user_set else None
        err = _clamp_mode_help(path, h, ev) if (h is not None and mode is None) else None
        channels.append(Channel(
            index=i, name=a.name, units=u.units, kind=kind, headstage=h, file_units=a.file_units, scale=scales[i],
            units_suspect=suspect[i], unit_fix=fixes.get(i), adc=a.adc,
            telegraph_mode=TELEGRAPH_MODES.get(a.telegraph) if a.telegraph is not None else None,
            clamp_mode_source=source, role=role,
            telegraph_instrument=(TELEGRAPH_INSTRUMENTS.get(a.telegraph_instrument, f"instrument "
                                                             f"{a.telegraph_instrument}")
                                  if a.telegraph_instrument is not None else None),
            _clamp_mode=mode, _clamp_mode_error=err,
        ))
    heads = []
    for h in head_ids:
        members = tuple(i for i in range(len(adcs)) if hs[i] == h)
        if any(i in user_set for i in members):
            conf = "user"
            notes = plan.notes.get(h, ()) + ("channels placed by the user: "
                                             + ", ".join(str(i) for i in members if i in user_set),)
        else:
            conf = plan.confidence.get(h, "weak")
            notes = plan.notes.get(h, ())
        heads.append(Headstage(index=h, dac=dac_of(h), channels=members, clamp_mode_source=modes[h][1],
                               clamp_mode_evidence=modes[h][2], confidence=conf, evidence=tuple(notes),
                               _clamp_mode=modes[h][0], _path=path))
    return Assignment(channels, heads, warnings, evidence)


def adc_unit(raw: str, path: str, index: int, name: str) -> UnitInfo:
    """Parse a channel's unit string with a message naming file and channel."""
    return channel_unit(raw, path=path, channel=f"{index} {name!r}")
