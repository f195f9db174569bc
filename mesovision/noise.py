"""The noise model of a change: how far two captures of unchanged skin move a region's value.

A change (region x metric, after - before) gets a standard error from eight terms added in
quadrature, ``se = sqrt(se_paired^2 + sd_registration^2 + sd_recapture^2 + sd_counting^2 +
sd_capture^2 + sd_detail^2 + sd_field^2 + sd_pose^2)`` (:func:`standard_error`), widened when
the pair's measured mismatch makes its family *limited* (:mod:`mesovision.comparability`, the
term ``sd_mismatch``):

* ``se_paired``: the change is paired, the same skin measured twice. The region is cut into the
  before photo's tiles; each tile is measured in both photos over the same anatomy, and the
  standard error of the region's change is ``MAD_TO_SD x MAD(per-tile changes) / sqrt(n)``
  (robust to the few tiles a local change moves; x the region's size in tiles for counts and
  areas; with fewer than ``MIN_PAIRED_TILES`` tiles, the spread pooled over the facial parts);
* ``sd_registration``: RMS change of the after value when its region masks move by the
  alignment residual in the four directions; for a metric whose family registers it
  two-sided (a value each photo holds on its own: the redness metrics, the pigmentation
  means, the texture metrics but the fine-line and pore densities, the shaded and the
  bruised areas), the quadratic mean of that and the before
  value's under the same moves (:func:`registration_sd`);
* ``sd_recapture``: change of the after value when it is scored as if captured once more;
* ``sd_counting``: Poisson noise of detections and flagged pixels, or the variance of the
  detections another capture would find or miss where the family registers one (the spot
  count and areas, the fine-line and pore densities, the bruised area, stretch marks;
  :func:`counting_sd`);
* ``sd_capture``: what a second capture moves a value by beyond the terms above, one number per
  metric (:func:`capture_sd`), fitted on synthetic null pairs of the development half of the
  faces by ``benchmarks/calibration.py`` (``capture_noise.json``);
* ``sd_detail``: for texture, the pair's measured focus or sharpness mismatch times a fitted
  factor per metric (:func:`~mesovision.noise_capture.detail_sd`): 0 for two photos equally
  sharp;
* ``sd_pose``: for the swelling family's contour metrics, what a turn of the head in depth
  between the photos may leave in the value after the family takes off what the turn moved:
  a share of that (:func:`pose_sd`); 0 for every other metric and without a turn;
* ``sd_field``: the between-region term (:func:`field_sd`): how far the same metric moved on
  the facial parts of this pair that did not change. Light that normalization left uneven (a
  lamp of another colour on one side), a focus or a turn move different parts by different
  amounts; with treated regions declared, the untreated parts' changes about zero bound how far
  an unchanged region's value can move; without, the robust spread of all parts' changes
  (:func:`field_terms`: relative for texture and spot contrast; not for counts and areas, which
  scale with the region's size).

``delta / se`` is referred to its null reference, its family's or the metric's own
(:mod:`mesovision.null_reference`: a scaled Student t fitted on null pairs), which gives the
two-sided p-value; ``z`` is its normal score (``|z| > 1.96`` exactly when ``p < 0.05``). Over a
pair's tested changes,
``significant`` controls the false discovery rate at ``FDR`` (Benjamini-Hochberg,
:func:`control_fdr`), separately for the primary endpoints (the treated regions' headline
metrics, :data:`HEADLINE_METRICS`) and the rest. ``docs/method.md`` gives the derivations
and the calibration. The records, :class:`Change` and :class:`NoiseTerms`, are defined in
:mod:`mesovision.noise_records`.
"""

from __future__ import annotations

import math

import numpy as np

from .metrics import (
    FAMILIES,
    HEADLINE_METRICS,
    NEAR_THRESHOLD_MAPS,
    ImageMaps,
    MetricSpec,
    get_metric,
    headline_choices,
)
from .noise_capture import (
    CAPTURE_NOISE_FILE,
    capture_noise,
    capture_sd,
    detail_noise,
    detail_sd,
    relative_capture,
)
from .noise_capture import family_of_metric as _family
from .noise_records import Change, NoiseTerms, standard_error
from .null_reference import Z95

