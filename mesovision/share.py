"""A batch's tables made fit to leave the clinic: pseudonymous subjects, days instead of dates.

``mesovision batch`` writes tables for the people who ran it: the subject is the clinic's patient
id, the photos' paths (whose folders often carry the patient's name) and SHA-256 hashes are in
every row, a covariate ``x_date`` holds the visit dates, and ``status.csv``'s messages name the
photos. :func:`share_tables` writes a copy of ``results``, ``status`` and ``measurement_error``
for a study partner, with the same columns and types (``mesovision stats`` and
:func:`mesovision.tables.read_table` read it as they read a batch's folder):

- **subjects** become study codes (``S001``, ...) drawn in random order, so that a code says
  nothing of the id's order, and the rows are sorted by code (their order says nothing either);
  the correspondence goes to a **key file** the clinic keeps (CSV
  ``subject,code``, mode 0600, never inside the shared folder). A key given again is read and
  only appended to (a subject keeps its code from one share to the next);
- the columns that identify photos (``before_path``, ``after_path``, ``before_sha256``,
  ``after_sha256``, ``cache_key``) and the free text of ``status`` (``message``, ``warnings``)
  are emptied (the columns stay, missing);
- a covariate whose every value is a calendar date (``YYYY-MM-DD``) becomes ``<name>_days``: days
  since that subject's first date in it; other text covariates (notes, free labels) are left out
  unless named in ``keep``; number covariates stay unless named in ``drop``;
- timepoints that are calendar dates are refused: number the visits in the manifest first.

A ``share.json`` in the folder says what was done (no key, no path). What stays is what a study
needs: arms, views, timepoints, regions, measures, comparability, and the numbers; the exact
values are those of the batch. Pseudonymous data are still personal data under the GDPR.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
from datetime import date
from pathlib import Path

from . import __version__
from .errors import InputFileError, UsageError
from .tables import (
    OUTPUT_MARKER,
    SCHEMAS,
    conform,
    covariate_type,
    read_table,
    record_outputs,
    write_table,
)

__all__ = ["EMPTIED", "SHARED_FILES", "share_tables"]

#: The columns of each table emptied in a shared copy: they identify the photos (paths, hashes,
#: the cache key made from them) or are free text naming them.
EMPTIED = {
    "results": ("before_path", "after_path", "before_sha256", "after_sha256", "cache_key"),
    "status": ("before_path", "after_path", "cache_key", "message", "warnings"),
    "measurement_error": (),
}

#: The files a shared folder holds.
SHARED_FILES = (
    "results.csv",
    "results.parquet",
    "status.csv",
    "measurement_error.csv",
    "share.json",
    OUTPUT_MARKER,
)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _is_date(value) -> bool:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _read(out: Path):
    """The batch's three tables (results from Parquet, with its types and timepoint order)."""
    paths = {
        "results": out / "results.parquet",
        "status": out / "status.csv",
        "measurement_error": out / "measurement_error.csv",
    }
    for path in paths.values():
        if not path.is_file():
            raise InputFileError(
                "not here: share reads a batch output folder (run mesovision batch into it)",
                path=str(path),
            )
    tables = {}
    for name, path in paths.items():
        try:
            tables[name] = read_table(path, name)
        except (OSError, ValueError) as exc:
            raise InputFileError(f"cannot read ({exc})", path=str(path)) from None
    return tables, paths


def _read_key(path: Path) -> dict[str, str]:
    """``{subject: code}`` of an existing key file (empty when there is none)."""
    if not path.exists():
        return {}
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(f"cannot read the key ({exc})", path=str(path)) from None
    if rows and set(rows[0]) != {"subject", "code"}:
        raise InputFileError("not a key file: its columns must be subject,code", path=str(path))
    key = {r["subject"]: r["code"] for r in rows}
    if len(key) != len(rows) or len(set(key.values())) != len(key):
        raise InputFileError("a subject or a code appears twice in the key", path=str(path))
    return key


