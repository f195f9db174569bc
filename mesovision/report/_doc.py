"""Reading a course document: the chosen comparison, table rows, trends, the bruise timeline.

Everything here is plain data (no HTML, no plotting), shared by the HTML and the PDF renderers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import UsageError
from ._wording import among_words, relative_percent, tested_counts, tested_words, unit_words

__all__ = [
    "measured_specs",
    "course_mode",
    "tested_counts",
    "beyond_floor",
    "FAMILY_ORDER",
    "family_order",
    "SCHEMA_VERSIONS",
    "check_document",
    "finite",
    "fmt",
    "fmt_signed",
    "patient_label",
    "report_title",
    "session_by_id",
    "baseline",
    "baseline_comparisons",
    "previous_comparison",
    "metric_specs",
    "reading",
    "Row",
    "table_rows",
    "not_comparable",
    "noise_floor_method",
    "heatmap_legend",
    "treated_regions",
    "Series",
    "course_series",
    "metric_series",
    "plain_text",
    "wording",
    "and_list",
]

SCHEMA_VERSIONS = ("1.0", "1.1")


def check_document(doc: dict) -> None:
    """Refuse a document that is not a course document of a known schema version, or whose
    comparison records are of a version the report does not read
    (:data:`mesovision.record.READABLE_SCHEMA_VERSIONS`; a record without ``schema_version``,
    as the synthetic ones of :mod:`mesovision.testing`, is taken as the current one)."""
    if not isinstance(doc, dict):
        raise TypeError(f"a course document is a dict, got {type(doc).__name__}")
    version = doc.get("schema_version")
    if version not in SCHEMA_VERSIONS:
        raise ValueError(
            f"course document schema_version {version!r}; supported: {', '.join(SCHEMA_VERSIONS)}"
        )
    for key in ("patient", "sessions", "comparisons"):
        if key not in doc:
            raise ValueError(f"course document has no {key!r}")
    from ..record import READABLE_SCHEMA_VERSIONS

    for comp in doc["comparisons"]:
        version = (comp.get("record") or {}).get("schema_version", READABLE_SCHEMA_VERSIONS[-1])
        if version not in READABLE_SCHEMA_VERSIONS:
            raise ValueError(
                f"comparison record schema_version {version!r}; supported: "
                f"{', '.join(READABLE_SCHEMA_VERSIONS)}"
            )
    if not doc["sessions"]:
        raise ValueError("course document has no session")


def and_list(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def fmt(x, digits: int = 3) -> str:
    """A number with ``digits`` significant digits; an en dash for a missing value."""
    if not finite(x):
        return "\u2013"
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def fmt_signed(x, digits: int = 3) -> str:
    if not finite(x):
        return "\u2013"
    return ("+" if x > 0 else "") + fmt(x, digits)


def patient_label(doc: dict, *, show_name: bool, deidentify: bool) -> str:
    """``P001`` or ``P001 - Jane Doe`` (the name only when asked and not de-identified);
    ``pair`` for a document without a patient (:func:`mesovision.report.pair.pair_document`);
    empty when de-identified."""
    p = doc["patient"]
    if deidentify:
        return ""
    label = str(p["id"]) if p.get("id") is not None else "pair"
    if show_name and p.get("name"):
        label += f" \u2013 {p['name']}"
    return label


def report_title(doc: dict, *, show_name: bool, deidentify: bool) -> str:
    """The title of the HTML page and of the PDF (its metadata and page footers):
    ``mesovision report P001`` (:func:`patient_label`), or without the id when de-identified
    (``Treatment course report``, :func:`wording`)."""
    if deidentify:
        return wording(doc)["title"]
    return f"mesovision report {patient_label(doc, show_name=show_name, deidentify=False)}"


def session_by_id(doc: dict) -> dict[int, dict]:
    return {s["id"]: s for s in doc["sessions"]}


def baseline(doc: dict) -> dict:
    return doc["sessions"][0]


def baseline_comparisons(doc: dict) -> list[dict]:
    """Comparisons against the baseline, in session (date) order."""
    order = {s["id"]: k for k, s in enumerate(doc["sessions"])}
    comps = [c for c in doc["comparisons"] if c.get("against") == "baseline"]
    return sorted(comps, key=lambda c: order.get(c["session_id"], 10**9))


def previous_comparison(doc: dict, session_id: int) -> dict | None:
    """The comparison of ``session_id`` with the session before it, unless that one is the
    baseline (then it is the comparison with the baseline again)."""
    base = baseline(doc)["id"]
    for c in doc["comparisons"]:
        if (
            c.get("against") == "previous"
            and c["session_id"] == session_id
            and c.get("against_session_id") != base
        ):
            return c
    return None


def metric_specs() -> dict[str, dict]:
    """The metric registry as plain dicts, by name, and the frontal hairline's metrics (not
    registered: :func:`mesovision.hairline.hairline_metric_specs`)."""
    from ..hairline import hairline_metric_specs
    from ..metrics import metric_table

    return {row["name"]: row for row in metric_table()} | hairline_metric_specs()


def beyond_floor(change: dict) -> bool:
    """The change is larger than its noise floor (what one retake of the photo changes for
    this measure alone), whether or not it is significant among all the measures tested."""
    delta, floor = change.get("delta"), change.get("noise_floor")
    return finite(delta) and finite(floor) and abs(delta) > floor


def reading(change: dict, verdicts: dict | None = None, tested: dict | None = None) -> str:
    """Direction-aware wording of one change: ``better`` / ``worse`` (significant, from the
    metric's direction), ``higher (neutral)`` / ``lower (neutral)``, ``within noise`` (within
    its noise floor), ``beyond one retake; not significant among the N measures tested`` (past
    its noise floor, but not significant once the false discovery rate is controlled over the
    N changes of its stratum, ``tested`` of :func:`tested_counts`), ``not comparable`` (its
    family's verdict for this pair, ``verdicts`` of the record's ``comparability``), ``no
    noise floor`` (the floor could not be estimated), ``not measured``."""
    delta = change.get("delta")
    if not finite(delta):
        return "not measured"
    verdict = (verdicts or {}).get(change.get("family")) or {}
    if verdict.get("status") == "not_comparable":
        return "not comparable"
    if not finite(change.get("noise_floor")):
        return "no noise floor"
    if not change.get("significant"):
        if not beyond_floor(change):
            return "within noise"
        among = among_words(change.get("endpoint"), tested or {})
        return f"beyond one retake; not significant among {among}"
    direction = change.get("direction")
    if direction == "higher_is_better":
        return "better" if delta > 0 else "worse"
    if direction == "higher_is_worse":
        return "worse" if delta > 0 else "better"
    return "higher (neutral)" if delta > 0 else "lower (neutral)"


@dataclass(frozen=True)
class Row:
    region: str
    metric: str
    unit: str
    before: float | None
    after: float | None
    delta: float | None
    relative: float | None
    noise_floor: float | None
    significant: bool
    reading: str
    summary: str

    def cells(self) -> list[str]:
        """Text of the region-table cells (region, metric, unit, before, after, change, noise
        floor, significant, reading)."""
        change = fmt_signed(self.delta)
        if finite(self.relative):
            change += f" ({relative_percent(self.relative)})"
        return [
            self.region,
            self.metric,
            self.unit,
            fmt(self.before),
            fmt(self.after),
            change,
            fmt(self.noise_floor),
            "yes" if self.significant else "no",
            self.reading,
        ]


def table_rows(record: dict) -> tuple[list[Row], int]:
    """Rows of the region table (record order) and the number of unmeasured pairs left out
    (both values missing: metrics that need a physical scale, regions too small)."""
    from ..record import record_changes

    specs = metric_specs()
    verdicts = record.get("comparability")
    tested = tested_counts(record)
    rows, skipped = [], 0
    for region, metrics in record_changes(record).items():
        for metric, c in metrics.items():
            if not finite(c.get("before")) and not finite(c.get("after")):
                skipped += 1
                continue
            rows.append(
                Row(
                    region=region,
                    metric=metric,
                    unit=unit_words(str(c.get("unit", ""))),
                    before=c.get("before"),
                    after=c.get("after"),
                    delta=c.get("delta"),
                    relative=c.get("relative"),
                    noise_floor=c.get("noise_floor"),
                    significant=bool(c.get("significant")),
                    reading=reading(c, verdicts, tested),
                    summary=str(specs.get(metric, {}).get("summary", "")),
                )
            )
    return rows, skipped


def not_comparable(record: dict, family: str) -> bool:
    """Whether the record's verdict for ``family`` is not comparable (false without one)."""
    verdict = (record.get("comparability") or {}).get(family) or {}
    return verdict.get("status") == "not_comparable"


