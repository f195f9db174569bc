"""Two photos -> a :class:`Comparison`: scores per region before and after, their changes, and a
noise floor for every change.

How the numbers are made (the README's "Method" section says the same):

1. **Align** (:mod:`mesovision.align`) and **normalize lighting** (:mod:`mesovision.lighting`) on
   the after photo resampled into the before frame; the lighting model is fitted on reference
   pixels only (untreated regions, background).
2. **Score each photo in its own frame.** Warping interpolates and softens fine detail, so a
   warped photo would read "smoother" than an unwarped one with no real change. Instead each photo
   is scored on its own pixels, over its own landmark regions, after the lighting correction
   (a per-pixel colour function and a smooth shading field, carried back into the after photo's
   frame). Both photos are first resampled the same way (area averaging) to a common face scale,
   ``SCORE_IOD_SHARE`` x the smaller interocular distance of the two (at most ``SCORE_MAX_IOD_PX``),
   so that filters of a fixed size in pixels see the same anatomy in both.
3. **Skin baseline**: the before photo's facial skin (median and MAD of L*a*b*, EI, MI) is the
   baseline of both photos, so that a global change still shows.
4. **Noise** of each change (region x metric): a standard error
   ``se = sqrt(se_paired^2 + sd_registration^2 + sd_recapture^2 + sd_counting^2 + sd_capture^2)``,
   ``z = delta / se``, a two-sided p-value and the noise floor ``1.96 * se`` (the half-width of
   a 95 % interval):

   * ``se_paired``: the change is paired, the same skin measured twice. The region is cut into
     the before photo's tiles (``TILE_IOD`` x IOD squares on its scoring grid); each tile is
     measured in both photos over the same anatomy (the tile carried into the after photo's
     scoring frame by the alignment; :func:`mesovision.metrics.patch_table`), and the standard
     error of the region's change is ``MAD_TO_SD x MAD(per-tile changes) / sqrt(n)`` (robust to
     the few tiles a local change moves; ``x`` the region's size in tiles for counts and areas;
     fewer than ``MIN_PAIRED_TILES`` tiles: the per-tile spread pooled over the facial parts);
   * ``sd_registration``: RMS change of the after value when its region masks move by the
     alignment residual in the four directions;
   * ``sd_recapture``: change of the after value when it is scored as if captured once more (its
     scoring grid moved by one working pixel, and the residual lighting error applied again);
   * ``sd_counting``: Poisson noise of detections and flagged pixels (with the pixels at risk of
     flipping for the thresholded smooth fields, ``metrics._maps.NEAR_THRESHOLD_MAPS``);
   * ``sd_capture``: what a second capture moves a value by beyond the terms above, one number
     per metric (:func:`capture_sd`), fitted on synthetic null pairs of the development half of
     the faces by ``benchmarks/calibration.py`` (``capture_noise.json``).

   ``docs/method.md`` gives the derivations. A change is ``significant`` when its
   Benjamini-Hochberg adjusted p-value over all the pair's tested changes is below ``FDR``.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ._threads import run_tasks as _run_tasks
from .align import warp_by_matrix
from .errors import UsageError
from .pipeline import AlignedPair
from .types import resample_matrix

log = logging.getLogger(__name__)

SCORE_IOD_SHARE = 0.9
SCORE_MAX_IOD_PX = 400.0
TILE_IOD = 0.25
Z95 = 1.959963984540054
#: Units of metrics that add up over a region (counts, areas) rather than average.
EXTENSIVE_UNITS = ("count", "px", "mm^2")
#: Fewest paired tiles whose spread gives a region's standard error; fewer: the pooled spread.
MIN_PAIRED_TILES = 3
#: Per-metric capture standard deviations fitted on null pairs (``benchmarks/calibration.py``).
CAPTURE_NOISE_FILE = Path(__file__).parent / "capture_noise.json"


def relative_capture(metric: str) -> bool:
    """Whether a metric's capture term is relative (a share of its value): texture and spot
    contrast, which focus, noise and JPEG scale rather than shift; the others are absolute."""
    return metric.startswith("texture.") or metric == "pigmentation.spot_contrast"


def capture_sd(table: dict[str, float], metric: str, before: float, after: float) -> float:
    """The capture term of one change: ``table[metric]`` in the metric's unit, or for a
    :func:`relative_capture` metric that share of the larger of ``|before|`` and ``|after|``."""
    c = table.get(metric, 0.0)
    if c == 0.0:
        return 0.0
    if relative_capture(metric):
        scale = max(abs(before), abs(after)) if np.isfinite(before) and np.isfinite(after) else 0.0
        return c * scale
    return c


def standard_error(se_paired, sd_registration, sd_recapture, sd_counting, sd_capture):
    """The standard error of a change, its noise terms added in quadrature (numbers or arrays;
    a NaN term makes it NaN: the change is then not tested)."""
    return np.sqrt(
        np.square(se_paired)
        + np.square(sd_registration)
        + np.square(sd_recapture)
        + np.square(sd_counting)
        + np.square(sd_capture)
    )


def z_score(delta, se):
    """``delta / se`` where both are finite and ``se > 0``; NaN elsewhere (not tested)."""
    delta, se = np.asarray(delta, np.float64), np.asarray(se, np.float64)
    ok = np.isfinite(delta) & np.isfinite(se) & (se > 0)
    return np.where(ok, delta / np.where(ok, se, 1.0), np.nan)


@functools.cache
def capture_noise() -> dict[str, float]:
    """``{metric: sd_capture}``: what a second capture of unchanged skin moves a change by,
    beyond the other noise terms, in the metric's unit (``CAPTURE_NOISE_FILE``; 0 for a metric
    not in it)."""
    if not CAPTURE_NOISE_FILE.is_file():
        return {}
    return dict(json.loads(CAPTURE_NOISE_FILE.read_text())["capture_sd"])


@dataclass(frozen=True, eq=False)
class ScoredPhoto:
    """One photo in its scoring frame: image, region masks, per-pixel maps, scores."""

    rgb: np.ndarray
    regions: dict[str, np.ndarray]
    maps: object  # metrics.ImageMaps
    scores: dict[str, dict[str, float]]
    scale: float  # scoring px per working px of this photo
    bruises: object  # metrics.bruise.BruiseResult
    frame: np.ndarray  # 3 x 3: this photo's working pixels -> scoring pixels (crop, then scale)


@dataclass(frozen=True, eq=False)
class Comparison:
    pair: AlignedPair
    lighting: object | None  # lighting.LightingResult
    before: ScoredPhoto
    after: ScoredPhoto
    changes: dict[str, dict[str, dict[str, float | bool | None]]]
    settings: dict = field(default_factory=dict)

    def significant(self) -> list[tuple[str, str, dict]]:
        """``(region, metric, change)`` for every significant change."""
        return [
            (r, m, c) for r, ms in self.changes.items() for m, c in ms.items() if c["significant"]
        ]


def normalize_pair(pair: AlignedPair, *, method: str = "reference", treated=(), scale: float = 1.0):
    """Lighting normalization of an aligned pair, with the reference built from the untreated
    regions (and a uniform background when one is found).

    ``scale`` (<= 1) fits the correction on copies of the pair resampled by that factor (the
    comparison fits it at its scoring resolution): the result's images and fields are then in the
    before photo's frame at that scale; :func:`scale_matrix` maps the working frame to it.
    """
    from . import lighting

    before = pair.before.rgb if scale == 1.0 else _resize(pair.before.rgb, scale)
    face = pair.regions.get("face")
    if face is not None:
        ref = lighting.reference_mask(pair.regions, treated=treated)
    else:
        ref = pair.measured
    ref, valid = ref & pair.valid, pair.valid
    if scale != 1.0:
        ref, valid = _resize_mask(ref, before.shape), _resize_mask(valid, before.shape)
    if face is not None:  # the uniform background, found on the (reduced) copy
        small_face = face if scale == 1.0 else _resize_mask(face, before.shape)
        ref |= lighting.detect_background(before, small_face) & valid
    after = pair.aligned_after_at(before.shape)
    return lighting.normalize_lighting(
        before, after, method=method, reference_mask=ref, valid_mask=valid
    )


#: Long side (px) of the copies the ``reference`` lighting model is fitted on: the model is a
#: per-pixel colour map plus a smooth shading polynomial, fitted on at most 30 000 samples.
LIGHTING_FIT_MAX_SIDE = 768


def _fit_scale(pair: AlignedPair, kb: float, method: str) -> float:
    """Scale of the copies the lighting is fitted on: full resolution for a colour card (it
    corrects the before photo too, and the card must stay large enough to detect), else at most
    :data:`LIGHTING_FIT_MAX_SIDE` px on the long side."""
    if method == "card":
        return 1.0
    return min(1.0, kb, LIGHTING_FIT_MAX_SIDE / max(pair.before.rgb.shape[:2]))


def scale_matrix(k: float) -> np.ndarray:
    """3 x 3 map from a frame's pixels to the pixels of the same frame resampled by ``k``
    (:func:`mesovision.types.resample_matrix`)."""
    return resample_matrix(k)


def _resize_mask(mask: np.ndarray, shape) -> np.ndarray:
    """A bool mask resampled (nearest) to ``shape``'s rows and columns."""
    size = (shape[1], shape[0])
    return cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0


