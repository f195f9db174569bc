"""The plain-language summary of a comparison: a few sentences a patient understands.

Built from a comparison record (``result.json``, 3.0 to 3.2) only: for every treated region and
every metric family with a headline metric (:data:`mesovision.noise.HEADLINE_METRICS`) whose
change is more than retaking the photo changes (the change's ``significant`` flag, which comes
from the paired noise model and the multiplicity control), one sentence says which way the
headline value went and by how much in everyday terms ("by about a third", "to about twice its
value") and in its unit (a count in whole numbers, a length in pixels as ``pixels``); one
sentence names the treated regions' headline measures that stayed within retake noise, and one
those that moved more than one retake moves them but are not significant once the many
measures tested at once are allowed for (past their noise floor, not past the false discovery
rate control). The figures keep their sign ("from 0 to -9.6"); only the "by" amount of a
change is a size. A
family the comparability verdict declares not comparable gets one sentence with the verdict's
reason instead of numbers; a ``limited`` family says that its margin was widened (only the
families the record's changes take: a thigh is not told about the face's geometry).
Significant changes outside the treated regions are listed in one closing sentence.

The headline measures are the record's capture mode's (:mod:`mesovision.report._modes`): a body
or scalp record's one region, ``area``, is named by the course's view ("the thigh"), and a
frontal hairline view is summarized by its sites ("The hairline receded since the first session
by about 8.3 % of the distance between the pupils at the midline (about 5.2 mm), and by 7.8 to
8.8 % left of the midline, ..."), without the whole photo's scalp share and part width.

The words come from the metric's registered display name and unit label (``display``,
``unit_label`` in the spec listing), so the report, the CLI and the tables name a metric the same
way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._doc import and_list, beyond_floor
from ._modes import SITE_WORDS, headline_metrics, left_out, measured_families
from ._wording import is_count, unit_words

__all__ = ["Sentence", "everyday_size", "region_name", "summarize"]

#: Fractions named in words; a relative change is named by the nearest one.
_FRACTIONS = (
    (1 / 10, "a tenth"),
    (1 / 5, "a fifth"),
    (1 / 4, "a quarter"),
    (1 / 3, "a third"),
    (1 / 2, "half"),
    (2 / 3, "two thirds"),
    (3 / 4, "three quarters"),
    (4 / 5, "four fifths"),
)
#: A fall to this share of the value or less "went down almost completely".
_ALMOST_NONE = 0.1
#: From this ratio of after to before a rise is named as a multiple ("to about twice its value").
_TIMES = 1.85
#: Below this relative size a change is "slight" (its percentage is given beside the amount).
_SLIGHT = 0.07
#: How many significant changes outside the treated regions the closing sentence names.
_OTHERS_SHOWN = 3


@dataclass(frozen=True)
class Sentence:
    """One sentence of the summary. ``kind``: ``change`` (beyond a retake), ``no_change``,
    ``beyond_one`` (beyond one retake, not significant among all the measures tested),
    ``not_comparable``, ``limited`` or ``others``; ``region``/``family``/``metric`` say what it
    is about (``None`` where it is about several)."""

    text: str
    kind: str
    region: str | None = None
    family: str | None = None
    metric: str | None = None


def region_name(region: str) -> str:
    """``left_cheek`` -> ``the left cheek``."""
    return "the " + region.replace("_", " ")


def everyday_size(before: float | None, after: float) -> str | None:
    """How much a value went up or down from ``before`` to ``after``, in words that follow
    "went up" or "went down": ``by about a third``, ``by about two thirds``, ``to about twice
    its value``, ``to about 3 times its value``, ``almost completely`` (a fall of 90 % or more)
    or ``slightly`` (below 7 %); ``None`` when ``before`` is zero, negative or missing, or
    ``after`` negative (no relative size exists: a ratio of values at or below zero, as a
    contour shift or the skin tone angle of dark skin, does not say how much)."""
    if before is None or not math.isfinite(before) or before <= 0 or not math.isfinite(after):
        return None
    if after < 0:
        return None
    ratio = after / before
    if ratio >= _TIMES:
        times = math.floor(ratio + 0.5)
        return "to about twice its value" if times == 2 else f"to about {times} times its value"
    r = abs(ratio - 1)
    if ratio <= _ALMOST_NONE:
        return "almost completely"
    if r < _SLIGHT:
        return "slightly"
    return "by about " + min(_FRACTIONS, key=lambda f: abs(r - f[0]))[1]


def _number(x: float, *, count: bool = False) -> str:
    """A figure rounded for reading, with its sign: 2 significant digits, at most 2
    decimals (a size, as the "by" amount of a change, is given as ``abs(x)``); a whole number
    for a count (``count``)."""
    if x == 0 or not math.isfinite(x):
        return "0"
    if count:
        return f"{x:.0f}" if round(x) != 0 else "0"
    digits = max(0, min(2, 1 - int(math.floor(math.log10(abs(x))))))
    text = f"{x:.{digits}f}"
    return "0" if float(text) == 0 else text


def _label(specs: dict[str, dict], metric: str) -> tuple[str, str]:
    """The measure's display name and its unit in words (no unit for a ratio, ``pixels`` for
    a length or area in pixels: :func:`mesovision.report._wording.unit_words`)."""
    spec = specs.get(metric, {})
    display = spec.get("display") or metric.split(".", 1)[-1].replace("_", " ")
    unit = unit_words(spec.get("unit_label") or spec.get("unit") or "")
    return display, ("" if unit == "1" else unit)


def _amount(x: float, unit: str, *, count: bool) -> str:
    """``5.6 a* units``, ``4 spots``, ``1 spot``."""
    text = _number(x, count=count)
    if count and text in ("1", "-1") and unit.endswith("s"):
        unit = unit[:-1]
    return f"{text} {unit}".rstrip()


def _change_sentence(
    region: str, metric: str, c: dict, specs: dict, since: str, name=region_name
) -> Sentence | None:
    """The sentence of a significant change (the region called ``name(region)``); ``None`` for
    a change within retake noise or not measured."""
    delta = c.get("delta")
    if not c.get("significant") or delta is None or not math.isfinite(delta):
        return None
    display, unit = _label(specs, metric)
    count = is_count(metric, specs.get(metric, {}))
    subject = f"{display[:1].upper()}{display[1:]} of {name(region)}"
    before, after = c.get("before"), c.get("after")
    amount = _amount(abs(delta), unit, count=count)
    way = _way(delta)
    size = everyday_size(before, after)
    if size is None:
        frm = f"from {_number(before or 0.0, count=count)} to {_amount(after, unit, count=count)}"
        moved = f"went {way} {since} ({frm})"
    elif size == "slightly":  # the unit may be a % itself: the relative size said as such
        relative = 100 * abs(after - before) / before
        moved = f"went {way} slightly {since} ({amount}; {relative:.0f} % of its value)"
    else:
        moved = f"went {way} {size} {since} ({amount})"
    text = f"{subject} {moved}; that is more than a retake of the photo would change."
    direction = c.get("direction")
    if direction in ("higher_is_better", "higher_is_worse"):
        better = (delta > 0) == (direction == "higher_is_better")
        # a measure whose before is its zero (the outline's shift against the first photo) does
        # not get better than none: an inward shift is not a cure of swelling
        if not (better and before == 0.0):
            text += " This is an improvement." if better else " This is a worsening."
    return Sentence(text, "change", region, c.get("family"), metric)


def _way(delta: float) -> str:
    return "up" if delta > 0 else "down"


def _verdicts(record: dict) -> dict[str, dict]:
    """The record's comparability verdicts, of the families its changes take (a thigh or a
    scalp is not told that its face geometry could not be compared); all without changes."""
    named = measured_families(record)
    verdicts = (record.get("comparability") or {}).items()
    return {f: v for f, v in verdicts if isinstance(v, dict) and (not named or f in named)}


def _verdict_sentences(verdicts: dict[str, dict]) -> list[Sentence]:
    """One sentence per family that could not be compared, then one per limited family (its
    reason said once, not in every region's sentence)."""
    out = []
    for kind in ("not_comparable", "limited"):
        for family, v in verdicts.items():
            if v.get("status") != kind:
                continue
            reason = v.get("reason") or "the photos differ too much"
            reason = reason.removeprefix(f"{family}: ")  # the sentence names the family
            name = family.replace("_", " ").capitalize()
            text = (
                f"{name} could not be compared between these photos: {reason}."
                if kind == "not_comparable"
                else f"{name}: only a larger change would count between these photos: {reason}."
            )
            out.append(Sentence(text, kind, family=family))
    return out


def _region_sentences(
    region: str, changes: dict, verdicts: dict, specs: dict, since: str, headline: dict, name
) -> tuple[list[Sentence], list[str], list[str]]:
    """The significant headline changes of one region, the names of its headline measures
    that did not change beyond a retake, and those that changed beyond one retake without
    being significant among all the measures tested (``name of the region (up)``)."""
    out, unchanged, beyond = [], [], []
    for key, metric in headline.items():
        c = changes.get(region, {}).get(metric)
        if c is None or verdicts.get(c.get("family") or key, {}).get("status") == "not_comparable":
            continue
        s = _change_sentence(region, metric, c, specs, since, name)
        if s is not None:
            out.append(s)
        elif beyond_floor(c):
            beyond.append(f"{_label(specs, metric)[0]} of {name(region)} ({_way(c['delta'])})")
        elif c.get("delta") is not None and math.isfinite(c["delta"]):
            unchanged.append(_label(specs, metric)[0])
    return out, unchanged, beyond


def _beyond_one_sentence(beyond: list[str]) -> list[Sentence]:
    """One sentence for the treated regions' headline measures that moved more than one retake
    of the photo moves them, but not enough to count among the many measures tested at once."""
    if not beyond:
        return []
    return [
        Sentence(
            f"More than one retake would change, but not significant among all the measures "
            f"tested: {and_list(beyond)}.",
            "beyond_one",
        )
    ]


def _unchanged_sentence(unchanged: dict[str, list[str]], name=region_name) -> list[Sentence]:
    """One sentence for the treated regions' headline measures within retake noise (one clause
    per region, so that a course of four treated regions stays short)."""
    named = {r: names for r, names in unchanged.items() if names}
    parts = [f"on {name(r)}, {and_list(names)}" for r, names in named.items()]
    if not parts:
        return []
    if len(parts) == 1:
        text = f"{parts[0][:1].upper()}{parts[0][1:]} did not change beyond what retaking the "
        text += "photo changes."
        return [Sentence(text, "no_change", next(iter(named)))]
    text = "Within what retaking the photo changes: " + "; ".join(parts) + "."
    return [Sentence(text, "no_change")]


def _others(changes: dict, verdicts: dict, specs: dict, skip, name=region_name) -> list[Sentence]:
    """One sentence naming the significant changes not summarized yet (largest |z| first)."""
    others = sorted(
        (
            (abs(c.get("z") or 0.0), r, m)
            for r, ms in changes.items()
            for m, c in ms.items()
            if c.get("significant")
            and not skip(r, m)
            and verdicts.get(c.get("family"), {}).get("status") != "not_comparable"
        ),
        reverse=True,
    )
    if not others:
        return []
    named = [
        f"{_label(specs, m)[0]} of {name(r)} ({_way(changes[r][m]['delta'])})"
        for _, r, m in others[:_OTHERS_SHOWN]
    ]
    more = len(others) - len(named)
    tail = f" and {more} more" if more else ""
    return [Sentence(f"Also beyond a retake: {', '.join(named)}{tail}.", "others")]


def _site_range(sites: list[str], moves: dict[str, float], unit: str) -> str:
    """``by 8.3 % of the eye distance at the midline`` or ``by 7.8 to 8.8 % left of the midline
    and at the left temple`` (the unit named once, in the first clause)."""
    values = [abs(moves[s]) for s in sites]
    lo, hi = _number(min(values)), _number(max(values))
    amount = f"about {lo}" if lo == hi else f"{lo} to {hi}"
    return f"by {amount} {unit}".rstrip() + " " + and_list([SITE_WORDS.get(s, s) for s in sites])


def _hairline_sentences(record: dict, specs: dict, since: str) -> list[Sentence]:
    """The frontal hairline's sites in sentences: where it receded (or advanced) beyond what a
    retake changes, by how much (the midline first, in mm too when there is a scale), and
    where it did not move beyond a retake."""
    from ..record import record_changes
    from ._modes import HAIRLINE_METRIC

    changes = record_changes(record)
    per = {s: changes.get(s, {}).get(HAIRLINE_METRIC) or {} for s in SITE_WORDS}
    measured = [s for s, c in per.items() if math.isfinite(c.get("delta") or math.nan)]
    unit = _label(specs, HAIRLINE_METRIC)[1]
    out = []
    for way, sign in (("receded", 1.0), ("advanced", -1.0)):
        sites = [s for s in measured if per[s].get("significant") and per[s]["delta"] * sign > 0]
        if not sites:
            continue
        moves = {s: per[s]["delta"] for s in sites}
        first, rest = ([sites[0]], sites[1:]) if sites[0] == "hairline_mid" else (sites, [])
        text = f"The hairline {way} {since} {_site_range(first, moves, unit)}"
        mm = changes.get(first[0], {}).get("hair.hairline_mm", {}).get("delta")
        if len(first) == 1 and mm is not None and math.isfinite(mm):
            text += f" (about {_number(abs(mm))} mm)"
        if rest:
            text += f", and {_site_range(rest, moves, '%')}"
        text += "; that is more than a retake of the photo would change."
        text += " This is a worsening." if sign > 0 else " This is an improvement."
        out.append(Sentence(text, "change", sites[0], None, HAIRLINE_METRIC))
    still = [s for s in measured if not per[s].get("significant")]
    if still:
        where = and_list([SITE_WORDS[s] for s in still])
        text = f"The hairline did not move beyond what retaking the photo changes {where}."
        out.append(Sentence(text, "no_change", None, None, HAIRLINE_METRIC))
    return out


def summarize(
    record: dict,
    specs: dict[str, dict],
    *,
    treated: list[str] | None = None,
    since: str = "since the first session",
    area: str = "the measured area",
) -> list[Sentence]:
    """Sentences for a comparison record: not-comparable families first (one sentence each),
    then per treated region its headline changes (the measures of the record's capture mode,
    :func:`mesovision.report._modes.headline_metrics`; on a frontal hairline view the
    hairline's sites instead), then one sentence naming the other significant changes.

    ``specs`` maps metric names to their listings (``MetricSpec.as_dict()``: ``display``,
    ``unit_label``, ``unit``); ``treated`` defaults to the record's ``settings.treated``; with
    no treated region every region with a significant headline change is summarized. A body or
    scalp record's one region, ``area``, is always summarized, named ``area`` (``the thigh``).
    """
    changes: dict[str, dict[str, dict]] = record.get("changes") or {}
    mode = (record.get("settings") or {}).get("mode", "face")
    headline = headline_metrics(record)
    if treated is None:
        treated = list(record.get("settings", {}).get("treated") or [])
    verdicts = _verdicts(record)
    if mode != "face":
        regions = ["area"] if headline and "area" in changes else []
    else:
        regions = treated or [
            r
            for r, ms in changes.items()
            if any(ms.get(m, {}).get("significant") for m in headline.values())
        ]

    def name(region: str) -> str:
        return area if region == "area" and mode != "face" else region_name(region)

    out, unchanged, beyond = _verdict_sentences(verdicts), {}, []
    if mode == "scalp":
        out += _hairline_sentences(record, specs, since)
    for region in regions:
        said, unchanged[region], more = _region_sentences(
            region, changes, verdicts, specs, since, headline, name
        )
        out += said
        beyond += more
    out += _unchanged_sentence(unchanged, name) + _beyond_one_sentence(beyond)
    shown, hidden = set(headline.values()), set(left_out(record))

    def skip(region: str, metric: str) -> bool:
        return (region in regions and metric in shown) or metric in hidden

    return out + _others(changes, verdicts, specs, skip, name)
