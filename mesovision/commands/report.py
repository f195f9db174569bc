"""``mesovision report PATIENT -o report.html``: the treatment-course report (HTML, and PDF)."""

from __future__ import annotations

import argparse
import logging

from ..errors import UsageError
from .common import (
    add_store_option,
    add_subparser,
    add_threads_option,
    printable,
    require_view,
    row_id,
)

__all__ = ["add_parser", "run"]

log = logging.getLogger(__name__)


def add_parser(sub) -> None:
    p = add_subparser(
        sub,
        "report",
        "write a patient's treatment-course report: one self-contained HTML file (and a PDF)",
        run,
        examples=(
            "mesovision report P001 -o report.html --store clinic",
            "mesovision report P001 -o report.html --pdf --session 3 --store clinic",
            "mesovision report P001 -o record.pdf --full --store clinic",
            "mesovision report P001 -o shared.html --deidentify --store clinic",
        ),
    )
    p.add_argument("patient", help="patient id in the store (pseudonymous, e.g. P001)")
    p.add_argument("-o", "--out", required=True, help="the HTML file to write (report.html)")
    p.add_argument(
        "--session",
        type=row_id,
        default=None,
        metavar="S",
        help="session id shown against the baseline (default: the latest)",
    )
    p.add_argument("--view", default="front", help="photo view of the course (default front)")
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also write the PDF for the patient record (same name, .pdf); an -o ending in "
        ".pdf writes the PDF alone",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="the PDF carries the technical appendix (heatmaps, every measure, quality, "
        "methods) after the two-page patient summary",
    )
    p.add_argument(
        "--show-name", action="store_true", help="show the patient's name (default: the id only)"
    )
    p.add_argument(
        "--deidentify",
        action="store_true",
        help="the version to share: eyes blurred in every photo; patient id, name, birth "
        "year, file names, session notes, products and calendar dates left out (sessions "
        "dated as days since the first one). The face stays recognisable: still personal "
        "health data, not anonymous",
    )
    add_store_option(p)
    add_threads_option(p)
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")


def run(args: argparse.Namespace) -> int:
    from ..io import output_folder
    from ..io.write import require_folder
    from ..report import report_paths, write_report
    from ..store import resolve_store_dir
    from .export import store_files
    from .feedback import Feedback

    store = resolve_store_dir(args.store)
    targets = report_paths(args.out, pdf=args.pdf)
    folder = targets[0].parent
    require_folder(targets[0])
    # HTML and PDF together or not at all: rendered into a staging folder, moved in at the end.
    # The targets are checked before the (slow) course document and rendering.
    names = [t.name for t in targets]
    with (
        Feedback("report", quiet=args.quiet) as fb,
        output_folder(folder, names, force=args.force, inputs=store_files(args.store)) as staging,
    ):
        from ..course import course_document

        # The whole course (trends need every session); --session picks the one shown in detail.
        fb.stage("comparing the sessions", done="compared the sessions")
        doc = course_document(
            store, args.patient, view=args.view, on_step=lambda k, n, label: fb.step(label, total=n)
        )
        require_view(args.store, args.patient, args.view, doc)
        if not doc["sessions"]:
            raise UsageError(f"patient {args.patient} has no session yet: nothing to report")
        fb.stage("writing the report", done="wrote the report")
        write_report(
            doc,
            staging / targets[0].name,
            pdf=args.pdf,
            session=args.session,
            show_name=args.show_name,
            deidentify=args.deidentify,
            full=args.full,
        )
    for path in targets:
        print(f"report written: {printable(path)}")
    _left_beside(targets)
    return 0


def _left_beside(targets: list) -> None:
    """Warn of the other format's file beside an HTML-only or PDF-only report: an earlier
    report's, now out of step with the one written (it is left as it is)."""
    html = targets[0].with_suffix(".html") if targets[0].suffix.lower() == ".pdf" else targets[0]
    other = [p for p in (html, html.with_suffix(".pdf")) if p not in targets and p.is_file()]
    for path in other:
        log.warning(
            "%s is an earlier report's and was left as it is: it does not show this report's "
            "course (write both with --pdf, or remove it)",
            printable(path),
        )
