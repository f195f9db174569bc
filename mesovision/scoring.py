"""Each photo of an aligned pair scored in its own frame: the scoring plan and the scoring stages.

Warping interpolates and softens fine detail, so a warped photo would read "smoother" than an
unwarped one with no real change. Instead each photo is scored on its own pixels, over its own
landmark regions, after the lighting correction (fitted on reduced copies of the aligned pair,
:func:`normalize_pair`, and carried into the after photo's frame). Both photos are first
cropped around the face (:func:`~mesovision.scoring_frame.score_box`) and resampled the same
way (area averaging) to a common face scale, ``SCORE_IOD_SHARE`` x the smaller interocular
distance (at most ``SCORE_MAX_IOD_PX``), so that filters of a fixed size in pixels see the same
anatomy in both; :func:`~mesovision.scoring_frame.frame_matrix` maps a photo's working pixels
to its scoring frame. Pixels clipped at capture in either photo carry no measurement and are
left out of both. The before photo's facial skin is the baseline of both photos, so that a
global change still shows.

:func:`plan_scoring` fixes the pair's geometry once (:class:`ScoringPlan`); each stage
(:func:`scoring_copies`, :func:`fit_lighting`, :func:`before_side`, :func:`after_photo`,
:func:`after_side`) takes the plan and earlier stages' dataclasses, and returns its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from .align import warp_by_matrix
from .clipping import FrameGamut, clipped_shares, frame_gamut
from .comparability import SCORE_IOD_SHARE, SCORE_MAX_IOD_PX
from .errors import LightingError
from .lighting import LightingResult
from .metrics import (
    ImageMaps,
    RegionView,
    SkinBaseline,
    metric_specs,
    metrics_for_mode,
    prepare,
    score_region,
)
from .metrics.bruise import BruiseResult, segment_bruises
from .noise import near_counts
from .pipeline import HAIR_MODES, AlignedPair
from .scoring_frame import (
    frame_matrix,
    landmarks_in,
    resize,
    resize_mask,
    same_photo,
    scale_matrix,
    scaled_landmarks,
    score_box,
    to_scoring,
    warp_mask,
)
from .types import Landmarks

__all__ = [
    "CLIP_LEVEL",
    "HAIR_TILE_SHARE",
    "LIGHTING_FIT_MAX_SIDE",
    "SCORE_IOD_SHARE",
    "SCORE_MAX_IOD_PX",
    "TILE_IOD",
    "AfterPhoto",
    "AfterScores",
    "BeforeSide",
    "ScoringCopies",
    "ScoringPlan",
    "after_in",
    "after_photo",
    "after_side",
    "before_in",
    "before_side",
    "bruises_of",
    "clipped",
    "fit_lighting",
    "fit_scale",
    "normalize_pair",
    "plan_scoring",
    "reference_skin_in",
    "regions_in",
    "scale_factors",
    "score_photo",
    "scoring_copies",
    "skin_of",
    "to_after",
]

#: Side of the paired-noise tiles, as a share of the interocular distance in the scoring frame.
TILE_IOD = 0.25
#: Side of the paired-noise tiles in the hair modes, as a share of the before photo's shorter
#: side in the scoring frame: a tile must hold a few hairs for their re-detection to show.
HAIR_TILE_SHARE = 0.125
#: Long side (px) of the copies the ``reference`` lighting model is fitted on: the model is a
#: per-pixel colour map plus a smooth shading polynomial, fitted on at most 30 000 samples.
LIGHTING_FIT_MAX_SIDE = 768
#: A pixel with any channel at or above this level (sRGB, before any correction) is clipped.
CLIP_LEVEL = 0.98


def normalize_pair(pair: AlignedPair, *, method: str = "reference", treated=(), scale: float = 1.0):
    """Lighting normalization of an aligned pair, with the reference built from the untreated
    regions (and a uniform background when one is found). Outside face mode the reference is
    skin (or scalp) of one hue, and ``"auto"`` chooses among
    :data:`~mesovision.lighting.ONE_HUE_MODELS` only.

    ``scale`` (<= 1) fits the correction on copies of the pair resampled by that factor (the
    comparison fits it at its scoring resolution): the result's images and fields are then in the
    before photo's frame at that scale; :func:`scale_matrix` maps the working frame to it.
    """
    from . import lighting

    before = pair.before.rgb if scale == 1.0 else resize(pair.before.rgb, scale)
    face = pair.regions.get("face")
    if face is not None:
        ref = lighting.reference_mask(pair.regions, treated=treated)
    else:
        ref = pair.measured
    ref, valid = ref & pair.valid, pair.valid
    if scale != 1.0:
        ref, valid = resize_mask(ref, before.shape), resize_mask(valid, before.shape)
    if face is not None:  # the uniform background, found on the (reduced) copy
        small_face = face if scale == 1.0 else resize_mask(face, before.shape)
        ref |= lighting.detect_background(before, small_face) & valid
    after = pair.aligned_after_at(before.shape)
    try:
        return lighting.normalize_lighting(
            before,
            after,
            method=method,
            reference_mask=ref,
            valid_mask=valid,
            auto_models=None if face is not None else lighting.ONE_HUE_MODELS,
        )
    except LightingError as exc:  # named by the file(s) concerned: the after photo's fit
        if exc.path is None:
            files = {"before": pair.before.path or "before", "after": pair.after.path or "after"}
            exc.path = " and ".join(files[p] for p in getattr(exc, "photos", ("after",)))
        raise


def fit_scale(pair: AlignedPair, kb: float, method: str) -> float:
    """Scale of the copies the lighting is fitted on: full resolution for a colour card (it
    corrects the before photo too, and the card must stay large enough to detect), else at most
    :data:`LIGHTING_FIT_MAX_SIDE` px on the long side."""
    if method == "card":
        return 1.0
    return min(1.0, kb, LIGHTING_FIT_MAX_SIDE / max(pair.before.rgb.shape[:2]))


def scale_factors(pair: AlignedPair) -> tuple[float, float]:
    """``(kb, ka)``: the scoring scale of each photo's working copy (the common face scale)."""
    if pair.before_landmarks is not None and pair.after_landmarks is not None:
        ib, ia = pair.before_landmarks.interocular_px, pair.after_landmarks.interocular_px
        target = min(SCORE_MAX_IOD_PX, SCORE_IOD_SHARE * min(ib, ia))
        return target / ib, target / ia
    # Body mode: the alignment maps the after photo onto the before photo, so its scale is the
    # before/after size ratio s; the after photo is scored at s times the before photo's scale
    # (the same skin at the same size), neither of them enlarged.
    s = float(np.sqrt(abs(np.linalg.det(pair.alignment.matrix[:2, :2]))))
    kb = SCORE_IOD_SHARE * min(1.0, 1.0 / s)
    return kb, kb * s


