"""Reading patch-clamp recordings into one :class:`Recording` model.

``read_recording(path)`` reads ABF 1.x/2.x (pyabf header + numpy.memmap data),
NWB 2 icephys files (pynwb), and, through neo, WinWCP, AxoGraph, WinEDR and
Spike2 files (:data:`READABLE_EXTENSIONS`); also neo objects in memory.  Data come
out per sweep and channel as float64 numpy arrays in mV (voltages) and pA
(currents).  See ``docs/recordings.md`` for the model and the rules (units,
clamp mode, headstages, known traps).

This module is a leaf: it imports numpy, quantities, pyabf and neo (lazily),
never pandas.
"""

from ephys_correct.io._formats import (
    NOT_READABLE,
    READABLE_EXTENSIONS,
    FolderEntry,
    FolderListing,
    SkippedEntry,
    list_recordings,
)
from ephys_correct.io._read import (
    SUPPORTED_EXTENSIONS,
    RecordingIsADirectoryError,
    RecordingNotFoundError,
    RecordingPermissionError,
    read_recording,
)
from ephys_correct.io._recording import (
    CLAMP_MODES,
    HEADSTAGE_CONFIDENCE,
    SIGNAL_KINDS,
    SIGNAL_ROLES,
    Channel,
    CommandUnavailableError,
    Headstage,
    Holding,
    Recording,
    StoredSamplesUnavailableError,
    StoredScaling,
    Tag,
    UnitFix,
)
from ephys_correct.io._units import parse_unit

__all__ = [
    "read_recording",
    "Recording",
    "Channel",
    "Headstage",
    "Holding",
    "Tag",
    "UnitFix",
    "CLAMP_MODES",
    "SIGNAL_KINDS",
    "SUPPORTED_EXTENSIONS",
    "READABLE_EXTENSIONS",
    "NOT_READABLE",
    "SIGNAL_ROLES",
    "HEADSTAGE_CONFIDENCE",
    "list_recordings",
    "FolderListing",
    "FolderEntry",
    "SkippedEntry",
    "CommandUnavailableError",
    "StoredScaling",
    "StoredSamplesUnavailableError",
    "RecordingNotFoundError",
    "RecordingIsADirectoryError",
    "RecordingPermissionError",
    "parse_unit",
]
