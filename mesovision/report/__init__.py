"""The practitioner's report of a treatment course: one self-contained HTML file, and a PDF.

Input: a **course document** (``mesovision.course.course_document``, or
``tests/report/report_course.py`` without a store), a JSON-able dict::

    {"schema_version": "1.1",
     "generated_by": "mesovision <version>",
     "patient": {"id": "P001", "name": str | None, "birth_year": int | None},
     "view": "front",
     "sessions": [   # ordered by date; the first is the baseline
        {"id": int, "date": "YYYY-MM-DD", "treated": [region, ...], "product": str | None,
         "notes": str | None,
         "photo": {"id": int, "sha256": str, "path": str, "file_name": str,
                   "capture_date": str | None,
                   "checks": [{"name", "ok", "severity", "value", "threshold", "unit",
                               "message"}]}}],
     "comparisons": [   # one per later session and per reference
        {"session_id": int, "against": "baseline" | "previous", "against_session_id": int,
         "record": <comparison_record(cmp), as result.json>,
         "images": {"before": PNG path (reference photo, before frame), "aligned_after": ...,
                    "normalized_after": ..., "bruise_mask_before": ..., "bruise_mask_after": ...,
                    "heatmap_<family>_<before|after>": ...}}],
     "notes": [str, ...],
     "refusals": [{"session_id", "date", "against", "against_session_id",
                   "photo_session_id", "error", "check", "value", "limit", "message",
                   "note"}]}   # (see mesovision.course; optional, absent in schema 1.0)

:func:`render_html` gives the HTML text (see :mod:`mesovision.report.html`),
:func:`render_pdf` the PDF bytes (see :mod:`mesovision.report.pdf`), :func:`write_report` writes
them atomically. Photos are embedded as re-encoded pixels only (no EXIF, ICC or text chunks);
the patient's name and the photos' file names appear only with ``show_name`` (a photo's folders
never: they often carry the patient's name); otherwise a photo is named by its view and session
date. ``deidentify`` gives the version to share (:mod:`mesovision.report._deid`): the eyes
blurred in every embedded photo; no patient id, name, birth year, file names, session notes,
products or calendar dates (sessions dated by the days since the first one). The
document's ``refusals`` (which comparison the photos refused, by which limit, with the value and
the limit, as :func:`mesovision.course.course_document` writes them) become the reasons a
session was not compared, in the clinic's words (:mod:`mesovision.report._sessions`); its other
``notes`` are listed as they are; :func:`not_compared_reasons` gives those reasons by session
(the app's timeline says them in the same words).
"""

from __future__ import annotations

import os
from pathlib import Path

from ._sessions import not_compared_reasons
from .html import render_html
from .pdf import render_pdf

__all__ = ["not_compared_reasons", "render_html", "render_pdf", "report_paths", "write_report"]


def report_paths(path: str | os.PathLike[str], *, pdf: bool = False) -> list[Path]:
    """The files :func:`write_report` writes: ``path`` (HTML), and with ``pdf`` the same name
    with the suffix ``.pdf``. A ``path`` ending in ``.pdf`` means the PDF alone."""
    p = Path(path)
    if p.suffix.lower() == ".pdf":
        return [p]
    return [p, p.with_suffix(".pdf")] if pdf else [p]


def write_report(
    doc: dict,
    path: str | os.PathLike[str],
    *,
    pdf: bool = False,
    force: bool = False,
    session: int | None = None,
    show_name: bool = False,
    deidentify: bool = False,
    full: bool = False,
) -> list[Path]:
    """Render the report of ``doc`` and write it atomically.

    Parameters
    ----------
    doc : dict
        A course document (see the module docstring).
    path : path
        The HTML file (``report.html``); a name ending in ``.pdf`` writes only the PDF.
    pdf : bool
        Also write the PDF next to the HTML (same name, suffix ``.pdf``).
    force : bool
        Replace existing files. Without it, every target is checked before anything is rendered,
        and an existing one raises :class:`~mesovision.errors.OutputExists` (nothing written).
    session, show_name, deidentify
        As :func:`render_html`.
    full : bool
        The PDF carries the technical appendix after the patient summary.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from ..errors import OutputError, OutputExists
    from ..io import atomic_write_bytes

    targets = report_paths(path, pdf=pdf)
    for t in targets:
        if t.is_dir():
            raise OutputExists("exists and is a directory", path=str(t))
        if not force and (t.exists() or t.is_symlink()):
            raise OutputExists("exists; use --force to overwrite", path=str(t))
        if not t.parent.is_dir():
            raise OutputError("cannot write (the folder does not exist)", path=str(t))
    data = {}
    for t in targets:
        if t.suffix.lower() == ".pdf":
            data[t] = render_pdf(
                doc, session=session, show_name=show_name, deidentify=deidentify, full=full
            )
        else:
            text = render_html(doc, session=session, show_name=show_name, deidentify=deidentify)
            data[t] = text.encode("utf-8")
    return [atomic_write_bytes(t, b, force=force) for t, b in data.items()]