def clipped(rgb: np.ndarray) -> np.ndarray:
    """Pixels with a channel at the clip level (channel by channel: ``any(axis=2)`` is slow)."""
    return (rgb[..., 0] >= CLIP_LEVEL) | (rgb[..., 1] >= CLIP_LEVEL) | (rgb[..., 2] >= CLIP_LEVEL)


def regions_in(rgb, lm, frame, k, fallback_mask, box, paired=None) -> dict[str, np.ndarray]:
    """The region masks of a photo on its scoring frame: from its landmarks (``paired``: see
    :func:`after_in`), or (body mode) the measured mask cropped and resampled as ``area``."""
    from .regions import region_masks

    if lm is not None:
        lm = scaled_landmarks(lm, frame, k, rgb.shape)
        return region_masks(lm, rgb.shape, rgb=rgb, paired_rgb=paired)
    r0, r1, c0, c1 = box
    return {"area": resize_mask(fallback_mask[r0:r1, c0:c1], rgb.shape)}


def skin_of(regions: dict[str, np.ndarray]) -> np.ndarray:
    """The skin mask of a photo's regions: ``face``, or ``area`` in body mode."""
    return regions["face"] if "face" in regions else regions["area"]


def before_in(plan: ScoringPlan, raw_b: np.ndarray, frame: np.ndarray, shape) -> dict:
    """The before photo's landmarks and scoring copy ``raw_b`` carried by the alignment onto a
    frame of the after photo (``frame``: its working pixels -> that frame): what the after
    photo's geometric metrics are measured against (``reference`` and ``before_rgb`` of
    :func:`mesovision.metrics.prepare`), ``None`` each without landmarks or ``raw_b``."""
    pair = plan.pair
    if pair.before_landmarks is None or raw_b is None:
        return {"reference": None, "before_rgb": None}
    lm = scaled_landmarks(pair.before_landmarks, plan.frame_b, plan.kb, shape)
    m = to_after(plan, frame)
    pts = cv2.perspectiveTransform(lm.points.reshape(-1, 1, 2), m).reshape(-1, 2)
    img = warp_by_matrix(raw_b, m, (shape[1], shape[0]), border_mode=cv2.BORDER_REFLECT)
    return {"reference": dataclasses.replace(lm, points=pts), "before_rgb": img}


