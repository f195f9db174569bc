"""The comparison's re-measurements: what the noise model and the comparability verdicts need.

Stages of :func:`mesovision.compare.compare_pair`, each taking the
:class:`~mesovision.scoring.ScoringPlan` and the results of the scoring stages:

* :func:`before_tiles` and :func:`paired_tiles`: the paired term. The region is cut into the
  before photo's tiles; each tile is measured in both photos over the same anatomy (the tile
  carried into the after frame by the alignment, :func:`after_labels`), and the spread of the
  per-tile changes gives the standard error (:func:`mesovision.noise.paired_se`);
* :func:`registration_face` and :func:`registration_parts`: the after photo's region masks moved
  by the alignment residual in the four directions (two tasks of about the same size);
  :func:`registration_before`: the before photo's, for the metrics whose family registers a
  two-sided registration term (:func:`mesovision.noise.registration_sd`);
* :func:`recapture`: the after photo scored as if captured again, its scoring crop moved by one
  working pixel and the residual lighting error (:func:`residual_gain`) applied once more;
* :func:`measure_mismatch`: what differs between the two photos beyond the skin
  (:class:`mesovision.comparability.Mismatch`), and :func:`scored_families`: the families whose
  verdicts a comparison gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import comparability as cp
from . import mismatch as mm
from .color import kept_lab
from .lighting import LightingResult
from .metrics import get_metric, grid_labels, patch_table, score_region_moves
from .noise import paired_se, two_sided_metrics
from .paired_bruises import recapture_scores
from .pipeline import HAIR_MODES
from .scoring import (
    AfterPhoto,
    AfterScores,
    BeforeSide,
    ScoringCopies,
    ScoringPlan,
    after_in,
    reference_skin_in,
    score_photo,
    skin_of,
)
from .scoring_frame import landmarks_in, resize_mask, scaled_landmarks, warp_mask

__all__ = [
    "body_mismatch",
    "BeforeTiles",
    "LABEL_ROWS",
    "PairedTiles",
    "Recapture",
    "after_labels",
    "before_tiles",
    "measure_mismatch",
    "paired_tiles",
    "recapture",
    "registration_before",
    "registration_face",
    "registration_parts",
    "residual_gain",
]


@dataclass(frozen=True, eq=False)
class BeforeTiles:
    """The before photo's tile grid (tile number of each pixel) and each region's per-tile
    values: ``{region: {metric: (tile numbers, values)}}``."""

    labels: np.ndarray
    tables: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]


@dataclass(frozen=True, eq=False)
class PairedTiles:
    """``se``: ``{region: {metric: (se_paired, n_tiles)}}``; ``labels_a``: the before photo's
    tile grid carried into the after photo's scoring frame."""

    se: dict[str, dict[str, tuple[float, int]]]
    labels_a: np.ndarray


@dataclass(frozen=True, eq=False)
class Recapture:
    """The residual lighting gain (per channel, 1 = none) and the after photo's scores as if
    captured again."""

    gain: np.ndarray
    scores: dict[str, dict[str, float]]


#: Rows of :func:`after_labels` computed at a time: its float64 temporaries stay small (about
#: 70 kB on a 550-column frame), in the cache and in the allocator's pool, instead of a dozen
#: arrays of the whole frame (each a fresh mapping whose pages fault in: about 4x slower).
LABEL_ROWS = 16


def after_labels(shape_a, shape_b, a_to_b: np.ndarray, tile: int) -> np.ndarray:
    """The before photo's tile grid (:func:`mesovision.metrics.grid_labels`) carried into the
    after photo's scoring frame: the tile number of the before pixel each after pixel maps to
    (``-1`` outside the before frame). Computed :data:`LABEL_ROWS` rows at a time (each pixel by
    the same formula)."""
    h, w = shape_a[:2]
    xx = np.arange(w, dtype=np.float64)[None, :]
    out = np.empty((h, w), np.int32)
    for r0 in range(0, h, LABEL_ROWS):
        yy = np.arange(r0, min(h, r0 + LABEL_ROWS), dtype=np.float64)[:, None]
        out[r0 : r0 + LABEL_ROWS] = _labels_of(xx, yy, shape_b, a_to_b, tile)
    return out