def _new_codes(key: dict[str, str], subjects: list[str]) -> dict[str, str]:
    """Codes for the ``subjects`` the key lacks, continuing its numbering, in random order."""
    new = [s for s in subjects if s not in key]
    taken = [int(c[1:]) for c in key.values() if re.fullmatch(r"S\d+", c)]
    start = max(taken, default=0) + 1
    width = max(3, len(str(start + len(new) - 1)))
    order = list(range(len(new)))
    secrets.SystemRandom().shuffle(order)
    return {s: f"S{start + k:0{width}d}" for s, k in zip(new, order, strict=True)}


def _append_key(path: Path, codes: dict[str, str], existed: bool) -> None:
    """Add ``codes`` to the key file (created with mode 0600 and its header)."""
    if not codes:
        return
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if not existed:
        w.writerow(["subject", "code"])
    w.writerows(sorted(codes.items(), key=lambda kv: kv[1]))
    flags = os.O_WRONLY | os.O_APPEND | (0 if existed else os.O_CREAT | os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())
        f.flush()
        os.fsync(f.fileno())


def _covariates(tables, keep: set[str], drop: set[str]) -> dict:
    """What becomes of each covariate (a column of ``results`` or ``status`` not in the schema):
    ``{"days": [...], "kept": {name: type}, "left_out": [...]}``, a kept covariate with its
    type as the batch gives it (:func:`mesovision.tables.covariate_type`)."""
    found: dict[str, list] = {}
    for name in ("results", "status"):
        df = tables[name]
        for c in df.columns:
            if c not in SCHEMAS[name]:
                found.setdefault(c, []).extend(df[c].dropna().tolist())
    unknown = sorted((keep | drop) - set(found))
    if unknown:
        raise UsageError(
            f"no covariate {unknown[0]!r} in the tables; they have: "
            + (", ".join(sorted(found)) or "none")
        )
    out = {"days": [], "kept": {}, "left_out": []}
    for c, values in found.items():
        kind = covariate_type(values)
        if c in drop:
            out["left_out"].append(c)
        elif values and all(_is_date(v) for v in values):
            out["days"].append(c)
        elif c in keep or kind == "float64" or not values:  # no value: nothing to identify
            out["kept"][c] = kind
        else:
            out["left_out"].append(c)
    return out


def _first_dates(out: Path, columns: list[str]) -> dict[tuple[str, str], date]:
    """``{(subject, column): first date}`` of each date covariate over the batch's manifest
    (``summary.json`` names it; the tables have no row of a baseline visit): the earliest date
    a subject's photos carry, its baseline visit's."""
    import hashlib
    import json

    if not columns:
        return {}
    summary = out / "summary.json"
    try:
        doc = json.loads(summary.read_text(encoding="utf-8"))
        manifest = Path(doc["manifest"])
        data = manifest.read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputFileError(
            f"the batch's manifest cannot be read ({exc}): the first visit's date of "
            f"{columns[0]} is unknown; --drop {columns[0]}, or restore the manifest",
            path=str(summary),
        ) from None
    if hashlib.sha256(data).hexdigest() != doc.get("manifest_sha256"):
        raise InputFileError(
            f"changed since the batch ran: the first visit's date of {columns[0]} is unknown; "
            f"run the batch again, or --drop {columns[0]}",
            path=str(manifest),
        )
    first: dict[tuple[str, str], date] = {}
    for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig"))):
        for c in columns:
            if _is_date(row.get(c)):
                d, k = date.fromisoformat(row[c]), (row["subject"], c)
                first[k] = min(first.get(k, d), d)
    return first


def _code_order(code: str) -> tuple:
    """Sort key of a study code: ``S2`` before ``S10`` (``S`` and a number), others after."""
    m = re.fullmatch(r"S(\d+)", code)
    return (0, int(m.group(1)), code) if m else (1, 0, code)


def _by_code(df):
    """``df`` with its rows sorted by study code, each subject's rows in the order they had: the
    tables' order (by subject, then view, comparison, timepoint, ...) with the codes as
    subjects, which says nothing of the order of the clinic's ids."""
    import numpy as np

    rank = {c: i for i, c in enumerate(sorted(set(df["subject"]), key=_code_order))}
    order = np.argsort(df["subject"].map(rank).to_numpy(np.int64), kind="stable")
    return df.iloc[order].reset_index(drop=True)