def to_after(plan: ScoringPlan, frame: np.ndarray) -> np.ndarray:
    """3 x 3 map by the alignment from the before photo's scoring pixels to a frame of the
    after photo (``frame``: its working pixels -> that frame); the identity, exactly, from a
    photo to its own frame (:func:`~mesovision.scoring_frame.same_photo`)."""
    if plan.same and np.array_equal(frame, plan.frame_b):
        return np.eye(3)
    return np.linalg.inv(plan.frame_b @ plan.pair.alignment.matrix @ np.linalg.inv(frame))


def reference_skin_in(plan: ScoringPlan, before: BeforeSide, frame, shape) -> np.ndarray | None:
    """The skin the before photo's reference is read on (``before.reference_skin``) carried
    onto a frame of the after photo as :func:`before_in` carries its image (nearest
    neighbour): the ``reference_skin`` of :func:`mesovision.metrics.prepare`; ``None``
    without the before photo's landmarks (the after photo then reads its own)."""
    if plan.pair.before_landmarks is None:
        return None
    return warp_mask(before.reference_skin, to_after(plan, frame), shape)


def score_photo(rgb, regions, *, baseline, px_per_mm, metrics, **geometry):
    """``(maps, {region: {metric: value}}, {region: RegionView})`` of one photo on its scoring
    frame (``geometry``: ``landmarks``, ``reference``, ``before_rgb`` and ``reference_skin`` on
    that frame, :func:`mesovision.metrics.prepare`); the views keep the means the scores
    computed."""
    skin = skin_of(regions)
    maps = prepare(rgb, roi_mask=skin, px_per_mm=px_per_mm, baseline=baseline, **geometry)
    views = {r: RegionView.from_mask(maps, m) for r, m in regions.items()}
    scores = {r: score_region(maps, m, metrics=metrics, view=views[r]) for r, m in regions.items()}
    return maps, scores, views


@dataclass(frozen=True, eq=False)
class ScoringPlan:
    """A pair's scoring geometry and settings, fixed before any stage runs.

    ``kb``, ``ka``: each photo's scoring scale; ``box_*``: its scored crop of the working copy;
    ``frame_*``: working pixels -> scoring pixels; ``kf``: the scale the lighting is fitted at;
    ``mask_after_frame``: the measured area in the after photo's frame (body mode);
    ``ppm``: px per mm in both scoring frames (None when unknown); ``iod_px``: the interocular
    distance in the scoring frame; ``tile``: the paired-noise tile side (px); ``shift``: the
    registration move (px); ``size_ratio``: the smaller face's size over the larger's;
    ``names``: the metrics scored (``metrics`` as passed; by default those of the families
    scored in the pair's capture mode, :func:`~mesovision.metrics.metrics_for_mode`).
    """

    pair: AlignedPair
    lighting: str
    treated: Collection[str]
    metrics: Iterable[str] | str | None
    names: list[str]
    kb: float
    ka: float
    box_b: tuple[int, int, int, int]
    box_a: tuple[int, int, int, int]
    frame_b: np.ndarray
    frame_a: np.ndarray
    kf: float
    mask_after_frame: np.ndarray | None
    ppm: float | None
    iod_px: float
    tile: int
    shift: int
    size_ratio: float | None
    #: the after photo is the before photo (:func:`same_photo`): it is scored as the before
    #: photo is, with the identity for the alignment and without the after photo's correction
    same: bool = False

    @property
    def a_to_b(self) -> np.ndarray:
        """3 x 3 map from the after photo's scoring pixels to the before photo's."""
        if self.same and np.array_equal(self.frame_a, self.frame_b):
            return np.eye(3)
        return self.frame_b @ self.pair.alignment.matrix @ np.linalg.inv(self.frame_a)