def _labels_of(xx: np.ndarray, yy: np.ndarray, shape_b, a_to_b: np.ndarray, tile: int):
    """:func:`after_labels` of the pixels at columns ``xx`` (a row) and rows ``yy`` (a column):
    broadcast, no full-frame grids to fill."""
    hb, wb = shape_b[:2]
    den = a_to_b[2, 0] * xx + a_to_b[2, 1] * yy + a_to_b[2, 2]
    xb = (a_to_b[0, 0] * xx + a_to_b[0, 1] * yy + a_to_b[0, 2]) / den
    yb = (a_to_b[1, 0] * xx + a_to_b[1, 1] * yy + a_to_b[1, 2]) / den
    col, row = np.floor((xb + 0.5) / tile), np.floor((yb + 0.5) / tile)
    inside = (xb >= -0.5) & (yb >= -0.5) & (xb < wb - 0.5) & (yb < hb - 0.5)
    ncols = -(-wb // tile)
    return np.where(inside, row * ncols + col, -1).astype(np.int32)


def residual_gain(lres: LightingResult | None, ref: np.ndarray | None) -> np.ndarray:
    """Per-channel median ratio (linear light) of the normalized after photo to the before photo
    on the reference pixels: the lighting error normalization left (1 = none)."""
    from .lighting import to_linear

    if lres is None or ref is None or not ref.any():
        return np.ones(3)
    ys, xs = np.nonzero(ref)
    b = to_linear(lres.before[ys, xs])
    a = to_linear(lres.after_at(ys, xs))
    ok = _all3(b > 0.01) & _all3(a > 0.01) & _all3(b < 0.98)
    if ok.sum() < 50:
        return np.ones(3)
    return np.median(a[ok] / b[ok], axis=0).astype(np.float64)


def _all3(x: np.ndarray) -> np.ndarray:
    """``x.all(axis=1)`` of an ``(N, 3)`` bool array, channel by channel (about 10x faster)."""
    return x[:, 0] & x[:, 1] & x[:, 2]


def before_tiles(plan: ScoringPlan, before: BeforeSide) -> BeforeTiles:
    """Stage ``tiles_before``: the before photo's part of the paired noise (needs nothing of
    the after photo)."""
    labels_b = grid_labels(before.rgb.shape[:2], plan.tile)
    tables = {
        r: patch_table(before.maps, m, labels_b, plan.names, cell_px=plan.tile * plan.tile)
        for r, m in before.regions.items()
    }
    return BeforeTiles(labels_b, tables)


def paired_tiles(
    plan: ScoringPlan,
    before: BeforeSide,
    tiles_b: BeforeTiles,
    after: AfterPhoto,
    scored: AfterScores,
) -> PairedTiles:
    """Stage ``paired``: each region cut into the before photo's tiles, each tile measured in
    both photos over the same anatomy, and the standard error of the region's change from the
    spread of the per-tile changes."""
    reg_b, reg_a, names, tile = before.regions, after.regions, plan.names, plan.tile
    labels_a = after_labels(after.rgb.shape, before.rgb.shape, plan.a_to_b, tile)
    cell_a = np.bincount(labels_a[labels_a >= 0], minlength=int(tiles_b.labels.max()) + 1)
    diffs: dict[str, dict[str, np.ndarray]] = {}
    for r in reg_b:
        if r not in reg_a:
            continue
        tb = tiles_b.tables[r]
        ta = patch_table(scored.maps, reg_a[r], labels_a, names, cell_px=cell_a)
        diffs[r] = {}
        for name in names:
            (ib, vb), (ia, va) = tb[name], ta[name]
            _, jb, ja = np.intersect1d(ib, ia, assume_unique=True, return_indices=True)
            d = va[ja] - vb[jb]
            diffs[r][name] = d[np.isfinite(d)]
    tiles = {r: int(np.count_nonzero(reg_b[r])) / tile**2 for r in diffs}
    units = {n: get_metric(n).unit for n in names}
    return PairedTiles(paired_se(diffs, tiles, units, plan.treated), labels_a)


def _moves(plan: ScoringPlan) -> tuple[tuple[int, int], ...]:
    """The registration moves: the residual (``plan.shift``) in the four directions."""
    shift = plan.shift
    return ((shift, 0), (-shift, 0), (0, shift), (0, -shift))


def _registration(plan, before: BeforeSide, after: AfterPhoto, scored: AfterScores, whole: bool):
    """The after photo's region masks moved by the residual, scored: the whole face (or
    measured area) when ``whole``, else the other regions."""
    reg_a, moves = after.regions, _moves(plan)
    return {
        r: score_region_moves(
            scored.maps, reg_a[r], moves, metrics=plan.metrics, base=scored.views.get(r)
        )
        for r in before.regions
        if r in reg_a and (r in ("face", "area")) == whole
    }


def registration_face(
    plan: ScoringPlan, before: BeforeSide, after: AfterPhoto, scored: AfterScores
) -> dict[str, list[dict[str, float]]]:
    """Stage ``registration_face``: the registration term of the face (or measured area)."""
    return _registration(plan, before, after, scored, True)


def registration_parts(
    plan: ScoringPlan, before: BeforeSide, after: AfterPhoto, scored: AfterScores
) -> dict[str, list[dict[str, float]]]:
    """Stage ``registration_parts``: the registration term of the facial parts."""
    return _registration(plan, before, after, scored, False)


def registration_before(
    plan: ScoringPlan, before: BeforeSide, after: AfterPhoto
) -> dict[str, list[dict[str, float]]]:
    """Stage ``registration_before``: the before photo's region masks moved by the residual
    (the after photo's move, ``plan.shift``: both scoring frames share the face's scale),
    scored for the metrics whose family registers a two-sided registration term
    (``two_sided_registration``); ``{}`` when the pair scores none. Each region's moves start
    from the map means its scores took (its view, on the maps that stage ``bruises`` may have
    replaced: the means of the replaced maps are taken again)."""
    names = [n for n in plan.names if n in two_sided_metrics()]
    if not names:
        return {}
    moves, views = _moves(plan), before.views
    return {
        r: score_region_moves(
            before.maps, m, moves, metrics=names,
            base=views[r].on_maps(before.maps) if r in views else None,
        )
        for r, m in before.regions.items()
        if r in after.regions
    }  # fmt: skip


def recapture(
    plan: ScoringPlan, lres: LightingResult | None, before: BeforeSide, copies: ScoringCopies
) -> Recapture:
    """Stage ``recapture``: the after photo scored as if captured again: its scoring crop moved
    by one working pixel (diagonally), which resamples it, and the residual lighting error
    normalization left (measured on the reference pixels) applied once more."""
    pair, box_a = plan.pair, plan.box_a
    gain = np.ones(3)
    if lres is not None:
        ref = pair.regions.get("face", pair.measured) & pair.valid
        gain = residual_gain(lres, resize_mask(ref, lres.before.shape))
    box_s = (box_a[0] + 1, box_a[1], box_a[2] + 1, box_a[3])
    frame_s, rgb_s, reg_s, geometry = after_in(plan, box_s, lres, raw_b=copies.raw_b)
    clip_s = warp_mask(copies.clip_a, frame_s @ np.linalg.inv(plan.frame_a), rgb_s.shape)
    reg_s = {r: m & ~clip_s for r, m in reg_s.items()}
    if not np.allclose(gain, 1.0):
        from .lighting import to_linear, to_srgb

        rgb_s = to_srgb(to_linear(rgb_s) * gain.astype(np.float32))
    maps, scores, _ = score_photo(
        rgb_s,
        reg_s,
        baseline=before.baseline,
        px_per_mm=plan.ppm,
        metrics=plan.metrics,
        landmarks=landmarks_in(pair.after_landmarks, frame_s, plan.ka, rgb_s.shape),
        reference_skin=reference_skin_in(plan, before, frame_s, rgb_s.shape),
        **geometry,
    )
    # The bruises it sees of the before photo's carried in, as in the comparison.
    return Recapture(gain, recapture_scores(plan, before, maps, reg_s, frame_s, scores))


def _hulls(plan: ScoringPlan, before: BeforeSide, after: AfterPhoto):
    """``(hull_b, hull_a, regions an expression change moves)``: the faces' landmark hulls in
    the scoring frames (the skin masks in body mode)."""
    from .pipeline import expression_record

    pair = plan.pair
    if pair.before_landmarks is None or pair.after_landmarks is None:
        return skin_of(before.regions), skin_of(after.regions), {}
    shape_b, shape_a = before.rgb.shape, after.rgb.shape
    lm_b = scaled_landmarks(pair.before_landmarks, plan.frame_b, plan.kb, shape_b)
    lm_a = scaled_landmarks(pair.after_landmarks, plan.frame_a, plan.ka, shape_a)
    expr = expression_record(pair.before_landmarks, pair.after_landmarks)["regions_moved"]
    return mm.hull_mask(lm_b.points, shape_b), mm.hull_mask(lm_a.points, shape_a), expr


def scored_families(plan: ScoringPlan) -> set[str] | None:
    """The comparability families a comparison gives verdicts for: every one in face mode
    (``None``); in the other modes those of the metrics scored (a family without a verdict of
    its own, a body metric outside body mode, takes texture's), so that a scalp comparison
    does not speak of colour, bruises or geometry it does not measure."""
    if plan.pair.settings.get("mode", "face") == "face":
        return None
    own = set(cp.FAMILIES) if plan.pair.settings.get("mode") == "body" else set(cp.LIMITS)
    return {f if f in own else "texture" for f in map(cp.family_of, plan.names)}


def measure_mismatch(
    plan: ScoringPlan,
    before: BeforeSide,
    tiles_b: BeforeTiles,
    after: AfterPhoto,
    paired: PairedTiles,
    copies: ScoringCopies,
    scored: AfterScores,
) -> cp.Mismatch:
    """Stage ``mismatch``: what differs between the two photos beyond the skin, on the scoring
    frames (in body mode also the raking light of each uncorrected copy and the framing,
    :func:`body_mismatch`; in the hair modes light, detail and noise on the scalp between the
    hairs of each photo, :func:`mesovision.mismatch.between_hairs`). When a photo has no colour
    (``grayscale_photos``) the colour error is measured on L* alone (a* and b* taken as 0 in
    both photos)."""
    pair = plan.pair
    (rgb_b, reg_b), (rgb_a, reg_a) = (before.rgb, before.regions), (after.rgb, after.regions)
    sides = (("before", pair.before), ("after", pair.after))
    grayscale = tuple(side for side, p in sides if p.capture.grayscale)
    lab_b, lab_a = _lab(rgb_b, bool(grayscale)), _lab(rgb_a, bool(grayscale))
    if grayscale:  # no colour to match: the light's error on L* alone (what remains tested)
        lab_b[..., 1:] = 0.0
        lab_a[..., 1:] = 0.0
    parts = [r for r in reg_b if r in reg_a and r not in ("face", "area")]
    refs = [r for r in parts if r not in plan.treated] or parts or list(reg_b)
    ref_b = np.logical_or.reduce([reg_b[r] for r in refs])
    ref_a = np.logical_or.reduce([reg_a[r] for r in refs if r in reg_a])
    hull_b, hull_a, expr = _hulls(plan, before, after)
    skin_b, skin_a = skin_of(reg_b), skin_of(reg_a)
    if pair.settings.get("mode") in HAIR_MODES:  # the scalp between hairs: not the hair change
        bare_b = before.maps.full_frame("scalp_bare", fill=0.0) > 0
        bare_a = scored.maps.full_frame("scalp_bare", fill=0.0) > 0
        scalp_b, scalp_a = mm.between_hairs(bare_b), mm.between_hairs(bare_a)
        ref_b, skin_b = ref_b & scalp_b, skin_b & scalp_b
        ref_a, skin_a = ref_a & scalp_a, skin_a & scalp_a
        hull_b = hull_b & mm.between_hairs(bare_b, mm.DETAIL_MARGIN_PX)
        hull_a = hull_a & mm.between_hairs(bare_a, mm.DETAIL_MARGIN_PX)
    de, n_ref = mm.tile_colour_error(lab_b, lab_a, ref_b, ref_a, tiles_b.labels, paired.labels_a)
    l_b, l_a = lab_b[..., 0], lab_a[..., 0]
    qualities = [q for q in (pair.before.jpeg_quality, pair.after.jpeg_quality) if q]
    return cp.Mismatch(
        delta_e00=None if de is None else round(de, 4),
        n_reference_tiles=n_ref,
        detail_ratio=mm.ratio(mm.detail(l_a, hull_a), mm.detail(l_b, hull_b)),
        noise_ratio=mm.ratio(mm.noise_sigma(l_a, skin_a), mm.noise_sigma(l_b, skin_b)),
        scoring_iod_px=round(plan.iod_px, 2) if pair.before_landmarks is not None else None,
        size_ratio=plan.size_ratio,
        jpeg_quality=min(qualities) if qualities else None,
        pose_deg=mm.pose_deg(pair.alignment.pose_difference()),
        expression_regions=tuple(sorted(expr)),
        skin_melanin=round(before.baseline.melanin_density_median, 4),
        grayscale_photos=grayscale,
        **enlarged_detail(plan),
        **(
            body_mismatch(plan, before, after, copies)
            if pair.settings.get("mode") == "body"
            else {}
        ),
    )


def _lab(rgb: np.ndarray, writable: bool) -> np.ndarray:
    """The CIELAB of a scoring copy (not clipped): the one its region masks kept
    (:func:`~mesovision.color.kept_lab`, of the clipped image) when no pixel lies outside
    [0, 1], a copy of it when the caller writes to it; else converted here."""
    kept = kept_lab(rgb)
    if kept is not None and rgb.dtype == np.float32 and 0.0 <= rgb.min() and rgb.max() <= 1.0:
        return kept.copy() if writable else kept
    return cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2Lab)


