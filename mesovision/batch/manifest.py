"""The manifest of a batch: read, check and hash every row before any work.

A manifest is a CSV with one row per photo (``subject, timepoint, view, path`` and optional
columns). :func:`read_manifest` reads it whole, checks every value and every file it names
(hashing each with SHA-256), and raises the first problem as one line naming the manifest, the
row (as a spreadsheet numbers it: the header is row 1) and the reason. Nothing is written and
nothing is computed before the manifest is accepted.

Covariates (a subject's age, a visit's weight) are further columns: any column whose name starts
with ``x_``, and those the caller names (``--covariates age,bmi``). Their values are kept as
written and carried into the tables, where a covariate whose values are all numbers is a number.

The timepoint order is decided here, once, and every table follows it: when every timepoint is a
number, by value; otherwise by the ``timepoint_order`` column, or, without it, by a natural sort
of the labels (``week4`` < ``week12``); ``baseline`` moves a label first (dates: ``timepoints``).
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import InputFileError, UsageError
from ..scale import PX_PER_MM_RANGE, implausible_scale
from ..tables import MISSING_MARKERS
from .timepoints import check_dates, natural_key

__all__ = [
    "IPD_RANGE_MM",
    "MAX_REPEAT",
    "MAX_TIMEPOINT",
    "MODES",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "Manifest",
    "Row",
    "natural_key",
    "read_manifest",
]

REQUIRED_COLUMNS = ("subject", "timepoint", "view", "path")
#: The labels that name groups in the tables: none may be one of ``tables.MISSING_MARKERS``.
_LABEL_COLUMNS = ("subject", "timepoint", "view", "arm")
OPTIONAL_COLUMNS = (
    "arm",
    "treated",
    "reference",
    "repeat",
    "timepoint_order",
    "mode",
    "px_per_mm",
    "ipd_mm",
)
#: The plausible range (mm) of an ``ipd_mm`` value, as ``mesovision compare --ipd-mm`` takes it.
IPD_RANGE_MM = (40.0, 80.0)
MODES = ("face", "body", "scalp", "trichoscopy")
#: The largest repeat number of a manifest row (same-day repeat captures).
MAX_REPEAT = 1000
#: The largest magnitude of a numeric timepoint (exact as a float and as a 64-bit integer).
MAX_TIMEPOINT = 10**15


@dataclass(frozen=True)
class Row:
    """One manifest row, checked: absolute paths, file hashes, parsed values."""

    row: int  # spreadsheet row number (header = 1)
    subject: str
    arm: str
    timepoint: str  # canonical label ("4", "4.5", "week4")
    view: str
    repeat: int
    path: Path
    rel: str  # the path as written in the manifest
    sha256: str
    treated: tuple[str, ...] = ()
    mask: Path | None = None
    mask_rel: str = ""
    mask_sha256: str | None = None
    mode: str = "face"
    covariates: tuple[str, ...] = ()  # the values of Manifest.covariates, as written
    px_per_mm: float | None = None  # the photo file's pixels per mm
    ipd_mm: float | None = None  # the subject's interpupillary distance (face mode)


@dataclass(frozen=True)
class Manifest:
    """A checked manifest: its rows and the timepoint order (``timepoints[0]`` = baseline)."""

    path: Path
    sha256: str
    rows: tuple[Row, ...]
    timepoints: tuple[str, ...]
    numeric: bool  # all timepoints are numbers (then ordered by value)
    covariates: tuple[str, ...] = ()  # covariate columns, in the manifest's order

    def rank(self, label: str) -> int:
        """The position of ``label`` in the timepoint order (0 = baseline)."""
        return self.timepoints.index(label)


def _number(s: str) -> float | None:
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _canonical_number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _sniff_delimiter(header: str) -> str:
    for d in (",", ";", "\t"):
        if d in header:
            return d
    return ","


def read_manifest(
    path: str | os.PathLike[str],
    *,
    baseline: str | None = None,
    allow_outside: bool = False,
    default_mode: str = "face",
    covariates: Sequence[str] | str | None = None,
) -> Manifest:
    """Read and check a manifest CSV; hash every file it names.

    Parameters
    ----------
    path : str or os.PathLike
        UTF-8 CSV (a BOM is accepted; the delimiter is ``,``, or ``;`` or a tab when the header
        has no comma). Required columns ``subject, timepoint, view, path``; optional ``arm``,
        ``treated``, ``reference``, ``repeat``, ``timepoint_order``, ``mode``, ``px_per_mm``,
        ``ipd_mm`` (the photo's scale: pixels per mm, or the subject's interpupillary distance
        in face or scalp mode; not both). A column named ``notes`` is ignored; ``x_*`` columns
        are covariates; any other column is refused unless named in ``covariates`` (a misspelt
        optional column must not be dropped silently).
    baseline : str, optional
        The baseline timepoint's label; it is moved first in the order.
    allow_outside : bool, optional
        Accept paths that resolve outside the manifest's folder (refused by default).
    default_mode : {"face", "body", "scalp", "trichoscopy"}
        Mode of rows with no ``mode`` value.
    covariates : sequence of str or str, optional
        Further columns to accept as covariates (``"age,bmi"`` or ``["age", "bmi"]``), besides
        the ``x_*`` columns. Covariates are carried, as written, into the tables.

    Returns
    -------
    Manifest

    Raises
    ------
    UsageError
        A missing or unknown column, a covariate that is not a column or names a column of the
        tables, an empty or bad value, a duplicate row, a path outside the
        folder, inconsistent ``arm``/``mode``/``timepoint_order`` for a subject or label, a
        repeat without its repeat 1, an unknown ``baseline``.
    InputFileError
        The manifest or a file it names is missing or unreadable.

    Notes
    -----
    Timepoint order: when every timepoint is a number, by value; otherwise by the
    ``timepoint_order`` column (an integer per label), or, without it, by a natural sort of the
    labels (``w2`` < ``w10``). ``baseline`` then moves that label first. Numbers are written in a
    canonical form (``4.0`` -> ``4``).
    """
    mpath = Path(path)
    spath = str(mpath)
    if default_mode not in MODES:
        raise UsageError(f"unknown mode {default_mode!r}; valid: {', '.join(MODES)}")
    declared = _declared_covariates(covariates)
    data, text = _read_text(mpath)
    header, raw = _parse(text, spath, declared)
    cov = tuple(h for h in header if h.startswith("x_") or h in declared)
    labels, timepoints, numeric = _timepoint_order(raw, header, baseline, spath)
    checker = _RowChecker(mpath.resolve().parent, allow_outside, default_mode, spath)
    rows = [
        replace(checker.check(n, r, label), covariates=tuple(r[c] for c in cov))
        for (n, r), label in zip(raw, labels, strict=True)
    ]
    for row in rows:
        if row.repeat > 1 and (row.subject, row.timepoint, row.view, 1) not in checker.seen_key:
            raise UsageError(
                f"row {row.row}: repeat {row.repeat} of subject {row.subject}, timepoint "
                f"{row.timepoint}, view {row.view} has no repeat 1",
                path=spath,
            )
    return Manifest(
        path=mpath,
        sha256=hashlib.sha256(data).hexdigest(),
        rows=tuple(rows),
        timepoints=tuple(timepoints),
        numeric=numeric,
        covariates=cov,
    )


def _declared_covariates(covariates: Sequence[str] | str | None) -> tuple[str, ...]:
    """The covariate names given by the caller, checked against the manifest's own columns and
    the columns of the tables they are carried into."""
    from ..tables import SCHEMAS

    if covariates is None:
        return ()
    names = covariates.split(",") if isinstance(covariates, str) else list(covariates)
    names = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    taken = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS) | {"notes"}
    for table in ("results", "status"):
        taken |= set(SCHEMAS[table])
    for n in names:
        if n in taken:
            raise UsageError(
                f"--covariates: {n!r} is a column of the manifest or of the tables, not a covariate"
            )
    return names


def _read_text(mpath: Path) -> tuple[bytes, str]:
    """The manifest's bytes and its text (UTF-8, a BOM dropped)."""
    spath = str(mpath)
    try:
        data = mpath.read_bytes()
    except FileNotFoundError:
        raise InputFileError("no such file", path=spath) from None
    except IsADirectoryError:
        raise InputFileError("is a directory, not a manifest CSV", path=spath) from None
    except OSError as exc:
        raise InputFileError(exc.strerror or str(exc), path=spath) from None
    try:
        return data, data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"not UTF-8 text (byte {exc.start})", path=spath) from None