def plan_scoring(
    pair: AlignedPair, *, lighting: str, treated, metrics, px_per_mm_at_before: float | None
) -> ScoringPlan:
    """The :class:`ScoringPlan` of a pair: each photo is scored on a crop around the face (or
    measured area) resampled to the common face scale."""
    same = same_photo(pair)
    if same:  # the identity, exactly (a fit leaves floating-point error in the matrix)
        pair = dataclasses.replace(
            pair, alignment=dataclasses.replace(pair.alignment, matrix=np.eye(3))
        )
    kb, ka = scale_factors(pair)
    if metrics is None:  # the families scored in the pair's capture mode
        metrics = metrics_for_mode(pair.settings.get("mode", "face"))
    mask_after_frame = None
    if pair.after_landmarks is None:
        # The measured area carried into the after frame (zero where it has no source).
        b_to_a = np.linalg.inv(pair.alignment.matrix)
        mask_after_frame = warp_mask(pair.measured, b_to_a, pair.after.rgb.shape)
    box_b = score_box(pair.before_landmarks, pair.measured, pair.before.rgb.shape)
    box_a = score_box(pair.after_landmarks, mask_after_frame, pair.after.rgb.shape)
    size_ratio = None
    if pair.before_landmarks is not None and pair.after_landmarks is not None:
        sb = pair.before_landmarks.interocular_px / pair.before.scale
        sa = pair.after_landmarks.interocular_px / pair.after.scale
        size_ratio = round(min(sb, sa) / max(sb, sa), 4)
    iod_s = (
        pair.before_landmarks.interocular_px * kb
        if pair.before_landmarks is not None
        else 0.1 * kb * min(pair.before.rgb.shape[:2])
    )
    return ScoringPlan(
        pair=pair,
        lighting=lighting,
        treated=treated,
        metrics=metrics,
        names=[s.name for s in metric_specs(metrics)],
        kb=kb,
        ka=ka,
        box_b=box_b,
        box_a=box_a,
        frame_b=frame_matrix(kb, box_b),
        frame_a=frame_matrix(ka, box_a),
        kf=kb if lighting == "none" else fit_scale(pair, kb, lighting),
        mask_after_frame=mask_after_frame,
        # The same anatomy has the same size in both scoring frames (common face scale).
        ppm=None if px_per_mm_at_before is None else px_per_mm_at_before * kb,
        iod_px=iod_s,
        tile=_tile_px(pair, kb, iod_s),
        shift=max(1, int(round(pair.alignment.residual_px * kb))),
        size_ratio=size_ratio,
        same=same,
    )


def _tile_px(pair: AlignedPair, kb: float, iod_s: float) -> int:
    """The paired-noise tile side (px): ``TILE_IOD`` x the interocular distance, or in the
    hair and body modes ``HAIR_TILE_SHARE`` x the before photo's shorter side (scoring
    frame): a tile must hold a few hairs, or a few dimples, for their re-detection to show."""
    if pair.settings.get("mode") in (*HAIR_MODES, "body"):
        return max(6, int(round(HAIR_TILE_SHARE * kb * min(pair.before.rgb.shape[:2]))))
    return max(6, int(round(TILE_IOD * iod_s)))


@dataclass(frozen=True, eq=False)
class ScoringCopies:
    """Both photos on their scoring crops (uncorrected), the pixels clipped in either photo, in
    each frame, those clipped in each photo itself (``own_clip_b``, ``own_clip_a``, its frame),
    and those the profile conversion clipped (:func:`~mesovision.clipping.frame_gamut`)."""

    raw_b: np.ndarray
    raw_a: np.ndarray
    clip_b: np.ndarray
    clip_a: np.ndarray
    own_clip_b: np.ndarray
    own_clip_a: np.ndarray
    gamut: tuple[FrameGamut, FrameGamut] | None = None


