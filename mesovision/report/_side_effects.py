"""The side effects of the sessions: bruising and swelling over the days after each session.

Mesotherapy bruises and swells the treated skin for some days. The course document holds, for
every later session, its comparison with the baseline: the bruises of its photo (area per
region, :mod:`mesovision.metrics.bruise`) and the change of every region's swelling
(``swelling.contour_pct_iod``: the outward shift of the face outline and the lower lids since
the baseline photo, in % of the interocular distance, with its noise floor and significance).

A session that treated a region starts an *episode*; its own photo (taken before that
session's injections) is day 0, and every later photo up to and including the next treating
session's is a day of it, counted from the session's date. :func:`side_effects` gives, per
treated region of the course, the bruise area and the swelling at each of those days, and a
sentence per episode and region saying whether each side effect resolved: present first on
day *d1*; resolved (bruise area 0, swelling no longer beyond the retake range or negative) by
day *d2*; or still present at the episode's last photo. Where the baseline photo's skin reads
dark or yellowish (its comparisons' bruise family limited for it,
:data:`mesovision.comparability.BRUISE_MAX_SKIN_MELANIN`), a last sentence says that late
bruises may go unseen: "resolved" is then what the photos show, not that the bruise is gone.
A comparison whose bruise (or geometry) family is not comparable gives no bruise area (or
swelling) for its photo: NaN in the timeline, neither present nor resolved in the sentences.

:func:`bruise_timeline` gives the course's bruises per session (area by colour stage and by
region) with the status of each: present, resolved, again, or not comparable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import _doc
from ._deid import day_number

__all__ = [
    "SWELLING_METRIC",
    "BruiseEntry",
    "EffectPoint",
    "Episode",
    "SideEffects",
    "bruise_timeline",
    "side_effects",
]

#: The swelling measure of the timeline.
SWELLING_METRIC = "swelling.contour_pct_iod"


@dataclass(frozen=True)
class EffectPoint:
    """One photo of an episode: its session, the days since the treating session, and per
    treated region the bruise area (% of the facial skin) and the swelling since the baseline
    (% IOD, NaN where not measured), its noise floor and whether it is beyond it."""

    session_id: int
    date: str
    days: int
    bruise_pct: dict[str, float]
    swelling: dict[str, float]
    swelling_floor: dict[str, float]
    swelling_significant: dict[str, bool]


@dataclass(frozen=True)
class Episode:
    """The days after one treating session (``session_id`` on ``date``): its own photo first,
    then those up to the next treating session (a photo of the same day after the injections
    included)."""

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

    @property
    def empty(self) -> bool:
        """No episode has a photo after its treating session."""
        return not any(len(e.points) > 1 for e in self.episodes)


def _point(session: dict, start: str, regions: list[str], comps: dict) -> EffectPoint:
    """The side effects of ``session``'s photo, ``start`` the treating session's date."""
    nan = float("nan")
    days = day_number(session["date"]) - day_number(start)
    comp = comps.get(session["id"])
    if comp is None:  # the baseline photo: the before photo of the comparisons
        first = next(iter(comps.values()))["record"]
        bruises, changes = first.get("bruises", {}).get("before", {}), {}
    else:
        bruises, changes = comp["record"].get("bruises", {}).get("after", {}), comp["record"]
        changes = changes.get("changes", {})
    record = {} if comp is None else comp["record"]
    no_bruises = _doc.not_comparable(record, "bruise")  # not measured: NaN, not 0
    if _doc.not_comparable(record, "geometry"):
        changes = {}
    area = dict.fromkeys(regions, nan if no_bruises else 0.0)
    for item in () if no_bruises else bruises.get("bruises", []):
        if item.get("region") in area:
            area[item["region"]] += float(item.get("area_pct") or 0.0)
    swell, floor, sig = {}, {}, {}
    for r in regions:
        ch = changes.get(r, {}).get(SWELLING_METRIC, {})
        base = comp is None
        swell[r] = 0.0 if base else (ch["delta"] if _doc.finite(ch.get("delta")) else nan)
        floor[r] = ch["noise_floor"] if _doc.finite(ch.get("noise_floor")) else nan
        sig[r] = bool(ch.get("significant")) and not base
    return EffectPoint(session["id"], session["date"], days, area, swell, floor, sig)


def _sentence(episode: Episode, region: str, what: str, present, describe, value) -> str | None:
    """Whether ``what`` (present at a point when ``present(point)``) resolved in the episode;
    the points where it was not measured (``value(point)`` NaN: its family not comparable in
    that comparison) are neither."""
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
        return head + f"{first.days}, the last photo after that session (resolution not seen)."
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
                    lambda p, r=r: p.bruise_pct[r] > 0,
                    lambda p, r=r: f"{p.bruise_pct[r]:.2g} % of the facial skin",
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
                    lambda p, r=r: f"{p.swelling[r]:+.2g} % of the eye distance",
                    lambda p, r=r: p.swelling[r],
                )
            )
    return [s for s in out if s]


def _dates(dates: list[str], *, span: bool = False) -> str:
    """``a``, ``a and b``, ``a, b and c``; with ``span`` more than three as ``first to last``."""
    if span and len(dates) > 3:
        return f"{dates[0]} to {dates[-1]}"
    return _doc.and_list(dates)


def _assessed(doc: dict, comps: dict, family: str) -> tuple[list[str], list[str]]:
    """The dates of the sessions after the first treating session whose photo was assessed for
    ``family``'s side effect (compared with the first session, the family comparable), and of
    those that were not."""
    sessions = doc["sessions"]
    start = next((k for k, s in enumerate(sessions) if s.get("treated")), len(sessions))
    done, missed = [], []
    for s in sessions[start + 1 :]:
        comp = comps.get(s["id"])
        ok = comp is not None and not _doc.not_comparable(comp["record"], family)
        (done if ok else missed).append(s["date"])
    return done, missed


def _coverage(doc: dict, comps: dict, said: list[str]) -> list[str]:
    """For bruising and for swelling: "none after any session" when every later photo was
    assessed and none showed it; otherwise which sessions were assessed and which not (a
    session the photos could not compare is no negative finding)."""
    out = []
    for word, family, none in (
        ("Bruising", "bruise", "No bruising in the treated regions"),
        ("Swelling", "geometry", "No swelling beyond the retake range in the treated regions"),
    ):
        done, missed = _assessed(doc, comps, family)
        n = len(done) + len(missed)
        seen = any(s.startswith(word) for s in said)
        if not n:
            continue
        if not done:
            which = f"none of the {n} later sessions" if n > 1 else "the 1 later session"
            could = "could" if n > 1 else "could not"
            out.append(
                f"{word} was not assessed: {which} ({_dates(missed, span=True)}) {could} be "
                "compared with the first session for it."
            )
        elif not missed:
            out += [] if seen else [f"{none} after any session."]
        elif seen:
            out.append(f"{word} was not assessed after the sessions of {_dates(missed)}.")
        else:
            out.append(
                f"{none} after the {len(done)} of {n} later sessions that could be compared "
                f"({_dates(done)}); not assessed after {_dates(missed)}."
            )
    return out


def side_effects(doc: dict) -> SideEffects:
    """The side-effect timeline of a course document (see the module docstring); no episode
    when no session treated a region or nothing was compared. The sentences say which later
    sessions could not be assessed (not compared with the first session, or the bruise or
    geometry family not comparable)."""
    comps = {c["session_id"]: c for c in _doc.baseline_comparisons(doc)}
    regions = _doc.treated_regions(doc)
    if not regions:
        return SideEffects(regions, [], [])
    if not comps:
        return SideEffects(regions, [], _coverage(doc, comps, []))
    compared = {_doc.baseline(doc)["id"], *comps}
    sessions = [s for s in doc["sessions"] if s["id"] in compared]
    episodes: list[Episode] = []
    for k, s in enumerate(sessions):
        if not s.get("treated"):
            continue
        ep = Episode(s["id"], s["date"], regions=tuple(r for r in regions if r in s["treated"]))
        for later in sessions[k:]:
            ep.points.append(_point(later, s["date"], regions, comps))
            if later is not s and later.get("treated"):
                break
        episodes.append(ep)
    said = _sentences(episodes)
    return SideEffects(regions, episodes, said + _coverage(doc, comps, said) + _skin_caveat(comps))


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


def bruise_timeline(doc: dict) -> list[BruiseEntry]:
    """Bruise area per session (baseline from the first comparison's before photo, later
    sessions from their comparison with the baseline); the status says when it resolved. A
    comparison whose bruise family is not comparable gives no area (NaN) and the status "not
    comparable", and does not count as a bruise present or resolved."""
    comps = _doc.baseline_comparisons(doc)
    if not comps:
        return []
    sessions = _doc.session_by_id(doc)
    raw = [(_doc.baseline(doc), comps[0]["record"]["bruises"]["before"])]
    raw += [(sessions[c["session_id"]], c["record"]["bruises"]["after"]) for c in comps]
    untested = {c["session_id"] for c in comps if _doc.not_comparable(c["record"], "bruise")}
    out: list[BruiseEntry] = []
    seen_bruise = False
    resolved = False
    for s, b in raw:
        if s["id"] in untested:  # its bruises were not measured against the baseline
            nan = float("nan")
            out.append(BruiseEntry(s["id"], s["date"], 0, nan, None, {}, {}, "not comparable"))
            continue
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
