"""Words and numbers the report's sections share: a measure's unit in words, a relative change
as a percentage, whether a measure is a count, and how many measures were tested together
(the groups of the false discovery rate control, :func:`mesovision.noise.control_fdr`)."""

from __future__ import annotations

import math

__all__ = [
    "among_words",
    "is_count",
    "relative_percent",
    "tested_counts",
    "tested_words",
    "unit_words",
]

#: Units in pixels (a body photo without a scale), in the words of a report.
_UNIT_WORDS = {"px": "pixels", "px (length)": "pixels", "px (width)": "pixels"}


def unit_words(unit: str) -> str:
    """``unit`` as a report says it: ``pixels`` for a length or width in pixels (``px``,
    ``px (length)``), else as it is."""
    return _UNIT_WORDS.get(str(unit), str(unit))


def is_count(metric: str, spec: dict) -> bool:
    """The measure counts things (spots, dimples, stretch marks): its values are whole
    numbers. From the registry: a ``*_count`` metric or the unit ``count``."""
    return metric.endswith("_count") or spec.get("unit") == "count"


def relative_percent(relative) -> str:
    """A relative change as a signed percentage (``+66 %``, ``-3 %``); one decimal when that
    rounds to zero (``-0.3 %``), and ``0 %`` without a sign when that does too."""
    if not isinstance(relative, (int, float)) or not math.isfinite(relative):
        return ""
    pct = 100 * relative
    if round(pct) != 0:
        return f"{pct:+.0f} %"
    return "0 %" if round(pct, 1) == 0 else f"{pct:+.1f} %"


def tested_counts(record: dict) -> dict[str, int]:
    """How many changes of the record were tested (have a p-value), per endpoint stratum
    (``primary``: the treated regions' headline measures; ``secondary``: the rest), the
    groups within which the false discovery rate is controlled
    (:func:`mesovision.noise.control_fdr`)."""
    from ..record import record_changes

    counts: dict[str, int] = {}
    for per in record_changes(record).values():
        for c in per.values():
            p = c.get("p")
            if isinstance(p, (int, float)) and not isinstance(p, bool) and math.isfinite(p):
                key = c.get("endpoint") or "secondary"
                counts[key] = counts.get(key, 0) + 1
    return counts


def tested_words(counts: dict[str, int]) -> str:
    """The measures tested together (``counts`` of :func:`mesovision.report._doc.tested_counts`,
    per stratum): ``the 19 headline measures of the treated areas, tested apart from the 196
    others``, or ``the 215 measures tested`` when there is one group."""
    primary, secondary = counts.get("primary", 0), counts.get("secondary", 0)
    if primary and secondary:
        return (
            f"the {primary} headline measures of the treated areas, tested apart from the "
            f"{secondary} others"
        )
    n = primary + secondary
    return f"the {n} measures tested" if n else "all the measures tested"


def among_words(endpoint: str | None, counts: dict[str, int]) -> str:
    """The group a change was tested in, for "not significant among ...": ``the 19 headline
    measures of the treated areas``, ``the 196 other measures tested`` (beside primary
    endpoints) or ``the 215 measures tested``."""
    endpoint = endpoint or "secondary"
    n = counts.get(endpoint)
    if not n:
        return "all the measures tested"
    if endpoint == "primary":
        return f"the {n} headline measures of the treated areas"
    return f"the {n} other measures tested" if counts.get("primary") else f"the {n} measures tested"
