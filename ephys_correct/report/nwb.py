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
  monitor in voltage clamp, a current monitor in current clamp); data are
  stored in mV / pA with ``conversion`` 1e-3 / 1e-12 to NWB's volts /
  amperes, exactly (float64);
* per sweep and headstage the corrected command, when the file holds one,
  as ``VoltageClampStimulusSeries`` / ``CurrentClampStimulusSeries``;
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
from ephys_correct.io import CommandUnavailableError
from ephys_correct.correction.corrected import CorrectedRecording
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


def _compressed(data: np.ndarray):
    """gzip (level 4) with the byte shuffle filter: lossless, a few times smaller for patch-clamp traces."""
    from hdmf.backends.hdf5.h5_utils import H5DataIO
    return H5DataIO(data=np.asarray(data), compression="gzip", compression_opts=4, shuffle=True)


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
    prov_json = json.dumps({**prov, "nwb": {"session_start_time_source": start_note,
                                            "metadata": to_jsonable(meta)},
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
            try:
                cmd = _compressed(corrected.command(s, dac))
            except CommandUnavailableError:
                continue
            units = rec.holding[dac].units
            kw = dict(name=f"stimulus_sweep{s:04d}_hs{h.index}_dac{dac}", data=cmd, electrode=electrodes[h.index],
                      starting_time=t0, rate=rate, sweep_number=np.uint32(s), gain=1.0,
                      description=f"corrected command of DAC {dac} '{rec.holding[dac].name}': {sc.formula}")
            if units == "mV" and mode in (None, "voltage_clamp"):
                stimuli[h.index] = VoltageClampStimulusSeries(conversion=1e-3, **kw)
            elif units == "pA":
                stimuli[h.index] = CurrentClampStimulusSeries(conversion=1e-12, **kw)
            else:
                continue
            nwb.add_stimulus(stimuli[h.index])
        for c in rec.channels:
            data = _compressed(corrected.sweep_data(s, c.index))
            sc = corrected.channel_corrections[c.index]
            name = f"sweep{s:04d}_ch{c.index}_{_safe(c.name)}"
            desc = f"channel '{c.name}' ({c.kind}, {c.units}): {sc.formula}" + (f"; {sc.note}" if sc.note else "")
            if c.headstage is None or c.headstage not in electrodes:
                ts = TimeSeries(name=name, data=data, unit=c.units or "n/a", starting_time=t0, rate=rate,
                                description=desc)
                nwb.add_acquisition(ts)
                continue
            h = next(hh for hh in rec.headstages if hh.index == c.headstage)
            mode = h.clamp_mode if h.clamp_mode_known else None
            kw = dict(name=name, data=data, electrode=electrodes[c.headstage], starting_time=t0, rate=rate,
                      sweep_number=np.uint32(s), gain=1.0, description=desc)
            if c.units == "mV" and mode == "current_clamp":
                series = CurrentClampSeries(conversion=1e-3, **kw)
            elif c.units == "mV" and mode == "i_zero":
                series = IZeroClampSeries(conversion=1e-3, **kw)
            elif c.units == "pA" and mode == "voltage_clamp":
                series = VoltageClampSeries(conversion=1e-12, **kw)
            elif c.units == "mV":
                series = PatchClampSeries(unit="volts", conversion=1e-3, **kw)
            elif c.units == "pA":
                series = PatchClampSeries(unit="amperes", conversion=1e-12, **kw)
            else:
                ts = TimeSeries(name=name, data=data, unit=c.units or "n/a", starting_time=t0, rate=rate,
                                description=desc)
                nwb.add_acquisition(ts)
                continue
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
    described in the module docstring and ``docs/reports.md``.

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