@dataclass(frozen=True, eq=False)
class BeforeSide:
    """The before photo scored: image, regions, the skin baseline of both photos, maps, scores,
    bruises, each region's pixels at risk of flipping (``near``), the skin its reference is read
    on in both photos (``reference_skin``: its skin without only its own clipped pixels,
    :func:`mesovision.metrics.prepare`), each region's shares of pixels clipped (``clipped``,
    :func:`mesovision.clipping.clipped_shares`) and view (``views``: the map means it took)."""

    rgb: np.ndarray
    regions: dict[str, np.ndarray]
    baseline: SkinBaseline
    maps: ImageMaps
    scores: dict[str, dict[str, float]]
    bruises: BruiseResult
    near: dict[str, dict[str, float]]
    reference_skin: np.ndarray
    clipped: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    views: dict[str, RegionView] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class AfterPhoto:
    """The after photo on its scoring crop, corrected, its regions (clipped pixels out: their
    shares ``clipped``), its landmarks and the before photo's landmarks and image carried onto
    it (``reference``, ``before_rgb``; ``None`` in body mode)."""

    rgb: np.ndarray
    regions: dict[str, np.ndarray]
    landmarks: Landmarks | None = None
    reference: Landmarks | None = None
    before_rgb: np.ndarray | None = None
    clipped: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class AfterScores:
    """The after photo scored against the before photo's baseline (``views``: its regions')."""

    maps: ImageMaps
    scores: dict[str, dict[str, float]]
    bruises: BruiseResult
    near: dict[str, dict[str, float]]
    views: dict[str, RegionView] = dataclasses.field(default_factory=dict)


def scoring_copies(plan: ScoringPlan) -> ScoringCopies:
    """Stage ``copies``: both photos on their scoring crops and the clipped pixels of either,
    carried into both frames."""
    pair = plan.pair
    raw_b = to_scoring(pair.before.rgb, plan.kb, plan.box_b)
    raw_a = to_scoring(pair.after.rgb, plan.ka, plan.box_a)
    clip_b0, clip_a0 = clipped(raw_b), clipped(raw_a)
    a_to_b = plan.a_to_b
    clip_b = clip_b0 | warp_mask(clip_a0, a_to_b, clip_b0.shape)
    clip_a = clip_a0 | warp_mask(clip_b0, np.linalg.inv(a_to_b), clip_a0.shape)
    ks, boxes = (plan.kb, plan.ka), (plan.box_b, plan.box_a)
    gamut = frame_gamut((pair.before, pair.after), ks, boxes, (clip_b0, clip_a0), a_to_b)
    return ScoringCopies(raw_b, raw_a, clip_b, clip_a, clip_b0, clip_a0, gamut)


def fit_lighting(plan: ScoringPlan) -> LightingResult | None:
    """Stage ``fit``: the lighting correction fitted at scale ``plan.kf`` (None without one)."""
    if plan.lighting == "none":
        return None
    return normalize_pair(plan.pair, method=plan.lighting, treated=plan.treated, scale=plan.kf)


def before_side(
    plan: ScoringPlan, copies: ScoringCopies, lres: LightingResult | None = None
) -> BeforeSide:
    """Stage ``before``: regions, skin baseline (of both photos), maps, scores, bruises. Needs
    nothing of the after photo's correction (unless a colour card corrects it too: ``lres``)."""
    pair, kb = plan.pair, plan.kb
    rgb_b = copies.raw_b
    if lres is not None and plan.kf == 1.0:
        rgb_b = to_scoring(lres.before, kb, plan.box_b)
    reg = regions_in(rgb_b, pair.before_landmarks, plan.frame_b, kb, pair.measured, plan.box_b)
    ref = skin_of(reg) & ~copies.own_clip_b
    lost = clipped_shares(reg, copies.own_clip_b, copies.clip_b, copies.gamut and copies.gamut[0])
    reg = {r: m & ~copies.clip_b for r, m in reg.items()}
    baseline = SkinBaseline.from_image(rgb_b, skin_of(reg))
    lm_b = landmarks_in(pair.before_landmarks, plan.frame_b, kb, rgb_b.shape)
    kw = {"px_per_mm": plan.ppm, "metrics": plan.metrics, "landmarks": lm_b}
    maps, scores, views = score_photo(rgb_b, reg, baseline=baseline, reference_skin=ref, **kw)
    bruises = bruises_of(plan, rgb_b, reg, baseline, maps)
    near = near_counts(maps, reg, plan.names)
    return BeforeSide(rgb_b, reg, baseline, maps, scores, bruises, near, ref, lost, views)


