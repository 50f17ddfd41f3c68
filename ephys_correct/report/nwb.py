"""Write a corrected recording to NWB (Neurodata Without Borders) with its provenance.

Requires pynwb (optional extra: ``pip install 'ephys_correct[nwb]'``); it is
imported only when :func:`write_nwb` or :func:`read_nwb_provenance` is called.

Layout (``docs/reports.md``)
----------------------------
* one :class:`~pynwb.icephys.IntracellularElectrode` per headstage
  (``headstage<k>``), whose ``description`` states the pipette solution
  (name, SHA-256, ions), the bath, the LJP V_L and how it was computed and
  applied, and the configuration;
* per sweep and channel a response series with the **corrected** data:
  ``CurrentClampSeries`` (membrane potential, current clamp),
  ``IZeroClampSeries`` (I=0), ``VoltageClampSeries`` (membrane current,
  voltage clamp), ``PatchClampSeries`` for other headstage signals (a voltage
  monitor in voltage clamp, a current monitor in current clamp).  ``data``
  are the file's integer samples (:meth:`Recording.stored_sweep_data`,
  int16 for ABF), ``conversion`` and ``offset`` the header's scaling, the
  unit factor to volts / amperes and the correction (a sign and an offset),
  so that ``data * conversion + offset`` is the corrected value; float64
  corrected values (``conversion`` 1e-3 / 1e-12, ``offset`` 0) where the file
  has no integers or the correction is no single offset for the sweep (the
  series' description and the provenance ``nwb.storage`` say which);
  gzip + shuffle, chunked;
* per sweep and headstage the command, when the file holds one, as
  ``VoltageClampStimulusSeries`` / ``CurrentClampStimulusSeries``: the
  protocol's values (float32 when exact) with the correction in
  ``conversion`` and ``offset``;
* responses and stimuli linked in the ``intracellular_recordings`` table,
  grouped per sweep in ``icephys_simultaneous_recordings``;
* channels of no headstage as plain ``TimeSeries`` in acquisition;
* NWB has no field for the LJP or the solutions (nwb-schema #415): the
  ephys_correct provenance JSON is stored in ``NWBFile.notes`` (after a
  human-readable summary) and as scratch data ``ephys_correct_provenance``,
  and written beside the file as ``<stem>.ephys_correct_provenance.json``
  (no ``.nwb`` in the name: NWB tools collect files by ``*.nwb*`` -- e.g.
  ``nwbinspector <folder>`` -- and would try to open a ``<name>.nwb.json``);
* session metadata (subject, experimenter, institution, lab, session
  description, cell ids) from a metadata mapping with neuroconv-like
  sections ``NWBFile`` and ``Subject`` (:func:`load_nwb_metadata` reads it
  from JSON, TOML or YAML).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from ephys_correct._version import __version__
from ephys_correct._validate import check_flag
from ephys_correct.errors import MissingDependencyError, ParameterError
from ephys_correct.io import CommandUnavailableError, StoredSamplesUnavailableError
from ephys_correct.correction.corrected import CorrectedRecording
from ephys_correct.correction.sign import apply_current_sign, apply_ljp
from ephys_correct._fileio import atomic_write, to_jsonable

__all__ = ["write_nwb", "read_nwb_provenance", "nwb_sidecar_path", "load_nwb_metadata", "check_nwb_metadata",
           "PROVENANCE_SCRATCH_NAME", "NWBFILE_KEYS", "SUBJECT_KEYS"]

#: keys accepted in the ``NWBFile`` section of the metadata (pynwb.NWBFile arguments; ``cell_id`` goes to the
#: electrodes: a string, or a mapping headstage -> string)
NWBFILE_KEYS = ("session_description", "experimenter", "institution", "lab", "experiment_description",
                "session_id", "keywords", "related_publications", "pharmacology", "slices", "surgery",
                "virus", "data_collection", "stimulus_notes", "cell_id")
#: keys accepted in the ``Subject`` section (pynwb.file.Subject arguments)
SUBJECT_KEYS = ("subject_id", "species", "age", "sex", "description", "genotype", "strain", "weight",
                "date_of_birth", "age__reference")

#: name of the scratch dataset holding the provenance JSON
PROVENANCE_SCRATCH_NAME = "ephys_correct_provenance"
_NOTES_MARKER = "ephys_correct provenance (JSON):\n"


def _need_pynwb():
    try:
        import pynwb
    except ImportError as exc:
        raise MissingDependencyError(
            "Writing NWB files needs pynwb, which is not installed: pip install 'ephys_correct[nwb]' "
            "(or pip install pynwb)."
        ) from exc
    return pynwb


def nwb_sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON provenance written beside an NWB file: ``<stem>.ephys_correct_provenance.json``.

    The name holds no ``.nwb``: tools that collect NWB files by the pattern
    ``*.nwb*`` (nwbinspector on a folder) must not try to open it.

    Parameters
    ----------
    path : str or os.PathLike
        The NWB file.

    Returns
    -------
    pathlib.Path
        The sidecar's path (the file's stem + ``.ephys_correct_provenance.json``, same folder).

    Examples
    --------
    >>> nwb_sidecar_path("results/cell7.nwb").name
    'cell7.ephys_correct_provenance.json'
    """
    p = Path(path)
    return p.with_name(p.stem + ".ephys_correct_provenance.json")


