"""The research tables' files: how mesovision writes them, and which files in a folder are its own.

Every table (``batch``'s ``results``, ``status`` and ``measurement_error``; ``stats``'s ``stats``)
is written by :func:`write_table`: a CSV for any program, and for the long tables a Parquet file
that keeps the column types. Floats are rounded to :data:`SIGNIFICANT_DIGITS` significant digits
(:func:`round_sig`) and rows come sorted, so the same inputs give byte-identical files. A text
cell that a spreadsheet would run as a formula is prefixed with ``'`` in the CSV
(:func:`spreadsheet_safe`; OWASP's rule against CSV injection); the Parquet file keeps the raw
value.

Every column of every table has one declared type (:data:`SCHEMAS`), whatever the data:
:func:`conform` gives a DataFrame those columns and types before it is written, with a missing
value as a null (``None``/NaN; never the empty string) and the timepoints as text in an ordered
categorical (the manifest's order). The Parquet file keeps those types (:func:`arrow_schema`: a
text column is a string column even when every value is missing); :func:`read_table` reads a CSV
back with them. ``docs/tables.md`` describes each column.

An output folder lists the files mesovision wrote there in :data:`OUTPUT_MARKER`;
:func:`claim_outputs` refuses to replace a file of the same name that it does not list, unless
forced, so that a user's own ``results.csv`` is never overwritten by accident.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

__all__ = [
    "COVARIATE_TYPES",
    "FORMULA_TRIGGERS",
    "MISSING_MARKERS",
    "OUTPUT_MARKER",
    "marked_outputs",
    "record_outputs",
    "SCHEMAS",
    "SIGNIFICANT_DIGITS",
    "TABLE_NAMES",
    "arrow_schema",
    "claim_outputs",
    "conform",
    "covariate_type",
    "drop_stale_outputs",
    "csv_lines",
    "csv_text",
    "read_table",
    "round_sig",
    "spreadsheet_safe",
    "spreadsheet_safe_frame",
    "spreadsheet_unsafe",
    "write_table",
]

log = logging.getLogger(__name__)

#: The values that pandas reads as missing in a CSV (its default ``na_values``): a label that
#: is one of them would come back from a table as NaN (``batch`` refuses it in a manifest).
MISSING_MARKERS = frozenset(
    {"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)  # fmt: skip
#: Significant digits of every float in the tables.
SIGNIFICANT_DIGITS = 10
#: The files a batch writes into its output folder (besides ``cache/``).
TABLE_NAMES = (
    "results.csv",
    "results.parquet",
    "status.csv",
    "measurement_error.csv",
    "summary.json",
)


def round_sig(x, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``x`` as a float rounded to ``digits`` significant digits (NaN for ``None``/non-finite)."""
    if x is None:
        return float("nan")
    x = float(x)
    if not math.isfinite(x):
        return float("nan")
    return float(f"{x:.{digits}g}")


#: A text cell starting with one of these runs as a formula in spreadsheet programs (OWASP,
#: "CSV injection"); :func:`spreadsheet_safe` prefixes it with ``'``.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """``value`` made safe to open in a spreadsheet: a *string* starting with ``=``, ``+``, ``-``,
    ``@``, tab or carriage return gets a leading ``'`` (OWASP's rule against CSV injection, e.g.
    ``=cmd|' /C calc'!A0`` -> ``'=cmd|' /C calc'!A0``). Anything else, numbers included (a
    negative number stays a number), is returned unchanged. :func:`spreadsheet_unsafe` undoes it.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _csv_cell(cell: str) -> str:
    """``cell`` as a CSV field: in double quotes (a quote doubled) when it holds a comma, a double
    quote, a carriage return or a line feed; as it is otherwise."""
    if any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def csv_lines(text: str) -> str:
    """CSV ``text`` written by Python's :mod:`csv` module (or pandas) with
    ``lineterminator="\\r\\n"``, re-written with ``\\n`` line ends and a cell quoted exactly when
    it holds a comma, a double quote, CR or LF (a row of one empty cell as ``""``).

    Every CSV file mesovision writes goes through this, so that every supported Python writes
    the same bytes: with ``lineterminator="\\n"``, Python 3.11's :mod:`csv` leaves a cell with a
    bare CR unquoted (a reader then splits the row there) where 3.12 and later quote it. Written
    with ``"\\r\\n"``, every version quotes CR and LF, so the text parses back unambiguously.
    """
    import csv
    import io

    out = []
    for row in csv.reader(io.StringIO(text, newline="")):
        if row == [""]:
            out.append('""\n')
        else:
            out.append(",".join(_csv_cell(c) for c in row) + "\n")
    return "".join(out)


