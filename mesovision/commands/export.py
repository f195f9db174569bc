"""``mesovision export PATIENT --csv|--json``: the course's changes as tidy rows."""

from __future__ import annotations

import argparse
import json

from .common import add_store_option, add_subparser

__all__ = ["add_parser", "run", "to_csv"]


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "export",
        "a patient's changes as tidy rows (patient, session, date, against, region, metric, "
        "unit, before, after, delta, relative, noise_floor, significant)",
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


def to_csv(rows: list[dict]) -> str:
    """The rows of :func:`mesovision.course.progress_rows` as CSV text."""
    from ..course import ROW_FIELDS
    from ..tables import csv_text

    return csv_text(rows, ROW_FIELDS)


def run(args: argparse.Namespace) -> int:
    from ..course import course_document, progress_rows
    from ..io import atomic_write_bytes, prepare_output_dir, to_jsonable
    from ..store import open_store
    from .feedback import Feedback

    if args.out:  # refuse an existing file before any work
        from pathlib import Path

        out = Path(args.out)
        prepare_output_dir(out.parent, [out.name], force=args.force)
    with Feedback("export", quiet=args.quiet) as fb, open_store(args.store) as store:
        fb.stage("comparing the sessions", done="compared the sessions")
        doc = course_document(
            store, args.patient, view=args.view, on_step=lambda k, n, label: fb.step(label, total=n)
        )
    rows = progress_rows(doc)
    if args.csv:
        text = to_csv(rows)
    else:
        text = json.dumps(to_jsonable(rows), indent=2, allow_nan=False) + "\n"
    if args.out:
        atomic_write_bytes(args.out, text.encode("utf-8"), force=args.force)
    else:
        print(text, end="")
    return 0