def check_nwb_metadata(metadata: Any, where: str = "NWB metadata") -> dict[str, dict[str, Any]]:
    """Validate a metadata mapping (sections ``NWBFile`` and ``Subject``).

    Parameters
    ----------
    metadata : Mapping or None
        ``{"NWBFile": {...}, "Subject": {...}}``; keys listed in
        :data:`NWBFILE_KEYS` and :data:`SUBJECT_KEYS`.
    where : str
        Named in error messages (e.g. the metadata file).

    Returns
    -------
    dict
        ``{"NWBFile": dict, "Subject": dict}`` (empty sections when absent).

    Raises
    ------
    ParameterError
        An unknown section or key, or a value of the wrong type.
    """
    if metadata is None:
        return {"NWBFile": {}, "Subject": {}}
    if not isinstance(metadata, dict):
        raise ParameterError(f"{where}: expected a mapping with sections 'NWBFile' and 'Subject', "
                             f"got {type(metadata).__name__}")
    out: dict[str, dict[str, Any]] = {"NWBFile": {}, "Subject": {}}
    allowed = {"NWBFile": NWBFILE_KEYS, "Subject": SUBJECT_KEYS}
    for section, values in metadata.items():
        if section not in allowed:
            raise ParameterError(f"{where}: unknown section {section!r}; allowed: 'NWBFile', 'Subject'")
        if not isinstance(values, dict):
            raise ParameterError(f"{where}: section {section!r} must be a mapping, got {values!r}")
        for key, value in values.items():
            if key not in allowed[section]:
                raise ParameterError(f"{where}: unknown key {section}.{key} = {value!r}; allowed: "
                                     f"{', '.join(allowed[section])}")
            if key in ("experimenter", "keywords", "related_publications") and isinstance(value, str):
                value = [value]
            ok = (isinstance(value, (str, int, float)) or
                  (isinstance(value, list) and all(isinstance(v, str) for v in value)) or
                  (key == "cell_id" and isinstance(value, dict)) or
                  (key == "date_of_birth" and isinstance(value, _dt.datetime)))
            if not ok or isinstance(value, bool):
                raise ParameterError(f"{where}: {section}.{key} has an unusable value {value!r}")
            if isinstance(value, (int, float)) and key != "weight":
                value = str(value)  # e.g. subject_id = 42 in TOML: NWB stores text
            out[section][key] = value
    return out