def noise_floor_method(record: dict | None, mode: str | None = None) -> list[str]:
    """The method as paragraphs, for the capture mode of the comparison (else ``mode``, else
    the face's), with this comparison's settings when given."""
    from ..compare import method_summary
    from ._mode_methods import mode_method_summary

    st = (record or {}).get("settings", {})
    mode = st.get("mode") or mode or "face"
    if mode == "face":
        paras = method_summary()
    else:
        hairline = (record or {}).get("hairline") or {}
        frontal = not hairline.get("note") and bool(hairline.get("changes"))
        paras = mode_method_summary(mode, hairline=frontal)
    if st:
        paras.append(
            f"This comparison: tiles of {st.get('tile_px', '?')} px, registration shift "
            f"{st.get('registration_shift_px', '?')} px, lighting {st.get('lighting', '?')}, "
            f"treated regions: {_treated_words(st.get('treated'))}; tested: "
            f"{tested_words(tested_counts(record))}."
        )
    if mode in ("face", "body"):
        paras.append(
            "Bruises: areas whose b* departs from the local skin background by more than the "
            "margin, with area and colour stage; no age in days is claimed (the literature does "
            "not support it)."
        )
    paras.append(
        "Trends show the change since the baseline with the noise-floor band of each session's "
        "comparison."
    )
    return paras