def _parse(
    text: str, spath: str, declared: tuple[str, ...] = ()
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The checked header and the non-empty rows as ``(row number, {column: value})``."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise UsageError("empty manifest (no header row)", path=spath)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=_sniff_delimiter(lines[0]))
    header = [h.strip() for h in next(reader)]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise UsageError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"required: {', '.join(REQUIRED_COLUMNS)}",
            path=spath,
        )
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS) | set(declared)
    for h in header:
        if h not in known and h != "notes" and not h.startswith("x_"):
            raise UsageError(
                f"unknown column {h!r}; valid: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)} "
                "(a column named notes is ignored; x_* columns and those named with "
                "--covariates are covariates)",
                path=spath,
            )
    absent = [c for c in declared if c not in header]
    if absent:
        raise UsageError(f"--covariates: no column {absent[0]!r} in the manifest", path=spath)
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise UsageError(f"column {dup[0]!r} appears twice", path=spath)
    raw: list[tuple[int, dict[str, str]]] = []
    for rec in reader:
        n = reader.line_num
        if not any(v.strip() for v in rec):
            continue
        if len(rec) != len(header):
            raise UsageError(
                f"row {n}: {len(rec)} fields, the header has {len(header)}", path=spath
            )
        raw.append((n, {h: v.strip() for h, v in zip(header, rec, strict=True)}))
    if not raw:
        raise UsageError("no rows below the header", path=spath)
    for n, r in raw:
        for c, v in r.items():
            if "\0" in v:
                raise UsageError(f"row {n}: {c} contains a NUL character", path=spath)
            if c in _LABEL_COLUMNS and v in MISSING_MARKERS:
                msg = f"{c} {v!r} reads as missing in the tables (pandas); give another label"
                raise UsageError(f"row {n}: {msg}", path=spath)
        for c in REQUIRED_COLUMNS:
            if not r[c]:
                raise UsageError(f"row {n}: empty {c}", path=spath)
    return header, raw


