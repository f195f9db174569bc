"""The side effects of the sessions: bruising and swelling over the days after each session.

Mesotherapy bruises and swells the treated skin for some days. The course document holds, for
every later session, its comparison with the baseline: the change of every region's bruised
area (``bruise.area_pct``: the share of the region in bruise colours, :mod:`mesovision.metrics.
bruise`, the measure of the course figure and ``mesovision progress``) and of its swelling
(``swelling.contour_pct_iod``: the outward shift of the face outline and the lower lids since
the baseline photo, in % of the interocular distance), each with its noise floor and
significance.

A session that treated a region starts an *episode*; its own photo (taken before that
session's injections) is day 0, and every later photo up to and including the next treating
session's is a day of it, counted from the session's date, whether or not that photo could be
compared with the baseline (a photo not compared is a day not assessed: NaN). "After the
session of X" always means after X's injections. :func:`side_effects` gives, per treated
region of the course, the change of the bruised area and the swelling at each of those days,
and a sentence per episode and region saying whether each side effect resolved: present
(beyond the retake range and up) first on day *d1*; resolved (no longer) by day *d2*; or still
present at the episode's last photo; and, per episode, the days its photos could not be
assessed. Where the baseline photo's skin reads dark or yellowish (its comparisons' bruise
family limited for it, :data:`mesovision.comparability.BRUISE_MAX_SKIN_MELANIN`), a last
sentence says that late bruises may go unseen: "resolved" is then what the photos show, not
that the bruise is gone. A comparison whose bruise (or geometry) family is not comparable gives
no bruise change (or swelling) for its photo: NaN, neither present nor resolved.

:func:`bruise_timeline` gives the course's bruises per session (area by colour stage and by
region) with the status of each: present, resolved, again, not comparable, or not compared
(the photo refused, with a short reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import _doc
from ._deid import day_number

__all__ = [
    "BRUISE_METRIC",
    "SWELLING_METRIC",
    "SWELLING_MM_METRIC",
    "BruiseEntry",
    "EffectPoint",
    "Episode",
    "SideEffects",
    "bruise_timeline",
    "side_effects",
]

#: The swelling measure of the timeline.
SWELLING_METRIC = "swelling.contour_pct_iod"
#: The same in mm, said beside it where the comparisons have a scale (the patient's
#: interpupillary distance, ``patient add --ipd-mm``).
SWELLING_MM_METRIC = "swelling.contour_mm"
#: The bruise measure of the timeline (per region, % of the region).
BRUISE_METRIC = "bruise.area_pct"


@dataclass(frozen=True)
class EffectPoint:
    """One photo of an episode: its session, the days since the treating session, and per
    treated region the change of the bruised area since the baseline (% of the region) and the
    swelling since the baseline (% IOD), each NaN where not measured, with its noise floor and
    whether it is beyond it. ``compared``: the photo was compared with the baseline (the
    baseline photo itself counts as compared)."""

    session_id: int
    date: str
    days: int
    bruise_pct: dict[str, float]
    swelling: dict[str, float]
    swelling_floor: dict[str, float]
    swelling_significant: dict[str, bool]
    bruise_floor: dict[str, float] = field(default_factory=dict)
    bruise_significant: dict[str, bool] = field(default_factory=dict)
    compared: bool = True
    #: the swelling in mm (:data:`SWELLING_MM_METRIC`), NaN without a scale
    swelling_mm: dict[str, float] = field(default_factory=dict)

    def swelling_text(self, region: str) -> str:
        """The swelling of ``region`` as a sentence says it: % of the eye distance, and mm
        when measured."""
        mm = self.swelling_mm.get(region, float("nan"))
        extra = f" or {mm:+.2g} mm" if _doc.finite(mm) else ""
        return f"{self.swelling[region]:+.2g} % of the eye distance{extra}"


@dataclass(frozen=True)
class Episode:
    """The days after one treating session (``session_id`` on ``date``): its own photo first,
    then those up to the next treating session (a photo of the same day after the injections
    included), compared or not."""

    session_id: int
    date: str
    points: list[EffectPoint] = field(default_factory=list)
    #: The regions this session treated (of the course's treated regions, in their order).
    regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class SideEffects:
    """The course's treated ``regions``, its ``episodes`` and the ``sentences`` that say
    whether bruising and swelling resolved."""

    regions: list[str]
    episodes: list[Episode]
    sentences: list[str]
    #: whether the course measures swelling (a face course)
    swelling: bool = True
    #: how a body or scalp course's one region, ``area``, is named (the view's area: ``thigh``)
    area: str = "area"

    def label(self, region: str) -> str:
        """A region as the figure names it."""
        return self.area if region == "area" else region.replace("_", " ")

    @property
    def empty(self) -> bool:
        """No episode has a compared photo after its treating session."""
        return not any(p.compared for e in self.episodes for p in e.points[1:])


def _measure(changes: dict, regions: list[str], metric: str, base: bool):
    """Per region the change of ``metric`` (0 at the baseline, NaN where not measured), its
    noise floor and whether it is significant."""
    nan = float("nan")
    value, floor, sig = {}, {}, {}
    for r in regions:
        ch = changes.get(r, {}).get(metric, {})
        value[r] = 0.0 if base else (ch["delta"] if _doc.finite(ch.get("delta")) else nan)
        floor[r] = ch["noise_floor"] if _doc.finite(ch.get("noise_floor")) else nan
        sig[r] = bool(ch.get("significant")) and not base
    return value, floor, sig


def _point(session: dict, start: str, regions: list[str], comps: dict, base: int) -> EffectPoint:
    """The side effects of ``session``'s photo, ``start`` the treating session's date, ``base``
    the baseline session's id; a photo not compared with the baseline reads NaN."""
    days = day_number(session["date"]) - day_number(start)
    comp = comps.get(session["id"])
    record = {} if comp is None else comp["record"]
    changes = record.get("changes", {})
    bruise = {} if _doc.not_comparable(record, "bruise") else changes
    swell = {} if _doc.not_comparable(record, "geometry") else changes
    is_base = session["id"] == base
    b, b_floor, b_sig = _measure(bruise, regions, BRUISE_METRIC, is_base)
    s, s_floor, s_sig = _measure(swell, regions, SWELLING_METRIC, is_base)
    mm = _measure(swell, regions, SWELLING_MM_METRIC, is_base)[0] if not is_base else {}
    compared = is_base or comp is not None
    return EffectPoint(
        session["id"], session["date"], days, b, s, s_floor, s_sig, b_floor, b_sig, compared, mm
    )