def after_in(
    plan: ScoringPlan, box, lres: LightingResult | None, raw: np.ndarray | None = None, raw_b=None
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict]:
    """``(frame, rgb, regions, before)``: the after photo on the scoring crop ``box`` (``raw``:
    cropped, resampled), corrected; its regions leave out only what is non-skin in the before
    photo too (``before``: :func:`before_in` of its scoring copy ``raw_b``, if given)."""
    pair, ka, fr = plan.pair, plan.ka, frame_matrix(plan.ka, box)
    rgb = to_scoring(pair.after.rgb, ka, box) if raw is None else raw
    if plan.same and lres is not None and plan.kf == 1.0:  # as the before photo's card
        rgb = to_scoring(lres.before, ka, box)
    elif lres is not None and not plan.same:
        from .lighting import correct_image

        after_to_fit = scale_matrix(plan.kf) @ pair.alignment.matrix @ np.linalg.inv(fr)
        rgb = correct_image(lres, rgb, after_to_fit)
    b = before_in(plan, raw_b, fr, rgb.shape)
    reg = regions_in(rgb, pair.after_landmarks, fr, ka, plan.mask_after_frame, box, b["before_rgb"])
    return fr, rgb, reg, b


def after_photo(
    plan: ScoringPlan, lres: LightingResult | None, copies: ScoringCopies
) -> AfterPhoto:
    """Stage ``after``: the after photo on its scoring crop, corrected, with its regions."""
    fr, rgb, reg, b = after_in(plan, plan.box_a, lres, copies.raw_a, copies.raw_b)
    lm = landmarks_in(plan.pair.after_landmarks, fr, plan.ka, rgb.shape)
    regions = {r: m & ~copies.clip_a for r, m in reg.items()}
    lost = clipped_shares(reg, copies.own_clip_a, copies.clip_a, copies.gamut and copies.gamut[1])
    return AfterPhoto(rgb, regions, lm, b["reference"], b["before_rgb"], lost)


def bruises_of(plan: ScoringPlan, rgb, regions, baseline, maps, carried=None) -> BruiseResult:
    """The bruises of one photo on its scoring frame (``carried``: those of the other photo it
    sees, :mod:`mesovision.paired_bruises`); none on hair (the hair modes)."""
    skin = skin_of(regions)
    if plan.pair.settings.get("mode") in HAIR_MODES:
        return BruiseResult(np.zeros(skin.shape, bool), (), int(skin.sum()), plan.ppm, baseline)
    kw = {"region_masks": regions, "px_per_mm": plan.ppm, "maps": maps, "carried": carried}
    return segment_bruises(rgb, skin, baseline=baseline, **kw)


def after_side(plan: ScoringPlan, before: BeforeSide, after: AfterPhoto) -> AfterScores:
    """Stage ``scored``: the after photo's maps, scores, bruises, against the before baseline."""
    rgb_a, reg_a = after.rgb, after.regions
    geometry = {k: getattr(after, k) for k in ("landmarks", "reference", "before_rgb")}
    if plan.same:  # the before photo itself: scored as it is, against no other photo
        geometry["reference"] = geometry["before_rgb"] = None
    geometry["reference_skin"] = reference_skin_in(plan, before, plan.frame_a, rgb_a.shape)
    base, ppm = before.baseline, plan.ppm
    maps, scores, views = score_photo(
        rgb_a, reg_a, baseline=base, px_per_mm=ppm, metrics=plan.metrics, **geometry
    )
    bruises = bruises_of(plan, rgb_a, reg_a, before.baseline, maps)
    return AfterScores(maps, scores, bruises, near_counts(maps, reg_a, plan.names), views)