def _scale_factors(pair: AlignedPair) -> tuple[float, float]:
    if pair.before_landmarks is not None and pair.after_landmarks is not None:
        ib, ia = pair.before_landmarks.interocular_px, pair.after_landmarks.interocular_px
        target = min(SCORE_MAX_IOD_PX, SCORE_IOD_SHARE * min(ib, ia))
        return target / ib, target / ia
    # Body mode: the alignment's scale gives the after/before size ratio.
    s = float(np.sqrt(abs(np.linalg.det(pair.alignment.matrix[:2, :2]))))
    k = SCORE_IOD_SHARE * min(1.0, s)
    return k, k / s


def _resize(img: np.ndarray, k: float) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.resize(
        img, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA
    )


#: Margin (share of the interocular distance) around the face's landmarks kept in the scoring
#: frame: the regions, their tiles and the registration shifts all lie inside it.
CROP_MARGIN_IOD = 0.35


def _score_box(lm, mask: np.ndarray | None, shape) -> tuple[int, int, int, int]:
    """``(r0, r1, c0, c1)``: the part of a photo's working copy that is scored, the bounding box
    of the face's landmarks (or of the measured mask) plus a margin."""
    h, w = shape[:2]
    if lm is not None:
        x0, y0 = lm.points.min(axis=0)
        x1, y1 = lm.points.max(axis=0)
        m = CROP_MARGIN_IOD * lm.interocular_px
    elif mask is not None and mask.any():
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        y0, y1, x0, x1 = rows[0], rows[-1], cols[0], cols[-1]
        m = 0.02 * max(h, w)
    else:
        return 0, h, 0, w
    r0, r1 = max(0, int(np.floor(y0 - m))), min(h, int(np.ceil(y1 + m)) + 1)
    c0, c1 = max(0, int(np.floor(x0 - m))), min(w, int(np.ceil(x1 + m)) + 1)
    return r0, r1, c0, c1