def _sentence(episode: Episode, region: str, what: str, present, describe, value) -> str | None:
    """Whether ``what`` (present at a point when ``present(point)``) resolved in the episode;
    the points where it was not measured (``value(point)`` NaN: not compared, or its family
    not comparable in that comparison) are neither."""
    name = region.replace("_", " ")
    days = [p for p in episode.points[1:] if _doc.finite(value(p))]
    first = next((p for p in days if present(p)), None)
    if first is None:
        return None
    later = [p for p in days if p.days > first.days]
    gone = next((p for p in later if not present(p)), None)
    head = f"{what} of the {name} after the session of {episode.date}: {describe(first)} on day "
    if gone is not None:
        return head + f"{first.days}, resolved by day {gone.days}."
    last = days[-1]
    if last is first:
        lost = episode.points[-1] is not last  # later photos not measured
        photo = "the last photo assessed" if lost else "the last photo"
        return head + f"{first.days}, {photo} after that session (resolution not seen)."
    return head + f"{first.days}, still present on day {last.days} ({describe(last)})."


def _sentences(episodes: list[Episode]) -> list[str]:
    """Per episode, the bruising of each region the session treated, then its swelling."""
    out: list[str] = []
    for ep in episodes:
        for r in ep.regions:
            out.append(
                _sentence(
                    ep,
                    r,
                    "Bruising",
                    lambda p, r=r: p.bruise_significant[r] and p.bruise_pct[r] > 0,
                    lambda p, r=r: f"{p.bruise_pct[r]:+.2g} % of the region's area",
                    lambda p, r=r: p.bruise_pct[r],
                )
            )
        for r in ep.regions:
            out.append(
                _sentence(
                    ep,
                    r,
                    "Swelling",
                    lambda p, r=r: p.swelling_significant[r] and p.swelling[r] > 0,
                    lambda p, r=r: p.swelling_text(r),
                    lambda p, r=r: p.swelling[r],
                )
            )
    return [s for s in out if s]


def _dates(dates: list[str], *, span: bool = False) -> str:
    """``a``, ``a and b``, ``a, b and c``; with ``span`` more than three as ``first to last``."""
    if span and len(dates) > 3:
        return f"{dates[0]} to {dates[-1]}"
    return _doc.and_list(dates)


def _spans(doc: dict) -> list[tuple[dict, list[dict]]]:
    """Each treating session with the sessions of its episode after its own (up to and
    including the next treating session's), whether compared or not."""
    sessions = doc["sessions"]
    out = []
    for k, s in enumerate(sessions):
        if not s.get("treated"):
            continue
        later = []
        for other in sessions[k + 1 :]:
            later.append(other)
            if other.get("treated"):
                break
        out.append((s, later))
    return out