def _treated_words(treated: list[str] | None) -> str:
    """A comparison's treated regions in words (a body or scalp view's ``area``: the measured
    area)."""
    names = ["the measured area" if r == "area" else r.replace("_", " ") for r in treated or []]
    return ", ".join(names) or "none"


def course_mode(doc: dict, comp: dict | None = None) -> str:
    """The capture mode of the report (``face``, ``body``, ``scalp``...): the shown
    comparison's, else the course view's (:func:`mesovision.views.view_mode`; a report of one
    pair of photos names the mode as its view)."""
    from ..views import view_mode

    mode = ((comp or {}).get("record") or {}).get("settings", {}).get("mode")
    if mode:
        return str(mode)
    view = str(doc.get("view") or "front")
    try:
        return view_mode(view)
    except UsageError:
        return view


def _mode_families(mode: str) -> set[str]:
    from ..metrics import FAMILIES

    return {name for name, fam in FAMILIES.items() if mode in fam.modes}


def heatmap_legend(mode: str | None = None) -> dict[str, str]:
    """family -> what its heatmap shows and on which fixed range; with ``mode``, only the
    families that score photos of that capture mode (a face report lists no body or hair
    heatmap)."""
    from ..metrics.heatmaps import FAMILIES

    keep = _mode_families(mode) if mode else set(FAMILIES)
    out = {}
    for fam, spec in FAMILIES.items():
        if fam in keep:
            _map, _ref, lo, hi, cmap = spec
            what = getattr(spec, "legend", "") or fam
            out[fam] = f"{what}, fixed range {lo:g} to {hi:g} ({cmap} colour scale)"
    return out


def treated_regions(doc: dict) -> list[str]:
    """The regions treated in any session of the course, in the order they first appear."""
    out: list[str] = []
    for s in doc["sessions"]:
        out += [r for r in s.get("treated") or [] if r not in out]
    return out


@dataclass(frozen=True)
class Series:
    """One headline metric of one region over the course: change since the baseline (a body or
    scalp course: ``region`` is the row's name, ``family`` the column's key)."""

    region: str
    metric: str
    family: str
    unit: str
    dates: list[str]  # baseline first
    delta: list[float]  # 0 at baseline; NaN where not measured
    floor: list[float]  # the noise floor of each session's comparison (baseline: the first)
    significant: list[bool]
    #: Whether each point was tested: False where its comparison's verdict for the family is
    #: not comparable (its value is shown, not tested; it has no retake band). The baseline's
    #: 0 is the reference, True.
    tested: list[bool] | None = None
    #: The column's title where it is not the metric's name (a hairline site).
    title: str | None = None


