"""``mesovision export PATIENT --csv|--json``: the course's changes as tidy rows."""

from __future__ import annotations

import argparse
import json
import logging

from .common import add_store_option, add_subparser, add_threads_option, printable, require_view

__all__ = ["add_parser", "not_compared_summary", "run", "store_files", "to_csv"]

log = logging.getLogger(__name__)


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "export",
        "a patient's changes as tidy rows (patient, session, date, against, region, metric, "
        "unit, before, after, delta, relative, noise_floor, se, null_scale, null_df, z, p, q, "
        "significant, comparability)",  # mesovision.course.ROW_FIELDS (not imported: --help)
        run,
        examples=(
            "mesovision export P001 --csv -o P001.csv --store clinic",
            "mesovision export P001 --json --store clinic",
        ),
    )
    p.add_argument("patient", help="patient id")
    fmt = p.add_mutually_exclusive_group(required=True)
    fmt.add_argument(
        "--csv",
        action="store_true",
        help="CSV (empty cell for a missing value; a text cell starting with =, +, -, @, tab or "
        "CR is prefixed with ')",
    )
    fmt.add_argument("--json", action="store_true", help="JSON list of rows (null when missing)")
    p.add_argument("-o", "--out", default=None, metavar="FILE", help="output file (default stdout)")
    p.add_argument("--view", default="front", help="photo view (default front)")
    p.add_argument("--force", action="store_true", help="overwrite FILE")
    add_store_option(p)
    add_threads_option(p)


def store_files(store: str | None) -> dict:
    """The store's database files by what they are: no output may replace them."""
    from ..store import DB_NAME, resolve_store_dir

    db = resolve_store_dir(store) / DB_NAME
    return {
        "the store's database": db,
        "the store's log": f"{db}-wal",
        "the store's index": f"{db}-shm",
    }


def to_csv(rows: list[dict]) -> str:
    """The rows of :func:`mesovision.course.progress_rows` as CSV text."""
    from ..course import ROW_FIELDS
    from ..tables import csv_text

    return csv_text(rows, ROW_FIELDS)


def run(args: argparse.Namespace) -> int:
    from ..course import course_document, progress_rows
    from ..io import atomic_write_bytes, prepare_output_dir, to_jsonable
    from ..io.write import require_folder
    from ..store import open_store
    from .feedback import Feedback

    if args.out:  # refuse an existing file, a missing folder or the store itself before any work
        from pathlib import Path

        out = Path(args.out)
        require_folder(out)
        prepare_output_dir(out.parent, [out.name], force=args.force, inputs=store_files(args.store))
    with Feedback("export", quiet=args.quiet) as fb, open_store(args.store) as store:
        fb.stage("comparing the sessions", done="compared the sessions")
        doc = course_document(
            store, args.patient, view=args.view, on_step=lambda k, n, label: fb.step(label, total=n)
        )
    require_view(args.store, args.patient, args.view, doc)
    rows = progress_rows(doc)
    if args.csv:
        text = to_csv(rows)
    else:
        text = json.dumps(to_jsonable(rows), indent=2, allow_nan=False) + "\n"
    if args.out:
        atomic_write_bytes(args.out, text.encode("utf-8"), force=args.force)
    else:
        print(text, end="")
    summary = not_compared_summary(doc)
    if summary:
        log.warning("%s", summary)
    return 0


def not_compared_summary(doc: dict) -> str | None:
    """One line for the comparisons of a course document that were not made (each is a note of
    the document, ``mesovision progress`` prints them), or None when every one was made."""
    later = doc["sessions"][1:]
    made = {(c["session_id"], c["against"]) for c in doc["comparisons"]}
    base = sum((s["id"], "baseline") not in made for s in later)
    prev = sum((s["id"], "previous") not in made for s in later[1:])
    if not base and not prev:
        return None
    pid = doc["patient"]["id"]
    return (
        f"{base} of {len(later)} later session(s) not compared with the baseline, {prev} not "
        f"with the previous one: no rows for them (mesovision progress {printable(pid)} says why)"
    )