def _missed(doc: dict, comps: dict, family: str) -> tuple[list[str], list[tuple[dict, list]]]:
    """The dates of the photos after a treating session that were assessed for ``family``'s
    side effect (compared with the first session, the family comparable), and per episode the
    sessions of those that were not."""
    done, missed = [], []
    for start, later in _spans(doc):
        lost = []
        for s in later:
            comp = comps.get(s["id"])
            ok = comp is not None and not _doc.not_comparable(comp["record"], family)
            done += [s["date"]] if ok else []
            lost += [] if ok else [s]
        missed += [(start, lost)] if lost else []
    return done, missed


def _not_assessed(word: str, start: dict, lost: list[dict]) -> str:
    """``Bruising was not assessed on day 28 after the session of X: the photo of Y could not
    be compared with the first session for it.``"""
    days = [str(day_number(s["date"]) - day_number(start["date"])) for s in lost]
    when = f"day {days[0]}" if len(days) == 1 else f"days {_doc.and_list(days)}"
    photos = "the photo of" if len(lost) == 1 else "the photos of"
    return (
        f"{word} was not assessed on {when} after the session of {start['date']}: {photos} "
        f"{_dates([s['date'] for s in lost])} could not be compared with the first session "
        "for it."
    )


def _outside(doc: dict, comps: dict) -> list[str]:
    """A bruise beyond the retake range outside the treated regions (bruising spreads past the
    injected area): one sentence per photo, naming the regions and their rise (the face as a
    whole is not a region here)."""
    treated, dates = set(_doc.treated_regions(doc)), _doc.session_by_id(doc)
    out = []
    for sid, comp in comps.items():
        rises = [
            f"the {r.replace('_', ' ')} (+{ch['delta']:.2g} % of its area)"
            for r, per in comp["record"]["changes"].items()
            if r not in treated and r != "face"
            for ch in [per.get("bruise.area_pct") or {}]
            if ch.get("significant") and _doc.finite(ch.get("delta")) and ch["delta"] > 0
        ]
        if rises:
            date = dates.get(sid, {}).get("date", "?")
            out.append(f"Bruising outside the treated regions in the photo of {date}: "
                       f"{_doc.and_list(rises)}.")  # fmt: skip
    return out


def _coverage(doc: dict, comps: dict, said: list[str], swelling: bool) -> list[str]:
    """For bruising and for swelling: "none after any session" when every later photo was
    assessed and none showed it; otherwise which photos were assessed and, per session, the
    days after it that were not (a photo the comparisons could not use is no negative
    finding)."""
    out = []
    measures = [("Bruising", "bruise", "No bruising in the treated regions")]
    if swelling:  # measured on faces only
        none = "No swelling beyond the retake range in the treated regions"
        measures.append(("Swelling", "geometry", none))
    for word, family, none in measures:
        done, missed = _missed(doc, comps, family)
        lost = [s["date"] for _, m in missed for s in m]
        n = len(done) + len(lost)
        seen = any(s.startswith(word) for s in said)
        if not n:
            continue
        if not done:
            which = f"none of the {n} later sessions" if n > 1 else "the 1 later session"
            could = "could" if n > 1 else "could not"
            out.append(
                f"{word} was not assessed: {which} ({_dates(lost, span=True)}) {could} be "
                "compared with the first session for it."
            )
            continue
        if not lost:
            out += [] if seen else [f"{none} after any session."]
            continue
        if not seen:
            photos = "photo" if len(done) == 1 else "photos"
            out.append(
                f"{none} in the {photos} of the {len(done)} of {n} later sessions that could be "
                f"compared ({_dates(done)})."
            )
        out += [_not_assessed(word, start, m) for start, m in missed]
    return out


def side_effects(doc: dict) -> SideEffects:
    """The side-effect timeline of a course document (see the module docstring); no episode
    when no session treated a region or nothing was compared. An episode runs to the next
    treating session whether or not its photos were compared; the sentences say which days
    after which session could not be assessed (not compared with the first session, or the
    bruise or geometry family not comparable)."""
    from ._modes import area_words

    comps = {c["session_id"]: c for c in _doc.baseline_comparisons(doc)}
    regions = _doc.treated_regions(doc)
    kind = (_doc.course_mode(doc) == "face", area_words(doc).row)
    if not regions:
        return SideEffects(regions, [], [], *kind)
    if not comps:
        return SideEffects(regions, [], _coverage(doc, comps, [], kind[0]), *kind)
    base = _doc.baseline(doc)["id"]
    episodes: list[Episode] = []
    for s, later in _spans(doc):
        ep = Episode(s["id"], s["date"], regions=tuple(r for r in regions if r in s["treated"]))
        ep.points.extend(_point(x, s["date"], regions, comps, base) for x in [s, *later])
        episodes.append(ep)
    said = _sentences(episodes)
    sentences = [*said, *_coverage(doc, comps, said, kind[0]), *_outside(doc, comps)]
    sentences += _skin_caveat(comps)
    return SideEffects(regions, episodes, sentences, *kind)


