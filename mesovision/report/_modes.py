"""What the report says differently for each capture mode: the words for the measured area, the
headline measures of the summary and the course figure, and the validation basis.

A face course is summarized on the registered headline metrics
(:data:`mesovision.noise.HEADLINE_METRICS`) of its landmark regions. A body or scalp course
measures one area (the region ``area``: the skin found in the photo, or the whole photo), so
its words name that area from the view (``body:thigh``: "the thigh"; a report of one pair of
photos: "the measured area"), and its headline measures are the mode's own
(:func:`headline_metrics`): cellulite dimples, skin surface irregularity and stretch marks for
the body; the visible scalp share on a crown view; on a frontal view the hairline's height at
its five sites instead (the scalp share and part width of a whole frontal photo, face and
background included, mean nothing); hair density and shaft width for a trichoscopy close-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..hairline import hairline_measured
from . import _doc

__all__ = [
    "HAIRLINE_METRIC",
    "SITE_WORDS",
    "AreaWords",
    "area_words",
    "course_series",
    "course_words",
    "frontal_hairline",
    "has_bruises",
    "headline_metrics",
    "left_out",
    "measured_families",
    "validation_note",
]

#: The frontal hairline's measure the summary and the course figure follow.
HAIRLINE_METRIC = "hair.hairline_iod_pct"
#: Each hairline site in words (``at the midline``), in :data:`mesovision.hairline.SITES` order;
#: left and right are the patient's.
SITE_WORDS = {
    "hairline_mid": "at the midline",
    "hairline_left": "left of the midline",
    "hairline_right": "right of the midline",
    "temple_left": "at the left temple",
    "temple_right": "at the right temple",
}
#: A site's short name (the course figure's column titles).
_SITE_TITLES = {
    "hairline_mid": "midline",
    "hairline_left": "left of midline",
    "hairline_right": "right of midline",
    "temple_left": "left temple",
    "temple_right": "right temple",
}
#: Measures of the whole frontal photo that say nothing on a frontal view.
_FRONTAL_LEFT_OUT = ("hair.scalp_share_pct", "hair.part_width_px", "hair.part_width_mm")


@dataclass(frozen=True)
class AreaWords:
    """The report's words for what was measured: ``mode`` (``face``, ``body``, ``scalp``,
    ``trichoscopy``); ``area`` the measured area with its article (``the face``, ``the thigh``,
    ``the measured area``, ``the photo`` for a frontal hairline view); ``row`` the course
    figure's row name (``thigh``, ``hairline``); ``skin`` what an area share is of
    (``facial skin``, ``the measured area``)."""

    mode: str
    area: str
    row: str
    skin: str


def area_words(doc: dict, comp: dict | None = None) -> AreaWords:
    """The words for the course's measured area, from its capture mode
    (:func:`mesovision.report._doc.course_mode`) and its view (``body:thigh``: the thigh)."""
    mode = _doc.course_mode(doc, comp)
    if mode == "face":
        return AreaWords(mode, "the face", "face", "facial skin")
    if mode == "scalp" and frontal_hairline(doc, comp):
        return AreaWords(mode, "the photo", "hairline", "the photo")
    kind, _, place = str(doc.get("view") or "").partition(":")
    name = place.replace("_", " ").replace("-", " ").strip() if kind == mode else ""
    if not name:
        name = "measured area" if mode == "body" else "scalp"
    return AreaWords(mode, f"the {name}", name, "the measured area")


def frontal_hairline(doc: dict, comp: dict | None = None) -> bool:
    """Whether the course is a frontal hairline view: ``scalp:front``, or a scalp comparison
    whose photos showed a face (its hairline sites measured)."""
    if str(doc.get("view") or "") == "scalp:front":
        return True
    comps = [comp] if comp is not None else list(doc.get("comparisons") or [])
    return any(hairline_measured((c.get("record") or {}).get("hairline")) for c in comps)


def _finite_delta(record: dict, metric: str) -> bool:
    return _doc.finite((record.get("changes") or {}).get("area", {}).get(metric, {}).get("delta"))


def headline_metrics(record: dict, *, frontal: bool | None = None) -> dict[str, str]:
    """The headline measures of a comparison record, ``{key: metric}`` in the order they are
    said (the key names the course figure's column: the comparability family for the face):
    the face's registered ones; the body's dimples, irregularity and stretch marks; the scalp's
    visible share, none on a frontal view (``frontal``, default: the record measured the
    hairline; its sites are said instead); the close-up's density (per cm² with a scale) and
    shaft width."""
    from ..metrics import headline_choices
    from ..noise import HEADLINE_METRICS

    mode = (record.get("settings") or {}).get("mode", "face")
    if mode == "body":
        return {
            "dimples": "body.dimple_count",
            "irregularity": "body.irregularity_l",
            "stretch_marks": "body.streak_count",
        }
    if mode == "scalp":
        frontal = hairline_measured(record.get("hairline")) if frontal is None else frontal
        return {} if frontal else {"scalp": headline_choices("scalp")["hair"][0]}
    if mode == "trichoscopy":  # the primary endpoint's density (per cm² when scaled)
        choices = headline_choices("trichoscopy")["hair"]
        density = next((m for m in choices if _finite_delta(record, m)), choices[-1])
        return {"density": density, "width": "hair.shaft_width_median_um"}
    return dict(sorted(HEADLINE_METRICS.items(), key=lambda fm: _doc.family_order(fm[0])))


def left_out(record: dict, *, frontal: bool | None = None) -> tuple[str, ...]:
    """Measures the summary does not name for this record: on a frontal hairline view the scalp
    share and part width of the whole photo."""
    mode = (record.get("settings") or {}).get("mode", "face")
    frontal = hairline_measured(record.get("hairline")) if frontal is None else frontal
    return _FRONTAL_LEFT_OUT if mode == "scalp" and frontal else ()


def _columns(doc: dict, words: AreaWords) -> list[tuple[str, str, str, str | None]]:
    """``(region, metric, column key, column title)`` of a body or scalp course figure."""
    if words.mode == "scalp" and frontal_hairline(doc):
        from ..hairline import SITES

        return [(s, HAIRLINE_METRIC, s, _SITE_TITLES.get(s, s)) for s in SITES]
    last = _doc.baseline_comparisons(doc)[-1]["record"]
    return [("area", m, key, None) for key, m in headline_metrics(last).items()]


def course_series(doc: dict) -> list[_doc.Series]:
    """The course figure's series: a face course's as :func:`mesovision.report._doc.course_series`
    (per treated region and family); a body or scalp course's one row, the measured area (or
    the hairline), with one panel per headline measure (or hairline site)."""
    words = area_words(doc)
    if words.mode == "face":
        return _doc.course_series(doc)
    from ..record import record_changes

    comps = _doc.baseline_comparisons(doc)
    if not comps:
        return []
    sessions = _doc.session_by_id(doc)
    dates = [_doc.baseline(doc)["date"]] + [sessions[c["session_id"]]["date"] for c in comps]
    changes = [record_changes(c["record"]) for c in comps]
    out = []
    for region, metric, key, title in _columns(doc, words):
        chs = [ch.get(region, {}).get(metric, {}) for ch in changes]
        families = [ch.get("family") or "" for ch in chs]
        series = _doc.metric_series(words.row, metric, key, dates, comps, chs, families, title)
        out += [series] if series is not None else []
    return out


def course_words(doc: dict) -> str:
    """What the course figure's rows are, for its caption: ``for each treated area`` (a face),
    ``for the thigh``, ``at each hairline site``."""
    words = area_words(doc)
    if words.mode == "face":
        return "for each treated area"
    if words.mode == "scalp" and frontal_hairline(doc):
        return "at each site of the hairline (its height above the eyes)"
    return f"for {words.area}"


def has_bruises(doc: dict, comp: dict | None = None) -> bool:
    """Whether the course's photos are scored for bruises (the face and the body; not a scalp,
    whose sections of bruises and side effects would only say "no bruise")."""
    return area_words(doc, comp).mode in ("face", "body")


def measured_families(record: dict) -> set[str]:
    """The comparability families the record's changes take (empty for a record without)."""
    return {
        c["family"]
        for per in (record.get("changes") or {}).values()
        for c in per.values()
        if c.get("family")
    }


def validation_note(doc: dict, comp: dict | None = None) -> str:
    """One sentence on what the body or scalp measures were validated on (``docs/body.md``,
    ``docs/hair.md``); empty for a face course."""
    words = area_words(doc, comp)
    if words.mode == "body":
        return (
            "The cellulite and stretch-mark measures were validated only on rendered skin "
            "(flat skin with round pits under one lamp), not yet on real body photos, and the "
            "skin measures (redness, spots, texture, bruises) and their retake ranges were "
            "fitted on faces."
        )
    if words.mode == "scalp" and frontal_hairline(doc, comp):
        return (
            "The hairline height was validated on real frontal photos whose hairline was moved "
            "by a known amount; the scalp measures only on rendered scalps, not yet on real "
            "scalp photos."
        )
    if words.mode in ("scalp", "trichoscopy"):
        return (
            "The hair and scalp measures were validated only on rendered scalps (straight "
            "clipped hairs on a smooth scalp), not yet on real scalp close-ups or crown photos."
        )
    return ""