def _shared_frame(df, name: str, codes, plan, first, timepoints):
    """One table as shared: codes, emptied columns, covariates as ``plan`` says (in the
    batch's order, a date column as its ``_days`` column in its place)."""
    df = df.copy()
    extra = {}
    for c in [c for c in df.columns if c not in SCHEMAS[name]]:
        if c in plan["days"]:
            df[f"{c}_days"] = [
                float((date.fromisoformat(v) - first[(s, c)]).days)
                if isinstance(v, str) and (s, c) in first
                else None
                for s, v in zip(df["subject"], df[c], strict=True)
            ]
            extra[f"{c}_days"] = "float64"
        elif c in plan["kept"]:
            extra[c] = plan["kept"][c]
    if "subject" in df.columns:
        df["subject"] = df["subject"].map(codes)
        df = _by_code(df)
    for c in EMPTIED[name]:
        df[c] = None
    return conform(df, name, timepoints=timepoints, extra=extra)


def share_tables(
    out_dir: str | os.PathLike[str],
    shared_dir: str | os.PathLike[str],
    key: str | os.PathLike[str],
    *,
    keep=(),
    drop=(),
    force: bool = False,
) -> dict:
    """Write the shareable copy of the batch tables in ``out_dir`` into ``shared_dir`` (the module
    docstring says what changes), codes from and new codes to the key file ``key``. ``keep``:
    text covariates to share as they are; ``drop``: covariates to leave out. Returns the
    ``share.json`` document (plus ``"new_codes"``: how many subjects the key gained).

    Raises
    ------
    InputFileError
        A table of the batch or the key cannot be read.
    UsageError
        The timepoints are calendar dates; the key lies in ``shared_dir``; ``keep`` or ``drop``
        names no covariate.
    OutputExists
        A file of :data:`SHARED_FILES` exists in ``shared_dir`` and ``force`` is false.
    """
    from .io import output_folder, write_json

    out, shared, key = Path(out_dir), Path(shared_dir), Path(key)
    if key.resolve().parent == shared.resolve() or shared.resolve() in key.resolve().parents:
        raise UsageError(f"{key}: the key must not be in the shared folder; keep it apart")
    tables, inputs = _read(out)
    results = tables["results"]
    timepoints = list(results["timepoint"].cat.categories)
    dated = [t for t in timepoints if _is_date(str(t))]
    if dated:
        raise UsageError(
            f"{inputs['results']}: the timepoints are calendar dates ({dated[0]}, ...): number "
            "the visits in the manifest (0, 1, 2, ...) and run the batch again before sharing"
        )
    plan = _covariates(tables, set(keep), set(drop))
    codes = _read_key(key)
    subjects = sorted(
        {*results["subject"].dropna(), *tables["status"]["subject"].dropna()}, key=str
    )
    new = _new_codes(codes, subjects)
    doc = {
        "written_by": "mesovision share",
        "mesovision": __version__,
        "subjects": len(subjects),
        "emptied": {k: list(v) for k, v in EMPTIED.items() if v},
        "covariates": {
            "as_days_since_first": {c: f"{c}_days" for c in plan["days"]},
            "kept": list(plan["kept"]),
            "left_out": plan["left_out"],
        },
        "note": "subjects are study codes; the key that links them to the clinic's ids is kept "
        "by the clinic. Pseudonymous data are personal data: share under the study's agreement.",
    }
    first = _first_dates(out, plan["days"])
    codes = {**codes, **new}
    names = list(SHARED_FILES)
    protected = {f"the batch's {p.name}": p for p in [*inputs.values(), out / "results.csv"]}
    with output_folder(shared, names, force=force, inputs=protected) as staging:
        for name, df in tables.items():
            shared_df = _shared_frame(df, name, codes, plan, first, timepoints)
            parquet = staging / f"{name}.parquet" if name == "results" else None
            write_table(shared_df, staging / f"{name}.csv", parquet)
        write_json(staging / "share.json", doc)
        record_outputs(staging, names)
        _append_key(key, new, existed=key.exists())
    return {**doc, "new_codes": len(new)}
