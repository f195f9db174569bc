"""Batch comparisons from a manifest: validation, a content-addressed cache, local or dask
executors, per-item status, and tidy tables.

A run (:func:`run_batch`) goes in four steps, and writes nothing before the first is done:

1. **Read and check the manifest** (:func:`read_manifest`): every row, every file (hashed with
   SHA-256), before any work; the first problem is raised as one line naming the manifest, the
   row (as a spreadsheet numbers it: the header is row 1) and the reason.
2. **Plan** (:func:`plan_items`): for each subject and view, every later timepoint against the
   baseline (and against the previous timepoint with ``previous=True``), and every same-day
   repeat against repeat 1 of its visit. Each item gets a cache key, the SHA-256 of its input
   files' hashes, its settings and the mesovision version (:func:`cache_key`); items with the same
   key are computed once.
3. **Execute** the items whose key has no usable entry in ``OUT/cache/``: on a local process pool
   (``spawn`` start method, one thread per worker) or on a dask cluster. Each result is written to
   ``OUT/cache/<key>.json`` atomically as soon as it arrives, so an interrupted run (even
   ``kill -9``) loses nothing finished and a re-run resumes. An item that fails is recorded
   (status, error type, message, exit code) and the others continue.
4. **Tables** (:func:`build_tables`): ``results.csv``/``results.parquet`` (one row per item x
   region x metric), ``status.csv`` (one row per item), ``measurement_error.csv`` (from the
   same-day repeats) and ``summary.json``, replaced on every run: they derive entirely from the
   manifest and the cache, so re-running into the same ``OUT`` is the resume path. Floats are
   rounded to 10 significant digits and rows sorted, so the same inputs give byte-identical
   tables. They are written all together or not at all (:func:`mesovision.io.output_folder`):
   into a hidden staging folder ``OUT/.OUT.<random>.partial``, then moved into place, so a run
   interrupted while writing them (an exception, Ctrl-C, ``kill -9``) leaves the previous tables
   as they were; a staging folder left by a killed run is removed by the next run into ``OUT``.
   A table in ``OUT`` that mesovision did not write (not listed in ``OUT/``
   :data:`OUTPUT_MARKER`) is never replaced without ``overwrite`` (``--force``).

Failures caused by the input (a :class:`~mesovision.errors.MesovisionError`: no face, an
undecodable photo, an alignment beyond its thresholds) are cached like results and reported again
on a re-run; ``retry_failed=True`` (``--retry-failed``) computes them anew. An unexpected error
(a bug) or a crashed worker is never cached, so a re-run always retries it.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import hashlib
import json
import logging
import math
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .errors import InputFileError, MesovisionError, UsageError

log = logging.getLogger(__name__)

#: Raised when a cached record's content changes shape (2: comparability verdicts and the
#: changes' family), so that older entries are recomputed rather than read without them.
CACHE_FORMAT = 2
REQUIRED_COLUMNS = ("subject", "timepoint", "view", "path")
OPTIONAL_COLUMNS = ("arm", "treated", "reference", "repeat", "timepoint_order", "mode")
COMPARISONS = ("baseline", "previous", "repeat")
MODES = ("face", "body")
#: The largest repeat number of a manifest row (same-day repeat captures).
MAX_REPEAT = 1000
#: The largest magnitude of a numeric timepoint (exact as a float and as a 64-bit integer).
MAX_TIMEPOINT = 10**15
#: Significant digits of every float in the tables.
SIGNIFICANT_DIGITS = 10
#: Local workers are replaced after this many items (bounds MediaPipe's memory growth).
MAX_TASKS_PER_CHILD = 100
TABLE_NAMES = (
    "results.csv",
    "results.parquet",
    "status.csv",
    "measurement_error.csv",
    "summary.json",
)


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Manifest:
    """A checked manifest: its rows and the timepoint order (``timepoints[0]`` = baseline)."""

    path: Path
    sha256: str
    rows: tuple[Row, ...]
    timepoints: tuple[str, ...]
    numeric: bool  # all timepoints are numbers (then ordered by value)

    def rank(self, label: str) -> int:
        return self.timepoints.index(label)


def natural_key(s: str) -> tuple:
    """Sort key ordering ``S2`` before ``S10`` (digit runs compared as numbers, of any length)."""
    return tuple(
        (0, len(p.lstrip("0")), p.lstrip("0")) if p.isdigit() else (1, 0, p)
        for p in re.split(r"(\d+)", s)
    )


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
) -> Manifest:
    """Read and check a manifest CSV; hash every file it names.

    Parameters
    ----------
    path : str or os.PathLike
        UTF-8 CSV (a BOM is accepted; the delimiter is ``,``, or ``;`` or a tab when the header
        has no comma). Required columns ``subject, timepoint, view, path``; optional ``arm``,
        ``treated``, ``reference``, ``repeat``, ``timepoint_order``, ``mode``. A column named
        ``notes`` or starting with ``x_`` is ignored; any other column is refused (a misspelt
        optional column must not be dropped silently).
    baseline : str, optional
        The baseline timepoint's label; it is moved first in the order.
    allow_outside : bool, optional
        Accept paths that resolve outside the manifest's folder (refused by default).
    default_mode : {"face", "body"}
        Mode of rows with no ``mode`` value.

    Returns
    -------
    Manifest

    Raises
    ------
    UsageError
        A missing or unknown column, an empty or bad value, a duplicate row, a path outside the
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
    try:
        data = mpath.read_bytes()
    except FileNotFoundError:
        raise InputFileError("no such file", path=spath) from None
    except IsADirectoryError:
        raise InputFileError("is a directory, not a manifest CSV", path=spath) from None
    except OSError as exc:
        raise InputFileError(exc.strerror or str(exc), path=spath) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"not UTF-8 text (byte {exc.start})", path=spath) from None
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
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    for h in header:
        if h not in known and h != "notes" and not h.startswith("x_"):
            raise UsageError(
                f"unknown column {h!r}; valid: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)} "
                "(columns named notes or x_* are ignored)",
                path=spath,
            )
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise UsageError(f"column {dup[0]!r} appears twice", path=spath)

    folder = mpath.resolve().parent
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

    def err(n: int, msg: str) -> UsageError:
        return UsageError(f"row {n}: {msg}", path=spath)

    # Timepoints: numeric or labels.
    for n, r in raw:
        for c, v in r.items():
            if "\0" in v:
                raise err(n, f"{c} contains a NUL character")
        for c in REQUIRED_COLUMNS:
            if not r[c]:
                raise err(n, f"empty {c}")
    numbers = [_number(r["timepoint"]) for _, r in raw]
    numeric = all(v is not None for v in numbers)
    if numeric:
        for (n, r), v in zip(raw, numbers, strict=True):
            if abs(v) > MAX_TIMEPOINT:
                raise err(n, f"timepoint {r['timepoint']!r} is out of range (at most 1e15)")
    labels = [
        _canonical_number(v) if numeric else r["timepoint"]
        for (_, r), v in zip(raw, numbers, strict=True)
    ]
    order_of: dict[str, tuple[int, int]] = {}
    if "timepoint_order" in header and not numeric:
        for (n, r), lab in zip(raw, labels, strict=True):
            v = _number(r["timepoint_order"])
            if v is None or not v.is_integer():
                raise err(n, f"timepoint_order {r['timepoint_order']!r} is not an integer")
            if lab in order_of and order_of[lab][0] != int(v):
                raise err(
                    n,
                    f"timepoint {lab!r} has timepoint_order {int(v)} here but "
                    f"{order_of[lab][0]} in row {order_of[lab][1]}",
                )
            order_of[lab] = (int(v), n)
        by_order: dict[int, str] = {}
        for lab, (o, n) in order_of.items():
            if o in by_order:
                raise err(n, f"timepoints {by_order[o]!r} and {lab!r} have the same order {o}")
            by_order[o] = lab
        timepoints = sorted(set(labels), key=lambda lab: order_of[lab][0])
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

    from .regions import validate_region_names

    rows: list[Row] = []
    seen_key: dict[tuple, int] = {}
    seen_path: dict[Path, int] = {}
    arm_of: dict[str, tuple[str, int]] = {}
    mode_of: dict[tuple[str, str], tuple[str, int]] = {}
    for (n, r), label in zip(raw, labels, strict=True):
        rep_s = r.get("repeat", "") or "1"
        rep = _number(rep_s)
        if rep is None or not rep.is_integer() or not 1 <= rep <= MAX_REPEAT:
            raise err(n, f"repeat {rep_s!r} is not an integer from 1 to {MAX_REPEAT}")
        rep = int(rep)
        arm = r.get("arm", "")
        if r["subject"] in arm_of and arm_of[r["subject"]][0] != arm:
            a0, n0 = arm_of[r["subject"]]
            raise err(n, f"subject {r['subject']!r} is in arm {arm!r} here but {a0!r} in row {n0}")
        arm_of.setdefault(r["subject"], (arm, n))
        mode = r.get("mode", "") or default_mode
        if mode not in MODES:
            raise err(n, f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
        sv = (r["subject"], r["view"])
        if sv in mode_of and mode_of[sv][0] != mode:
            raise err(n, f"mode {mode!r} differs from row {mode_of[sv][1]} ({mode_of[sv][0]!r})")
        mode_of.setdefault(sv, (mode, n))
        try:
            treated = validate_region_names(
                [t.strip() for t in re.split(r"[;,]", r.get("treated", "")) if t.strip()]
            )
        except UsageError as exc:
            raise err(n, exc.message) from None
        key = (r["subject"], label, r["view"], rep)
        if key in seen_key:
            raise err(
                n,
                f"duplicate of row {seen_key[key]} (subject {r['subject']}, timepoint {label}, "
                f"view {r['view']}, repeat {rep})",
            )
        seen_key[key] = n
        photo = _checked_path(r["path"], folder, allow_outside, n, "photo", spath)
        if photo in seen_path:
            raise err(n, f"photo {r['path']!r} is also used in row {seen_path[photo]}")
        seen_path[photo] = n
        mask = None
        if r.get("reference", ""):
            mask = _checked_path(r["reference"], folder, allow_outside, n, "reference", spath)
        rows.append(
            Row(
                row=n,
                subject=r["subject"],
                arm=arm,
                timepoint=label,
                view=r["view"],
                repeat=rep,
                path=photo,
                rel=r["path"],
                sha256=_hash(photo, n, spath),
                treated=tuple(sorted(set(treated))),
                mask=mask,
                mask_rel=r.get("reference", ""),
                mask_sha256=_hash(mask, n, spath) if mask is not None else None,
                mode=mode,
            )
        )
    for row in rows:
        if row.repeat > 1 and (row.subject, row.timepoint, row.view, 1) not in seen_key:
            raise err(
                row.row,
                f"repeat {row.repeat} of subject {row.subject}, timepoint {row.timepoint}, view "
                f"{row.view} has no repeat 1",
            )
    return Manifest(
        path=mpath,
        sha256=hashlib.sha256(data).hexdigest(),
        rows=tuple(rows),
        timepoints=tuple(timepoints),
        numeric=numeric,
    )


def _checked_path(
    value: str, folder: Path, allow_outside: bool, n: int, what: str, spath: str
) -> Path:
    p = Path(value)
    full = (p if p.is_absolute() else folder / p).resolve()
    if not allow_outside and not full.is_relative_to(folder):
        raise UsageError(
            f"row {n}: {what} {value!r} is outside the manifest's folder "
            "(use --allow-outside to permit)",
            path=spath,
        )
    if not full.exists():
        raise InputFileError(f"row {n}: {what} {value!r} not found", path=spath)
    if not full.is_file():
        raise InputFileError(f"row {n}: {what} {value!r} is not a file", path=spath)
    return full


def _hash(p: Path, n: int, spath: str) -> str:
    from .io import sha256_file

    try:
        return sha256_file(p)
    except InputFileError as exc:
        raise InputFileError(f"row {n}: {p.name}: {exc.message}", path=spath) from None


# --------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSettings:
    """Per-comparison settings (the same for every item; part of the cache key)."""

    refine: str = "ecc"
    model: str = "similarity"
    lighting: str = "reference"
    max_side: int = 2048
    force: bool = False

    def check(self) -> None:
        from .lighting import METHODS

        if self.lighting not in METHODS:
            raise UsageError(
                f"unknown lighting method {self.lighting!r}; valid: {', '.join(METHODS)}"
            )
        if self.refine not in ("none", "ecc", "mesh"):
            raise UsageError(f"unknown refinement {self.refine!r}; valid: none, ecc, mesh")
        if self.model not in ("similarity", "affine"):
            raise UsageError(f"unknown model {self.model!r}; valid: similarity, affine")
        if not isinstance(self.max_side, int) or self.max_side < 64:
            raise UsageError(f"max side must be an integer >= 64 px, got {self.max_side!r}")


@dataclass(frozen=True)
class Item:
    """One comparison to make (or a skipped one, with ``skip_reason``)."""

    subject: str
    arm: str
    view: str
    timepoint: str
    reference_timepoint: str
    comparison: str  # "baseline", "previous" or "repeat"
    repeat: int
    after: Row
    before: Row | None
    key: str | None = None
    task: dict | None = field(default=None, compare=False)
    skip_reason: str | None = None


def cache_key(
    before_sha256: str, after_sha256: str, mask_sha256: str | None, settings: dict
) -> str:
    """SHA-256 (hex) of the inputs' hashes, the settings and the mesovision version."""
    doc = {
        "cache_format": CACHE_FORMAT,
        "mesovision": __version__,
        "before_sha256": before_sha256,
        "after_sha256": after_sha256,
        "mask_sha256": mask_sha256,
        "settings": settings,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _make_item(
    before: Row | None, after: Row, comparison: str, settings: BatchSettings, ref_tp: str
) -> Item:
    common = dict(
        subject=after.subject,
        arm=after.arm,
        view=after.view,
        timepoint=after.timepoint,
        reference_timepoint=ref_tp,
        comparison=comparison,
        repeat=after.repeat,
        after=after,
        before=before,
    )
    if before is None:
        return Item(
            **common,
            skip_reason=f"no baseline photo (timepoint {ref_tp}) for subject {after.subject}, "
            f"view {after.view}",
        )
    treated = sorted(set(before.treated) | set(after.treated))
    s = {
        "mode": before.mode,
        "refine": settings.refine,
        "model": settings.model,
        "lighting": settings.lighting,
        "max_side": settings.max_side,
        "force": settings.force,
        "treated": treated,
    }
    key = cache_key(before.sha256, after.sha256, before.mask_sha256, s)
    task = {
        "key": key,
        "before": str(before.path),
        "after": str(after.path),
        "mask": str(before.mask) if before.mask is not None else None,
        "settings": s,
    }
    return Item(**common, key=key, task=task)


def plan_items(
    manifest: Manifest, settings: BatchSettings, *, previous: bool = False
) -> list[Item]:
    """Every comparison the manifest asks for, in table order.

    For each subject and view: every timepoint after the baseline against the baseline (repeat 1
    of each); with ``previous``, every timepoint after the subject's first against the subject's
    previous timepoint; every repeat ``r >= 2`` against repeat 1 of the same visit. A later
    timepoint of a subject without a baseline photo for that view is a skipped item.
    """
    visits: dict[tuple[str, str], dict[str, dict[int, Row]]] = {}
    for r in manifest.rows:
        visits.setdefault((r.subject, r.view), {}).setdefault(r.timepoint, {})[r.repeat] = r
    base = manifest.timepoints[0]
    items: list[Item] = []
    for _sv, by_tp in sorted(
        visits.items(), key=lambda kv: (natural_key(kv[0][0]), natural_key(kv[0][1]))
    ):
        tps = sorted(by_tp, key=manifest.rank)
        for i, tp in enumerate(tps):
            after = by_tp[tp][1]
            if tp != base:
                before = by_tp[base][1] if base in by_tp else None
                items.append(_make_item(before, after, "baseline", settings, base))
            if previous and i > 0:
                items.append(
                    _make_item(by_tp[tps[i - 1]][1], after, "previous", settings, tps[i - 1])
                )
            for rep in sorted(by_tp[tp]):
                if rep > 1:
                    items.append(_make_item(by_tp[tp][1], by_tp[tp][rep], "repeat", settings, tp))
    return items


# --------------------------------------------------------------------------------------------
# The task (runs in a worker process)
# --------------------------------------------------------------------------------------------

_worker_ready = False


def _watch_parent(parent_pid: int, interval_s: float = 1.0) -> None:
    """Exit this worker when the batch process that started it is gone (``kill -9`` of the
    batch must not leave workers behind: they would wait on their queue forever)."""
    while True:
        time.sleep(interval_s)
        if os.getppid() != parent_pid:
            os._exit(1)


def _init_worker(parent_pid: int | None = None) -> None:
    """Once per worker process: one OpenCV thread (parallelism comes from processes); in a
    local pool, a watchdog thread that ends the worker when the batch process dies."""
    global _worker_ready
    if parent_pid is not None:
        import signal
        import threading

        # Ctrl-C is the batch process's to handle (it stops the pool); no worker tracebacks.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if _worker_ready:
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import cv2

    cv2.setNumThreads(1)
    _worker_ready = True


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname.lower()}: {record.getMessage()}")


def run_item(task: dict) -> dict:
    """Compare one pair (a task from :func:`plan_items`) and return its cache entry.

    Never raises for a failing comparison: a :class:`~mesovision.errors.MesovisionError` gives
    ``status="failed"`` with its type, message and exit code (cacheable); any other exception
    gives the same with ``cacheable=False`` (a bug, retried on every run). Log records and Python
    warnings of the package are captured into ``log`` instead of reaching the worker's stderr.
    """
    import warnings

    _init_worker()
    t0 = time.perf_counter()
    handler = _ListHandler()
    pkg = logging.getLogger("mesovision")
    saved = pkg.propagate
    pkg.addHandler(handler)
    pkg.propagate = False
    entry: dict = {
        "cache_format": CACHE_FORMAT,
        "key": task["key"],
        "mesovision": __version__,
        "task": task,
    }
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                from .compare import compare_pair, comparison_record
                from .io import to_jsonable
                from .pipeline import align_pair

                s = task["settings"]
                pair = align_pair(
                    task["before"],
                    task["after"],
                    mode=s["mode"],
                    refine=s["refine"],
                    model=s["model"],
                    mask_path=task["mask"],
                    max_side=s["max_side"],
                    force=s["force"],
                )
                cmp = compare_pair(pair, lighting=s["lighting"], treated=tuple(s["treated"]))
                entry.update(
                    status="ok",
                    error_type=None,
                    message=None,
                    exit_code=0,
                    cacheable=True,
                    record=to_jsonable(comparison_record(cmp)),
                )
            except MesovisionError as exc:
                entry.update(
                    status="failed",
                    error_type=type(exc).__name__,
                    message=str(exc),
                    exit_code=exc.exit_code,
                    cacheable=True,
                    record=None,
                )
            except Exception as exc:  # the batch runner's one broad catch: record, go on
                entry.update(
                    status="failed",
                    error_type=type(exc).__name__,
                    message=f"unexpected failure (a bug): {exc}",
                    exit_code=1,
                    cacheable=False,
                    record=None,
                )
        handler.messages += [f"warning: {w.category.__name__}: {w.message}" for w in caught]
    finally:
        pkg.removeHandler(handler)
        pkg.propagate = saved
    entry["seconds"] = time.perf_counter() - t0
    entry["log"] = handler.messages
    entry["worker_pid"] = os.getpid()
    entry["worker_maxrss_mb"] = _peak_rss_mb()
    return entry


def _peak_rss_mb() -> float:
    """This process's RSS high-water mark in MB: ``VmHWM`` of ``/proc/self/status`` (Linux;
    ``ru_maxrss`` would also count the parent's peak, which Linux carries across ``exec``)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------


#: The file in an output folder that lists the files mesovision wrote there (``batch``, ``stats``):
#: an existing file of the same name that it does not list is not replaced without ``--force``.
OUTPUT_MARKER = ".mesovision-outputs.json"


def _marked_outputs(folder: Path) -> set[str]:
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
    from .io import atomic_write_bytes

    ours = _marked_outputs(folder)
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
        text = json.dumps({"written_by": "mesovision", "files": files}, indent=1) + "\n"
        atomic_write_bytes(folder / OUTPUT_MARKER, text.encode("utf-8"), force=True)


def _cache_path(out: Path, key: str) -> Path:
    return out / "cache" / f"{key}.json"


def load_cache_entry(out: Path, key: str) -> dict | None:
    """The cache entry of ``key`` in ``out``, or ``None`` (absent, unreadable or not ours)."""
    p = _cache_path(out, key)
    try:
        entry = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable cache entry, recomputing (%s)", p, exc)
        return None
    if (
        not isinstance(entry, dict)
        or entry.get("key") != key
        or entry.get("cache_format") != CACHE_FORMAT
    ):
        log.warning("%s: cache entry of another key or format, recomputing", p)
        return None
    problem = _entry_problem(entry)
    if problem is not None:
        log.warning("%s: malformed cache entry (%s), recomputing", p, problem)
        return None
    return entry


def _is_number(v) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _entry_problem(entry: dict) -> str | None:
    """What is wrong with a cache entry that parsed as JSON, or ``None``: the fields the tables
    read must be there with their types, and an ``ok`` entry must hold at least one change."""
    status = entry.get("status")
    if status not in ("ok", "failed"):
        return f"status {status!r}"
    if not isinstance(entry.get("log", []), list) or not _is_number(entry.get("seconds")):
        return "log or seconds"
    if status == "failed":
        if not (
            isinstance(entry.get("error_type"), str)
            and isinstance(entry.get("message"), str)
            and isinstance(entry.get("exit_code"), int)
        ):
            return "a failure without error_type, message or exit_code"
        return None
    rec = entry.get("record")
    if not isinstance(rec, dict) or not isinstance(rec.get("alignment", {}), dict):
        return "no record"
    changes = rec.get("changes")
    if not isinstance(changes, dict) or not changes:
        return "no changes in the record"
    for region, metrics in changes.items():
        if not isinstance(metrics, dict) or not metrics:
            return f"region {region!r} has no metrics"
        for metric, c in metrics.items():
            if not isinstance(c, dict) or not all(
                _is_number(c.get(f)) for f in ("before", "after", "delta", "noise_floor")
            ):
                return f"change {region}/{metric} is not a set of numbers"
    return None


def _slim(entry: dict) -> dict:
    """The entry without its (large) record, keeping the alignment warnings for status.csv."""
    rec = entry.get("record") or {}
    slim = {k: v for k, v in entry.items() if k != "record"}
    slim["alignment_warnings"] = list((rec.get("alignment") or {}).get("warnings") or [])
    return slim


def write_cache_entry(out: Path, entry: dict) -> Path:
    """Write ``entry`` to ``out/cache/<key>.json`` atomically (replacing an older one)."""
    from .io import atomic_write_bytes, to_jsonable

    text = json.dumps(to_jsonable(entry), allow_nan=False, ensure_ascii=False)
    return atomic_write_bytes(_cache_path(out, entry["key"]), text.encode("utf-8"), force=True)


# --------------------------------------------------------------------------------------------
# Executors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where a run is: ``done`` of ``total`` unique comparisons (``cached`` of them from the
    cache at the start), ``failed`` so far, ``elapsed_s`` since execution began."""

    done: int
    total: int
    cached: int
    failed: int
    elapsed_s: float


def default_jobs() -> int:
    """Local workers by default: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class _LocalPool:
    def __init__(self, jobs: int):
        self.jobs = jobs
        self.in_flight = 2 * jobs

    def make(self) -> cf.Executor:
        import multiprocessing as mp

        kw = {"max_tasks_per_child": MAX_TASKS_PER_CHILD} if sys.version_info >= (3, 11) else {}
        return cf.ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=mp.get_context("spawn"),
            initializer=_init_worker,
            initargs=(os.getpid(),),
            **kw,
        )

    def close(self) -> None:
        pass


class _DaskPool:
    def __init__(self, scheduler: str | None, jobs: int | None):
        if not scheduler:
            raise UsageError("--executor dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
        try:
            from distributed import Client
        except ImportError:
            raise UsageError(
                "--executor dask needs the optional dependency dask.distributed: "
                "pip install 'mesovision[cluster]'"
            ) from None
        try:
            self.client = Client(scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
        threads = sum(self.client.nthreads().values()) or 1
        self.in_flight = 2 * (jobs or threads)

    def make(self) -> cf.Executor:
        return self.client.get_executor(pure=False)

    def close(self) -> None:
        self.client.close()


def _crash_entry(task: dict, exc: BaseException) -> dict:
    return {
        "cache_format": CACHE_FORMAT,
        "key": task["key"],
        "mesovision": __version__,
        "task": task,
        "status": "failed",
        "error_type": type(exc).__name__,
        "message": f"worker failed: {exc}".strip(),
        "exit_code": 1,
        "cacheable": False,
        "record": None,
        "seconds": float("nan"),
        "log": [],
    }


def _execute(pool, tasks: list[dict], on_done: Callable[[dict, dict], None]) -> None:
    """Run ``tasks`` on ``pool`` with at most ``pool.in_flight`` submitted at once; a broken
    local pool (a worker killed) fails the items in flight and is replaced."""
    from concurrent.futures.process import BrokenProcessPool

    pending = list(reversed(tasks))
    ex = pool.make()
    try:
        in_flight: dict[cf.Future, dict] = {}
        while pending or in_flight:
            while pending and len(in_flight) < pool.in_flight:
                t = pending.pop()
                in_flight[ex.submit(run_item, t)] = t
            done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            broken = False
            for fut in done:
                t = in_flight.pop(fut)
                try:
                    entry = fut.result()
                except Exception as exc:  # infrastructure: a dead worker, a lost connection
                    broken |= isinstance(exc, BrokenProcessPool)
                    entry = _crash_entry(t, exc)
                on_done(t, entry)
            if broken:
                for fut, t in list(in_flight.items()):
                    exc = fut.exception()
                    on_done(t, fut.result() if exc is None else _crash_entry(t, exc))
                in_flight.clear()
                ex.shutdown(wait=True, cancel_futures=True)
                log.warning("a worker process died; starting a new pool")
                ex = pool.make()
    except BaseException:
        ex.shutdown(wait=False, cancel_futures=True)
        raise
    ex.shutdown(wait=True)


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSummary:
    """What a run did (also written to ``OUT/summary.json``)."""

    out: Path
    n_items: int
    n_ok: int
    n_failed: int
    n_skipped: int
    n_cached: int  # items whose result came from the cache
    n_computed: int  # unique comparisons computed in this run
    seconds: float
    tables: tuple[Path, ...]
    failures: tuple[dict, ...]
    worker_peak_rss_mb: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "out": str(self.out),
            "n_items": self.n_items,
            "n_ok": self.n_ok,
            "n_failed": self.n_failed,
            "n_skipped": self.n_skipped,
            "n_cached": self.n_cached,
            "n_computed": self.n_computed,
            "seconds": self.seconds,
            "tables": [str(p) for p in self.tables],
            "failures": list(self.failures),
            "worker_peak_rss_mb": {str(k): v for k, v in self.worker_peak_rss_mb.items()},
        }


def read_sdc_table(path: str | os.PathLike[str]):
    """A measurement-error table (``measurement_error.csv``): columns ``view, region, metric,
    sdc`` at least. Raises :class:`InputFileError` (missing) or :class:`UsageError` (columns)."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise InputFileError("no such file" if not p.exists() else "not a file", path=str(p))
    try:
        df = pd.read_csv(p, dtype={"view": str, "region": str, "metric": str})
    except (OSError, ValueError) as exc:
        raise UsageError(f"not a measurement-error CSV ({exc})", path=str(p)) from None
    need = ["view", "region", "metric", "sdc"]
    miss = [c for c in need if c not in df.columns]
    if miss:
        raise UsageError(
            f"missing column{'s' if len(miss) > 1 else ''} {', '.join(miss)}; need "
            f"{', '.join(need)} (as written by mesovision batch)",
            path=str(p),
        )
    for c in ("view", "region", "metric"):  # as written by write_table
        df[c] = df[c].map(spreadsheet_unsafe)
    if df.duplicated(["view", "region", "metric"]).any():
        raise UsageError("duplicate view/region/metric rows", path=str(p))
    return df[need]


def run_batch(
    manifest: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    settings: BatchSettings | None = None,
    jobs: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    previous: bool = False,
    retry_failed: bool = False,
    baseline: str | None = None,
    allow_outside: bool = False,
    default_mode: str = "face",
    sdc: str | os.PathLike[str] | None = None,
    sdc_from_repeats: bool = False,
    progress: Callable[[Progress], None] | None = None,
    overwrite: bool = False,
) -> BatchSummary:
    """Run every comparison of a manifest into ``out_dir`` (see the module docstring).

    Parameters
    ----------
    manifest : str or os.PathLike
        The manifest CSV (:func:`read_manifest`).
    out_dir : str or os.PathLike
        Output folder, created if needed; ``out_dir/cache/`` holds one JSON per comparison.
        Re-running into the same folder resumes; the tables are replaced.
    settings : BatchSettings, optional
        Alignment and comparison settings (default :class:`BatchSettings()`).
    jobs : int, optional
        Local worker processes (default :func:`default_jobs`, capped at the number of
        comparisons to compute); with dask, the most items submitted at once is twice this
        (default: twice the cluster's threads).
    executor : {"local", "dask"}
        A local process pool (``spawn``) or a dask cluster at ``scheduler``.
    scheduler : str, optional
        The dask scheduler's address (``tcp://host:port``).
    previous : bool, optional
        Also compare every timepoint with the previous one.
    retry_failed : bool, optional
        Recompute items whose cached entry is a failure.
    baseline, allow_outside, default_mode
        See :func:`read_manifest`.
    sdc : path, optional
        A ``measurement_error.csv``: its smallest detectable change raises the noise floor of
        matching rows (view, region, metric) to ``max(noise floor, SDC)``, and ``significant``
        is recomputed.
    sdc_from_repeats : bool, optional
        The same with the measurement error computed from this manifest's repeats.
    progress : callable, optional
        Called with a :class:`Progress` at the start and after every finished comparison.
    overwrite : bool, optional
        Replace tables in ``out_dir`` that mesovision did not write (see :func:`claim_outputs`).

    Returns
    -------
    BatchSummary

    Raises
    ------
    UsageError, InputFileError
        A bad manifest, option or ``sdc`` file (nothing is written).
    OutputExists, OutputError
        ``out_dir`` is a file, holds a table mesovision did not write (without ``overwrite``),
        or cannot be written.
    """
    t_start = time.perf_counter()
    settings = settings or BatchSettings()
    settings.check()
    if executor not in ("local", "dask"):
        raise UsageError(f"unknown executor {executor!r}; valid: local, dask")
    if jobs is not None and jobs < 1:
        raise UsageError(f"-j must be at least 1, got {jobs}")
    if sdc is not None and sdc_from_repeats:
        raise UsageError("give either --sdc FILE or --sdc-from-repeats, not both")
    man = read_manifest(
        manifest, baseline=baseline, allow_outside=allow_outside, default_mode=default_mode
    )
    sdc_table = read_sdc_table(sdc) if sdc is not None else None
    if sdc_from_repeats and not any(r.repeat > 1 for r in man.rows):
        raise UsageError(
            "--sdc-from-repeats: the manifest has no repeat captures (repeat >= 2)",
            path=str(man.path),
        )
    items = plan_items(man, settings, previous=previous)
    # A dask cluster is reached before anything is written (a wrong address writes nothing).
    pool = _DaskPool(scheduler, jobs) if executor == "dask" else None
    try:
        return _run(
            man,
            items,
            out_dir,
            pool,
            settings=settings,
            jobs=jobs,
            executor=executor,
            previous=previous,
            retry_failed=retry_failed,
            sdc=sdc,
            sdc_table=sdc_table,
            sdc_from_repeats=sdc_from_repeats,
            progress=progress,
            t_start=t_start,
            overwrite=overwrite,
        )
    finally:
        if pool is not None:
            pool.close()


def _run(
    man: Manifest,
    items: list[Item],
    out_dir,
    pool,
    *,
    settings: BatchSettings,
    jobs: int | None,
    executor: str,
    previous: bool,
    retry_failed: bool,
    sdc,
    sdc_table,
    sdc_from_repeats: bool,
    progress,
    t_start: float,
    overwrite: bool = False,
) -> BatchSummary:
    from .io import prepare_output_dir

    out = prepare_output_dir(out_dir, [], force=True)
    claim_outputs(out, TABLE_NAMES, command="batch", force=overwrite)
    (out / "cache").mkdir(exist_ok=True)
    for stale in (out / "cache").glob(".*.tmp"):  # left by a run killed while writing
        stale.unlink(missing_ok=True)

    # What the cache already holds.
    tasks: dict[str, dict] = {}
    entries: dict[str, dict] = {}
    from_cache: set[str] = set()
    for it in items:
        if it.key is None or it.key in tasks or it.key in entries:
            continue
        e = load_cache_entry(out, it.key)
        if e is not None and (e.get("status") == "ok" or not retry_failed):
            entries[it.key] = _slim(e)
            from_cache.add(it.key)
        else:
            tasks[it.key] = it.task
    total = len(tasks) + len(from_cache)
    n_failed = sum(1 for k in from_cache if entries[k].get("status") != "ok")
    state = {"done": len(from_cache), "failed": n_failed}
    t_exec = time.perf_counter()

    def report() -> None:
        if progress is not None:
            progress(
                Progress(
                    state["done"],
                    total,
                    len(from_cache),
                    state["failed"],
                    time.perf_counter() - t_exec,
                )
            )

    def on_done(task: dict, entry: dict) -> None:
        if entry.get("cacheable"):
            write_cache_entry(out, entry)
            entry = _slim(entry)
        entries[task["key"]] = entry
        state["done"] += 1
        state["failed"] += entry.get("status") != "ok"
        if entry.get("status") != "ok":
            log.info("%s -> %s: %s", task["before"], task["after"], entry.get("message"))
        report()

    report()
    if tasks:
        todo = list(tasks.values())
        if pool is None:
            pool = _LocalPool(min(jobs or default_jobs(), len(todo)))
        _execute(pool, todo, on_done)

    def load_record(key: str) -> dict | None:
        e = load_cache_entry(out, key)
        return None if e is None else e.get("record")

    results, status, me = build_tables(
        man,
        items,
        entries,
        from_cache,
        sdc_table=sdc_table,
        sdc_from_repeats=sdc_from_repeats,
        load_record=load_record,
    )
    paths = tuple(out / n for n in TABLE_NAMES if n != "summary.json")
    rss: dict[int, float] = {}
    for k in tasks:
        e = entries.get(k, {})
        if "worker_pid" in e:
            rss[e["worker_pid"]] = max(rss.get(e["worker_pid"], 0.0), e["worker_maxrss_mb"])
    st = status["status"]
    failures = tuple(
        {c: r[c] for c in ("subject", "view", "timepoint", "comparison", "error_type", "message")}
        for r in status[st == "failed"].to_dict("records")
    )
    summary = BatchSummary(
        out=out,
        n_items=len(items),
        n_ok=int((st == "ok").sum()),
        n_failed=int((st == "failed").sum()),
        n_skipped=int((st == "skipped").sum()),
        n_cached=int(status["cached"].sum()),
        n_computed=len(tasks),
        seconds=time.perf_counter() - t_start,
        tables=paths,
        failures=failures,
        worker_peak_rss_mb=rss,
    )
    from .io import output_folder, write_json

    doc = {
        **summary.as_dict(),
        "manifest": str(man.path),
        "manifest_sha256": man.sha256,
        "timepoints": list(man.timepoints),
        "settings": {
            "refine": settings.refine,
            "model": settings.model,
            "lighting": settings.lighting,
            "max_side": settings.max_side,
            "force": settings.force,
            "previous": previous,
            "executor": executor,
            "sdc": str(sdc) if sdc is not None else ("repeats" if sdc_from_repeats else None),
        },
        "mesovision": __version__,
    }
    # All tables at once or none: staged beside the old ones, moved into place at the end.
    with output_folder(out, TABLE_NAMES, force=True) as staging:
        write_table(results, staging / "results.csv", staging / "results.parquet")
        write_table(status, staging / "status.csv")
        write_table(me, staging / "measurement_error.csv")
        write_json(staging / "summary.json", doc, force=True)
    return summary


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------

RESULT_COLUMNS = (
    "subject", "arm", "view", "timepoint", "timepoint_rank", "reference_timepoint",
    "reference_timepoint_rank", "comparison", "repeat", "region", "metric", "unit", "direction",
    "before", "after", "delta", "relative", "noise_floor", "noise_floor_pair", "sdc",
    "se", "z", "p", "q", "significant", "family", "comparability", "comparability_reason",
    "residual_px", "residual_iod_pct", "coverage", "lighting_de00_after",
    "before_path", "after_path", "before_sha256", "after_sha256", "cache_key",
)  # fmt: skip
STATUS_COLUMNS = (
    "subject", "arm", "view", "timepoint", "reference_timepoint", "comparison", "repeat",
    "before_path", "after_path", "status", "cached", "error_type", "message", "exit_code",
    "seconds", "cache_key", "warnings",
)  # fmt: skip


def round_sig(x, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``x`` as a float rounded to ``digits`` significant digits (NaN for ``None``/non-finite)."""
    if x is None:
        return float("nan")
    x = float(x)
    if not math.isfinite(x):
        return float("nan")
    return float(f"{x:.{digits}g}")


def _tp_value(label: str, numeric: bool):
    if not numeric:
        return label
    v = float(label)
    return int(v) if v.is_integer() else v


def _comparison_rows(it: Item, rec: dict, man: Manifest) -> list[dict]:
    al = rec.get("alignment") or {}
    light = rec.get("lighting") or {}
    de_after = (light.get("delta_e_after") or {}).get("median")
    iod = al.get("residual_iod")
    quality = {
        "residual_px": round_sig(al.get("residual_px")),
        "residual_iod_pct": round_sig(None if iod is None else 100.0 * iod),
        "coverage": round_sig(al.get("coverage")),
        "lighting_de00_after": round_sig(de_after),
    }
    ident = _ident(it, man)
    verdicts = rec.get("comparability") or {}
    rows = []
    for region in sorted(rec.get("changes", {})):
        for metric in sorted(rec["changes"][region]):
            c = rec["changes"][region][metric]
            floor = round_sig(c.get("noise_floor"))
            verdict = verdicts.get(c.get("family")) or {}
            rows.append(
                {
                    **ident,
                    "region": region,
                    "metric": metric,
                    "unit": c.get("unit"),
                    "direction": c.get("direction"),
                    "before": round_sig(c.get("before")),
                    "after": round_sig(c.get("after")),
                    "delta": round_sig(c.get("delta")),
                    "relative": round_sig(c.get("relative")),
                    "noise_floor": floor,
                    "noise_floor_pair": floor,
                    "sdc": float("nan"),
                    "se": round_sig(c.get("se")),
                    "z": round_sig(c.get("z")),
                    "p": round_sig(c.get("p")),
                    "q": round_sig(c.get("q")),
                    "significant": bool(c.get("significant")),
                    "family": c.get("family"),
                    "comparability": verdict.get("status"),
                    "comparability_reason": verdict.get("reason") or None,
                    **quality,
                    "before_path": it.before.rel,
                    "after_path": it.after.rel,
                    "before_sha256": it.before.sha256,
                    "after_sha256": it.after.sha256,
                    "cache_key": it.key,
                }
            )
    return rows


def _ident(it: Item, man: Manifest) -> dict:
    return {
        "subject": it.subject,
        "arm": it.arm,
        "view": it.view,
        "timepoint": _tp_value(it.timepoint, man.numeric),
        "timepoint_rank": man.rank(it.timepoint),
        "reference_timepoint": _tp_value(it.reference_timepoint, man.numeric),
        "reference_timepoint_rank": man.rank(it.reference_timepoint),
        "comparison": it.comparison,
        "repeat": it.repeat,
    }


def _sort_key(it: Item, man: Manifest) -> tuple:
    return (
        natural_key(it.subject),
        natural_key(it.view),
        COMPARISONS.index(it.comparison),
        man.rank(it.timepoint),
        it.repeat,
    )


def build_tables(
    man: Manifest,
    items: list[Item],
    entries: dict[str, dict],
    from_cache: set[str],
    *,
    sdc_table=None,
    sdc_from_repeats: bool = False,
    load_record: Callable[[str], dict | None] | None = None,
):
    """``(results, status, measurement_error)`` DataFrames from the items and their entries.

    An entry without its ``record`` (see :func:`_slim`) has it read back with ``load_record``
    (the cache), one at a time, so that a large batch never holds every record in memory."""
    import pandas as pd

    from .stats import apply_sdc, measurement_error

    chunks = []
    status: list[dict] = []
    for it in sorted(items, key=lambda i: _sort_key(i, man)):
        ident = _ident(it, man)
        e = entries.get(it.key) if it.key else None
        st = {
            **{k: ident[k] for k in STATUS_COLUMNS if k in ident},
            "before_path": it.before.rel if it.before else "",
            "after_path": it.after.rel,
            "cache_key": it.key or "",
        }
        if it.skip_reason is not None:
            st.update(status="skipped", cached=False, error_type="", message=it.skip_reason,
                      exit_code=pd.NA, seconds=float("nan"), warnings="")  # fmt: skip
        elif e is None:  # interrupted before this item ran
            st.update(status="failed", cached=False, error_type="NotRun",
                      message="not run (interrupted)", exit_code=1, seconds=float("nan"),
                      warnings="")  # fmt: skip
        else:
            warns = list(e.get("alignment_warnings") or [])
            warns += [m for m in e.get("log", []) if m not in warns]
            st.update(
                status=e["status"],
                cached=it.key in from_cache,
                error_type=e.get("error_type") or "",
                message=e.get("message") or "",
                exit_code=e.get("exit_code"),
                seconds=round_sig(e.get("seconds"), 4),
                warnings=" | ".join(warns),
            )
            rec = e.get("record")
            if e["status"] == "ok" and rec is None and load_record is not None:
                rec = load_record(it.key)
            if e["status"] == "ok" and rec is None:
                st.update(status="failed", error_type="CacheLost", exit_code=1,
                          message="the cached result disappeared; run again")  # fmt: skip
            elif e["status"] == "ok":
                rows = _comparison_rows(it, rec, man)
                chunks.append(pd.DataFrame(rows, columns=list(RESULT_COLUMNS)))
        status.append(st)
    if chunks:
        results = pd.concat(chunks, ignore_index=True)
    else:
        results = pd.DataFrame(columns=list(RESULT_COLUMNS))
    results = _typed(results, man)
    me = measurement_error(results)
    if sdc_from_repeats:
        sdc_table = me
    if sdc_table is not None:
        results = apply_sdc(results, sdc_table)
    status_df = pd.DataFrame(status, columns=list(STATUS_COLUMNS))
    status_df = status_df.astype(
        {"repeat": "int64", "cached": "bool", "exit_code": "Int64", "seconds": "float64"}
    )
    if man.numeric:
        for c in ("timepoint", "reference_timepoint"):
            status_df[c] = pd.to_numeric(status_df[c])
    return results, status_df, me


def _typed(df, man: Manifest):
    floats = [
        "before", "after", "delta", "relative", "noise_floor", "noise_floor_pair", "sdc",
        "se", "z", "p", "q", "residual_px", "residual_iod_pct", "coverage",
        "lighting_de00_after",
    ]  # fmt: skip
    types = {c: "float64" for c in floats}
    types.update(
        {
            "timepoint_rank": "int64",
            "reference_timepoint_rank": "int64",
            "repeat": "int64",
            "significant": "bool",
        }
    )
    text_columns = ("subject", "arm", "view", "comparison", "region", "metric", "unit",
                    "direction", "family", "comparability", "comparability_reason",
                    "before_path", "after_path", "before_sha256", "after_sha256",
                    "cache_key")  # fmt: skip
    for c in text_columns:
        types[c] = "object"
    df = df.astype(types)
    for c in ("timepoint", "reference_timepoint"):
        if man.numeric:
            df[c] = pd_numeric(df[c])
        else:
            df[c] = df[c].astype("object")
    return df


def pd_numeric(s):
    import pandas as pd

    v = pd.to_numeric(s)
    if len(v) and (v == v.round()).all():
        return v.astype("int64")
    return v.astype("float64")


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


def write_table(df, csv_path: Path, parquet_path: Path | None = None) -> tuple[Path, ...]:
    """Write ``df`` as CSV (and Parquet), atomically and byte-for-byte reproducibly.

    CSV: UTF-8, ``\\n`` line ends, floats as the shortest text that reads back exactly
    (:func:`round_sig` first), NaN as an empty field, booleans ``True``/``False`` (read as
    logical by pandas and R), and text cells that a spreadsheet would run as a formula prefixed
    with ``'`` (:func:`spreadsheet_safe`). Parquet keeps the raw values; it is written by pyarrow
    without pandas metadata and without any timestamp, snappy-compressed.
    """
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from .io import atomic_write_bytes

    text = spreadsheet_safe_frame(df).to_csv(index=False, lineterminator="\n", na_rep="")
    paths = [atomic_write_bytes(csv_path, text.encode("utf-8"), force=True)]
    if parquet_path is not None:
        table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="snappy")
        paths.append(atomic_write_bytes(parquet_path, buf.getvalue(), force=True))
    return tuple(paths)