def enlarged_detail(plan: ScoringPlan) -> dict[str, str | float | None]:
    """The measures of the mismatch for a photo enlarged from a smaller image
    (:func:`mesovision.enlargement.detail_iod_px`; of the two, the one with less detail): its
    side, its factor and its fine detail as scored, the interocular distance of the image it
    was enlarged from or the scoring frame's when that is smaller; all ``None`` when neither
    photo is enlarged."""
    from .enlargement import detail_iod_px

    pair, worst = plan.pair, {"enlarged_photo": None, "enlargement": None, "detail_iod_px": None}
    sides = (
        ("before", pair.before, pair.before_landmarks),
        ("after", pair.after, pair.after_landmarks),
    )
    for side, photo, lm in sides:
        small = None if lm is None else detail_iod_px(lm.interocular_px, photo.enlargement)
        if small is not None and (worst["detail_iod_px"] is None or small < worst["detail_iod_px"]):
            worst = {
                "enlarged_photo": side,
                "enlargement": photo.enlargement,
                "detail_iod_px": small,
            }
    if worst["detail_iod_px"] is not None:
        worst["detail_iod_px"] = round(min(worst["detail_iod_px"], plan.iod_px), 2)
    return worst


def body_mismatch(
    plan: ScoringPlan, before: BeforeSide, after: AfterPhoto, copies: ScoringCopies
) -> dict[str, float | None]:
    """The body-mode measures of the mismatch: the raking light's azimuth in each photo (on the
    uncorrected scoring copies: the lighting correction is fitted to make the after photo look
    like the before one; the after photo's carried into the before photo's frame) and the share
    of the before photo's measured area that the after photo covers."""
    from .metrics.body import light_of

    pair = plan.pair
    est_b = light_of(copies.raw_b, skin_of(before.regions), plan.ppm)
    est_a = light_of(copies.raw_a, skin_of(after.regions), plan.ppm)
    az_a = None
    if est_a.azimuth_deg is not None:
        t = np.radians(est_a.azimuth_deg)
        v = plan.a_to_b[:2, :2] @ np.array([np.cos(t), -np.sin(t)])  # image axes: y down
        az_a = round(float(np.degrees(np.arctan2(-v[1], v[0]))) % 360.0, 2)
    measured = int(pair.measured.sum())
    overlap = float((pair.measured & pair.valid).sum() / measured) if measured else None
    return {
        "light_before_deg": est_b.azimuth_deg,
        "light_after_deg": az_a,
        "overlap": None if overlap is None else round(overlap, 4),
    }