__all__ = [
    "CAPTURE_NOISE_FILE",
    "EXTENSIVE_UNITS",
    "FDR",
    "HEADLINE_METRICS",
    "MAD_TO_SD",
    "MIN_FIELD_REGIONS",
    "MIN_PAIRED_TILES",
    "SHARE_UNIT",
    "UNTREATED_TO_SD",
    "Z95",
    "Change",
    "NoiseTerms",
    "capture_noise",
    "capture_sd",
    "control_fdr",
    "detail_noise",
    "detail_sd",
    "counting_sd",
    "mark_primaries",
    "field_sd",
    "field_terms",
    "near_counts",
    "near_threshold_px",
    "paired_se",
    "pose_sd",
    "registration_sd",
    "relative_capture",
    "rms_change",
    "robust_sd",
    "standard_error",
    "two_sided_metrics",
    "z_score",
]

#: Scale of a normal distribution from its median absolute deviation.
MAD_TO_SD = 1.482602218505602
#: Units of metrics that add up over a region (counts, areas) rather than average.
EXTENSIVE_UNITS = ("count", "px", "mm^2")
#: Fewest paired tiles whose spread gives a region's standard error; fewer: the pooled spread.
MIN_PAIRED_TILES = 3
#: False discovery rate controlled over the changes of one comparison.
FDR = 0.05
_DOUBLES = (float, np.float64)  # double precision: NumPy's float64 arithmetic


#: Fewest facial parts with a finite change that give the between-region term.
MIN_FIELD_REGIONS = 4
#: Mean absolute value of a normal error of mean 0 -> its standard deviation.
UNTREATED_TO_SD = math.sqrt(math.pi / 2)
#: The unit of a thresholded share of a region (red, wrinkled area): its between-region term
#: stays robust (:func:`field_sd`, ``shared=False``; the bruised area has none, its family being
#: ``local``).
SHARE_UNIT = "%"


def field_sd(deltas: dict[str, float], treated=(), *, shared: bool = True) -> float:
    """The between-region term of one metric, from the changes of the facial parts (``face``
    and ``area`` left out).

    With regions declared treated, at least :data:`MIN_FIELD_REGIONS` untreated parts with a
    finite change, and ``shared`` errors (a value that light moves on all the skin alike: a
    mean colour, a texture): the untreated parts' mean absolute change x sqrt(pi / 2) (the
    standard deviation of a normal error of mean 0). Skin declared untreated should not change
    at all, so the spread is taken about zero: a shift common to those parts (light that
    normalization left on all of them) is an error the treated regions carry too; and a mean
    over the four to six parts is steadier than their median absolute deviation, which is near
    0 whenever three of five agree.

    Otherwise (no declaration: any part may have changed for real; or a thresholded share,
    ``shared=False``, which moves by one part's detector fluke that says nothing of the others):
    ``MAD_TO_SD`` x the median absolute deviation of the untreated parts' changes (all parts
    when fewer than :data:`MIN_FIELD_REGIONS` are untreated), which ignores up to half of them
    changing; a treatment does not widen its own floor. NaN (not available) with fewer than
    :data:`MIN_FIELD_REGIONS` parts."""
    parts = {r: d for r, d in deltas.items() if r not in ("face", "area") and math.isfinite(d)}
    ref = np.array([d for r, d in parts.items() if r not in treated], np.float64)
    if len(ref) < MIN_FIELD_REGIONS:  # too few untreated parts: all of them, robustly
        ref = np.array(list(parts.values()), np.float64)
        if len(ref) < MIN_FIELD_REGIONS:
            return math.nan
    elif treated and shared:
        return float(UNTREATED_TO_SD * np.abs(ref).mean())
    return robust_sd(ref)