def course_series(doc: dict, regions: list[str] | None = None) -> list[Series]:
    """Per region (the treated ones by default; every region with a significant headline change
    when nothing was treated) and family, the headline metric's course
    (:data:`mesovision.noise.HEADLINE_METRICS`), region-major order."""
    from ..noise import HEADLINE_METRICS

    comps = baseline_comparisons(doc)
    if not comps:
        return []
    sessions = session_by_id(doc)
    dates = [baseline(doc)["date"]] + [sessions[c["session_id"]]["date"] for c in comps]
    if regions is None:
        regions = treated_regions(doc) or [
            r
            for r in comps[-1]["record"]["changes"]
            if any(
                c["record"]["changes"].get(r, {}).get(m, {}).get("significant")
                for c in comps
                for m in HEADLINE_METRICS.values()
            )
        ]
    out = []
    for region in regions:
        for family, metric in sorted(HEADLINE_METRICS.items(), key=lambda fm: family_order(fm[0])):
            chs = [c["record"]["changes"].get(region, {}).get(metric, {}) for c in comps]
            series = metric_series(region, metric, family, dates, comps, chs, [family] * len(chs))
            out += [series] if series is not None else []
    return out


def metric_series(
    row: str, metric: str, key: str, dates, comps, chs, families, title: str | None = None
) -> Series | None:
    """The :class:`Series` of one measure, ``chs`` its change in each of ``comps`` (untested where
    its family in ``families`` is not comparable); ``None`` when no comparison has a value."""
    nan = float("nan")
    delta = [0.0] + [ch["delta"] if finite(ch.get("delta")) else nan for ch in chs]
    if not any(finite(d) for d in delta[1:]):
        return None
    judged = zip(comps, families, strict=True)
    tested = [True, *(not not_comparable(c["record"], f) for c, f in judged)]
    floor = [
        ch["noise_floor"] if t and finite(ch.get("noise_floor")) else nan
        for ch, t in zip(chs, tested[1:], strict=True)
    ]
    first = next((f for f in floor if math.isfinite(f)), nan)
    unit = next((str(ch.get("unit")) for ch in chs if ch.get("unit")), "")
    sig = [False] + [bool(ch.get("significant")) for ch in chs]
    return Series(row, metric, key, unit, dates, delta, [first, *floor], sig, tested, title)


_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`(~?)([^`<]+?)(?:\s*<[^>]*>)?`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain_text(text: str) -> str:
    """Docstring text as a reader sees it: reStructuredText roles (``:func:`~a.b```) become
    their target's name (the last part with ``~``), double back-quoted literals their text, and
    line wrapping is undone."""

    def role(m: re.Match) -> str:
        target = m.group(2).strip()
        return target.rsplit(".", 1)[-1] if m.group(1) else target

    text = _ROLE.sub(role, str(text))
    text = _LITERAL.sub(r"\1", text)
    return " ".join(text.split())


def wording(doc: dict) -> dict[str, str]:
    """The words that differ between a course report and a report of one pair of photos
    (a document without a patient): the title and how the reference photo is named."""
    if doc["patient"].get("id") is None:
        return {
            "title": "Before and after comparison",
            "first": "the before photo",
            "first_caption": "before",
        }
    return {
        "title": "Treatment course report",
        "first": "the first session",
        "first_caption": "first session",
    }


#: The order the comparability families are shown in (a patient's usual concern first).
FAMILY_ORDER = ("colour", "pigmentation", "texture", "bruise")


def family_order(family: str) -> tuple[int, str]:
    """Sort key of a comparability family: :data:`FAMILY_ORDER`, then any other by name."""
    return (FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER), family)


def measured_specs(record: dict | None, mode: str | None = None) -> dict[str, dict]:
    """The listings of the metrics a comparison measured (those named in its changes, so a face
    report does not describe scalp measures); without a comparison, those a photo of capture
    ``mode`` is scored on (:func:`mesovision.metrics.metrics_for_mode`, and the frontal
    hairline's for the scalp), or every metric without a mode."""
    from ..metrics import metrics_for_mode
    from ..record import record_changes

    specs = metric_specs()
    if record:
        named = {m for per in record_changes(record).values() for m in per}
    elif mode:
        from ..hairline import hairline_metric_specs

        named = set(metrics_for_mode(mode))
        if mode == "scalp":
            named |= set(hairline_metric_specs())
    else:
        return specs
    return {n: s for n, s in specs.items() if n in named}