#: A pixel with any channel at or above this level (sRGB, before any correction) is clipped.
CLIP_LEVEL = 0.98


def _clipped(rgb: np.ndarray) -> np.ndarray:
    """Pixels with a channel at the clip level."""
    return (rgb >= CLIP_LEVEL).any(axis=2)


def _warp_mask(mask: np.ndarray, m: np.ndarray, shape) -> np.ndarray:
    """``mask`` carried by the 3 x 3 map ``m`` (source pixels -> target pixels) into ``shape``."""
    if not mask.any():
        return np.zeros(shape[:2], bool)
    size = (shape[1], shape[0])
    return warp_by_matrix(mask.view(np.uint8), m, size, flags=cv2.INTER_NEAREST).view(bool)


def frame_matrix(k: float, box: tuple[int, int, int, int]) -> np.ndarray:
    """3 x 3 map from working pixels to the scoring frame: crop to ``box``, then scale by ``k``."""
    crop = np.array([[1.0, 0.0, -box[2]], [0.0, 1.0, -box[0]], [0.0, 0.0, 1.0]])
    return scale_matrix(k) @ crop


def _to_scoring(img: np.ndarray, k: float, box) -> np.ndarray:
    r0, r1, c0, c1 = box
    return _resize(np.ascontiguousarray(img[r0:r1, c0:c1]), k)


def _scaled_landmarks(lm, frame: np.ndarray, k: float, shape):
    import dataclasses

    pts = lm.points @ frame[:2, :2].T + frame[:2, 2]
    return dataclasses.replace(lm, points=pts, z=lm.z * k, image_size=(shape[1], shape[0]))


def _regions_in(rgb, lm, frame, k, fallback_mask, box) -> dict[str, np.ndarray]:
    from .regions import region_masks

    if lm is not None:
        return region_masks(_scaled_landmarks(lm, frame, k, rgb.shape), rgb.shape, rgb=rgb)
    r0, r1, c0, c1 = box
    return {"area": _resize_mask(fallback_mask[r0:r1, c0:c1], rgb.shape)}


def _skin(regions: dict[str, np.ndarray]) -> np.ndarray:
    return regions["face"] if "face" in regions else regions["area"]


def _score(rgb, regions, *, baseline, px_per_mm, metrics):
    from .metrics import prepare, score_region

    maps = prepare(rgb, roi_mask=_skin(regions), px_per_mm=px_per_mm, baseline=baseline)
    scores = {r: score_region(maps, m, metrics=metrics) for r, m in regions.items()}
    return maps, scores


#: Scale of a normal distribution from its median absolute deviation.
MAD_TO_SD = 1.482602218505602


def _robust_sd(d: np.ndarray) -> float:
    """``MAD_TO_SD`` x the median absolute deviation of ``d`` from its median (NaN if empty)."""
    if d.size == 0:
        return float("nan")
    return float(MAD_TO_SD * np.median(np.abs(d - np.median(d))))


#: False discovery rate controlled over the changes of one comparison.
FDR = 0.05


def _control_fdr(changes: dict[str, dict[str, dict]]) -> None:
    """Benjamini-Hochberg over every tested change of the pair (those with a p-value): each gets
    its adjusted ``q``, and ``significant`` means ``q < FDR``."""
    from scipy.stats import false_discovery_control

    tested = [c for per in changes.values() for c in per.values() if c["p"] is not None]
    if not tested:
        return
    q = false_discovery_control(np.array([c["p"] for c in tested]), method="bh")
    for c, qi in zip(tested, q, strict=True):
        c["q"] = float(qi)
        c["significant"] = bool(qi < FDR)