def _skin_caveat(comps: dict) -> list[str]:
    """The sentence on late bruises when the baseline photo's skin reads dark or yellowish (its
    median melanin density, ``mismatch.skin_melanin`` of the comparisons with it, over the bruise
    family's limit), else none."""
    from ..comparability import BRUISE_MAX_SKIN_MELANIN

    values = [(c["record"].get("mismatch") or {}).get("skin_melanin") for c in comps.values()]
    values = [v for v in values if _doc.finite(v)]
    if not values or max(values) <= BRUISE_MAX_SKIN_MELANIN:
        return []
    return [
        f"The skin reads dark or yellowish in the baseline photo (melanin density "
        f"{max(values):.2f}): green and yellow-brown bruises may go unseen, so a bruise read as "
        "resolved may still show; judge late bruises by eye."
    ]


@dataclass(frozen=True)
class BruiseEntry:
    session_id: int
    date: str
    n_bruises: int
    area_pct: float
    area_mm2: float | None
    by_stage: dict[str, float]  # stage -> % of facial skin
    regions: dict[str, float]  # region -> % of facial skin
    status: str


#: A refused comparison's reason in the bruise timeline's few words, by the limit it failed
#: (:data:`mesovision.errors.CHECKS`; the full reason is in the report's "Not compared").
_SHORT_REASONS = {
    "yaw": "head turned {value:.0f}°",
    "pitch": "head tilted {value:.0f}°",
    "residual": "faces do not overlay",
    "coverage": "area not all in view",
    "face_size": "face too small",
    "no_face": "no face found",
    "identity": "identity check",
    "features": "photos not matched",
    "light_pixels": "light not matched",
}


def not_compared_status(doc: dict, session_id: int) -> str:
    """The bruise timeline's status of a session whose photo was not compared with the baseline:
    ``not compared:`` and, on a second line (so that a narrow table cell holds it), the refusal
    against the baseline in few words (``head turned 17°``), if the document has one."""
    refusal = next(
        (
            r
            for r in doc.get("refusals") or []
            if r.get("session_id") == session_id and r.get("against") == "baseline"
        ),
        None,
    )
    if refusal is None:
        return "not compared"
    words = _SHORT_REASONS.get(refusal.get("check") or "", "photo refused")
    value = refusal.get("value")
    if "{value" in words:
        if not _doc.finite(value):
            words = words.split(" {", 1)[0]
        else:
            words = words.format(value=abs(value))
    return f"not compared:\n{words}"


def bruise_timeline(doc: dict) -> list[BruiseEntry]:
    """Bruise area per session (baseline from the first comparison's before photo, later
    sessions from their comparison with the baseline); the status says when it resolved. A
    comparison whose bruise family is not comparable gives no area (NaN) and the status "not
    comparable"; a later session without a comparison with the baseline (its photo refused)
    gives no area and the status "not compared" with the reason in few words
    (:func:`not_compared_status`); neither counts as a bruise present or resolved."""
    comps = {c["session_id"]: c for c in _doc.baseline_comparisons(doc)}
    if not comps:
        return []
    nan = float("nan")
    first = next(iter(comps.values()))["record"]["bruises"]["before"]
    out: list[BruiseEntry] = []
    seen_bruise = False
    resolved = False
    for k, s in enumerate(doc["sessions"]):
        comp = comps.get(s["id"])
        if k and comp is None:
            status = not_compared_status(doc, s["id"])
            out.append(BruiseEntry(s["id"], s["date"], 0, nan, None, {}, {}, status))
            continue
        if comp is not None and _doc.not_comparable(comp["record"], "bruise"):
            out.append(BruiseEntry(s["id"], s["date"], 0, nan, None, {}, {}, "not comparable"))
            continue
        b = first if comp is None else comp["record"]["bruises"]["after"]
        by_stage: dict[str, float] = {}
        regions: dict[str, float] = {}
        for item in b.get("bruises", []):
            pct = float(item.get("area_pct") or 0.0)
            by_stage[item.get("stage", "?")] = by_stage.get(item.get("stage", "?"), 0.0) + pct
            reg = item.get("region") or "?"
            regions[reg] = regions.get(reg, 0.0) + pct
        n = int(b.get("n_bruises", 0))
        if n:
            status = "bruise present" if not seen_bruise or not resolved else "bruise again"
            seen_bruise, resolved = True, False
        elif seen_bruise and not resolved:
            status, resolved = "resolved", True
        else:
            status = "no bruise"
        out.append(
            BruiseEntry(
                session_id=s["id"],
                date=s["date"],
                n_bruises=n,
                area_pct=float(b.get("total_area_pct") or 0.0),
                area_mm2=b.get("total_area_mm2"),
                by_stage=by_stage,
                regions=regions,
                status=status,
            )
        )
    return out
