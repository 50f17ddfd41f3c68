"""Which recorded signals belong to which amplifier channel (headstage), from the file's evidence.

:func:`plan_headstages` is the one place that decides it, deterministically,
from what a reader knows before any data are read:

* per ADC channel: units (voltage / current / other), name (command monitors
  such as ``AO #0``, ``I_Com``, ``V command``; numbered names such as
  ``V1``/``I1``), physical ADC number, amplifier telegraph (instrument, and
  the mode when the instrument is a MultiClamp 700);
* per DAC: units, name (Clampex's default names ``AO #n``/``OUT n`` mark an
  output nobody configured), holding level and whether the protocol drives it
  (an epoch table with active epochs or a stimulus file; ABF1 files record
  this for DACs 0 and 1 only, so DACs 2 and 3 of ABF1 are "not recorded").

The physics behind the rules: an amplifier channel in voltage clamp measures
a current (its primary output) and is commanded by a voltage DAC; in current
clamp it measures the membrane potential and is commanded by a current DAC.
Its other output, if recorded, is a *monitor* of the other quantity (the
membrane potential of a voltage-clamped cell, the injected current of a
current-clamped one).  So a current beside the membrane potential of a
current-clamp channel is that channel's monitor, not a second cell, and two
currents on two driven voltage DACs are two cells.

Decision order (see ``docs/recordings.md``, "Signal kind and headstage"):

1. DACs: a DAC whose units are neither a voltage nor a current, or whose
   holding level is no membrane command (beyond +-1000 mV or +-200 nA), commands
   no headstage.  The others are *driven* (waveform), *held* (non-zero
   holding, no waveform), *not recorded* (ABF1 DAC 2/3 at 0) or *idle*.
2. Each driven DAC (index order) takes the first free signal it would measure
   (a current for a voltage DAC, a voltage for a current DAC) whose MultiClamp
   telegraph, if any, agrees; failing that one whose telegraph disagrees
   (reported as a conflict).  Held and not-recorded DACs do the same
   afterwards, but may not take a signal that is the natural monitor of an
   existing headstage.
3. Each headstage takes the first free signal of the other quantity as its
   monitor (same telegraph mode; numbered names such as ``V2``/``I3`` must
   agree).
4. A signal still free opens a headstage on the first idle, configured DAC
   whose units fit it (weak evidence unless it is the only headstage); a
   telegraphed amplifier output may take an idle DAC of the other units
   (conflict) or, with none left, a headstage without DAC.
5. Command monitors join the headstage of their DAC (number in the name, or
   the only headstage whose DAC has their units).
6. Anything left belongs to no headstage, and a warning names it.

Formats without DAC information (and ABF files whose DACs carry no units, as
pyabf's writer leaves them) put every voltage and current on headstage 0,
with a warning when two signals measure the same quantity.

Every decision is written to :attr:`HeadstagePlan.evidence`; weak or
conflicting evidence gives a warning naming the ``headstages=`` override that
states the truth instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ephys_correct.io._units import CURRENT, VOLTAGE

__all__ = [
    "HeadstagePlan",
    "PlanWarning",
    "plan_headstages",
    "TELEGRAPH_INSTRUMENTS",
    "VOLTAGE_COMMAND_LIMIT_MV",
    "CURRENT_COMMAND_LIMIT_PA",
]

#: a voltage DAC holding beyond this is not a membrane-potential command (MultiClamp 700B VC range +-1000 mV)
VOLTAGE_COMMAND_LIMIT_MV = 1000.0
#: a current DAC holding beyond this is not a current-clamp command (MultiClamp 700B IC range +-200 nA)
CURRENT_COMMAND_LIMIT_PA = 200_000.0

#: ABF nTelegraphInstrument codes (pyabf.names.getTelegraphName, from Axon's ABFHEADR.H)
TELEGRAPH_INSTRUMENTS = {
    0: "unknown instrument", 1: "Axopatch-1 (CV-4-1/100)", 2: "Axopatch-1 (CV-4-0.1/100)",
    3: "Axopatch-1B (CV-4-1/100)", 4: "Axopatch-1B (CV-4-0.1/100)", 5: "Axopatch 200 (CV 201)",
    6: "Axopatch 200 (CV 202)", 7: "GeneClamp", 8: "Dagan 3900", 9: "Dagan 3900A", 10: "Dagan CA-1",
    11: "Dagan CA-1", 12: "Dagan CA-1", 13: "Warner OC-725", 14: "Warner OC-725", 15: "Axopatch 200B",
    16: "Dagan PC-ONE", 17: "Dagan PC-ONE", 18: "Dagan PC-ONE", 19: "Dagan PC-ONE", 20: "Warner BC-525C",
    21: "Warner PC-505", 22: "Warner PC-501", 23: "Dagan CA-1", 24: "MultiClamp 700", 25: "Turbo Tec",
    26: "OpusXpress 6000A", 27: "Axoclamp 900",
}

VC, CC, I0 = "voltage_clamp", "current_clamp", "i_zero"
_MEASURED = {VC: CURRENT, CC: VOLTAGE, I0: VOLTAGE}
_OTHER_DIM = {VOLTAGE: CURRENT, CURRENT: VOLTAGE}
_QUANTITY = {VOLTAGE: "voltage", CURRENT: "current"}

# command monitors: "AO #0", "AO 1", "Cmd", "Command", "Vcmd", "I cmd", "I_Com", "V command", "Stim"
_COMMAND_NAME = re.compile(
    r"^\s*(ao\b|ao\s*#|cmd|command|[vi][\s_-]*cmd|[vi][\s_-]*com(mand)?\b|stim)", re.IGNORECASE)
_COMMAND_DAC = re.compile(r"^\s*(?:ao|cmd|command)\s*#?\s*(\d+)\s*$", re.IGNORECASE)
# Clampex's names for an analog output nobody configured (and blank names)
_GENERIC_DAC = re.compile(r"^\s*(?:(?:ao|out|dac)\s*#?\s*\d*)?\s*$", re.IGNORECASE)
# numbered signal names that tie a voltage and a current together: V1/I1, Vm 2/Im 2, Vm_3/Imemb_3
_NUMBERED = re.compile(r"^\s*([vi])(?:m|mem|memb)?[\s_-]*(\d+)\s*$", re.IGNORECASE)


def is_command_name(name: str) -> bool:
    """True when a channel name says it records a command (a DAC read back)."""
    return bool(_COMMAND_NAME.match(name or ""))


def _mode_dim(mode: str) -> str:
    return _MEASURED[mode]


def _compatible(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b or {a, b} <= {CC, I0}


@dataclass(frozen=True)
class PlanWarning:
    """A warning of the plan, with the channels and DACs it is about.

    A warning whose channels the user has all placed with ``headstages=``
    (any of them, when *any_channel* is set) is dropped: the user has stated
    what the file could not.
    """

    message: str
    channels: frozenset = frozenset()
    dacs: frozenset = frozenset()
    any_channel: bool = False


@dataclass(frozen=True)
class HeadstagePlan:
    """The outcome of :func:`plan_headstages`.

    Attributes
    ----------
    headstage : tuple of (int or None)
        Per channel, its headstage.
    role : tuple of (str or None)
        Per channel, the part it plays as assigned: ``"measured"`` (the
        quantity the clamp measures), ``"monitor"`` (the amplifier's other
        output), ``"command"`` (a DAC read back) or None.  The final role is
        recomputed from the clamp mode (see ``_clamp.assign``).
    dac : dict
        Headstage -> its DAC (None for a headstage without DAC).
    confidence : dict
        Headstage -> ``"strong"`` (a driven or held DAC with the signal it
        measures), ``"inferred"`` (the only headstage, on a DAC the protocol
        does not drive; or a format without DAC information) or ``"weak"``
        (a guess the warnings explain).
    notes : dict
        Headstage -> evidence notes about it.
    evidence : tuple of str
        Every decision, in order, as one sentence each.
    warnings : tuple of PlanWarning
        Weak or conflicting evidence.
    dac_status : dict
        DAC -> ``"driven"``, ``"held"``, ``"not recorded"``, ``"idle"`` or ``"excluded"``.
    """

    headstage: tuple
    role: tuple
    dac: dict
    confidence: dict
    notes: dict
    evidence: tuple
    warnings: tuple
    dac_status: dict = field(default_factory=dict)


@dataclass
class _Sig:
    index: int
    name: str
    dim: str  # VOLTAGE, CURRENT or other
    command: bool
    command_dac: int | None
    mode: str | None  # MultiClamp telegraph mode
    instrument: int | None  # any enabled telegraph
    numbered: tuple | None

    @property
    def label(self) -> str:
        return f"channel {self.index} {self.name!r}"


@dataclass
class _Dac:
    index: int
    name: str
    file_units: str
    dim: str
    holding: float | None  # in mV / pA
    status: str
    why: str
    generic: bool

    @property
    def label(self) -> str:
        return f"DAC {self.index} {self.name!r}" if self.name else f"DAC {self.index}"

    @property
    def mode(self) -> str:
        return VC if self.dim == VOLTAGE else CC


@dataclass
class _Head:
    key: int
    dac: _Dac | None
    primary: int | None = None
    monitor: int | None = None
    members: list = field(default_factory=list)
    confidence: str = "strong"
    origin: str = ""
    notes: list = field(default_factory=list)

    def mode(self, sigs) -> str | None:
        if self.primary is not None and sigs[self.primary].mode is not None:
            return sigs[self.primary].mode
        for i in self.members:
            if sigs[i].mode is not None:
                return sigs[i].mode
        return self.dac.mode if self.dac is not None else None


def _fmt_hold(d: _Dac) -> str:
    if d.holding is None:
        return "holding not recorded"
    return f"holding {d.holding:g} {'mV' if d.dim == VOLTAGE else 'pA'}"


def _unused(d: _Dac) -> str:
    if d.status == "idle":
        return f", which the protocol does not use ({d.why})"
    return f" ({d.why})"


def _classify_dac(spec) -> _Dac:
    V = VOLTAGE
    dim = spec.unit.dimension
    generic = bool(_GENERIC_DAC.match(spec.name or ""))
    hold = getattr(spec, "holding", None)
    hold_conv = None
    if hold is not None and isinstance(hold, (int, float)) and math.isfinite(hold) and abs(hold) < 1e6:
        hold_conv = float(hold) * spec.unit.factor if dim in (VOLTAGE, CURRENT) else float(hold)
    use = getattr(spec, "use", None)
    d = _Dac(spec.index, spec.name, spec.file_units, dim, hold_conv, "idle", "", generic)
    if dim not in (VOLTAGE, CURRENT):
        d.status, d.why = "excluded", f"units {spec.file_units or 'blank'!r} are neither a voltage nor a current"
        return d
    limit = VOLTAGE_COMMAND_LIMIT_MV if dim == V else CURRENT_COMMAND_LIMIT_PA
    if hold_conv is not None and abs(hold_conv) > limit:
        d.status = "excluded"
        d.why = (f"{_fmt_hold(d)} is no membrane command (beyond +-{limit:g} "
                 f"{'mV' if dim == V else 'pA'})")
        return d
    held = hold_conv is not None and hold_conv != 0.0
    if use in ("epochs", "file"):
        d.status = "driven"
        d.why = "drives " + ("an epoch waveform" if use == "epochs" else "a stimulus-file waveform")
    elif held:
        d.status, d.why = "held", f"{_fmt_hold(d)}, no waveform" if use == "none" else f"{_fmt_hold(d)}"
    elif use is None and not generic:
        d.status = "not recorded"
        d.why = f"{_fmt_hold(d)}; whether the protocol drives it is not recorded in the file"
    else:
        d.status = "idle"
        d.why = f"{_fmt_hold(d)}, no waveform" + (" (default name: not configured)" if generic else "")
    return d


def _signal(a, dim: str) -> _Sig:
    name = a.name or ""
    cmd = is_command_name(name)
    m = _COMMAND_DAC.match(name) if cmd else None
    mode = None
    tele = getattr(a, "telegraph", None)
    if tele is not None:
        mode = {0: VC, 1: CC, 2: I0}.get(tele)
    inst = getattr(a, "telegraph_instrument", None)
    if inst is None and tele is not None:
        inst = 24
    num = _NUMBERED.match(name)
    return _Sig(a.index, name, dim, cmd, int(m.group(1)) if m else None, mode, inst,
                (num.group(1).lower(), int(num.group(2))) if num else None)


def _describe_sig(s: _Sig) -> str:
    parts = [s.label, f"({_QUANTITY.get(s.dim, 'no electrical unit')}"]
    if s.instrument is not None:
        inst = TELEGRAPH_INSTRUMENTS.get(s.instrument, f"instrument {s.instrument}")
        parts[-1] += f"; {inst} telegraph" + (f" says {s.mode}" if s.mode else "")
    parts[-1] += ")"
    return " ".join(parts)


def plan_headstages(path: str, adcs: Sequence, dacs: Sequence, *, abf: bool, dims: Sequence[str] | None = None
                    ) -> HeadstagePlan:
    """Assign channels to headstages (amplifier channels) from the file's evidence.

    Parameters
    ----------
    path : str
        File path (named in the evidence and warnings).
    adcs : sequence of AdcSpec
        The channels in sampling order (``index``, ``name``, ``unit``,
        ``telegraph`` = valid MultiClamp mode or None, ``telegraph_instrument``).
    dacs : sequence of DacSpec
        The DACs (``index``, ``name``, ``file_units``, ``unit``, ``holding`` in
        file units or None, ``use`` = ``"epochs"``, ``"file"``, ``"none"`` or
        None when the file does not record it).  Empty for formats without
        command information.
    abf : bool
        True for ABF files (headstage *k* is commanded by DAC *k*).
    dims : sequence of str, optional
        Per channel, the unit dimension to use (after a user unit fix);
        defaults to ``adc.unit.dimension``.

    Returns
    -------
    HeadstagePlan
    """
    dims = list(dims) if dims is not None else [a.unit.dimension for a in adcs]
    sigs = [_signal(a, dims[i]) for i, a in enumerate(adcs)]
    n = len(sigs)
    electrical = [s.dim in (VOLTAGE, CURRENT) for s in sigs]
    evidence: list[str] = []
    warnings: list[PlanWarning] = []
    hs: list[int | None] = [None] * n
    role: list[str | None] = [None] * n

    dlist = [_classify_dac(d) for d in dacs] if abf else []
    any_electrical_dac = any(d.dim in (VOLTAGE, CURRENT) for d in dlist)

    # ---------------------------------------------------------------- no DAC information
    if not any_electrical_dac:
        if abf and dlist:
            why = "no DAC has voltage or current units (header without command information)"
        else:
            why = "the format records no amplifier (DAC or telegraph) information"
        members = [i for i in range(n) if electrical[i]]
        for i in members:
            hs[i] = 0
            role[i] = "command" if sigs[i].command else None
        notes = []
        if members:
            evidence.append(f"{path}: {why}: every voltage and current channel is put on headstage 0")
            notes.append(why)
            for dim in (VOLTAGE, CURRENT):
                same = [i for i in members if sigs[i].dim == dim and not sigs[i].command]
                if len(same) > 1:
                    labels = ", ".join(f"{i} {sigs[i].name!r}" for i in same)
                    k = same[1]
                    warnings.append(PlanWarning(
                        f"{path}: channels {labels} are all {_QUANTITY[dim]}s but {why}; they were all put on "
                        f"headstage 0. If they are separate cells, say which belongs where, e.g. "
                        f"headstages={{{k}: 1}}.", frozenset(same), any_channel=True))
        return HeadstagePlan(tuple(hs), tuple(role), {0: 0 if (abf and dlist) else None} if members else {},
                             {0: "inferred"} if members else {}, {0: tuple(notes)} if members else {},
                             tuple(evidence), tuple(warnings), {d.index: d.status for d in dlist})

    for d in dlist:
        if d.status == "excluded":
            evidence.append(f"{path}: {d.label} ({d.file_units or 'no unit'}): {d.why}; it commands no headstage")
        else:
            evidence.append(f"{path}: {d.label} ({d.file_units}): {d.why}")

    heads: dict[int, _Head] = {}
    free = [i for i in range(n) if electrical[i] and not sigs[i].command]

    def name_ok(h: _Head, i: int) -> bool:
        ref = h.primary if h.primary is not None else (h.members[0] if h.members else None)
        if ref is None:
            return True
        a, b = sigs[ref].numbered, sigs[i].numbered
        return not (a and b and a[1] != b[1])

    def monitor_candidate(h: _Head, i: int) -> bool:
        mode = h.mode(sigs)
        if mode is None or h.monitor is not None:
            return False
        return (sigs[i].dim == _OTHER_DIM[_mode_dim(mode)] and _compatible(sigs[i].mode, mode)
                and name_ok(h, i))

    def reserved(i: int) -> bool:
        return any(monitor_candidate(h, i) for h in heads.values())

    def pick_primary(d: _Dac, reserve: bool) -> tuple[int | None, str]:
        want = _mode_dim(d.mode)
        pool = [i for i in free if not (reserve and reserved(i))]
        for i in pool:
            if sigs[i].dim == want and _compatible(sigs[i].mode, d.mode):
                return i, ""
        for i in pool:
            if sigs[i].dim == want:
                return i, (f"the {TELEGRAPH_INSTRUMENTS[24]} telegraph of {sigs[i].label} says {sigs[i].mode}, "
                           f"but {d.label} is in {d.file_units} (a {_QUANTITY[d.dim]} command)")
        for i in pool:
            if sigs[i].mode is not None and sigs[i].dim == _mode_dim(sigs[i].mode):
                return i, (f"the {TELEGRAPH_INSTRUMENTS[24]} telegraph of {sigs[i].label} says {sigs[i].mode}, "
                           f"but {d.label} is in {d.file_units} (a {_QUANTITY[d.dim]} command)")
        return None, ""

    def take(h: _Head, i: int, what: str) -> None:
        free.remove(i)
        h.members.append(i)
        hs[i] = h.key
        role[i] = what
        if what == "measured":
            h.primary = i
        elif what == "monitor":
            h.monitor = i

    def add_monitor(h: _Head) -> None:
        for i in list(free):
            if monitor_candidate(h, i):
                take(h, i, "monitor")
                mode = h.mode(sigs)
                desc = ("the membrane potential" if _mode_dim(mode) == VOLTAGE else "the current")
                evidence.append(
                    f"{path}: {_describe_sig(sigs[i])}: monitor of headstage {h.key} (the amplifier's other output: "
                    f"a {_QUANTITY[sigs[i].dim]} beside {desc} of a {mode} channel, not a second cell)")
                h.notes.append(f"{sigs[i].label}: monitor")
                return

    def head_from_dac(d: _Dac, reserve: bool, origin: str) -> None:
        i, conflict = pick_primary(d, reserve)
        if i is None and d.status != "driven":
            return  # a held or unrecorded DAC opens a headstage only with a signal it measures
        h = _Head(d.index, d, origin=origin)
        heads[d.index] = h
        if i is not None:
            take(h, i, "measured")
            evidence.append(f"{path}: {_describe_sig(sigs[i])}: measured signal of headstage {d.index} "
                            f"(commanded by {d.label}, {d.status})")
            h.notes.append(f"{d.label} ({d.file_units}, {d.why}); {sigs[i].label}: measured signal")
            if conflict:
                h.confidence = "weak"
                warnings.append(PlanWarning(
                    f"{path}: headstage {d.index}: {conflict}; the channel was kept on headstage {d.index} and its "
                    f"telegraph decides the clamp mode. If {d.label} does not command it, pass "
                    f"headstages={{{i}: <headstage>}} (or None).", frozenset({i}), frozenset({d.index})))
            if d.status == "not recorded":
                h.confidence = "weak"
                warnings.append(PlanWarning(
                    f"{path}: {sigs[i].label} was put on headstage {d.index} (commanded by {d.label}), but the file "
                    f"does not record whether the protocol uses {d.label} (ABF1 keeps waveform settings for DACs 0 "
                    f"and 1 only): weak evidence. If it belongs elsewhere, pass headstages={{{i}: <headstage>}}.",
                    frozenset({i}), frozenset({d.index})))
        else:
            h.notes.append(f"{d.label} ({d.file_units}, {d.why}); no signal it would measure")

    # ---------------------------------------------------------------- 1. driven DACs, 2. held / unrecorded DACs
    for d in dlist:
        if d.status == "driven":
            head_from_dac(d, reserve=False, origin="driven")
    for d in dlist:
        if d.status in ("held", "not recorded"):
            head_from_dac(d, reserve=True, origin=d.status)
    # ---------------------------------------------------------------- 3. monitors
    for k in sorted(heads):
        add_monitor(heads[k])

    # ---------------------------------------------------------------- 4. idle DACs (and none) for what is left
    spare = [d for d in dlist if d.status in ("idle", "not recorded") and not d.generic and d.index not in heads]
    extra_key = len(dlist)
    opened: list[_Head] = []
    for i in list(free):
        if i not in free:
            continue
        s = sigs[i]
        mode = s.mode or (CC if s.dim == VOLTAGE else VC)
        fit = [d for d in spare if _compatible(d.mode, mode)]
        conflict = ""
        d = fit[0] if fit else None
        if d is None and s.instrument is not None and spare:
            d = spare[0]
            conflict = (f"it is an amplifier output ({TELEGRAPH_INSTRUMENTS.get(s.instrument, 'telegraph')} telegraph"
                        + (f": {s.mode}" if s.mode else "") + f") but the first unused configured DAC, {d.label}, is "
                        f"in {d.file_units} (a {_QUANTITY[d.dim]} command)")
        if d is None and not heads:
            # the only amplifier channel: its DAC even if the units do not fit (clamp mode from other evidence)
            rest = [x for x in dlist if x.status != "excluded" and x.index not in heads]
            rest.sort(key=lambda x: (x.generic, x.index))
            if rest:
                d = rest[0]
                spare = [x for x in spare if x is not d]
                spare.insert(0, d)
                conflict = "sole"
        if d is not None:
            spare.remove(d)
            h = _Head(d.index, d, origin="idle")
        elif s.instrument is not None:
            h = _Head(extra_key, None, origin="none")
            extra_key += 1
        else:
            continue
        heads[h.key] = h
        opened.append(h)
        take(h, i, "measured")
        if conflict == "sole":
            conflict = ""
            evidence.append(f"{path}: {_describe_sig(s)}: the only amplifier channel; no DAC's units fit it, so the "
                            f"first configured DAC, {d.label} ({d.file_units}), is taken as its command")
            h.notes.append(f"{d.label} ({d.file_units}, {d.why}); {s.label}: the only signal")
        elif d is not None:
            evidence.append(f"{path}: {_describe_sig(s)}: measured signal of headstage {h.key} on {d.label} "
                            f"({d.file_units}){_unused(d)}")
            h.notes.append(f"{d.label} ({d.file_units}, {d.why}); {s.label}: measured signal")
        else:
            evidence.append(f"{path}: {_describe_sig(s)}: an amplifier output with no DAC left for it: "
                            f"headstage {h.key} without DAC")
            h.notes.append(f"no DAC; {s.label}: measured signal")
        if conflict:
            h.notes.append(conflict)
            h.origin = "conflict"
        add_monitor(h)
    for h in opened:
        only = len(heads) == 1 and h.origin == "idle"
        if only:
            h.confidence = "inferred"
            evidence.append(f"{path}: headstage {h.key} is the only amplifier channel; no DAC is used by the "
                            f"protocol, so {h.dac.label} (units fit) is taken as its command")
            continue
        h.confidence = "weak"
        i = h.primary
        others = sorted(k for k in heads if k != h.key)
        alt = f"headstages={{{i}: {others[0]}}}" if others else f"headstages={{{i}: None}}"
        if h.dac is None:
            where = "a headstage without DAC (no unused configured DAC is left)"
        elif h.origin == "conflict":
            where = f"{h.dac.label}; {h.notes[-1]}"
        else:
            where = f"{h.dac.label}{_unused(h.dac)}"
        warnings.append(PlanWarning(
            f"{path}: {sigs[i].label} was put on headstage {h.key} as a separate amplifier channel on {where}: "
            f"weak evidence that it is another cell. If it is an output of an existing headstage pass {alt}; "
            f"to leave it out, headstages={{{i}: None}}.", frozenset(h.members), frozenset()))

    # ---------------------------------------------------------------- 5. command monitors
    for i in range(n):
        s = sigs[i]
        if not s.command or not electrical[i]:
            continue
        target = None
        if s.command_dac is not None:
            if s.command_dac in heads:
                target = heads[s.command_dac]
                why = f"its name reads back DAC {s.command_dac}"
            else:
                evidence.append(f"{path}: {s.label}: reads back DAC {s.command_dac}, which commands no headstage")
        else:
            same = [h for h in heads.values() if h.dac is not None and h.dac.dim == s.dim]
            if len(same) == 1:
                target = same[0]
                why = f"its units match {same[0].dac.label}, the only {_QUANTITY[s.dim]} command"
            elif same:
                warnings.append(PlanWarning(
                    f"{path}: {s.label} is a command monitor but {len(same)} headstages have {_QUANTITY[s.dim]} "
                    f"commands; it was put on no headstage. Pass headstages={{{i}: <headstage>}}.",
                    frozenset({i})))
            else:
                evidence.append(f"{path}: {s.label}: a command monitor ({_QUANTITY[s.dim]}) that matches no "
                                "headstage's DAC; it belongs to no headstage")
        if target is not None:
            target.members.append(i)
            hs[i] = target.key
            role[i] = "command"
            evidence.append(f"{path}: {_describe_sig(s)}: command monitor of headstage {target.key} ({why})")
            target.notes.append(f"{s.label}: command monitor")

    # ---------------------------------------------------------------- 6. the rest
    if free:
        labels = ", ".join(f"{i} {sigs[i].name!r}" for i in free)
        one = len(free) == 1
        warnings.append(PlanWarning(
            f"{path}: {'channel' if one else 'channels'} {labels} {'is a voltage or current' if one else 'are voltages or currents'} "
            f"that the header ties to no amplifier channel (no used or configured DAC left whose units fit, no "
            f"telegraph): {'it belongs' if one else 'they belong'} to no headstage (kind 'other'; not corrected). "
            f"If {'it' if one else 'one'} is a membrane potential or current, place it with "
            f"headstages={{{free[0]}: <headstage>}}.", frozenset(free)))

    # driven / held DACs that ended up with no signal
    for d in dlist:
        if d.status not in ("driven", "held"):
            continue
        h = heads.get(d.index)
        if h is not None and h.members:
            continue
        heads.pop(d.index, None)
        alt = ""
        for k in sorted(heads):
            m = heads[k].monitor
            if m is not None and sigs[m].dim == _mode_dim(d.mode):
                alt = (f" {sigs[m].label} was taken as the monitor of headstage {k}; if it is instead the "
                       f"{_QUANTITY[sigs[m].dim]} of a cell commanded by {d.label}, pass headstages={{{m}: {d.index}}}.")
                break
        warnings.append(PlanWarning(
            f"{path}: {d.label} ({d.file_units}) {d.why}, but no recorded channel belongs to it, so it commands no "
            f"headstage and its holding/command is not corrected as any cell's.{alt or ' If a channel belongs to it, pass headstages={<channel>: ' + str(d.index) + '}.'}",
            frozenset(), frozenset({d.index})))
    for k in [k for k, h in heads.items() if not h.members]:
        heads.pop(k)

    return HeadstagePlan(
        headstage=tuple(hs), role=tuple(role),
        dac={k: (h.dac.index if h.dac is not None else None) for k, h in sorted(heads.items())},
        confidence={k: h.confidence for k, h in sorted(heads.items())},
        notes={k: tuple(h.notes) for k, h in sorted(heads.items())},
        evidence=tuple(evidence), warnings=tuple(warnings), dac_status={d.index: d.status for d in dlist})