def _after_labels(shape_a, shape_b, a_to_b: np.ndarray, tile: int) -> np.ndarray:
    """The before photo's tile grid (:func:`mesovision.metrics.grid_labels`) carried into the
    after photo's scoring frame: the tile number of the before pixel each after pixel maps to
    (``-1`` outside the before frame)."""
    h, w = shape_a[:2]
    hb, wb = shape_b[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    den = a_to_b[2, 0] * xx + a_to_b[2, 1] * yy + a_to_b[2, 2]
    xb = (a_to_b[0, 0] * xx + a_to_b[0, 1] * yy + a_to_b[0, 2]) / den
    yb = (a_to_b[1, 0] * xx + a_to_b[1, 1] * yy + a_to_b[1, 2]) / den
    col, row = np.floor((xb + 0.5) / tile), np.floor((yb + 0.5) / tile)
    inside = (xb >= -0.5) & (yb >= -0.5) & (xb < wb - 0.5) & (yb < hb - 0.5)
    ncols = -(-wb // tile)
    return np.where(inside, row * ncols + col, -1).astype(np.int32)


def _near_threshold_px(maps, mask: np.ndarray, spec) -> int:
    """Pixels of ``mask`` at risk of flipping into the per-pixel threshold of a share in % (the
    maps of ``metrics._maps.NEAR_THRESHOLD_MAPS``); 0 for every other metric."""
    from .metrics._maps import NEAR_THRESHOLD_MAPS

    near = NEAR_THRESHOLD_MAPS.get(spec.maps[0]) if spec.unit == "%" and spec.maps else None
    if near is None:
        return 0
    r0, r1, c0, c1 = maps.window
    return int(np.count_nonzero(maps.maps[near] & mask[r0:r1, c0:c1]))


def _rms_change(values, ref: float) -> float:
    """Root mean square of ``values - ref`` over the values that are not NaN (as
    ``numpy.nanmean``), 0 when none is finite; plain floats (a handful of values)."""
    d = [float(v) - ref for v in values]
    if not any(math.isfinite(x) for x in d):
        return 0.0
    sq = [x * x for x in d if not math.isnan(x)]
    return math.sqrt(sum(sq) / len(sq))


def _near_counts(maps, regions: dict[str, np.ndarray], names) -> dict[str, dict[str, int]]:
    """``{region: {metric: pixels at risk of flipping}}`` for the thresholded shares among
    ``names`` (:func:`_near_threshold_px`; other metrics are left out: they have none)."""
    from .metrics import get_metric

    specs = [get_metric(n) for n in names]
    return {
        r: {s.name: n for s in specs if (n := _near_threshold_px(maps, m, s))}
        for r, m in regions.items()
    }


def _counting_sd(
    name: str, vb: float, va: float, nb: int, na: int, ppm, scores_b, scores_a, n_near: int = 0
):
    """Poisson noise of a detection-based metric (see the module docstring), or 0.

    ``n_near``: for a thresholded share, the unflagged pixels at risk of flipping in the two
    photos together (:func:`_near_threshold_px`), counted with the flagged ones.
    """
    from .metrics import get_metric

    unit = get_metric(name).unit
    if not (np.isfinite(vb) and np.isfinite(va)):
        return 0.0
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
    if name.startswith("pigmentation.spot_area"):
        n = scores_b.get("pigmentation.spot_count", np.nan) + scores_a.get(
            "pigmentation.spot_count", np.nan
        )
        if not np.isfinite(n):
            return 0.0
        return float((vb + va) / np.sqrt(max(1.0, n)))
    if unit == "%":  # a thresholded share: Poisson on the flagged and at-risk pixels
        if not (nb > 0 and na > 0):
            return 0.0
        n = vb / 100.0 * nb + va / 100.0 * na + n_near
        return float(100.0 * np.sqrt(max(1.0, n)) / min(nb, na))
    return 0.0


def residual_gain(lres, ref: np.ndarray) -> np.ndarray:
    """Per-channel median ratio (linear light) of the normalized after photo to the before photo
    on the reference pixels: the lighting error normalization left (1 = none)."""
    from .lighting import to_linear

    if lres is None or ref is None or not ref.any():
        return np.ones(3)
    ys, xs = np.nonzero(ref)
    b = to_linear(lres.before[ys, xs])
    a = to_linear(lres.after_at(ys, xs))
    ok = (b > 0.01).all(axis=1) & (a > 0.01).all(axis=1) & (b < 0.98).all(axis=1)
    if ok.sum() < 50:
        return np.ones(3)
    return np.median(a[ok] / b[ok], axis=0).astype(np.float64)


def compare_pair(
    pair: AlignedPair,
    *,
    lighting: str = "reference",
    treated=(),
    metrics=None,
    px_per_mm_at_before: float | None = None,
    seed: int = 0,
    threads: int | None = None,
) -> Comparison:
    """Normalize, score and compare an aligned pair (see the module docstring for the method).

    ``px_per_mm_at_before``: the scale of the before photo's working copy, when known (e.g. from
    the patient's measured interpupillary distance); enables the mm-based metrics.
    ``threads``: independent stages (the two photos, the noise re-measurements) run on this
    many threads (default: see :mod:`mesovision._threads`). The result does not depend on it.
    """
    from scipy.stats import norm

    from .lighting import METHODS, correct_image
    from .metrics import (
        SkinBaseline,
        _specs,
        get_metric,
        grid_labels,
        patch_table,
        score_region_moves,
    )
    from .metrics.bruise import segment_bruises

    if lighting not in METHODS:
        raise UsageError(f"unknown lighting method {lighting!r}; valid: {', '.join(METHODS)}")
    # Each photo is scored in its own frame, on a crop around the face (or measured area)
    # resampled to the common face scale; the lighting correction, fitted on reduced copies of
    # the aligned pair, is carried into the after photo's scoring frame.
    kb, ka = _scale_factors(pair)
    mask_after_frame = None
    if pair.after_landmarks is None:
        # The measured area carried into the after frame (zero where it has no source).
        b_to_a = np.linalg.inv(pair.alignment.matrix)
        mask_after_frame = _warp_mask(pair.measured, b_to_a, pair.after.rgb.shape)
    box_b = _score_box(pair.before_landmarks, pair.measured, pair.before.rgb.shape)
    box_a = _score_box(pair.after_landmarks, mask_after_frame, pair.after.rgb.shape)
    frame_b = frame_matrix(kb, box_b)
    frame_a = frame_matrix(ka, box_a)
    # The scale the lighting is fitted at (the before photo's working frame -> fit frame).
    kf = kb if lighting == "none" else _fit_scale(pair, kb, lighting)

    def scoring_copies():
        """Both photos on their scoring crops, and the pixels clipped at capture in either
        photo, which carry no measurement and are left out of both: ``(raw_b, raw_a, clip_b,
        clip_a)``."""
        raw_b, raw_a = (
            _to_scoring(pair.before.rgb, kb, box_b),
            _to_scoring(pair.after.rgb, ka, box_a),
        )
        clip_b0, clip_a0 = _clipped(raw_b), _clipped(raw_a)
        a_to_b = frame_b @ pair.alignment.matrix @ np.linalg.inv(frame_a)
        clip_b = clip_b0 | _warp_mask(clip_a0, a_to_b, clip_b0.shape)
        clip_a = clip_a0 | _warp_mask(clip_b0, np.linalg.inv(a_to_b), clip_a0.shape)
        return raw_b, raw_a, clip_b, clip_a

    ppm_b = None if px_per_mm_at_before is None else px_per_mm_at_before * kb
    # The same anatomy has the same size in both scoring frames (common face scale).
    ppm_a = ppm_b
    iod_s = (
        pair.before_landmarks.interocular_px * kb
        if pair.before_landmarks is not None
        else 0.1 * kb * min(pair.before.rgb.shape[:2])
    )
    tile = max(6, int(round(TILE_IOD * iod_s)))
    shift = max(1, int(round(pair.alignment.residual_px * ka)))
    names = [s.name for s in _specs(metrics)]

    def before_main(copies, lres=None):
        """The before photo: regions, skin baseline (of both photos), maps, scores, bruises.
        Needs nothing of the after photo's correction (unless a colour card corrects it too)."""
        raw_b, _, clip_b, _ = copies
        rgb_b = raw_b if lres is None or kf != 1.0 else _to_scoring(lres.before, kb, box_b)
        reg = _regions_in(rgb_b, pair.before_landmarks, frame_b, kb, pair.measured, box_b)
        reg = {r: m & ~clip_b for r, m in reg.items()}
        baseline = SkinBaseline.from_image(rgb_b, _skin(reg))
        maps, scores = _score(rgb_b, reg, baseline=baseline, px_per_mm=ppm_b, metrics=metrics)
        bruises = segment_bruises(
            rgb_b, _skin(reg), baseline=baseline, region_masks=reg, px_per_mm=ppm_b, maps=maps
        )
        return rgb_b, reg, baseline, maps, scores, bruises, _near_counts(maps, reg, names)

    def before_tiles(before):
        """The before photo's part of the paired noise: its tile grid and each region's
        per-tile values (needs nothing of the after photo)."""
        labels_b = grid_labels(before[0].shape[:2], tile)
        tables = {
            r: patch_table(before[3], m, labels_b, names, cell_px=tile * tile)
            for r, m in before[1].items()
        }
        return labels_b, tables

    def paired_tiles(before, tiles_b, after, scored):
        """The paired part of the noise: each region cut into the before photo's tiles, each
        tile measured in both photos over the same anatomy (the tile carried into the after
        frame by the alignment), and the standard error of the region's change from the spread
        of the per-tile changes: ``{region: {metric: (se, n_tiles)}}``."""
        reg_b = before[1]
        reg_a, maps_a = after[1], scored[0]
        labels_b, tables_b = tiles_b
        a_to_b = frame_b @ pair.alignment.matrix @ np.linalg.inv(frame_a)
        labels_a = _after_labels(after[0].shape, before[0].shape, a_to_b, tile)
        cell_a = np.bincount(labels_a[labels_a >= 0], minlength=int(labels_b.max()) + 1)
        diffs: dict[str, dict[str, np.ndarray]] = {}
        for r in reg_b:
            if r not in reg_a:
                continue
            tb = tables_b[r]
            ta = patch_table(maps_a, reg_a[r], labels_a, names, cell_px=cell_a)
            diffs[r] = {}
            for name in names:
                (ib, vb), (ia, va) = tb[name], ta[name]
                _, jb, ja = np.intersect1d(ib, ia, assume_unique=True, return_indices=True)
                d = va[ja] - vb[jb]
                diffs[r][name] = d[np.isfinite(d)]
        # Regions with too few tiles get the per-tile spread pooled over the facial parts.
        parts = [r for r in diffs if r not in ("face", "area")]
        pooled = {
            n: _robust_sd(
                np.concatenate(
                    [diffs[r][n] - np.median(diffs[r][n]) for r in parts if diffs[r][n].size >= 3]
                    or [np.empty(0)]
                )
            )
            for n in names
        }
        se = {}
        for r, per in diffs.items():
            n_tiles = int(reg_b[r].sum()) / tile**2
            se[r] = {}
            for name, d in per.items():
                if d.size >= MIN_PAIRED_TILES:
                    v = _robust_sd(d) / np.sqrt(d.size)
                else:
                    v = pooled[name] / np.sqrt(n_tiles) if n_tiles > 0 else float("nan")
                if get_metric(name).unit in EXTENSIVE_UNITS:
                    v *= n_tiles
                se[r][name] = (float(v), int(d.size))
        return se

    def after_in(box, lres, raw=None):
        """The after photo on the scoring crop ``box``: ``(frame, corrected, regions)``."""
        fr = frame_matrix(ka, box)
        rgb = _to_scoring(pair.after.rgb, ka, box) if raw is None else raw
        if lres is not None:
            after_to_fit = scale_matrix(kf) @ pair.alignment.matrix @ np.linalg.inv(fr)
            rgb = correct_image(lres, rgb, after_to_fit)
        return fr, rgb, _regions_in(rgb, pair.after_landmarks, fr, ka, mask_after_frame, box)

    def fit():
        if lighting == "none":
            return None
        return normalize_pair(pair, method=lighting, treated=treated, scale=kf)

    def after_main(lres, copies):
        """The after photo on its scoring crop, corrected: ``(rgb, regions)``."""
        _, raw_a, _, clip_a = copies
        _, rgb, reg = after_in(box_a, lres, raw_a)
        return rgb, {r: m & ~clip_a for r, m in reg.items()}

    def after_side(before, after):
        baseline, (rgb_a, reg_a) = before[2], after
        maps, scores = _score(rgb_a, reg_a, baseline=baseline, px_per_mm=ppm_a, metrics=metrics)
        bruises = segment_bruises(
            rgb_a, _skin(reg_a), baseline=baseline, region_masks=reg_a, px_per_mm=ppm_a, maps=maps
        )
        return maps, scores, bruises, _near_counts(maps, reg_a, names)

    def registration(whole: bool):
        """The registration term: the after photo's region masks moved by the residual. In two
        tasks of about the same size, so that neither thread waits at the end: the whole face
        (or measured area), and the other regions."""

        def registration_side(before, after, scored):
            reg_a, maps = after[1], scored[0]
            moves = ((shift, 0), (-shift, 0), (0, shift), (0, -shift))
            return {
                r: score_region_moves(maps, reg_a[r], moves, metrics=metrics)
                for r in before[1]
                if r in reg_a and (r in ("face", "area")) == whole
            }

        registration_side.__name__ = "registration_face" if whole else "registration_parts"
        return registration_side

    def recapture_side(lres, before, copies):
        """The after photo scored as if captured again: its scoring crop moved by one working
        pixel (diagonally), which resamples it, and the residual lighting error normalization
        left (measured on the reference pixels) applied once more. Returns the residual gain and
        the scores (the recapture term)."""
        gain = np.ones(3)
        if lres is not None:
            ref = pair.regions.get("face", pair.measured) & pair.valid
            gain = residual_gain(lres, _resize_mask(ref, lres.before.shape))
        box_s = (box_a[0] + 1, box_a[1], box_a[2] + 1, box_a[3])
        frame_s, rgb_s, reg_s = after_in(box_s, lres)
        clip_s = _warp_mask(copies[3], frame_s @ np.linalg.inv(frame_a), rgb_s.shape)
        reg_s = {r: m & ~clip_s for r, m in reg_s.items()}
        if not np.allclose(gain, 1.0):
            from .lighting import to_linear, to_srgb

            rgb_s = to_srgb(to_linear(rgb_s) * gain.astype(np.float32))
        return gain, _score(rgb_s, reg_s, baseline=before[2], px_per_mm=ppm_a, metrics=metrics)[1]

    # The work as tasks on the threads, each after its inputs (long ones first). A colour card
    # corrects the before photo too, so its before photo waits for the fit.
    FIT, COPIES, BEFORE, AFTER, SCORED, TILES_B = 0, 1, 2, 3, 4, 5
    tasks = [
        (fit, ()),
        (scoring_copies, ()),
        (before_main, (COPIES, FIT) if kf == 1.0 and lighting != "none" else (COPIES,)),
        (after_main, (FIT, COPIES)),
        (after_side, (BEFORE, AFTER)),
        (before_tiles, (BEFORE,)),
        (recapture_side, (FIT, BEFORE, COPIES)),
        (paired_tiles, (BEFORE, TILES_B, AFTER, SCORED)),
        (registration(True), (BEFORE, AFTER, SCORED)),
        (registration(False), (BEFORE, AFTER, SCORED)),
    ]
    results = _run_tasks(threads, tasks)
    lres, _, before, after, scored, _, (gain, scores_s), se_paired = results[:8]
    shifted_all = results[8] | results[9]
    rgb_b, reg_b, baseline, maps_b, scores_b, bruises_b, near_b = before
    rgb_a, reg_a = after
    maps_a, scores_a, bruises_a, near_a = scored

    capture = capture_noise()
    changes: dict[str, dict[str, dict]] = {}
    for region in reg_b:
        if region not in reg_a:
            continue
        nb, na = int(reg_b[region].sum()), int(reg_a[region].sum())
        shifted_scores = shifted_all[region]
        out = {}
        for name, vb in scores_b[region].items():
            va = scores_a[region][name]
            spec = get_metric(name)
            se_p, n_tiles = se_paired[region][name]
            sd_reg = _rms_change([s[name] for s in shifted_scores], va)
            near = near_b[region].get(name, 0) + near_a[region].get(name, 0)
            sd_count = _counting_sd(
                name, vb, va, nb, na, ppm_b, scores_b[region], scores_a[region], near
            )
            sd_recap = abs(scores_s[region][name] - va) if region in scores_s else 0.0
            if not np.isfinite(sd_recap):
                sd_recap = 0.0
            sd_cap = capture_sd(capture, name, vb, va)
            se = float(standard_error(se_p, sd_reg, sd_recap, sd_count, sd_cap))
            floor = Z95 * se
            delta = va - vb
            rel = delta / abs(vb) if np.isfinite(vb) and vb != 0 else None
            z = float(z_score(delta, se))
            z = z if np.isfinite(z) else None
            out[name] = {
                "before": vb,
                "after": va,
                "delta": delta,
                "relative": rel,
                "se": se,
                "z": z,
                "p": None if z is None else float(2 * norm.sf(abs(z))),
                "q": None,
                "noise_floor": floor,
                "significant": False,
                "unit": spec.unit,
                "direction": spec.direction,
                "noise": {
                    "se_paired": se_p,
                    "n_tiles": n_tiles,
                    "sd_registration": sd_reg,
                    "sd_recapture": sd_recap,
                    "sd_counting": sd_count,
                    "sd_capture": sd_cap,
                },
            }
        changes[region] = out
    _control_fdr(changes)

    settings = {
        "lighting": lighting,
        "treated": list(treated),
        "score_scale_before": kb,
        "score_scale_after": ka,
        "score_frame_before": frame_b.round(6).tolist(),
        "score_frame_after": frame_a.round(6).tolist(),
        "lighting_fit_scale": kf,
        "tile_px": tile,
        "registration_shift_px": shift,
        "residual_lighting_gain": gain.tolist(),
        "seed": seed,
        "px_per_mm_at_before": px_per_mm_at_before,
    }
    return Comparison(
        pair=pair,
        lighting=lres,
        before=ScoredPhoto(rgb_b, reg_b, maps_b, scores_b, kb, bruises_b, frame_b),
        after=ScoredPhoto(rgb_a, reg_a, maps_a, scores_a, ka, bruises_a, frame_a),
        changes=changes,
        settings=settings,
    )


RESULT_SCHEMA_VERSION = "3.0"


def method_summary() -> list[str]:
    """The comparison method in plain words (for reports; the module docstring has the detail)."""
    from .metrics._maps import FLIP_BAND_PX

    return [
        "Each photo is scored in its own frame, over its own landmark regions (warping would "
        "soften fine detail), after lighting normalization fitted on reference pixels the "
        "treatment does not change. Both photos are resampled the same way to a common face "
        f"scale ({SCORE_IOD_SHARE} x the smaller interocular distance, at most "
        f"{SCORE_MAX_IOD_PX:.0f} px). Pixels clipped at capture in either photo are left out of "
        "both. The before photo's facial skin is the baseline of both photos.",
        "Every change has a standard error se = sqrt(se_paired^2 + sd_registration^2 + "
        "sd_recapture^2 + sd_counting^2 + sd_capture^2) and a noise floor, the half-width of its "
        "95 % interval (1.96 se). se_paired comes from the change itself: the region is cut into "
        f"square tiles of {TILE_IOD} x the interocular distance in the before photo, each tile "
        "is measured in both photos over the same skin (carried into the after photo by the "
        "alignment), and the spread of the per-tile changes (1.4826 x their median absolute "
        "deviation, robust to the few tiles a local change moves) over the square root of their "
        "number is its standard error (scaled to the region's size for counts and areas); "
        "sd_registration is the change when "
        "the region masks move by the alignment residual; sd_recapture the change when the "
        "after photo is scored as if captured again, its scoring grid moved by one pixel and "
        "the residual lighting error applied once more; sd_counting Poisson noise of "
        "detections and flagged pixels; for the red and wrinkle areas, thresholds of a smooth "
        "per-pixel value, also of the pixels at risk of flipping: those closer to the threshold "
        f"than a move of {FLIP_BAND_PX:g} px can change them (|value - threshold| < the largest "
        f"gradient within a pixel x {FLIP_BAND_PX:g} px), which a sub-pixel move of the photos "
        "can push over it. sd_capture is what a second capture of unchanged skin moves a value "
        "by beyond the other terms, one number per metric fitted on synthetic recaptures of "
        "real faces. About 200 changes are tested per pair: a change is significant when its "
        "p-value, adjusted over all of them by Benjamini-Hochberg, is below 0.05 (a false "
        "discovery rate of 5 %).",
    ]


def _to_before_frame(img: np.ndarray, cmp: Comparison, *, after: bool, nearest: bool):
    """A scoring-frame image (mask or RGB) of the before or after photo, in the before photo's
    working frame (zero outside the scored crop)."""
    pair = cmp.pair
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    src = img.astype(np.uint8) if img.dtype == bool else np.ascontiguousarray(img, np.float32)
    bh, bw = pair.before.rgb.shape[:2]
    # before-frame pixel -> scoring pixel of the photo (WARP_INVERSE_MAP samples src there)
    m = cmp.after.frame @ np.linalg.inv(pair.alignment.matrix) if after else cmp.before.frame
    full = warp_by_matrix(src, m, (bw, bh), flags=interp | cv2.WARP_INVERSE_MAP)
    return full.astype(bool) if img.dtype == bool else full


def output_images(cmp: Comparison) -> dict[str, np.ndarray]:
    """Every image ``mesovision compare`` writes, by file name, all in the before photo's frame."""
    from .metrics.heatmaps import FAMILIES, heatmap

    out = {"aligned_after.png": cmp.pair.aligned_after}
    if cmp.lighting is not None:
        from .lighting import correct_image

        # The correction was fitted at a reduced scale: apply it at full working resolution.
        k = cmp.settings["lighting_fit_scale"]
        out["normalized_after.png"] = correct_image(
            cmp.lighting, cmp.pair.aligned_after, scale_matrix(k)
        )
    out["bruise_mask_before.png"] = _to_before_frame(
        cmp.before.bruises.mask, cmp, after=False, nearest=True
    )
    out["bruise_mask_after.png"] = _to_before_frame(
        cmp.after.bruises.mask, cmp, after=True, nearest=True
    )
    for fam in FAMILIES:
        for which, sp in (("before", cmp.before), ("after", cmp.after)):
            hm = heatmap(sp.rgb, sp.maps, fam, mask=sp.regions.get("face", sp.regions.get("area")))
            out[f"heatmap_{fam}_{which}.png"] = _to_before_frame(
                hm, cmp, after=which == "after", nearest=False
            )
    return out


def output_names() -> list[str]:
    """File names ``mesovision compare`` writes (known before any work, for the overwrite check)."""
    from .metrics.heatmaps import FAMILIES

    names = [
        "result.json",
        "aligned_after.png",
        "normalized_after.png",
        "bruise_mask_before.png",
        "bruise_mask_after.png",
    ]
    return names + [f"heatmap_{f}_{w}.png" for f in FAMILIES for w in ("before", "after")]


def comparison_record(cmp: Comparison) -> dict:
    """The ``result.json`` document (schema in the README)."""
    from .pipeline import alignment_record

    al = alignment_record(cmp.pair)
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "inputs": al.pop("inputs"),
        "provenance": al.pop("provenance"),
        "settings": {**al.pop("settings"), **cmp.settings},
        "alignment": {k: v for k, v in al.items() if k != "schema_version"},
        "lighting": cmp.lighting.report.as_dict() if cmp.lighting is not None else None,
        "scores": {"before": cmp.before.scores, "after": cmp.after.scores},
        "changes": cmp.changes,
        "significant": [
            {
                "region": r,
                "metric": m,
                "delta": c["delta"],
                "noise_floor": c["noise_floor"],
                "unit": c["unit"],
            }
            for r, m, c in cmp.significant()
        ],
        "bruises": {
            "before": cmp.before.bruises.as_dict(),
            "after": cmp.after.bruises.as_dict(),
            "frame": "scoring frame of each photo (settings.score_frame_* maps its working "
            "pixels to it); masks are written in the before photo's frame",
        },
    }