def field_terms(
    metric: str, before: dict[str, float], after: dict[str, float], treated=()
) -> dict[str, float]:
    """``{region: sd_field}`` of one metric over a pair's regions (:func:`field_sd`): on the
    changes for an absolute metric, on the relative changes for a :func:`relative_capture`
    one (focus and compression scale texture rather than shift it), then in the metric's unit
    (times the larger of the region's two values); robust for a thresholded share
    (:data:`SHARE_UNIT`); 0 everywhere for counts and areas; NaN
    everywhere when the pair has too few parts for it; 0 everywhere for a family registered as
    ``local`` (swelling: a local change moves its neighbours' values too; bruise: a bruise is
    found against its own local skin, and one in another part says nothing of this one's)."""
    family = _family(metric)
    if get_metric(metric).unit in EXTENSIVE_UNITS or (family is not None and family.local):
        return dict.fromkeys(before, 0.0)
    rel = relative_capture(metric)
    deltas = {}
    for r in before:
        b, a = before[r], after.get(r, math.nan)
        if rel:
            scale = max(abs(b), abs(a))
            deltas[r] = (a - b) / scale if scale > 0 else math.nan
        else:
            deltas[r] = a - b
    sd = field_sd(deltas, treated, shared=get_metric(metric).unit != SHARE_UNIT)
    if not rel or math.isnan(sd):
        return dict.fromkeys(before, sd)
    out = {}
    for r in before:
        scale = max(abs(before[r]), abs(after.get(r, math.nan)))
        out[r] = sd * scale if math.isfinite(scale) else 0.0
    return out


def pose_sd(metric: str, maps: ImageMaps, mask: np.ndarray) -> float:
    """The pose term of a change over ``mask`` from the after photo's ``maps``: what a turn of
    the head in depth between the photos leaves in the value after the family takes off what
    it predicts the turn moved (the contour metrics of the swelling family,
    :func:`mesovision.metrics.swelling.turn_sd`); 0 for every other metric."""
    from .metrics.swelling import turn_sd

    return turn_sd(metric, maps, mask)


def z_score(delta, se):
    """``delta / se`` where both are finite and ``se > 0``; NaN elsewhere (not tested)."""
    if type(delta) in _DOUBLES and type(se) in _DOUBLES:  # one change: no arrays to make
        ok = math.isfinite(delta) and math.isfinite(se) and se > 0
        return np.float64(delta / se if ok else math.nan)
    delta, se = np.asarray(delta, np.float64), np.asarray(se, np.float64)
    ok = np.isfinite(delta) & np.isfinite(se) & (se > 0)
    return np.where(ok, delta / np.where(ok, se, 1.0), np.nan)


def _untiled(metric: str) -> bool:
    """Whether ``metric``'s family registers it as ``untiled``."""
    family = _family(metric)
    return family is not None and metric in family.untiled


def robust_sd(d: np.ndarray) -> float:
    """``MAD_TO_SD`` x the median absolute deviation of ``d`` from its median (NaN if empty)."""
    if d.size == 0:
        return float("nan")
    return float(MAD_TO_SD * np.median(np.abs(d - np.median(d))))


def mark_primaries(changes: dict[str, dict[str, Change]], treated, mode: str = "face") -> None:
    """Set ``endpoint`` ``primary`` on the headline change of each family in each treated region
    (:func:`~mesovision.metrics.headline_choices` of capture mode ``mode``, in face mode
    :data:`HEADLINE_METRICS`: the first of a family's choices with a finite change, else its
    first scored one); every other change stays ``secondary``."""
    headlines = headline_choices(mode).values()
    for region in treated:
        per = changes.get(region, {})
        for choices in headlines:
            scored = [per[m] for m in choices if m in per]
            finite = [c for c in scored if np.isfinite(c.delta)]
            if scored:
                (finite or scored)[0].endpoint = "primary"


def control_fdr(changes: list[Change]) -> None:
    """Benjamini-Hochberg over the tested changes (those with a p-value), separately within
    the primary and the secondary endpoints (a stratified false discovery rate: the few
    declared endpoints are not diluted by the ~300 exploratory ones): each change gets its
    adjusted ``q``, and ``significant`` means ``q < FDR``."""
    from scipy.stats import false_discovery_control

    for stratum in ("primary", "secondary"):
        tested = [c for c in changes if c.p is not None and c.endpoint == stratum]
        if not tested:
            continue
        q = false_discovery_control(np.array([c.p for c in tested]), method="bh")
        for c, qi in zip(tested, q, strict=True):
            c.q = float(qi)
            c.significant = bool(qi < FDR)


