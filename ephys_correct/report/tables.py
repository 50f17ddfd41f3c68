"""Table writers and readers (CSV + JSON sidecar, Parquet, xlsx, Markdown/HTML)."""

from __future__ import annotations

import html
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
import numpy as np
import pandas as pd
from ephys_correct._version import __version__
from ephys_correct._validate import check_choice, check_flag, message
from ephys_correct.errors import MissingDependencyError, ParameterError
from ephys_correct._fileio import atomic_write, to_jsonable
from ephys_correct.report.frozen_attrs import FrozenDict, FrozenList


#: output formats of :func:`write_table` (file suffix -> format)
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx", ".md": "md",
           ".markdown": "md", ".html": "html", ".htm": "html"}

_SIDECAR_SCHEMA = "ephys_correct table sidecar v1"


# =============================================================================
# writers
# =============================================================================


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON sidecar of a CSV table: ``<name>.csv.json``."""
    p = Path(path)
    return p.with_name(p.name + ".json")


def _format_of(path: Path, fmt: str | None) -> str:
    allowed = sorted(set(FORMATS.values()))
    if fmt is not None:
        return check_choice(fmt, allowed, what="format", where="write_table")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ParameterError(
            f"Cannot tell the output format of {str(path)!r} from its suffix {suffix!r}: use one of "
            f"{', '.join(sorted(FORMATS))} or pass format= ({', '.join(map(repr, allowed))})."
        )
    return FORMATS[suffix]






def _attrs_texts(df: pd.DataFrame) -> list[tuple[str, str]]:
    """(key, compact JSON text) for every ``attrs`` entry; TypeError when one is not serializable.

    Read-only provenance records (``frozen_attrs``) and plain scalars are JSON already and go
    straight to the C encoder; anything else through :func:`to_jsonable` first.
    """
    out = []
    for k, v in df.attrs.items():
        text = None
        if type(v) in (FrozenDict, FrozenList, str, int, float, bool) or v is None:
            try:
                text = json.dumps(v, ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError):
                text = None
        if text is None:
            text = json.dumps(to_jsonable(v), ensure_ascii=False)
        out.append((str(k), text))
    return out


def _json_doc(head: list[tuple[str, Any]], attrs: list[tuple[str, str]]) -> str:
    """``{head..., "attrs": {...}}`` with one line per key (values compact: the fast C encoder).

    ``json.dumps(indent=...)`` would use the pure-Python encoder, ~10x slower on a
    provenance of tens of kB.
    """
    lines = [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in head]
    inner = ",\n".join(f"  {json.dumps(k, ensure_ascii=False)}: {t}" for k, t in attrs)
    lines.append(' "attrs": {' + ("\n" + inner + "\n }" if attrs else "}"))
    return "{\n" + ",\n".join(lines) + "\n}"


#: first characters that make a spreadsheet (Excel, LibreOffice, Google Sheets) read a cell as a
#: formula; the quote itself is escaped too, so that the prefix can be taken off again
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralize_cell(value: Any) -> Any:
    """A text cell made inert for spreadsheets: ``'`` before a leading ``= + - @``, tab, CR or ``'``.

    Names that come from files (channel names, file names, recipe names) can
    start like a formula (``=1+2``, ``=HYPERLINK(...)``); written as is they
    would run when the CSV or xlsx file is opened.  :func:`read_table` takes the
    prefix off again (:func:`restore_cell`), so the round trip is exact.

    Parameters
    ----------
    value : object
        A cell; only ``str`` values are changed.

    Returns
    -------
    object
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore_cell(value: Any) -> Any:
    """Undo :func:`neutralize_cell`.

    Parameters
    ----------
    value : object
        A cell as read.

    Returns
    -------
    object
    """
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _neutralized(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of *df* whose text cells and column names are inert in spreadsheets (data unchanged)."""
    cols = [c for c in df.columns if _dtype_name(df[c]) == "str"
            and df[c].map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS)).any()]
    names_bad = any(isinstance(c, str) and c.startswith(FORMULA_STARTS) for c in df.columns)
    if not cols and not names_bad:
        return df
    out = df.copy()
    for c in cols:
        out[c] = df[c].map(neutralize_cell)
    if names_bad:
        out.columns = [neutralize_cell(c) for c in df.columns]
    return out


def _restored(df: pd.DataFrame, str_cols) -> pd.DataFrame:
    df.columns = [restore_cell(c) for c in df.columns]
    for c in str_cols:
        if c in df.columns and not pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
            df[c] = df[c].map(restore_cell)
    return df


def _attrs_json(df: pd.DataFrame) -> str:
    return json.dumps(to_jsonable(dict(df.attrs)), indent=1, ensure_ascii=False)


def _columns_meta(df: pd.DataFrame) -> list[dict[str, str]]:
    units = df.attrs.get("units", {}) if isinstance(df.attrs.get("units"), Mapping) else {}
    return [{"name": str(c), "dtype": _dtype_name(df[c]), "unit": str(units.get(c, ""))} for c in df.columns]


#: pandas nullable dtypes recorded (and restored) by name: missing values stay missing
_NULLABLE_DTYPES = frozenset({"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
                              "Float32", "Float64", "boolean"})
#: numpy dtypes recorded by name
_NUMPY_DTYPES = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                           "float32", "float64"})


def _dtype_name(s: pd.Series) -> str:
    """How a column is recorded in the sidecar: ``str``, ``bool``, a numpy or a nullable dtype name."""
    name = str(s.dtype)
    if name in _NULLABLE_DTYPES:  # before is_integer_dtype: Int64 is an integer dtype too
        return name
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if name in _NUMPY_DTYPES:
        return name
    if pd.api.types.is_integer_dtype(s):
        return "int64"
    if pd.api.types.is_float_dtype(s):
        return "float64"
    return "str"


def write_table(df: pd.DataFrame, path: str | os.PathLike, *, format: str | None = None,
                overwrite: bool = False) -> Path:
    """Write a table with its annotations, atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        Typically from :func:`driving_force_table`; ``df.attrs`` is written
        with it (it must be JSON-serializable).
    path : str or os.PathLike
    format : {"csv", "parquet", "xlsx", "md", "html"}, optional
        Default: from the suffix (``.csv``, ``.parquet``/``.pq``, ``.xlsx``,
        ``.md``, ``.html``).
    overwrite : bool
        Replace existing output files; otherwise :class:`OutputExistsError`.

    Returns
    -------
    pathlib.Path
        The table's path.

    Notes
    -----
    * **csv**: the data (full float precision, ``""`` for missing) plus a
      JSON sidecar ``<name>.csv.json`` holding ``attrs`` and the columns
      (name, dtype, unit).  Read both back with :func:`read_table`.  The
      dtype is ``str``, ``bool``, a numpy name (``int64``, ``float64``, ...)
      or a pandas nullable name (``Int64``, ``Float64``, ``boolean``, ...):
      nullable columns come back nullable, their missing values missing.
    * **parquet** (pyarrow): ``attrs`` and the column units as JSON in the
      schema metadata under the key ``ephys_correct``.
    * **xlsx** (openpyxl): sheet ``data`` and a sheet ``metadata`` (key,
      JSON value; one ``unit:<column>`` row per column).
    * **csv**, **xlsx**: a text cell (or column name) starting with ``=``,
      ``+``, ``-``, ``@``, a tab, a carriage return or ``'`` is written with a
      leading ``'`` (:func:`neutralize_cell`), so that a name taken from a
      file (``=HYPERLINK(...)``) is never run as a formula by a spreadsheet;
      :func:`read_table` takes the quote off again.
    * **md**, **html**: for a lab notebook; a metadata block (file, SHA-256,
      configuration, LJP, temperatures, activity model, solutions, units)
      above the table; floats rounded to 0.001.  Not read back.

    Every file is written to a temporary file in the destination directory
    and moved into place (``os.replace``); on failure no partial file
    remains.  Existing files are never replaced unless ``overwrite=True``.
    Files get the usual permissions of a new file (``0o666`` minus the
    process umask).

    Raises
    ------
    OutputExistsError
        An output file (or the CSV sidecar) exists and *overwrite* is False.
    ParameterError
        Unknown format.
    ImportError
        Parquet without pyarrow, Excel without openpyxl.
    """
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(message("df", df, f"a {type(df).__name__}, not a pandas DataFrame",
                                     "give the table as a DataFrame", where="write_table"))
    overwrite = check_flag(overwrite, what="overwrite", where="write_table")
    dest = Path(os.fspath(path))
    fmt = _format_of(dest, format)
    attrs = _attrs_texts(df)  # fails early (TypeError) when attrs are not serializable
    if fmt == "csv":
        side = sidecar_path(dest)
        side_text = _json_doc([("schema", _SIDECAR_SCHEMA), ("table", dest.name), ("columns", _columns_meta(df))],
                              attrs) + "\n"

        def w_csv(t: Path) -> None:
            # written from a copy without attrs (pandas would deep-copy them for every chunk), text
            # cells neutralized for spreadsheets
            plain = pd.DataFrame(dict(df.items()), copy=False) if df.columns.is_unique else df
            _neutralized(plain).to_csv(t, index=False, na_rep="", lineterminator="\n", encoding="utf-8")

        def w_side(t: Path) -> None:
            t.write_text(side_text, encoding="utf-8")

        atomic_write([dest, side], [w_csv, w_side], overwrite=overwrite)
    elif fmt == "parquet":
        pa, pq = _need_pyarrow()

        def w_pq(t: Path) -> None:
            table = pa.Table.from_pandas(df, preserve_index=False)
            md = dict(table.schema.metadata or {})
            md.pop(b"PANDAS_ATTRS", None)
            md[b"ephys_correct"] = _json_doc([("schema", _SIDECAR_SCHEMA), ("columns", _columns_meta(df))],
                                             attrs).encode("utf-8")
            pq.write_table(table.replace_schema_metadata(md), t)

        atomic_write([dest], [w_pq], overwrite=overwrite)
    elif fmt == "xlsx":
        _need_openpyxl()

        def w_xlsx(t: Path) -> None:
            meta_rows = [("schema", _SIDECAR_SCHEMA)]
            meta_rows += [(f"unit:{c['name']}", c["unit"]) for c in _columns_meta(df)]
            meta_rows += [(f"dtype:{c['name']}", c["dtype"]) for c in _columns_meta(df)]
            for k, text in attrs:
                meta_rows.append((f"attr:{k}", text))
            meta = _neutralized(pd.DataFrame(meta_rows, columns=["key", "value"]))
            buf = io.BytesIO()  # built in memory: a failure leaves no open file handle behind
            xw = pd.ExcelWriter(buf, engine="openpyxl")
            _neutralized(df).to_excel(xw, sheet_name="data", index=False)
            meta.to_excel(xw, sheet_name="metadata", index=False)
            xw.close()
            t.write_bytes(buf.getvalue())

        atomic_write([dest], [w_xlsx], overwrite=overwrite)
    else:
        text = _markdown(df) if fmt == "md" else _html(df)

        def w_text(t: Path) -> None:
            t.write_text(text, encoding="utf-8")

        atomic_write([dest], [w_text], overwrite=overwrite)
    return dest


def _need_pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingDependencyError(
            "Writing/reading Parquet needs pyarrow, which is not installed: "
            "pip install 'ephys_correct[io]' (or pip install pyarrow)."
        ) from exc
    return pa, pq


def _need_openpyxl():
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "Writing/reading Excel (.xlsx) needs openpyxl, which is not installed: "
            "pip install 'ephys_correct[io]' (or pip install openpyxl)."
        ) from exc


# ----------------------------------------------------------------------------- notebook formats
def _ident_text(d: Mapping[str, Any]) -> str:
    """Short text of a solution identity recorded in a table's metadata."""
    if d.get("source_sha256"):
        return f"recipe sha256 {str(d['source_sha256'])[:12]}..." + (", derived" if d.get("derived_from") else "")
    return f"composition sha256 {str(d.get('composition_sha256'))[:12]}..."


def _summary_items(df: pd.DataFrame) -> list[tuple[str, str]]:
    a = df.attrs
    items: list[tuple[str, str]] = []

    def add(label, value):
        if value is not None and value != "" and value != {}:
            items.append((label, value if isinstance(value, str) else json.dumps(to_jsonable(value),
                                                                                 default=str)))

    add("input file", a.get("input_file"))
    add("input SHA-256", a.get("input_sha256"))
    add("configuration", a.get("configuration"))
    ljp = a.get("ljp") or {}
    if isinstance(ljp, Mapping):
        by = ljp.get("by_headstage") or {}
        vals = {k: v.get("ljp_mv") for k, v in by.items()} if isinstance(by, Mapping) else {}
        how = (f"{ljp.get('source')}"
               + (f", {ljp.get('method')}" if ljp.get("method") else "")
               + (f", activities {ljp.get('activity_model')}" if ljp.get("activity_model") else
                  (", concentrations" if ljp.get("source") == "computed" else "")))
        if vals:
            add("LJP V_L (bath rel. pipette), mV", ", ".join(f"headstage {k}: {v:.4g}" for k, v in vals.items())
                + f" ({how})")
    online = a.get("ljp_applied_online_mv") or {}
    if isinstance(online, Mapping) and any(v for v in online.values()):
        add("LJP applied online (amplifier), mV", online)
    add("temperature (recording), degC", a.get("temperature_c"))
    add("temperature (zeroing, LJP), degC", a.get("zeroing_temperature_c"))
    add("activity model", a.get("activity_model"))
    add("E_rev basis", a.get("E_rev_basis"))
    sols = a.get("solutions") or {}
    if isinstance(sols, Mapping):
        b = sols.get("bath") or {}
        if b:
            add("bath", f"{b.get('name')} ({_ident_text(b)})")
        for k, p in (sols.get("pipette") or {}).items():
            add(f"pipette (headstage {k})", f"{p.get('name')} ({_ident_text(p)})")
    add("bath change", a.get("bath_change") and a["bath_change"].get("kind"))
    add("perforating agent", a.get("perforating_agent") and a["perforating_agent"].get("name"))
    add("software", f"ephys_correct {a.get('software_version', __version__)}")
    units = a.get("units") or {}
    if isinstance(units, Mapping):
        add("units", ", ".join(f"{k} [{v}]" for k, v in units.items() if v))
    for c in a.get("caveats") or []:
        items.append(("caveat", str(c)))
    return items


def _cell(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if not np.isfinite(v) else f"{v:.3f}"
    return str(v)


def _markdown(df: pd.DataFrame) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    lines = [f"## {df.attrs.get('title', 'Table')}", ""]
    for k, v in _summary_items(df):
        lines.append(f"- **{esc(k)}**: {esc(v)}")
    lines.append("")
    cols = [str(c) for c in df.columns]
    lines.append("| " + " | ".join(esc(c) for c in cols) + " |")
    lines.append("|" + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in df.columns) + "|")
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(esc(_cell(v)) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _html(df: pd.DataFrame) -> str:
    title = html.escape(str(df.attrs.get("title", "Table")))
    meta = "\n".join(f"  <dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in _summary_items(df))
    body = ["<table>", "<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
            + "</tr></thead>", "<tbody>"]
    for row in df.itertuples(index=False):
        body.append("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>")
    body.append("</tbody></table>")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title + "</title></head>\n<body>\n"
            f"<h2>{title}</h2>\n<dl class=\"metadata\">\n{meta}\n</dl>\n" + "\n".join(body) + "\n</body></html>\n")


# =============================================================================
# reading back
# =============================================================================


def _nullable_int(numpy_name: str) -> str:
    """``int64`` -> ``Int64``, ``uint8`` -> ``UInt8``."""
    return "U" + numpy_name[1:].capitalize() if numpy_name.startswith("u") else numpy_name.capitalize()


def _restore(df: pd.DataFrame, columns: list[dict[str, str]]) -> pd.DataFrame:
    for c in columns:
        name, dt = c["name"], c["dtype"]
        if name not in df.columns:
            continue
        col = df[name]
        if dt == "str":
            df[name] = col.astype(object).where(col.notna(), "").astype(str)
        elif dt == "bool":
            df[name] = col.astype(bool)
        elif dt in _NULLABLE_DTYPES or dt in _NUMPY_DTYPES:
            if dt[0] in "iu" and col.isna().any():
                # an integer column with missing values written by an older version (recorded as
                # "int64", not "Int64"): its nullable counterpart, not a failure
                dt = _nullable_int(dt)
            if str(col.dtype) != dt:
                df[name] = col.astype(dt)
    return df


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by :func:`write_table` (CSV + sidecar, Parquet, Excel) with its ``attrs``.

    Raises
    ------
    FileNotFoundError
        The file, or a CSV's sidecar ``<name>.csv.json``, is missing.
    ParameterError
        A Markdown/HTML file (not machine-readable) or an unknown suffix, or
        a sidecar that is not ephys_correct's.
    """
    p = Path(os.fspath(path))
    fmt = _format_of(p, None)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    if fmt == "csv":
        side = sidecar_path(p)
        if not side.is_file():
            raise FileNotFoundError(f"{side}: the JSON sidecar of {p.name} is missing (it holds units and "
                                    "metadata); read the bare CSV with pandas.read_csv")
        meta = json.loads(side.read_text(encoding="utf-8"))
        if meta.get("schema") != _SIDECAR_SCHEMA:
            raise ParameterError(f"{side}: not an ephys_correct table sidecar (schema {meta.get('schema')!r})")
        cols = meta["columns"]
        dtypes: dict[str, Any] = {c["name"]: str for c in cols if c["dtype"] == "str"}
        # nullable columns parsed as such: an Int64 never passes through float64 (exact beyond 2**53)
        dtypes.update({c["name"]: c["dtype"] for c in cols if c["dtype"] in _NULLABLE_DTYPES})
        # numpy integers too (exact; _restore makes them numpy again unless a value is missing)
        dtypes.update({c["name"]: _nullable_int(c["dtype"]) for c in cols
                       if c["dtype"] in _NUMPY_DTYPES and c["dtype"][0] in "iu"})
        num_cols = [c["name"] for c in cols if c["dtype"] != "str"]
        kw: dict[str, Any] = {}
        if int(pd.__version__.split(".")[0]) < 3:  # pandas >= 3 parses floats round-trip by default
            kw["float_precision"] = "round_trip"
        df = pd.read_csv(p, dtype={neutralize_cell(k): v for k, v in dtypes.items()}, keep_default_na=False,
                         na_values={neutralize_cell(c): [""] for c in num_cols}, encoding="utf-8", **kw)
        df = _restore(_restored(df, [c["name"] for c in cols if c["dtype"] == "str"]), cols)
        df.attrs.update(meta.get("attrs") or {})
        return df
    if fmt == "parquet":
        pa, pq = _need_pyarrow()
        table = pq.read_table(p)
        raw = (table.schema.metadata or {}).get(b"ephys_correct")
        df = table.to_pandas()
        if raw is not None:
            meta = json.loads(raw.decode("utf-8"))
            df = _restore(df, meta.get("columns", []))
            df.attrs.clear()
            df.attrs.update(meta.get("attrs") or {})
        return df
    if fmt == "xlsx":
        _need_openpyxl()
        sheets = pd.read_excel(p, sheet_name=None, engine="openpyxl", keep_default_na=False, na_values=[""])
        if "data" not in sheets:
            raise ParameterError(f"{p}: no 'data' sheet (sheets: {list(sheets)})")
        df = sheets["data"]
        meta = sheets.get("metadata")
        df.columns = [restore_cell(c) for c in df.columns]
        if meta is not None:
            cols, attrs = {}, {}
            for k, v in zip(meta["key"], meta["value"]):
                k, v = restore_cell(str(k)), restore_cell(v)
                if k.startswith("dtype:"):
                    cols.setdefault(k[6:], {"name": k[6:]})["dtype"] = str(v)
                elif k.startswith("attr:"):
                    attrs[k[5:]] = json.loads(v)
            df = _restore(_restored(df, [c for c, m in cols.items() if m.get("dtype") == "str"]), list(cols.values()))
            df.attrs.update(attrs)
        return df
    raise ParameterError(f"{p}: {fmt!r} tables are for reading by people and are not read back; "
                         "use CSV, Parquet or Excel.")