def csv_text(rows: list[dict], fields) -> str:
    """``rows`` as CSV text with the columns ``fields``: a header line, an empty cell for a
    missing value, every text cell :func:`spreadsheet_safe` (``mesovision export --csv`` and the
    clinic app's export); quoted as :func:`csv_lines` says."""
    import csv
    import io

    from .io import to_jsonable

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(fields), lineterminator="\r\n")
    w.writeheader()
    for r in to_jsonable(rows):
        w.writerow({k: "" if r[k] is None else spreadsheet_safe(r[k]) for k in fields})
    return csv_lines(buf.getvalue())


def spreadsheet_unsafe(value):
    """The inverse of :func:`spreadsheet_safe`, for reading back a CSV mesovision wrote."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def spreadsheet_safe_frame(df):
    """A copy of ``df`` with :func:`spreadsheet_safe` applied to every cell of its text (object
    and string) columns; numeric, boolean and date columns are untouched."""
    from pandas.api.types import is_string_dtype

    text = [c for c in df.columns if df[c].dtype == object or is_string_dtype(df[c].dtype)]
    if not text:
        return df
    df = df.copy()
    for c in text:
        df[c] = df[c].map(spreadsheet_safe)
    return df


#: The column types of the tables, by name: ``string`` (text; null where missing), ``timepoint``
#: (text; an ordered categorical in Parquet, in the manifest's timepoint order), ``int64``
#: (never null), ``Int64`` (an integer that may be null), ``float64`` (null or NaN where
#: missing or not estimable) and ``bool``. Covariate columns of the manifest follow a table's
#: own columns (see :func:`conform`).
SCHEMAS: dict[str, dict[str, str]] = {
    "results": {
        "subject": "string", "arm": "string", "view": "string", "timepoint": "timepoint",
        "timepoint_rank": "int64", "reference_timepoint": "timepoint",
        "reference_timepoint_rank": "int64", "comparison": "string", "repeat": "int64",
        "region": "string", "metric": "string", "measure": "string", "unit": "string",
        "direction": "string",
        "before": "float64", "after": "float64", "delta": "float64", "relative": "float64",
        "noise_floor": "float64", "noise_floor_pair": "float64", "sdc": "float64",
        "se": "float64", "null_scale": "float64", "null_df": "float64", "z": "float64",
        "p": "float64", "q": "float64", "significant": "bool", "endpoint": "string",
        "family": "string", "comparability": "string", "comparability_reason": "string",
        "residual_px": "float64", "residual_iod_pct": "float64", "coverage": "float64",
        "lighting_de00_after": "float64", "framing_overlap": "float64",
        "framing_scale": "float64", "light_turn_deg": "float64", "body_checks_failed": "string",
        "before_path": "string", "after_path": "string",
        "before_sha256": "string", "after_sha256": "string", "cache_key": "string",
    },
    "status": {
        "subject": "string", "arm": "string", "view": "string", "timepoint": "timepoint",
        "timepoint_rank": "int64", "reference_timepoint": "timepoint",
        "reference_timepoint_rank": "int64", "comparison": "string", "repeat": "int64",
        "before_path": "string", "after_path": "string", "status": "string", "cached": "bool",
        "error_type": "string", "message": "string", "exit_code": "Int64",
        "seconds": "float64", "cache_key": "string", "warnings": "string",
    },
    "measurement_error": {
        "view": "string", "region": "string", "metric": "string", "unit": "string",
        "n": "int64", "mean_repeat1": "float64", "mean_repeat2": "float64",
        "mean_diff": "float64", "sd_diff": "float64", "icc": "float64", "sem": "float64",
        "sdc": "float64",
    },
    "stats": {
        "test": "string", "arm": "string", "arm_a": "string", "arm_b": "string",
        "view": "string", "timepoint": "timepoint", "timepoint_rank": "int64",
        "region": "string", "metric": "string", "measure": "string", "unit": "string",
        "direction": "string", "endpoint": "string",
        "n": "int64", "n_nonzero": "Int64", "n_a": "Int64", "n_b": "Int64",
        "mean_a": "float64", "mean_b": "float64",
        "estimate": "float64", "estimate_name": "string", "ci_low": "float64",
        "ci_high": "float64", "statistic": "float64", "p_value": "float64", "p_fdr": "float64",
        "significant_fdr": "bool", "effect_size": "float64", "effect_size_name": "string",
        "cohens_dz": "float64", "mean": "float64", "mean_ci_low": "float64",
        "mean_ci_high": "float64",
    },
}  # fmt: skip
#: Column types a covariate of the manifest may have (see :func:`covariate_type`).
COVARIATE_TYPES = ("float64", "string")


def covariate_type(values) -> str:
    """``float64`` when every non-empty value is a finite number, else ``string``."""
    seen = False
    for v in values:
        if v is None or v == "":
            continue
        seen = True
        try:
            if not math.isfinite(float(v)):
                return "string"
        except ValueError:
            return "string"
    return "float64" if seen else "string"


def _text_column(col):
    """``col`` as an object column of text, ``None`` where missing (null, NaN or ``""``)."""
    s = col.astype(object)
    s = s.where(~(s.isna() | s.eq("")), None)
    other = s.notna() & ~s.map(lambda v: isinstance(v, str))
    if other.any():
        s[other] = s[other].map(str)
    return s


def conform(df, table: str, *, timepoints=None, extra: dict[str, str] | None = None):
    """``df`` with the columns of :data:`SCHEMAS` ``[table]`` (then ``extra``), in that order and
    of their types: missing text as ``None`` (never ``""``), integers that may be missing as
    pandas' nullable ``Int64``, and timepoints as an ordered categorical with the categories
    ``timepoints`` (the manifest's order; labels not in it are appended in order of first
    appearance). ``extra`` maps further columns (covariates) to ``float64`` or ``string``."""
    import pandas as pd

    types = {**SCHEMAS[table], **(extra or {})}
    out = {}
    for c, t in types.items():
        col = df[c] if c in df.columns else pd.Series([None] * len(df), index=df.index)
        out[c] = _typed_column(col, t, timepoints)
    return pd.DataFrame(out, index=df.index).reset_index(drop=True)


def _typed_column(col, t: str, timepoints):
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if t == "string":
        return _text_column(col)
    if t == "timepoint":
        labels = _text_column(col)
        cats = list(dict.fromkeys([*(timepoints or []), *labels.dropna()]))
        return pd.Series(pd.Categorical(labels, categories=cats, ordered=True), index=col.index)
    numeric = is_numeric_dtype(col.dtype) and not is_bool_dtype(col.dtype)
    numbers = col if numeric or t == "bool" else pd.to_numeric(_text_column(col))
    if t == "Int64":
        return numbers.astype("Int64")
    return numbers.astype(t)


def arrow_schema(df):
    """The Parquet schema of ``df``: text columns as strings (also when every value is missing),
    categoricals as ordered dictionaries of strings, nullable integers as ``int64``."""
    import pyarrow as pa
    from pandas.api.types import is_bool_dtype, is_float_dtype, is_integer_dtype

    fields = []
    for c in df.columns:
        d = df[c].dtype
        if getattr(d, "name", "") == "category":
            t = pa.dictionary(pa.int32(), pa.string(), ordered=bool(d.ordered))
        elif is_bool_dtype(d):
            t = pa.bool_()
        elif is_integer_dtype(d):
            t = pa.int64()
        elif is_float_dtype(d):
            t = pa.float64()
        else:
            t = pa.string()
        fields.append(pa.field(str(c), t))
    return pa.schema(fields)


def write_table(df, csv_path: Path, parquet_path: Path | None = None) -> tuple[Path, ...]:
    """Write ``df`` as CSV (and Parquet), atomically and byte-for-byte reproducibly.

    CSV: UTF-8, ``\\n`` line ends, a cell quoted when it holds a comma, a double quote, CR or LF
    (:func:`csv_lines`), floats as the shortest text that reads back exactly
    (:func:`round_sig` first), a missing value (null, NaN) as an empty field, booleans
    ``True``/``False`` (read as logical by pandas and R), categoricals as their labels, and text
    cells that a spreadsheet would run as a formula prefixed with ``'``
    (:func:`spreadsheet_safe`). Parquet keeps the raw values, real nulls and the types of
    :func:`arrow_schema`; it is written by pyarrow without pandas metadata and without any
    timestamp, snappy-compressed.
    """
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from .io import atomic_write_bytes

    text = csv_lines(
        spreadsheet_safe_frame(df).to_csv(index=False, lineterminator="\r\n", na_rep="")
    )
    paths = [atomic_write_bytes(csv_path, text.encode("utf-8"), force=True)]
    if parquet_path is not None:
        table = pa.Table.from_pandas(df, schema=arrow_schema(df), preserve_index=False)
        buf = io.BytesIO()
        pq.write_table(table.replace_schema_metadata(None), buf, compression="snappy")
        paths.append(atomic_write_bytes(parquet_path, buf.getvalue(), force=True))
    return tuple(paths)


def read_table(path: str | os.PathLike[str], table: str):
    """A table mesovision wrote, read back with the types of :data:`SCHEMAS` ``[table]``: from
    Parquet as written (nullable integers as ``Int64``), from CSV with text columns as text
    (also when all empty), nullable integers as ``Int64``, timepoints as text, and
    :func:`spreadsheet_unsafe` undone in every text column. Other columns (covariates) as
    pandas infers them."""
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    p = Path(path)
    schema = SCHEMAS[table]
    if p.suffix == ".parquet":
        df = pd.read_parquet(p)
        for c, t in schema.items():
            if t == "Int64" and c in df.columns:
                df[c] = df[c].astype("Int64")
        return df
    head = pd.read_csv(p, nrows=0).columns
    kinds = {"string": "str", "timepoint": "str", "Int64": "Int64", "int64": "int64",
             "float64": "float64", "bool": "bool"}  # fmt: skip
    df = pd.read_csv(p, dtype={c: kinds[t] for c, t in schema.items() if c in head})
    text = [c for c in df.columns if c not in schema and not is_numeric_dtype(df[c].dtype)]
    text += [c for c, t in schema.items() if t in ("string", "timepoint") and c in df.columns]
    for c in text:  # the covariates' text too (written through spreadsheet_safe_frame)
        df[c] = df[c].map(spreadsheet_unsafe, na_action="ignore").astype(df[c].dtype)
    return df


#: The file in an output folder that lists the files mesovision wrote there (``batch``, ``stats``,
#: ``compare``):
#: an existing file of the same name that it does not list is not replaced without ``--force``.
OUTPUT_MARKER = ".mesovision-outputs.json"


def marked_outputs(folder: Path) -> set[str]:
    """The files ``folder/`` :data:`OUTPUT_MARKER` lists: those mesovision wrote there (none
    without the marker)."""
    try:
        doc = json.loads((folder / OUTPUT_MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable, ignored (%s)", folder / OUTPUT_MARKER, exc)
        return set()
    files = doc.get("files") if isinstance(doc, dict) else None
    return {f for f in files if isinstance(f, str)} if isinstance(files, list) else set()


def _legacy_batch_folder(folder: Path) -> bool:
    """A batch output folder written before :data:`OUTPUT_MARKER` existed: its ``summary.json``
    is a batch summary."""
    try:
        doc = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and {"manifest_sha256", "mesovision", "n_items"} <= set(doc)


def claim_outputs(folder: Path, names, *, command: str, force: bool = False) -> None:
    """Check that every existing file of ``names`` in ``folder`` was written by mesovision (it is
    listed in ``folder/`` :data:`OUTPUT_MARKER`), then record ``names`` there. Call it before
    anything else is written.

    Raises
    ------
    OutputExists
        A file of ``names`` exists that mesovision did not write, and ``force`` is false
        (nothing is written).
    """
    from .errors import OutputExists

    ours = marked_outputs(folder)
    if not ours and command == "batch" and _legacy_batch_folder(folder):
        ours = set(TABLE_NAMES)
    foreign = [
        n for n in names if n not in ours and ((folder / n).exists() or (folder / n).is_symlink())
    ]
    if foreign and not force:
        more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
        raise OutputExists(
            f"exists and was not written by mesovision {command}{more}; use --force to replace it",
            path=str(folder / foreign[0]),
        )
    files = sorted(ours | set(names))
    if not (folder / OUTPUT_MARKER).is_file() or set(files) != ours:
        _write_marker(folder, files)


def record_outputs(folder: Path, files) -> None:
    """List ``files`` in ``folder/`` :data:`OUTPUT_MARKER` as the files mesovision wrote there
    (replacing the list)."""
    _write_marker(folder, files)


def _write_marker(folder: Path, files) -> None:
    from .io import atomic_write_bytes

    text = json.dumps({"written_by": "mesovision", "files": sorted(files)}, indent=1) + "\n"
    atomic_write_bytes(folder / OUTPUT_MARKER, text.encode("utf-8"), force=True)


def drop_stale_outputs(folder: Path, prefix: str, names) -> list[str]:
    """Remove the files under ``prefix`` (e.g. ``"plots/"``) that ``folder/``
    :data:`OUTPUT_MARKER` lists (mesovision wrote them) and ``names`` does not: an earlier run's
    outputs that this run did not write again, which would stand beside its new ones (a plot of
    a metric no longer drawn). Only regular files inside ``folder`` are removed (never a link, a
    folder or a name leading out of it); the marker forgets them. Returns the names removed."""
    ours, keep, root = marked_outputs(folder), set(names), Path(folder).resolve()
    gone = []
    for n in sorted(ours):
        path = Path(folder) / n
        inside = ".." not in Path(n).parts and path.resolve().is_relative_to(root)
        if not n.startswith(prefix) or n in keep or not inside:
            continue
        if path.is_file() and not path.is_symlink():
            path.unlink()
        gone.append(n)
    if gone:
        _write_marker(folder, ours - set(gone))
    return gone