def near_threshold_px(maps: ImageMaps, mask: np.ndarray, spec: MetricSpec) -> float:
    """The flip variance (px²) of a share in % over ``mask``, from the map its family registers
    (``metrics.NEAR_THRESHOLD_MAPS``): a ``bool`` map marks the pixels at risk of flipping into
    the per-pixel threshold, each a Poisson unit (their count); a float map holds each pixel's
    share of the variance of detections that flip as a whole (its sum; the bruise family's
    :func:`~mesovision.metrics._bruise_colour.flip_variance`). A metric whose family registers
    a ``flip_variance`` function gets that function's value instead (the variance itself, in
    the metric's unit squared). 0 for every other metric."""
    family = _family(spec.name)
    if family is not None and spec.name in family.flip_variance:
        return float(family.flip_variance[spec.name](maps, mask))
    near = NEAR_THRESHOLD_MAPS.get(spec.maps[0]) if spec.unit == "%" and spec.maps else None
    if near is None:
        return 0
    m = maps.maps[near]
    if m.dtype == bool:
        r0, r1, c0, c1 = maps.window
        return int(np.count_nonzero(m & mask[r0:r1, c0:c1]))
    return maps.total(near, mask)


def near_counts(
    maps: ImageMaps, regions: dict[str, np.ndarray], names
) -> dict[str, dict[str, float]]:
    """``{region: {metric: flip variance in px²}}`` for the thresholded shares among ``names``
    (:func:`near_threshold_px`; other metrics are left out: they have none)."""
    specs = [get_metric(n) for n in names]
    return {
        r: {s.name: n for s in specs if (n := near_threshold_px(maps, m, s))}
        for r, m in regions.items()
    }


def rms_change(values, ref: float) -> float:
    """Root mean square of ``values - ref`` over the values that are not NaN (as
    ``numpy.nanmean``), 0 when none is finite; plain floats (a handful of values)."""
    d = [float(v) - ref for v in values]
    if not any(math.isfinite(x) for x in d):
        return 0.0
    sq = [x * x for x in d if not math.isnan(x)]
    return math.sqrt(sum(sq) / len(sq))


def two_sided_metrics() -> set[str]:
    """The metrics whose family registers their registration term two-sided
    (``two_sided_registration``: :func:`registration_sd`)."""
    return {m for f in FAMILIES.values() for m in f.two_sided_registration}


def registration_sd(name: str, moved_a, va: float, moved_b=(), vb: float = math.nan) -> float:
    """The registration term of metric ``name``: the RMS change of the after value ``va`` over
    its region masks moved by the alignment residual (``moved_a``, the values of the moves,
    :func:`rms_change`).

    A metric whose family registers it two-sided (a value each photo holds on its own: a
    wrinkled forehead moves more under its masks than a smoothed one, and a detection that
    one photo holds and the other does not, such as a bruise, moves only with the masks of
    the photo that holds it) takes ``sqrt((rms_a^2 + rms_b^2) / 2)``, with ``rms_b`` the same
    of the before value ``vb`` over the before photo's masks moved alike (``moved_b``). Each
    photo's masks come from its own landmarks, so each is misplaced by about ``residual /
    sqrt(2)`` and its variance is half its RMS² over moves of the whole residual; the term is
    then the same whichever photo is the before photo, and for two photos alike it is the
    after photo's RMS. Without the before photo's moves (``moved_b`` empty) the after photo's
    RMS."""
    rms_a = rms_change(moved_a, va)
    if name not in two_sided_metrics() or not len(moved_b):
        return rms_a
    rms_b = rms_change(moved_b, vb)
    return math.sqrt(0.5 * (rms_a * rms_a + rms_b * rms_b))


def _counted_by(metric: str) -> str | None:
    """The count metric whose Poisson noise ``metric`` carries (its family's ``counted_by``)."""
    family = _family(metric)
    return None if family is None else family.counted_by.get(metric)


