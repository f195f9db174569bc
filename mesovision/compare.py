"""Two photos -> a :class:`Comparison`: scores per region before and after, their changes, each
with a standard error and a test, and a comparability verdict per metric family.

The stages of :func:`compare_pair` (run on threads by :func:`mesovision._threads.run_stages`,
each after its inputs; the result does not depend on the thread count):

1. **Align** (done before: :mod:`mesovision.pipeline`) and **normalize lighting**
   (:mod:`mesovision.lighting`, stage ``fit``), fitted on reference pixels only (untreated
   regions, background) of reduced copies of the aligned pair.
2. **Score each photo in its own frame** (stages ``copies``, ``before``, ``after``, ``scored``).
   Warping interpolates and softens fine detail, so a warped photo would read "smoother" than an
   unwarped one with no real change. Instead each photo is scored on its own pixels, over its
   own landmark regions, after the lighting correction (carried into the after photo's frame).
   Both photos are first resampled the same way (area averaging) to a common face scale,
   ``SCORE_IOD_SHARE`` x the smaller interocular distance (at most ``SCORE_MAX_IOD_PX``), so that
   filters of a fixed size in pixels see the same anatomy in both. The before photo's facial
   skin is the baseline of both photos, so that a global change still shows.
3. **Noise** of each change (:mod:`mesovision.noise`; stages ``tiles_before``, ``paired``,
   ``recapture``, ``registration_*``): the paired per-tile spread, registration, recapture,
   counting and capture terms.
4. **Comparability** (:mod:`mesovision.comparability`, stage ``mismatch``): the pair's measured
   mismatch gives each family a verdict; a limited family's standard errors are widened, a
   not-comparable family is reported untested.
5. **Test**: ``z = delta / se``, a two-sided p-value, Benjamini-Hochberg over the pair's tested
   changes (``significant`` when the adjusted ``q < FDR``).

The record and the images ``mesovision compare`` writes are made by :mod:`mesovision.record`.
``docs/method.md`` gives the derivations and the calibration.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import cv2
import numpy as np

from ._threads import run_stages
from .align import warp_by_matrix
from .comparability import Mismatch, Verdict, family_of
from .comparability import verdicts as comparability_verdicts
from .errors import UsageError
from .noise import (
    FDR,
    Z95,
    Change,
    NoiseTerms,
    capture_noise,
    capture_sd,
    control_fdr,
    counting_sd,
    endpoint,
    field_terms,
    near_counts,
    paired_se,
    rms_change,
    z_score,
)
from .pipeline import AlignedPair
from .types import resample_matrix

if TYPE_CHECKING:
    import pandas as pd

    from .lighting import LightingResult
    from .metrics._maps import ImageMaps
    from .metrics.bruise import BruiseResult

log = logging.getLogger(__name__)

SCORE_IOD_SHARE = 0.9
SCORE_MAX_IOD_PX = 400.0
TILE_IOD = 0.25


@dataclass(frozen=True, eq=False)
class ScoredPhoto:
    """One photo in its scoring frame: image, region masks, per-pixel maps, scores."""

    rgb: np.ndarray
    regions: dict[str, np.ndarray]
    maps: ImageMaps
    scores: dict[str, dict[str, float]]
    scale: float  # scoring px per working px of this photo
    bruises: BruiseResult
    frame: np.ndarray  # 3 x 3: this photo's working pixels -> scoring pixels (crop, then scale)


@dataclass(frozen=True, eq=False)
class Comparison:
    """The result of comparing two photos (:func:`compare_pair`, :func:`mesovision.compare`).

    ``changes[region][metric]`` is a :class:`~mesovision.noise.Change` (values before and after,
    delta, standard error, test); ``verdicts[family]`` the family's
    :class:`~mesovision.comparability.Verdict`; ``mismatch`` what the pair's photos measurably
    differ in; ``before`` and ``after`` each photo as scored; ``pair`` the alignment;
    ``lighting`` the normalization (``None`` without); ``settings`` the options and the scoring
    frames, as written in ``result.json``.
    """

    pair: AlignedPair
    lighting: LightingResult | None
    before: ScoredPhoto
    after: ScoredPhoto
    changes: dict[str, dict[str, Change]]
    mismatch: Mismatch | None = None
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    settings: dict[str, str | float | list[str] | list[float] | list[list[float]] | None] = field(
        default_factory=dict
    )

    def significant(self) -> list[tuple[str, str, Change]]:
        """``(region, metric, change)`` for every significant change."""
        return [(r, m, c) for r, ms in self.changes.items() for m, c in ms.items() if c.significant]

    #: The columns of :meth:`to_frame` and their pandas dtypes.
    FRAME_COLUMNS: ClassVar[dict[str, str]] = {
        "region": "string",
        "metric": "string",
        "family": "string",
        "unit": "string",
        "direction": "string",
        "endpoint": "string",
        "comparability": "string",
        "before": "float64",
        "after": "float64",
        "delta": "float64",
        "relative": "float64",
        "se": "float64",
        "noise_floor": "float64",
        "z": "float64",
        "p": "float64",
        "q": "float64",
        "significant": "bool",
    }

    def to_frame(self) -> pd.DataFrame:
        """The changes as a tidy table: one row per region and metric.

        Returns
        -------
        pandas.DataFrame
            Columns and dtypes :attr:`FRAME_COLUMNS`: ``region``, ``metric``, ``family`` (the
            comparability family: ``colour``, ``pigmentation``, ``texture``, ``bruise`` or
            ``geometry``), ``unit``, ``direction``, ``endpoint`` (``primary`` for the headline
            metric of a treated region) and ``comparability`` (the family's verdict status) as
            ``string``; ``before``,
            ``after``, ``delta``, ``relative``, ``se``, ``noise_floor`` and the test's ``z``,
            ``p`` and ``q`` as ``float64`` (NaN when not tested); ``significant`` as ``bool``.
            Rows in the order of :attr:`changes`.

        Examples
        --------
        >>> import mesovision as mv
        >>> r = mv.compare(*mv.sample_pair(), treated=["left_cheek"], max_side=512)  # quick
        >>> df = r.to_frame()
        >>> len(df) == sum(len(per) for per in r.changes.values())
        True
        >>> str(df.dtypes["delta"]), str(df.dtypes["significant"])
        ('float64', 'bool')
        """
        import pandas as pd

        cols = self.FRAME_COLUMNS
        rows = []
        for region, per in self.changes.items():
            for metric, c in per.items():
                verdict = self.verdicts.get(c.family)
                rows.append(
                    (region, metric, c.family, c.unit, c.direction, c.endpoint)
                    + (None if verdict is None else verdict.status,)
                    + (c.before, c.after, c.delta, c.relative, c.se, c.noise_floor)
                    + (c.z, c.p, c.q, bool(c.significant))
                )
        frame = pd.DataFrame(rows, columns=list(cols))
        return frame.astype(cols)

    def save(self, out: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write what ``mesovision compare -o OUT`` writes: ``result.json`` and the images.

        All outputs or none (:func:`mesovision.io.output_folder`): they are written into a
        staging folder that becomes ``out`` at the end.

        Parameters
        ----------
        out : str or os.PathLike
            The output folder; created if missing.
        force : bool, optional
            Write into an existing folder that is not empty, replacing earlier outputs.

        Returns
        -------
        pathlib.Path
            ``out``.

        Raises
        ------
        OutputExists
            ``out`` exists, is not empty, and ``force`` is false (or is not a folder).
        OutputError
            A file cannot be written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import mesovision as mv
        >>> r = mv.compare(*mv.sample_pair(), treated=["left_cheek"], max_side=512)  # quick
        >>> out = r.save(pathlib.Path(tempfile.mkdtemp()) / "result")
        >>> sorted(p.name for p in out.iterdir())[:3]
        ['aligned_after.png', 'bruise_mask_after.png', 'bruise_mask_before.png']
        """
        from .errors import OutputExists
        from .io import output_folder, write_json, write_png
        from .record import comparison_record, output_images, output_names

        target = Path(out)
        if not force and target.is_dir() and any(target.iterdir()):
            raise OutputExists(
                "exists and is not empty; pass force=True to write into it", path=str(target)
            )
        with output_folder(target, output_names(), force=force) as staging:
            record = comparison_record(self)
            for name, img in output_images(self).items():
                write_png(staging / name, img)
            write_json(staging / "result.json", record)
        return target

    def __repr__(self) -> str:
        n = sum(len(per) for per in self.changes.values())
        return (
            f"<Comparison: {n} changes in {len(self.changes)} regions, "
            f"{len(self.significant())} significant; lighting {self.settings.get('lighting')}>"
        )


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

    # The smaller face's size over the larger's (both in their files' own pixels).
    size_ratio = None
    if pair.before_landmarks is not None and pair.after_landmarks is not None:
        sb = pair.before_landmarks.interocular_px / pair.before.scale
        sa = pair.after_landmarks.interocular_px / pair.after.scale
        size_ratio = round(min(sb, sa) / max(sb, sa), 4)
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
        return rgb_b, reg, baseline, maps, scores, bruises, near_counts(maps, reg, names)

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
        of the per-tile changes: ``({region: {metric: (se, n_tiles)}}, after tile labels)``."""
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
        tiles = {r: int(reg_b[r].sum()) / tile**2 for r in diffs}
        units = {n: get_metric(n).unit for n in names}
        return paired_se(diffs, tiles, units, treated), labels_a

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
        return maps, scores, bruises, near_counts(maps, reg_a, names)

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

    def mismatch(before, tiles_b, after, paired):
        """What differs between the two photos beyond the skin
        (:class:`mesovision.comparability.Mismatch`), on the scoring frames."""
        from . import comparability as cp
        from .pipeline import expression_record

        (rgb_b, reg_b), (rgb_a, reg_a) = before[:2], after
        lab_b = cv2.cvtColor(np.ascontiguousarray(rgb_b, np.float32), cv2.COLOR_RGB2Lab)
        lab_a = cv2.cvtColor(np.ascontiguousarray(rgb_a, np.float32), cv2.COLOR_RGB2Lab)
        parts = [r for r in reg_b if r in reg_a and r not in ("face", "area")]
        refs = [r for r in parts if r not in treated] or parts or list(reg_b)
        ref_b = np.logical_or.reduce([reg_b[r] for r in refs])
        ref_a = np.logical_or.reduce([reg_a[r] for r in refs if r in reg_a])
        de, n_ref = cp.tile_colour_error(lab_b, lab_a, ref_b, ref_a, tiles_b[0], paired[1])
        if pair.before_landmarks is not None and pair.after_landmarks is not None:
            hull_b = cp.hull_mask(
                _scaled_landmarks(pair.before_landmarks, frame_b, kb, rgb_b.shape).points,
                rgb_b.shape,
            )
            hull_a = cp.hull_mask(
                _scaled_landmarks(pair.after_landmarks, frame_a, ka, rgb_a.shape).points,
                rgb_a.shape,
            )
            expr = expression_record(pair.before_landmarks, pair.after_landmarks)["regions_moved"]
        else:
            hull_b, hull_a, expr = _skin(reg_b), _skin(reg_a), {}
        l_b, l_a = lab_b[..., 0], lab_a[..., 0]
        qualities = [q for q in (pair.before.jpeg_quality, pair.after.jpeg_quality) if q]
        return cp.Mismatch(
            delta_e00=None if de is None else round(de, 4),
            n_reference_tiles=n_ref,
            detail_ratio=cp.ratio(cp.detail(l_a, hull_a), cp.detail(l_b, hull_b)),
            noise_ratio=cp.ratio(
                cp.noise_sigma(l_a, _skin(reg_a)), cp.noise_sigma(l_b, _skin(reg_b))
            ),
            scoring_iod_px=round(iod_s, 2) if pair.before_landmarks is not None else None,
            size_ratio=size_ratio,
            jpeg_quality=min(qualities) if qualities else None,
            pose_deg=cp.pose_deg(pair.alignment.pose_difference()),
            expression_regions=tuple(sorted(expr)),
        )

    # The stages on the threads, each after its inputs (long ones first). A colour card
    # corrects the before photo too, so its before photo waits for the fit.
    card_first = kf == 1.0 and lighting != "none"
    stages = {
        "fit": (fit, ()),
        "copies": (scoring_copies, ()),
        "before": (before_main, ("copies", "fit") if card_first else ("copies",)),
        "after": (after_main, ("fit", "copies")),
        "scored": (after_side, ("before", "after")),
        "tiles_before": (before_tiles, ("before",)),
        "recapture": (recapture_side, ("fit", "before", "copies")),
        "paired": (paired_tiles, ("before", "tiles_before", "after", "scored")),
        "registration_face": (registration(True), ("before", "after", "scored")),
        "registration_parts": (registration(False), ("before", "after", "scored")),
        "mismatch": (mismatch, ("before", "tiles_before", "after", "paired")),
    }
    done = run_stages(threads, stages)
    lres, (gain, scores_s), (se_paired, _) = done["fit"], done["recapture"], done["paired"]
    shifted_all = done["registration_face"] | done["registration_parts"]
    rgb_b, reg_b, baseline, maps_b, scores_b, bruises_b, near_b = done["before"]
    rgb_a, reg_a = done["after"]
    maps_a, scores_a, bruises_a, near_a = done["scored"]
    measured = done["mismatch"]
    verdicts = comparability_verdicts(measured)

    # The between-region term of each metric (per region: relative metrics scale it; NaN when
    # the pair has too few facial parts, which then take the capture term fitted without it).
    sd_fields = {
        name: field_terms(
            name,
            {r: scores_b[r][name] for r in reg_b if r in reg_a},
            {r: scores_a[r][name] for r in reg_b if r in reg_a},
            treated,
        )
        for name in names
    }
    capture = {True: capture_noise(), False: capture_noise(with_field=False)}
    terms: dict[str, dict[str, NoiseTerms]] = {}
    for region in reg_b:
        if region not in reg_a:
            continue
        nb, na = int(reg_b[region].sum()), int(reg_a[region].sum())
        shifted_scores = shifted_all[region]
        terms[region] = {}
        for name, vb in scores_b[region].items():
            va = scores_a[region][name]
            se_p, n_tiles = se_paired[region][name]
            near = near_b[region].get(name, 0) + near_a[region].get(name, 0)
            sd_recap = abs(scores_s[region][name] - va) if region in scores_s else 0.0
            sd_field = sd_fields[name][region]
            terms[region][name] = NoiseTerms(
                se_paired=se_p,
                n_tiles=n_tiles,
                sd_registration=rms_change([s[name] for s in shifted_scores], va),
                sd_recapture=sd_recap if np.isfinite(sd_recap) else 0.0,
                sd_counting=counting_sd(
                    name, vb, va, nb, na, ppm_b, scores_b[region], scores_a[region], near
                ),
                sd_capture=capture_sd(capture[not math.isnan(sd_field)], name, vb, va),
                sd_field=0.0 if math.isnan(sd_field) else sd_field,
            )
    changes: dict[str, dict[str, Change]] = {}
    for region, per in terms.items():
        out = {}
        for name, t in per.items():
            vb, va = scores_b[region][name], scores_a[region][name]
            spec = get_metric(name)
            verdict = verdicts[family_of(name)]
            if verdict.inflation > 1.0:
                t = dataclasses.replace(
                    t, sd_mismatch=t.total() * math.sqrt(verdict.inflation**2 - 1.0)
                )
            se = t.total()
            delta = va - vb
            z = float(z_score(delta, se))
            z = z if np.isfinite(z) and verdict.tested else None
            out[name] = Change(
                before=vb,
                after=va,
                delta=delta,
                relative=delta / abs(vb) if np.isfinite(vb) and vb != 0 else None,
                se=se,
                z=z,
                p=None if z is None else float(2 * norm.sf(abs(z))),
                q=None,
                noise_floor=Z95 * se,
                significant=False,
                unit=spec.unit,
                direction=spec.direction,
                family=family_of(name),
                noise=t,
                endpoint=endpoint(region, name, treated),
            )
        changes[region] = out
    control_fdr([c for per in changes.values() for c in per.values()])

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
        "fdr": FDR,
        "px_per_mm_at_before": px_per_mm_at_before,
    }
    return Comparison(
        pair=pair,
        lighting=lres,
        before=ScoredPhoto(rgb_b, reg_b, maps_b, scores_b, kb, bruises_b, frame_b),
        after=ScoredPhoto(rgb_a, reg_a, maps_a, scores_a, ka, bruises_a, frame_a),
        changes=changes,
        mismatch=measured,
        verdicts=verdicts,
        settings=settings,
    )


# The record and the images compare writes (kept importable from here).
from .record import (  # noqa: E402
    RESULT_SCHEMA_VERSION,
    comparison_record,
    method_summary,
    output_images,
    output_names,
)

__all__ = [
    "Comparison",
    "RESULT_SCHEMA_VERSION",
    "ScoredPhoto",
    "compare_pair",
    "comparison_record",
    "method_summary",
    "normalize_pair",
    "output_images",
    "output_names",
]