def load_nwb_metadata(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Read session metadata for :func:`write_nwb` from a JSON, TOML or YAML file.

    Parameters
    ----------
    path : str or os.PathLike
        ``.json``, ``.toml``, ``.yaml``/``.yml``; sections ``NWBFile`` and
        ``Subject`` as in neuroconv metadata files.

    Returns
    -------
    dict
        As :func:`check_nwb_metadata`.

    Raises
    ------
    ParameterError
        Unknown suffix, unparsable file, unknown section or key.
    FileNotFoundError
        The file does not exist.
    """
    p = Path(os.fspath(path))
    text = p.read_text(encoding="utf-8")
    suffix = p.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            from ephys_correct._resources import tomllib
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError as exc:
                raise MissingDependencyError(f"{p}: reading YAML needs PyYAML (pip install pyyaml), "
                                             "or write the metadata as JSON or TOML") from exc
            data = yaml.safe_load(text)
        else:
            raise ParameterError(f"{p}: NWB metadata must be .json, .toml, .yaml or .yml, got suffix {suffix!r}")
    except (ValueError, ImportError) as exc:
        if isinstance(exc, (ParameterError, MissingDependencyError)):
            raise
        raise ParameterError(f"{p}: cannot parse the NWB metadata: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError does not subclass ValueError
        raise ParameterError(f"{p}: cannot parse the NWB metadata: {exc}") from exc
    return check_nwb_metadata(data, str(p))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "ch"


def _electrode_description(corrected, hs) -> str:
    hc = corrected.headstage_correction(hs)
    pip = hc.pipette
    bath = corrected.bath
    ions = ", ".join(f"{k} {v:g}" for k, v in pip.ions_mm.items())
    bions = ", ".join(f"{k} {v:g}" for k, v in bath.ions_mm.items())
    how = ("user-supplied" if hc.ljp_source == "user" else
           f"computed ({hc.ljp.method}, {'concentrations' if hc.ljp.activity_model is None else hc.ljp.activity_model}"
           f", {hc.ljp.temperature_c:g} degC)")
    return (
        f"pipette solution: {pip.name} ({_ident(pip)}; mM: {ions}). "
        f"bath at zeroing: {bath.name} ({_ident(bath)}; mM: {bions}). "
        f"configuration: {corrected.configuration.name}. "
        f"LJP V_L = {hc.ljp_mv:.6g} mV (bath relative to pipette), {how}; "
        f"{hc.ljp_applied_online_mv:.6g} mV of it applied online, {hc.applied_offline_mv:.6g} mV by ephys_correct "
        f"{__version__}. Stored data are LJP-corrected membrane potentials (V_in - V_out) and membrane currents "
        "(outward positive); see the file notes for the full provenance."
    )


def _ident(sol) -> str:
    """Short identity text: the recipe file's sha256, else the rounded composition's."""
    if sol.source_sha256:
        return f"recipe file sha256 {sol.source_sha256}" + (", derived" if sol.derived_from else "")
    return f"composition sha256 {sol.composition_sha256}"


def _summary(corrected) -> str:
    prov = corrected.provenance
    lines = [
        f"LJP-corrected by ephys_correct {__version__} from {os.path.basename(prov['input_file'])} "
        f"(sha256 {prov['input_sha256']}).",
        f"Configuration: {corrected.configuration.name} ({corrected.configuration.formula}).",
        "LJP V_L (bath relative to pipette) per headstage: "
        + ", ".join(f"{k}: {h.ljp_mv:.6g} mV ({h.ljp_source})" for k, h in corrected.headstage_corrections.items())
        + ".",
        f"Temperatures: recording {corrected.temperature_c:g} degC, zeroing {corrected.zeroing_temperature_c:g} degC.",
        f"Concentrations: {prov.get('concentration_basis')}.",
    ]
    for c in prov.get("caveats", []):
        lines.append(f"Caveat: {c}.")
    return "\n".join(lines)


def _zone(timezone: str | None):
    if timezone is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ParameterError(f"Invalid value for the 'timezone' parameter: {timezone!r} is not an IANA time zone "
                             "(e.g. 'Europe/Berlin').") from exc


def _start_time(rec, timezone: str | None = None) -> tuple[_dt.datetime, str]:
    zone = _zone(timezone)
    if rec.start_time is not None:
        t = rec.start_time
        if t.tzinfo is not None:
            return t, "acquisition start from the file (with its time zone)"
        if zone is not None:
            return t.replace(tzinfo=zone), f"acquisition start from the file (local time; time zone {timezone} as given)"
        t = t.astimezone()
        return t, (f"acquisition start from the file (local time without time zone; ASSUMED the time zone of the "
                   f"writing machine, UTC{t.strftime('%z')}; pass timezone= / --nwb-timezone to state it)")
    t = _dt.datetime.fromtimestamp(os.stat(rec.path).st_mtime, tz=_dt.timezone.utc)
    if zone is not None:
        t = t.astimezone(zone)
    return t, "the file records no acquisition time: modification time of the input file used"


#: bytes per HDF5 chunk of a series (HDF5's advice: 10 KiB - 1 MiB); a shorter sweep is one chunk
_CHUNK_BYTES = 1 << 18
#: NWB's unit and the factor to it, for the package's units
_SI = {"mV": ("volts", 1e-3), "pA": ("amperes", 1e-12)}


def _compressed(data: np.ndarray):
    """gzip (level 4) with the byte shuffle filter, chunked: lossless, several times smaller for patch-clamp traces."""
    from hdmf.backends.hdf5.h5_utils import H5DataIO

    data = np.asarray(data)
    if data.size == 0:
        return data
    chunk = int(min(data.size, max(1, _CHUNK_BYTES // data.dtype.itemsize)))
    return H5DataIO(data=data, compression="gzip", compression_opts=4, shuffle=True, chunks=(chunk,))


def _correction_map(corrected, sc, sweep: int):
    """(a, b) with ``corrected = a * value + b`` for one signal in one sweep, or why there is none.

    The correction of a signal is affine in the recorded value (a sign and
    an offset, :func:`apply_ljp` / :func:`apply_current_sign`); it is probed
    here with the same functions and parameters as
    :meth:`CorrectedRecording.sweep_data`, which the caller checks against.
    A time-based bath schedule that changes the bath within the sweep has
    no single offset for it.
    """
    if sc.quantity == "potential":
        delta = corrected.delta_ref_mv(sweep)
        if np.ndim(delta):  # a time-based schedule: one offset when the bath does not change within the sweep
            if np.size(delta) and np.any(delta != delta[0]):
                return "the bath changes within this sweep (time-based bath schedule): no single offset"
            delta = float(delta[0]) if np.size(delta) else 0.0

        def f(x):
            return apply_ljp(x, ljp_mv=sc.ljp_mv, configuration=corrected.configuration, delta_ref_mv=delta,
                             ljp_applied_online_mv=sc.ljp_applied_online_mv,
                             polarity_inverted_at_acquisition=corrected.polarity_inverted_at_acquisition,
                             resting_potential_mv=corrected.resting_potential_mv)
    elif sc.quantity == "current":
        def f(x):
            return apply_current_sign(x, corrected.configuration, corrected.polarity_inverted_at_acquisition)
    else:
        return 1.0, 0.0
    b = float(f(0.0))
    a = float(f(1.0)) - b
    if abs(abs(a) - 1.0) < 1e-9:  # the correction's slope is a sign; the probe's rounding is not part of it
        a = 1.0 if a > 0 else -1.0
    return a, b


def _matches(approx: np.ndarray, exact: np.ndarray, scale: float) -> bool:
    """approx equals exact within rounding (64 ulp of the larger term)."""
    mag = np.abs(exact) + abs(scale)
    return bool(np.all(np.abs(approx - exact) <= 64 * np.spacing(mag)))


def _storage(corrected) -> dict[int, Any]:
    """Per channel: its StoredScaling, or the reason its values are stored as float64."""
    rec = corrected.recording
    out: dict[int, Any] = {}
    for c in rec.channels:
        try:
            out[c.index] = rec.stored_scaling(c.index)
        except StoredSamplesUnavailableError as exc:
            out[c.index] = f"the file stores no integer samples ({exc})"
    return out


def _storage_provenance(storage) -> dict[str, Any]:
    """The storage of each channel, for the provenance: dtype and the file's scaling, or the float64 reason."""
    out = {}
    for c, st in storage.items():
        if isinstance(st, str):
            out[str(c)] = {"dtype": "float64", "reason": st}
        else:
            out[str(c)] = {"dtype": st.dtype.name, "file_scale": st.scale, "file_offset": st.offset,
                           "units": st.units}
    return out


def _response_data(corrected, storage, s: int, c: int, si: float):
    """(data, conversion, offset, resolution, storage text) of the series of sweep *s*, channel *c*.

    The file's integer samples with ``conversion`` and ``offset`` that give
    the corrected values in NWB's unit (*si*: the factor from the channel's
    units); float64 corrected values when the file has no integers or the
    correction is not one offset for the sweep.
    """
    rec = corrected.recording
    values = corrected.sweep_data(s, c)
    st = storage[c]
    why = st if isinstance(st, str) else None
    if why is None:
        ab = _correction_map(corrected, corrected.channel_corrections[c], s)
        if isinstance(ab, str):
            why = ab
        else:
            a, b = ab
            raw = rec.stored_sweep_data(s, c)
            scale, offset = a * st.scale, a * st.offset + b
            if _matches(raw * scale + offset, values, offset):
                return (raw, scale * si, offset * si, abs(scale) * si,
                        f"stored: the file's {st.dtype.name} samples; corrected value = data * conversion + "
                        f"offset; the file's value ({st.units}) = data * {st.scale!r} + {st.offset!r}")
            why = "the correction is not an offset of the stored samples"
    return values, si, 0.0, -1.0, f"stored: corrected values as float64 ({why})"


def _command_data(corrected, s: int, dac: int, si: float):
    """(data, conversion, offset, storage text) of the command of *dac* in sweep *s*.

    The command as the protocol gives it (float64; stored as float32 when
    that is exact, as for the steps of an ABF epoch table) with the
    correction in ``conversion`` and ``offset``; the corrected command
    (float64) when the correction is not one offset for the sweep.
    """
    rec = corrected.recording
    values = corrected.command(s, dac)
    ab = _correction_map(corrected, corrected.command_corrections[dac], s)
    if not isinstance(ab, str):
        a, b = ab
        cmd = rec.command(s, dac)
        if _matches(cmd * a + b, values, b):
            small = cmd.astype(np.float32)
            if np.array_equal(small, cmd):
                cmd = small
            return (cmd, a * si, b * si, f"stored: the protocol's command ({cmd.dtype.name}); corrected value = "
                                         "data * conversion + offset")
        ab = "the correction is not an offset of the command"
    return values, si, 0.0, f"stored: corrected command as float64 ({ab})"


def _build(corrected, pynwb, metadata=None, timezone=None):
    from pynwb import NWBFile, TimeSeries
    from pynwb.file import Subject
    from pynwb.icephys import (
        CurrentClampSeries,
        CurrentClampStimulusSeries,
        IZeroClampSeries,
        PatchClampSeries,
        VoltageClampSeries,
        VoltageClampStimulusSeries,
    )


    rec = corrected.recording
    prov = corrected.provenance
    start, start_note = _start_time(rec, timezone)
    meta = check_nwb_metadata(metadata)
    file_meta = dict(meta["NWBFile"])
    cell_ids = file_meta.pop("cell_id", None)
    subject = None
    if meta["Subject"]:
        subject = Subject(**meta["Subject"])
    storage = _storage(corrected)
    prov_json = json.dumps({**prov, "nwb": {"session_start_time_source": start_note,
                                            "metadata": to_jsonable(meta),
                                            "storage": _storage_provenance(storage)},
                            "channel_corrections": [c.as_dict() for c in corrected.channel_corrections],
                            "command_corrections": [c.as_dict() for c in corrected.command_corrections]},
                           indent=1)
    file_meta.setdefault("session_description",
                         f"LJP-corrected patch-clamp recording {os.path.basename(rec.path)}")
    nwb = NWBFile(
        identifier=str(uuid.uuid4()),
        session_start_time=start,
        notes=_summary(corrected) + f"\nSession start time: {start_note}.\n\n" + _NOTES_MARKER + prov_json,
        source_script=f"ephys_correct {__version__}",
        source_script_file_name="ephys_correct.nwb.write_nwb",
        protocol=rec.protocol or None,
        subject=subject,
        **file_meta,
    )
    device = nwb.create_device(name="amplifier", description=f"acquired with {rec.creator or 'unknown software'}")
    electrodes = {}
    for h in rec.headstages:
        rs = rec.access_resistance_by_headstage.get(h.index)
        if isinstance(cell_ids, dict):
            cell = cell_ids.get(str(h.index), cell_ids.get(h.index))
        else:
            cell = cell_ids
        electrodes[h.index] = nwb.create_icephys_electrode(
            name=f"headstage{h.index}", device=device, description=_electrode_description(corrected, h.index),
            initial_access_resistance=None if rs is None else f"{rs:g} MOhm",
            cell_id=str(cell) if cell is not None else f"{Path(rec.path).stem} headstage {h.index}",
        )
    rate = float(rec.sample_rate_hz)
    for s in range(rec.n_sweeps):
        t0 = float(rec.sweep_start_s[s] + rec.t_start_s)
        recordings = []
        stimuli = {}
        for h in rec.headstages:
            mode = h.clamp_mode if h.clamp_mode_known else None
            dac = h.dac
            if dac is None or not rec.has_command(dac) or mode == "i_zero":
                continue
            sc = corrected.command_corrections[dac]
            units = rec.holding[dac].units
            if units == "mV" and mode in (None, "voltage_clamp"):
                kind = VoltageClampStimulusSeries
            elif units == "pA":
                kind = CurrentClampStimulusSeries
            else:
                continue
            try:
                cmd, conv, off, how = _command_data(corrected, s, dac, _SI[units][1])
            except CommandUnavailableError:
                continue
            stimuli[h.index] = kind(
                name=f"stimulus_sweep{s:04d}_hs{h.index}_dac{dac}", data=_compressed(cmd), conversion=conv,
                offset=off, electrode=electrodes[h.index], starting_time=t0, rate=rate, sweep_number=np.uint32(s),
                gain=1.0, description=f"corrected command of DAC {dac} '{rec.holding[dac].name}': {sc.formula}; {how}")
            nwb.add_stimulus(stimuli[h.index])
        for c in rec.channels:
            si_unit, si = _SI.get(c.units, (c.units or "n/a", 1.0))
            values, conv, off, res, how = _response_data(corrected, storage, s, c.index, si)
            sc = corrected.channel_corrections[c.index]
            name = f"sweep{s:04d}_ch{c.index}_{_safe(c.name)}"
            desc = (f"channel '{c.name}' ({c.kind}, {c.units}): {sc.formula}" + (f"; {sc.note}" if sc.note else "")
                    + f"; {how}")
            kw = dict(name=name, data=_compressed(values), conversion=conv, offset=off, resolution=res,
                      starting_time=t0, rate=rate, description=desc)
            h = next((hh for hh in rec.headstages if hh.index == c.headstage), None)
            mode = h.clamp_mode if h is not None and h.clamp_mode_known else None
            if h is None or c.headstage not in electrodes or c.units not in _SI:
                nwb.add_acquisition(TimeSeries(unit=si_unit, **kw))
                continue
            kw.update(electrode=electrodes[c.headstage], sweep_number=np.uint32(s), gain=1.0)
            if c.units == "mV" and mode == "current_clamp":
                series = CurrentClampSeries(**kw)
            elif c.units == "mV" and mode == "i_zero":
                series = IZeroClampSeries(**kw)
            elif c.units == "pA" and mode == "voltage_clamp":
                series = VoltageClampSeries(**kw)
            else:
                series = PatchClampSeries(unit=si_unit, **kw)
            nwb.add_acquisition(series)
            stim = stimuli.get(c.headstage)
            if stim is not None:
                idx = nwb.add_intracellular_recording(electrode=electrodes[c.headstage], stimulus=stim,
                                                      response=series)
            else:
                idx = nwb.add_intracellular_recording(electrode=electrodes[c.headstage], response=series)
            recordings.append(idx)
        if recordings:
            nwb.add_icephys_simultaneous_recording(recordings=recordings)
    if rec.tags:
        from pynwb.epoch import TimeIntervals
        tags = TimeIntervals(name="tags", description="tags placed during acquisition (instants: start = stop), "
                                                      "seconds from the start of the recording, with their text")
        tags.add_column(name="comment", description="tag text as stored in the file")
        for tag in rec.tags:
            tags.add_row(start_time=float(tag.time_s), stop_time=float(tag.time_s), comment=tag.comment)
        nwb.add_time_intervals(tags)
    nwb.add_scratch(prov_json, name=PROVENANCE_SCRATCH_NAME,
                    description="ephys_correct provenance of the LJP correction (JSON): LJP and its parts, "
                                "solutions, temperatures, configuration, activity model, input file sha256")
    return nwb, prov_json


def write_nwb(corrected, path: str | os.PathLike, *, overwrite: bool = False, metadata: Any = None,
              timezone: str | None = None) -> Path:
    """Write a corrected recording to an NWB file, with a JSON provenance sidecar.

    Parameters
    ----------
    corrected : CorrectedRecording
    path : str or os.PathLike
        Output ``.nwb`` file; the provenance is also written to
        ``<stem>.ephys_correct_provenance.json`` (:func:`nwb_sidecar_path`).
    overwrite : bool
        Replace existing outputs; otherwise :class:`OutputExistsError`.
    metadata : Mapping, optional
        Session metadata, sections ``NWBFile`` (session_description,
        experimenter, institution, lab, cell_id, ...) and ``Subject``
        (subject_id, species, age, sex, ...); see :func:`load_nwb_metadata`.
        Without a cell_id each electrode's cell is ``"<file stem> headstage <k>"``.
    timezone : str, optional
        IANA time zone of a start time the file stores without one (ABF);
        default the writing machine's, stated in the notes and provenance.

    Returns
    -------
    pathlib.Path

    Notes
    -----
    Both files are written to temporary files in the destination directory
    and moved into place; on failure no partial file remains.  The layout is
    described in the module docstring and ``docs/reports.md``: the file's
    integer samples with ``conversion`` and ``offset`` giving the corrected
    values, each series checked against :meth:`CorrectedRecording.sweep_data`
    before it is written.

    Raises
    ------
    ImportError
        pynwb is not installed.
    OutputExistsError
        An output exists and *overwrite* is False.
    ParameterError
        *corrected* is not a CorrectedRecording, or the suffix is not ``.nwb``.
    """

    if not isinstance(corrected, CorrectedRecording):
        raise ParameterError(
            f"Invalid value for the 'corrected' parameter: expected a CorrectedRecording, got "
            f"{type(corrected).__name__}."
        )
    overwrite = check_flag(overwrite, what="overwrite", where="write_nwb")
    dest = Path(os.fspath(path))
    if dest.suffix.lower() != ".nwb":
        raise ParameterError(f"Invalid value for the 'path' parameter: {str(dest)!r} must end in '.nwb'.")
    pynwb = _need_pynwb()
    nwbfile, prov_json = _build(corrected, pynwb, metadata, timezone)

    def w_nwb(t: Path) -> None:
        with pynwb.NWBHDF5IO(str(t), "w") as io:
            io.write(nwbfile)

    def w_json(t: Path) -> None:
        t.write_text(prov_json + "\n", encoding="utf-8")

    atomic_write([dest, nwb_sidecar_path(dest)], [w_nwb, w_json], overwrite=overwrite)
    return dest


def _scratch_text(data) -> str:
    """The JSON string of the scratch dataset (a scalar string, or a 1-element array)."""
    if isinstance(data, bytes):
        return data.decode("utf-8")
    if isinstance(data, str):
        return data
    value = data[()] if getattr(data, "shape", None) == () else data[0]
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_nwb_provenance(path: str | os.PathLike) -> dict[str, Any]:
    """The ephys_correct provenance stored in an NWB file written by :func:`write_nwb`.

    Read from the scratch dataset ``ephys_correct_provenance``, else from the
    JSON after the marker line in ``NWBFile.notes``.

    Parameters
    ----------
    path : str or os.PathLike
        The NWB file.

    Returns
    -------
    dict
        The provenance (as in ``<stem>.ephys_correct_provenance.json``).

    Raises
    ------
    ParameterError
        The file holds no ephys_correct provenance.
    MissingDependencyError
        pynwb is not installed.
    """
    pynwb = _need_pynwb()
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        if PROVENANCE_SCRATCH_NAME in nwb.scratch:
            return json.loads(_scratch_text(nwb.scratch[PROVENANCE_SCRATCH_NAME].data))
        notes = nwb.notes or ""
    if _NOTES_MARKER in notes:
        return json.loads(notes.split(_NOTES_MARKER, 1)[1])
    raise ParameterError(f"{path}: no ephys_correct provenance in this NWB file")