def counting_sd(
    name: str, vb: float, va: float, nb: int, na: int, ppm, scores_b, scores_a, n_near: float = 0
):
    """Poisson noise of a detection-based metric, or 0: counts (``sqrt(before + after)``),
    densities (counts over the area), areas of detections (relative to their count, the
    family's ``counted_by``), thresholded shares in % (the flagged pixels and, ``n_near``, the
    flip variance of the two photos together in px²: unflagged pixels at risk of flipping, or
    whole detections at risk, :func:`near_threshold_px`). A metric with a ``flip_variance``
    of its family (spot count and areas, :mod:`mesovision.metrics._spot_flip`; fine-line and
    pore densities, :mod:`mesovision.metrics._texture_flip`): the root of ``n_near``, the two
    photos' summed variances, and of a density's mean x its areas' difference over their mean."""
    spec = get_metric(name)
    unit = spec.unit
    if not (np.isfinite(vb) and np.isfinite(va)):
        return 0.0
    family = _family(name)
    if family is not None and name in family.flip_variance:  # the two photos' variances
        area = abs(nb - na) / max(nb + na, 1) if unit in ("1/(1000 px^2)", "1/cm^2") else 0.0
        return float(np.sqrt(max(n_near, 0.0) + ((abs(vb) + abs(va)) * area) ** 2))
    if unit == "count":
        return float(np.sqrt(max(1.0, vb + va)))
    area = {
        "1/(1000 px^2)": lambda n: n / 1000.0,
        "1/cm^2": lambda n: n / ppm**2 / 100.0 if ppm else np.nan,
    }.get(unit)
    if area is not None:
        ab, aa = area(nb), area(na)
        if not (ab > 0 and aa > 0):
            return 0.0
        n = vb * ab + va * aa
        return float(np.sqrt(max(1.0, n)) / (0.5 * (ab + aa)))
    count = _counted_by(name)
    if count is not None:  # an area of detections: relative to their count
        n = scores_b.get(count, np.nan) + scores_a.get(count, np.nan)
        if not np.isfinite(n):
            return 0.0
        return float((vb + va) / np.sqrt(max(1.0, n)))
    if unit == "%":  # a thresholded share: Poisson on the flagged and at-risk pixels
        if not (nb > 0 and na > 0):
            return 0.0
        n = vb / 100.0 * nb + va / 100.0 * na + n_near
        return float(100.0 * np.sqrt(max(1.0, n)) / min(nb, na))
    return 0.0


def paired_se(
    diffs: dict[str, dict[str, np.ndarray]], region_tiles: dict[str, float], units, treated=()
):
    """``{region: {metric: (se_paired, n_tiles)}}`` from the per-tile changes ``diffs``
    (finite values only), ``region_tiles`` (each region's size in tiles) and ``units``
    (``{metric: unit}``): :func:`robust_sd` over ``sqrt(n)``, or with fewer than
    ``MIN_PAIRED_TILES`` tiles the spread pooled over the facial parts (all regions but
    ``face`` and ``area``) over the square root of the region's size in tiles.

    A metric its family registers as ``untiled`` (a per-eye value that the region only
    selects) has no paired term: 0.

    A ``treated`` region takes the spread pooled over the untreated parts (when at least two
    have ``MIN_PAIRED_TILES`` tiles): a treatment that covers part of a region makes its
    per-tile changes bimodal, and their own spread would grow with the change it is to test."""
    names = list(units)
    parts = [r for r in diffs if r not in ("face", "area")]

    def pooled_over(regions):
        return {
            n: robust_sd(
                np.concatenate(
                    [diffs[r][n] - np.median(diffs[r][n]) for r in regions if diffs[r][n].size >= 3]
                    or [np.empty(0)]
                )
            )
            for n in names
        }

    pooled = pooled_over(parts)
    untreated = [r for r in parts if r not in treated]
    reference = pooled_over(untreated) if treated else {}
    # Metrics whose untreated parts give a reference spread (at least two with enough tiles).
    has_reference = {
        n for n in names if sum(diffs[u][n].size >= MIN_PAIRED_TILES for u in untreated) >= 2
    }
    untiled = {n for n in names if _untiled(n)}
    se = {}
    for r, per in diffs.items():
        n_tiles = region_tiles[r]
        se[r] = {}
        for name, d in per.items():
            if name in untiled:  # its value is not the region's tiles' (its family's untiled)
                v = 0.0
            elif r in treated and d.size >= MIN_PAIRED_TILES and name in has_reference:
                v = reference[name] / np.sqrt(d.size)
            elif d.size >= MIN_PAIRED_TILES:
                v = robust_sd(d) / np.sqrt(d.size)
            else:
                v = pooled[name] / np.sqrt(n_tiles) if n_tiles > 0 else float("nan")
            if units[name] in EXTENSIVE_UNITS:
                v *= n_tiles
            se[r][name] = (float(v), int(d.size))
    return se