def _timepoint_order(
    raw: list[tuple[int, dict[str, str]]], header: list[str], baseline: str | None, spath: str
) -> tuple[list[str], list[str], bool]:
    """``(label of each row, the ordered timepoints, numeric)`` (see :func:`read_manifest`)."""
    numbers = [_number(r["timepoint"]) for _, r in raw]
    numeric = all(v is not None for v in numbers)
    if numeric:
        for (n, r), v in zip(raw, numbers, strict=True):
            if abs(v) > MAX_TIMEPOINT:
                raise UsageError(
                    f"row {n}: timepoint {r['timepoint']!r} is out of range (at most 1e15)",
                    path=spath,
                )
    labels = [
        _canonical_number(v) if numeric else r["timepoint"]
        for (_, r), v in zip(raw, numbers, strict=True)
    ]
    if "timepoint_order" in header and not numeric:
        order_of = _declared_order(raw, labels, spath)
        timepoints = sorted(set(labels), key=lambda lab: order_of[lab])
    elif numeric:
        timepoints = sorted(set(labels), key=float)
    else:
        timepoints = sorted(set(labels), key=natural_key)
    if baseline is not None:
        b = baseline.strip()
        if numeric and _number(b) is not None:
            b = _canonical_number(_number(b))
        if b not in timepoints:
            raise UsageError(
                f"--baseline {baseline!r} is not a timepoint of the manifest; timepoints: "
                f"{', '.join(timepoints)}",
                path=spath,
            )
        timepoints.remove(b)
        timepoints.insert(0, b)
    check_dates(raw, labels, timepoints[0], spath)  # (numbers are never dates)
    return labels, timepoints, numeric


def _declared_order(
    raw: list[tuple[int, dict[str, str]]], labels: list[str], spath: str
) -> dict[str, int]:
    """``{label: order}`` from the ``timepoint_order`` column, one integer per label."""
    order_of: dict[str, tuple[int, int]] = {}
    for (n, r), lab in zip(raw, labels, strict=True):
        v = _number(r["timepoint_order"])
        if v is None or not v.is_integer():
            raise UsageError(
                f"row {n}: timepoint_order {r['timepoint_order']!r} is not an integer", path=spath
            )
        if lab in order_of and order_of[lab][0] != int(v):
            raise UsageError(
                f"row {n}: timepoint {lab!r} has timepoint_order {int(v)} here but "
                f"{order_of[lab][0]} in row {order_of[lab][1]}",
                path=spath,
            )
        order_of[lab] = (int(v), n)
    by_order: dict[int, str] = {}
    for lab, (o, n) in order_of.items():
        if o in by_order:
            raise UsageError(
                f"row {n}: timepoints {by_order[o]!r} and {lab!r} have the same order {o}",
                path=spath,
            )
        by_order[o] = lab
    return {lab: o for lab, (o, _) in order_of.items()}


