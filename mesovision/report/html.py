"""The course report as one self-contained HTML file.

Images are embedded as ``data:`` URIs, CSS and JavaScript are inline, and a Content Security
Policy (``default-src 'none'``) forbids the page any request: it opens from a USB stick, offline.
The page reads top-down as a patient would: the summary in sentences, the photos (slider,
flicker, heatmaps), the course figure, the measures (treated areas and changes beyond a retake;
every measure one click away), then the technical sections.

Element ids the tests drive: ``#slider`` (range input moving the before/after split, which clips
``#slider-after``), ``#flicker`` (button swapping ``#flicker-img`` between before and after),
``.overlay-toggle`` (one checkbox per heatmap family, switching ``#side-before`` and
``#side-after`` to that family's heatmap), ``#region-table`` (rows ``tr.region-row``; rows
``.extra`` hidden until ``#all-rows`` is checked), ``#course-plot``, ``#bruise-table``,
``#quality``, ``#methods-table``.
"""

from __future__ import annotations

import json

from . import _doc, _images, _modes, _sessions, sections
from ._deid import deidentified
from .assets import CSP, CSS, JS
from .sections import esc

__all__ = ["PHOTO_NAMES", "embedded_images", "render_html", "report_body"]

#: Images of the chosen comparison embedded in the report (names of the course document).
PHOTO_NAMES = ("before", "normalized_after", "aligned_after")


def embedded_images(comp: dict, *, deidentify: bool) -> dict[str, str]:
    """The chosen comparison's photos (treated regions outlined), heatmaps and change maps as
    JPEG ``data:`` URIs, by document name."""
    from ..metrics.heatmaps import FAMILIES
    from ._overlays import CHANGE_MAPS

    names = list(PHOTO_NAMES) + [f"heatmap_{f}_{w}" for f in FAMILIES for w in ("before", "after")]
    treated = list((comp["record"].get("settings") or {}).get("treated") or [])
    arrays = _images.comparison_images(
        comp["images"], deidentify=deidentify, names=names + list(CHANGE_MAPS), treated=treated
    )
    return {
        k: _images.data_uri(_images.encode(v, fmt="jpeg"), "image/jpeg") for k, v in arrays.items()
    }


def render_html(
    doc: dict, *, session: int | None = None, show_name: bool = False, deidentify: bool = False
) -> str:
    """The course report as one self-contained HTML page (see the module docstring).

    Parameters
    ----------
    doc : dict
        A course document (``mesovision.course.course_document``; contract in
        :mod:`mesovision.report`).
    session : int, optional
        Session shown: its comparison with the baseline, else with the previous session
        (default: the latest session compared with the baseline, else the latest compared with
        the previous session).
    show_name : bool
        Show the patient's name (and birth year) next to the pseudonymous id, and the photos'
        file names (never their folders); without it photos are named by view and session
        date.
    deidentify : bool
        The version to share: blur the eyes in every embedded photo; leave out the patient's
        id, name and birth year, the photos' file names (even with ``show_name``), the
        sessions' notes and products, and the calendar dates (sessions are dated by the days
        since the first one: ``day 28``); see :mod:`mesovision.report._deid`. The face stays
        recognisable: the report is still personal health data.

    Returns
    -------
    str
        The HTML text.

    Raises
    ------
    UsageError
        Unknown ``session``, or one that could not be compared (the message says why).
    NoFace
        ``deidentify`` and no face found in the photos to locate the eyes.
    """
    body, data = report_body(doc, session=session, show_name=show_name, deidentify=deidentify)
    title = _doc.report_title(doc, show_name=show_name, deidentify=deidentify)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n"
        "<main>\n"
        + body
        + "\n</main>"
        + f'\n<script type="application/json" id="image-data">{data}</script>'
        + f"<script>{JS}</script>"
        + "\n</body></html>\n"
    )


def report_body(
    doc: dict, *, session: int | None = None, show_name: bool = False, deidentify: bool = False
) -> tuple[str, str]:
    """The report's sections as HTML and the JSON of its viewer images (the text of the
    ``#image-data`` block the script reads): the body of :func:`render_html`, also shown by the
    clinic app (:mod:`mesovision.app`). Parameters and errors as :func:`render_html`."""
    s = sections
    _doc.check_document(doc)
    comp = _sessions.choose_comparison(doc, session)  # its error dates the sessions
    if deidentify:
        doc = deidentified(doc)
    who = {"show_name": show_name, "deidentify": deidentify}
    parts = [s.header(doc, comp, **who), s.summary(doc, comp, **who)]
    heat: dict[str, str] = {}
    if comp is not None:
        imgs = embedded_images(comp, deidentify=deidentify)
        heat = {k: v for k, v in imgs.items() if k.startswith(("heatmap_", "change_"))}
        treated = list((comp["record"].get("settings") or {}).get("treated") or [])
        parts += [
            s.images_section(doc, comp, imgs),
            s.course_figure(doc),
            s.region_table(comp["record"], treated, area=_modes.area_words(doc, comp).row),
        ]
    parts.append(s.sessions_table(doc, **who))
    if comp is not None:
        if _modes.has_bruises(doc, comp):  # not on a scalp: its photos are not scored for them
            parts += [s.bruises(doc), s.side_effects(doc)]
        parts.append(s.quality(doc, comp))
    parts.append(s.methods(comp, _doc.course_mode(doc, comp)))
    return "\n".join(p for p in parts if p), json.dumps(heat).replace("</", "<\\/")
