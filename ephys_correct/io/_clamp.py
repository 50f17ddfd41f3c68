"""Headstage assignment, signal kinds, clamp mode and suspect-unit detection.

The rules (documented in ``docs/recordings.md``):

Headstages (ABF)
    headstage *k* is commanded by DAC *k*.  If any sampled ADC carries a
    MultiClamp 700 telegraph, ADC *n* belongs to headstage ``n // 2`` (Axon's
    wiring: IN 0/IN 1 = primary/secondary output of amplifier channel 1, IN 2/
    IN 3 of channel 2); if two ADCs of one pair report different telegraph
    modes that wiring is contradicted and the next rule is used.  Without
    telegraphs, the *i*-th channel (sampling order) belongs to headstage *i*
    for *i* below the number of DACs.  Channels whose units are neither a
    voltage nor a current belong to no headstage.
Headstages (other formats)
    every voltage and current channel belongs to headstage 0 (no DAC).
Clamp mode of a headstage, first rule that decides
    user ``clamp_mode=`` > MultiClamp telegraph (0 V-clamp, 1 I-clamp, 2 I=0)
    > DAC/ADC unit pairing (current command + a voltage signal = current
    clamp; voltage command + a current signal = voltage clamp) > protocol name
    (``VC``/``voltage clamp`` or ``CC``/``IC``/``current clamp``) > ADC units
    alone, only when the DAC has no units (only currents = voltage clamp, only
    voltages = current clamp; reported in ``warnings``).  Otherwise the mode is
    unresolved and reading it raises :class:`ClampModeError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ephys_correct.errors import ClampModeError, ParameterError, UnitError, suggest
from ephys_correct.io._recording import CLAMP_MODES, Channel, Headstage, UnitFix, _clamp_mode_help
from ephys_correct.io._units import CURRENT, VOLTAGE, UnitInfo, channel_unit, parse_unit

__all__ = ["AdcSpec", "DacSpec", "assign", "MULTICLAMP_INSTRUMENTS", "TELEGRAPH_MODES"]

#: nTelegraphInstrument values whose nTelegraphMode is meaningful (MultiClamp 700)
MULTICLAMP_INSTRUMENTS = frozenset({24})
#: MultiClamp telegraph mode -> clamp mode (MCTG_MODE_VCLAMP, _ICLAMP, _ICLAMPZERO)
TELEGRAPH_MODES = {0: "voltage_clamp", 1: "current_clamp", 2: "i_zero"}

_COMMAND_NAME = re.compile(r"^\s*(ao\b|ao\s*#|cmd|command|[vi]\s*cmd|stim)", re.IGNORECASE)
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


@dataclass(frozen=True)
class DacSpec:
    """What a reader knows about one DAC."""

    index: int
    name: str
    file_units: str
    unit: UnitInfo


def protocol_mode(protocol: str | None) -> str | None:
    """Clamp mode named by a protocol name, or None when it names none or both."""
    if not protocol:
        return None
    vc = bool(_VC_PROTOCOL.search(protocol))
    cc = bool(_CC_PROTOCOL.search(protocol))
    if vc == cc:
        return None
    return "voltage_clamp" if vc else "current_clamp"


def _check_mode(value, where: str) -> str:
    if not isinstance(value, str) or value not in CLAMP_MODES:
        raise ClampModeError(f"invalid clamp mode {value!r} for {where}; allowed: {', '.join(CLAMP_MODES)}."
                             + (suggest(value, CLAMP_MODES) if isinstance(value, str) else ""))
    return value


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
        try:
            scale = float(fix.scale)
        except (TypeError, ValueError):
            raise ParameterError(f"{path}: unit_fix[{key!r}]: scale must be a number, got {fix.scale!r}") from None
        if not (scale == scale and abs(scale) not in (0.0, float("inf"))):
            raise ParameterError(f"{path}: unit_fix[{key!r}]: scale must be finite and non-zero, got {fix.scale!r}")
        try:
            info = parse_unit(fix.units)
        except UnitError as exc:
            raise UnitError(f"{path}: unit_fix[{key!r}]: unknown unit {fix.units!r}") from exc
        if info.dimension not in (VOLTAGE, CURRENT):
            raise UnitError(f"{path}: unit_fix[{key!r}]: units must be a voltage or a current, got {fix.units!r}")
        out[c] = UnitFix(fix.units, scale)
    return out


def _is_command(name: str) -> bool:
    return bool(_COMMAND_NAME.match(name))


def assign(path: str, adcs: Sequence[AdcSpec], dacs: Sequence[DacSpec], *, protocol: str | None, abf: bool,
           clamp_mode=None, headstages=None, unit_fix=None) -> tuple[list[Channel], list[Headstage], list[str]]:
    """Build Channels and Headstages from reader facts and user overrides.

    Returns
    -------
    channels, headstages, warnings
    """
    warnings: list[str] = []
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
    command = [_is_command(a.name) for a in adcs]

    # ---- headstage assignment
    hs: list[int | None] = [None] * len(adcs)
    if abf:
        telegraphed = [a for a in adcs if a.telegraph is not None and a.adc is not None]
        use_pairs = bool(telegraphed)
        if use_pairs:
            by_pair: dict[int, set[int]] = {}
            for a in telegraphed:
                by_pair.setdefault(a.adc // 2, set()).add(a.telegraph)
            bad = [p for p, modes in by_pair.items() if len(modes) > 1]
            if bad:
                use_pairs = False
                warnings.append(f"{path}: ADCs of amplifier channel(s) {sorted(bad)} report different MultiClamp "
                                "telegraph modes, so IN 2k/IN 2k+1 are not one headstage's outputs; channels were "
                                "paired with DACs by order instead")
        for i, a in enumerate(adcs):
            if not electrical[i]:
                continue
            if use_pairs:
                hs[i] = a.adc // 2
            elif i < len(dacs):
                hs[i] = i
    else:
        for i in range(len(adcs)):
            if electrical[i]:
                hs[i] = 0
    if headstages is not None:
        if not isinstance(headstages, Mapping):
            raise ParameterError(f"{path}: headstages must be a mapping channel -> headstage (int or None), "
                                 f"got {headstages!r}")
        for key, val in headstages.items():
            c = _resolve_channel_key(key, adcs, path, "headstages")
            if val is not None and (isinstance(val, bool) or not isinstance(val, int) or val < 0):
                raise ParameterError(f"{path}: headstages[{key!r}] must be a non-negative int or None, got {val!r}")
            hs[c] = val

    # ---- clamp mode per headstage
    head_ids = sorted({h for h in hs if h is not None})
    if isinstance(clamp_mode, str):
        user_modes = {h: _check_mode(clamp_mode, f"clamp_mode (all headstages) in {path}") for h in head_ids}
    elif clamp_mode is None:
        user_modes = {}
    elif isinstance(clamp_mode, Mapping):
        user_modes = {}
        for key, val in clamp_mode.items():
            if isinstance(key, bool) or not isinstance(key, int) or key not in head_ids:
                raise ParameterError(f"{path}: clamp_mode key {key!r} is not a headstage of this file "
                                     f"(headstages: {head_ids})")
            user_modes[key] = _check_mode(val, f"headstage {key} in {path}")
    else:
        raise ParameterError(f"{path}: clamp_mode must be None, a mode string or a mapping headstage -> mode, "
                             f"got {clamp_mode!r}")
    proto_mode = protocol_mode(protocol)

    modes: dict[int, tuple[str | None, str, str]] = {}
    for h in head_ids:
        members = [i for i in range(len(adcs)) if hs[i] == h]
        measured = [i for i in members if not command[i]]
        dims = {units[i].dimension for i in measured}
        dac = dacs[h] if abf and h < len(dacs) else None
        dac_dim = dac.unit.dimension if dac is not None else None
        tele = {adcs[i].telegraph for i in members if adcs[i].telegraph is not None}
        decided: tuple[str | None, str, str] | None = None
        tele_mode = TELEGRAPH_MODES[tele.pop()] if len(tele) == 1 else None
        if len(tele) > 1:  # cannot happen after the pairing check, unless the user regrouped channels
            tele_mode = None
        if tele_mode is not None:
            decided = (tele_mode, "telegraph", f"MultiClamp telegraph says {tele_mode}")
        if decided is None and dac_dim in (VOLTAGE, CURRENT):
            if dac_dim == CURRENT and VOLTAGE in dims:
                decided = ("current_clamp", "units", f"DAC {dac.index} in {dac.file_units}, signal in voltage units")
            elif dac_dim == VOLTAGE and CURRENT in dims:
                decided = ("voltage_clamp", "units", f"DAC {dac.index} in {dac.file_units}, signal in current units")
        if decided is None and proto_mode is not None:
            decided = (proto_mode, "protocol", f"protocol name {protocol!r}")
        if decided is None and dac_dim not in (VOLTAGE, CURRENT) and len(dims) == 1:
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

    # ---- suspect units: a headstage's signals must include what it measures
    suspect = [False] * len(adcs)
    for h in head_ids:
        mode, source, evidence = modes[h]
        if mode is None:
            continue
        members = [i for i in range(len(adcs)) if hs[i] == h and not command[i] and i not in fixes]
        fixed = [i for i in range(len(adcs)) if hs[i] == h and i in fixes]
        dims = [units[i].dimension for i in members] + [units[i].dimension for i in fixed]
        want, wrong = (VOLTAGE, CURRENT) if mode in ("current_clamp", "i_zero") else (CURRENT, VOLTAGE)
        if members and want not in dims and wrong in dims:
            i = next(i for i in members if units[i].dimension == wrong)
            suspect[i] = True
            dac = dacs[h] if abf and h < len(dacs) else None
            dac_note = (f"; DAC {dac.index} is also in {dac.file_units}" if dac is not None
                        and dac.unit.dimension == wrong else "")
            true_units = "mV" if want == VOLTAGE else "pA"
            warnings.append(
                f"{path}: channel {i} {adcs[i].name!r} is labelled {adcs[i].file_units} but headstage {h} is in "
                f"{mode} ({evidence}){dac_note}, and the headstage has no {want} signal: the units are probably "
                f"wrong (pyABF's 'bad units' case: membrane potential stored as pA x 20). The data are returned "
                f"unchanged in {units[i].units}; once you know the true scale pass "
                f"unit_fix={{{i}: ('{true_units}', <scale>)}}, e.g. ('{true_units}', 1/20)."
            )

    # ---- build objects
    channels: list[Channel] = []
    for i, a in enumerate(adcs):
        u = units[i]
        h = hs[i]
        if command[i] and electrical[i]:
            kind = "command"
        elif h is not None and u.dimension == VOLTAGE:
            kind = "membrane_potential"
        elif h is not None and u.dimension == CURRENT:
            kind = "current"
        else:
            kind = "other"
        mode, source, evidence = modes.get(h, (None, None, "")) if h is not None else (None, None, "")
        err = _clamp_mode_help(path, h, evidence) if (h is not None and mode is None) else None
        channels.append(Channel(
            index=i, name=a.name, units=u.units, kind=kind, headstage=h, file_units=a.file_units, scale=scales[i],
            units_suspect=suspect[i], unit_fix=fixes.get(i), adc=a.adc,
            telegraph_mode=TELEGRAPH_MODES.get(a.telegraph) if a.telegraph is not None else None,
            clamp_mode_source=source, _clamp_mode=mode, _clamp_mode_error=err,
        ))
    heads = [Headstage(index=h, dac=(h if abf and h < len(dacs) else None),
                       channels=tuple(i for i in range(len(adcs)) if hs[i] == h),
                       clamp_mode_source=modes[h][1], clamp_mode_evidence=modes[h][2], _clamp_mode=modes[h][0],
                       _path=path) for h in head_ids]
    return channels, heads, warnings


def adc_unit(raw: str, path: str, index: int, name: str) -> UnitInfo:
    """Parse a channel's unit string with a message naming file and channel."""
    return channel_unit(raw, path=path, channel=f"{index} {name!r}")