class _RowChecker:
    """Checks the rows one by one against the rows before them (duplicates, a subject's arm, a
    subject and view's mode, a photo used twice) and builds each :class:`Row`."""

    def __init__(self, folder: Path, allow_outside: bool, default_mode: str, spath: str):
        self.folder = folder
        self.allow_outside = allow_outside
        self.default_mode = default_mode
        self.spath = spath
        self.seen_key: dict[tuple, int] = {}
        self.seen_path: dict[Path, int] = {}
        self.arm_of: dict[str, tuple[str, int]] = {}
        self.mode_of: dict[tuple[str, str], tuple[str, int]] = {}

    def err(self, n: int, msg: str) -> UsageError:
        return UsageError(f"row {n}: {msg}", path=self.spath)

    def check(self, n: int, r: dict[str, str], label: str) -> Row:
        from ..regions import validate_region_names

        rep_s = r.get("repeat", "") or "1"
        rep = _number(rep_s)
        if rep is None or not rep.is_integer() or not 1 <= rep <= MAX_REPEAT:
            raise self.err(n, f"repeat {rep_s!r} is not an integer from 1 to {MAX_REPEAT}")
        rep = int(rep)
        arm = r.get("arm", "")
        if r["subject"] in self.arm_of and self.arm_of[r["subject"]][0] != arm:
            a0, n0 = self.arm_of[r["subject"]]
            raise self.err(
                n, f"subject {r['subject']!r} is in arm {arm!r} here but {a0!r} in row {n0}"
            )
        self.arm_of.setdefault(r["subject"], (arm, n))
        mode = self._mode(n, r)
        try:
            treated = validate_region_names(
                [t.strip() for t in re.split(r"[;,]", r.get("treated", "")) if t.strip()],
                mode=mode,
            )
        except UsageError as exc:
            raise self.err(n, exc.message) from None
        key = (r["subject"], label, r["view"], rep)
        if key in self.seen_key:
            raise self.err(
                n,
                f"duplicate of row {self.seen_key[key]} (subject {r['subject']}, timepoint "
                f"{label}, view {r['view']}, repeat {rep})",
            )
        self.seen_key[key] = n
        photo = self._path(r["path"], n, "photo")
        if photo in self.seen_path:
            raise self.err(n, f"photo {r['path']!r} is also used in row {self.seen_path[photo]}")
        self.seen_path[photo] = n
        mask = self._path(r["reference"], n, "reference") if r.get("reference", "") else None
        ppm, ipd = self._scale(n, r, mode)
        return Row(
            row=n,
            subject=r["subject"],
            arm=arm,
            timepoint=label,
            view=r["view"],
            repeat=rep,
            path=photo,
            rel=r["path"],
            sha256=self._hash(photo, n),
            treated=tuple(sorted(set(treated))),
            mask=mask,
            mask_rel=r.get("reference", ""),
            mask_sha256=self._hash(mask, n) if mask is not None else None,
            mode=mode,
            px_per_mm=ppm,
            ipd_mm=ipd,
        )

    def _scale(self, n: int, r: dict[str, str], mode: str) -> tuple[float | None, float | None]:
        """The row's ``px_per_mm`` and ``ipd_mm`` (``None`` when empty), checked."""
        ppm_s, ipd_s = r.get("px_per_mm", ""), r.get("ipd_mm", "")
        ppm = _number(ppm_s) if ppm_s else None
        ipd = _number(ipd_s) if ipd_s else None
        lo, hi = PX_PER_MM_RANGE
        if ppm_s and (ppm is None or not lo <= ppm <= hi):
            raise self.err(n, implausible_scale("px_per_mm", repr(ppm_s)))
        if ipd_s and (ipd is None or not IPD_RANGE_MM[0] <= ipd <= IPD_RANGE_MM[1]):
            raise self.err(
                n, f"ipd_mm {ipd_s!r} is not a plausible interpupillary distance (40-80 mm)"
            )
        if ipd is not None and mode not in ("face", "scalp"):
            raise self.err(n, f"ipd_mm needs face or scalp mode (the pupils), not {mode!r}")
        if ppm is not None and ipd is not None:
            raise self.err(n, "give px_per_mm or ipd_mm, not both")
        return ppm, ipd

    def _mode(self, n: int, r: dict[str, str]) -> str:
        mode = r.get("mode", "") or self.default_mode
        if mode not in MODES:
            raise self.err(n, f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
        sv = (r["subject"], r["view"])
        if sv in self.mode_of and self.mode_of[sv][0] != mode:
            m0, n0 = self.mode_of[sv]
            raise self.err(n, f"mode {mode!r} differs from row {n0} ({m0!r})")
        self.mode_of.setdefault(sv, (mode, n))
        return mode

    def _path(self, value: str, n: int, what: str) -> Path:
        p = Path(value)
        full = (p if p.is_absolute() else self.folder / p).resolve()
        if not self.allow_outside and not full.is_relative_to(self.folder):
            raise self.err(
                n,
                f"{what} {value!r} is outside the manifest's folder (use --allow-outside to "
                "permit)",
            )
        if not full.exists():
            raise InputFileError(f"row {n}: {what} {value!r} not found", path=self.spath)
        if not full.is_file():
            raise InputFileError(f"row {n}: {what} {value!r} is not a file", path=self.spath)
        return full

    def _hash(self, p: Path, n: int) -> str:
        from ..io import sha256_file

        try:
            return sha256_file(p)
        except InputFileError as exc:
            raise InputFileError(f"row {n}: {p.name}: {exc.message}", path=self.spath) from None
