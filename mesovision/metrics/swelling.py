"""Swelling metrics: how far the face outline and the lower eyelids moved out, and under-eye shade.

Swelling moves contours outward. The contours are sampled along the face's landmarks (the lower
face outline from ear to ear, :data:`OUTLINE`, and the two lower eyelids, :data:`LOWER_LIDS`),
three samples per landmark segment, each with its outward unit normal (away from the face's
centre for the outline, away from the eye's centre for a lid).

The contour metrics are a pair measure: a sample's value is its outward *shift* against a
reference photo, in % of the interocular distance (IOD; and in mm with a scale), and a photo
scored alone has shifted nowhere (0). In a comparison the after photo is measured against the
before photo: its landmarks and its pixels carried onto the after photo by the alignment
(``reference`` and ``before`` of :class:`~mesovision.metrics.MapContext`,
:func:`mesovision.scoring.before_in`), so the change is the after photo's value.

* **Followed on the skin** (:func:`flow_samples`, with the before photo's pixels): the dense
  optical flow from the before photo to the after photo (:mod:`mesovision.metrics._flow`),
  its outward component across a band around each of the reference's contour samples
  (:data:`OUTLINE_BAND_IOD`, :data:`LID_BAND_IOD`), weighted towards the edge across the
  contour, less the motion of the stable landmarks: an affine map and a turn of the head in
  depth (their depth times a yaw and pitch fitted on the flow, taken off as far as the flow
  shows it; its size is the pose term, :func:`mesovision.noise.pose_sd`). A landmark fit
  follows a local bulge only part of the way; the flow follows the pixels (docs/swelling.md).
* **Landmarks only** (a reference without pixels, :func:`contour_samples`): the photo's
  contour samples carried onto the reference by the similarity that takes its stable
  landmarks onto the reference's, less the reference's own.

The stable landmarks (:data:`STABLE_POINTS`: forehead, glabella, nose, brows, upper lids and
eye corners) are those swelling of the cheeks, the jaw or the lower lids does not move.

A sample belongs to the regions its ray crosses: its value is written on the pixels of the
segment that runs from it along its normal into the skin it bounds (inward for the outline,
``RAY_IOD`` long; downward below the eye for a lid, ``LID_RAY_IOD`` long; maps
``contour_sum``, ``contour_n``), and a region's value is the mean over the ray pixels inside it
(so the jaw's outline belongs to ``chin``, ``perioral`` and the cheeks' lower edge, a lid to
its ``periorbital`` region, and all of them to ``face``). Without landmarks (body mode) the
contour metrics are NaN.

Puffiness below the eyes shades the skin under the bulge: ``swelling.puffiness_pct`` (and
``_mm2``) is the share of each eye's under-eye zone darker than the cheek below it, per eye
(:mod:`mesovision.metrics._undereye`). ``swelling.shade_area_pct`` is the share of a region
darker than the patient's baseline skin by ``SHADE_MARGIN_K`` robust sigmas of L* (at least
``SHADE_MARGIN_MIN``), smoothed like the red area (docs/swelling.md says what each does and
does not detect). The family's changes take the ``geometry`` verdict (pose, light) of
:mod:`mesovision.comparability`. The family is ``local``: a bulge moves contour samples that
neighbouring regions share, so the between-region term of :mod:`mesovision.noise` does not
apply; its capture term is fitted on null pairs (``benchmarks/swelling.py fit``).
``docs/swelling.md`` gives the validation on bulges of known size and on turns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..regions import EXCLUDED_POLYGONS, REGION_POLYGONS
from ._family import register_family
from ._flow import (
    FLOW_BORDER_IOD,
    contour_maps,
    edge_gradient,
    outward_motion,
    similarity,
    skin_flow,
    stable_motion,
    turn_motion,
    turn_sd,
    turn_terms,
    turned_motion,
)
from ._maps import MapContext, near_threshold
from ._registry import register
from ._undereye import LOWER_LIDS, PUFFINESS_FLIP_VARIANCE, undereye_maps

__all__ = [
    "LID_BAND_IOD",
    "LID_RAY_IOD",
    "LOWER_LIDS",
    "OUTLINE",
    "OUTLINE_BAND_IOD",
    "RAY_IOD",
    "SAMPLES_PER_SEGMENT",
    "SHADE_MARGIN_K",
    "SHADE_MARGIN_MIN",
    "SHADE_SMOOTH_SIGMA_PX",
    "STABLE_POINTS",
    "ContourFrame",
    "contour_frame",
    "contour_maps",
    "contour_mm",
    "contour_pct_iod",
    "contour_samples",
    "contour_shift",
    "flow_samples",
    "make_maps",
    "puffiness_mm2",
    "puffiness_pct",
    "shade_area_pct",
    "turn_sd",
    "turn_terms",
]

#: The lower face outline, from the patient's left ear (image right) down the jaw and the chin
#: to the right ear: a part of MediaPipe's face oval (the forehead's part meets the hair).
OUTLINE = (454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172,
           58, 132, 93, 234)  # fmt: skip
#: Landmarks swelling of the cheeks, the jaw or the lower lids does not move: the forehead,
#: the glabella and the nose (the polygons of :mod:`mesovision.regions`), the brows, the upper
#: lids and the eye corners.
STABLE_POINTS = tuple(
    sorted(
        {
            *REGION_POLYGONS["forehead"],
            *REGION_POLYGONS["glabella"],
            *REGION_POLYGONS["nose"],
            *EXCLUDED_POLYGONS["right_brow"],
            *EXCLUDED_POLYGONS["left_brow"],
            *(246, 161, 160, 159, 158, 157, 173, 33, 133),
            *(466, 388, 387, 386, 385, 384, 398, 263, 362),
        }
    )
)
#: Samples per landmark segment (the segment's start and evenly spaced points after it).
SAMPLES_PER_SEGMENT = 3
#: Length of a sample's ray into the skin it bounds (share of the interocular distance): the
#: outline's, and a lower lid's (short, so that it stays below the eye).
RAY_IOD = 0.3
LID_RAY_IOD = 0.12
#: The band across a contour over which the skin's outward motion is read (interocular
#: distances along the outward normal): the outline's (mostly inside the face), a lower lid's
#: (the skin below it).
OUTLINE_BAND_IOD = (-0.10, 0.03)
LID_BAND_IOD = (0.0, 0.10)
#: Whether the stable motion includes a turn of the head in depth (:func:`flow_samples`).
TURN_IN_DEPTH = True
#: Shade: smoothed L* below the baseline median by ``max(K * 1.4826 * MAD(L*), MIN)``.
SHADE_SMOOTH_SIGMA_PX = 1.5
SHADE_MARGIN_K = 2.5
SHADE_MARGIN_MIN = 6.0

_EYES = (
    (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
    (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249),
)


def _ratio(total, count):
    """``total / count`` where ``count > 0``, NaN elsewhere (numbers or arrays)."""
    total, count = np.asarray(total, np.float64), np.asarray(count, np.float64)
    out = np.full(np.broadcast(total, count).shape, np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out if out.ndim else float(out)


@register(
    "swelling.contour_pct_iod",
    display="contour shift",
    plain="How far the face outline and the lower eyelids moved outward since the before photo.",
    unit_label="% of the eye distance",
    unit="% IOD",
    direction="higher_is_worse",
    maps=("contour_sum", "contour_n"),
)
def contour_pct_iod(contour_sum, contour_n):
    """Mean outward shift of the region's contour samples against the reference photo, in % of
    the interocular distance (0 for a photo scored alone).

    Formula
    -------
    100 * mean over the samples i whose ray crosses the region (weighted by the ray's pixels
    inside it) of u_i / IOD: with the before photo's pixels, u_i = the weighted median over
    a band across the reference's contour sample p_i of (f(x) - (A x - x)) . n_i, f the
    optical flow from the before photo to this one, A the affine map fitted to f at the stable
    landmarks, n_i the outward unit normal, weights |grad L . n_i|; with landmarks only,
    u_i = (S q_i - c) . n_i - (p_i - c) . n_i, q_i this photo's sample, S the similarity taking
    its stable landmarks onto the reference's, c their mean. IOD: the reference's pupil
    distance.

    References
    ----------
    Kroeger T., Timofte R., Dai D., Van Gool L., "Fast optical flow using dense inverse
    search", ECCV 2016 (the flow f). Umeyama S., "Least-squares estimation of transformation
    parameters between two point patterns", IEEE Trans. PAMI 13 (1991) 376-380 (S). Bookstein
    F. L., "Principal warps: thin-plate splines and the decomposition of deformations", IEEE
    Trans. PAMI 11 (1989) 567-585 (the bulges it is validated on, docs/swelling.md).
    """
    return 100.0 * _ratio(contour_sum, contour_n)


@register(
    "swelling.contour_mm",
    display="contour shift (mm)",
    plain="How far the face outline and the lower eyelids moved outward, in millimetres.",
    unit_label="mm",
    unit="mm",
    direction="higher_is_worse",
    maps=("contour_sum_mm", "contour_n"),
    needs_scale=True,
)
def contour_mm(contour_sum_mm, contour_n):
    """Mean outward shift of the region's contour samples, in millimetres (needs a scale).

    Formula
    -------
    mean over the samples i whose ray crosses the region of u_i / s, with u_i as for
    ``swelling.contour_pct_iod`` (in the reference's pixels) and s the scale in px per mm
    (from ``--ipd-mm``).

    References
    ----------
    Kroeger T., Timofte R., Dai D., Van Gool L., "Fast optical flow using dense inverse
    search", ECCV 2016. Bookstein F. L., "Principal warps: thin-plate splines and the
    decomposition of deformations", IEEE Trans. PAMI 11 (1989) 567-585.
    """
    return _ratio(contour_sum_mm, contour_n)


@register(
    "swelling.shade_area_pct",
    display="shaded area",
    plain="How much of the area is clearly darker than the patient's skin, as under puffy eyes.",
    unit_label="% of the area",
    unit="%",
    direction="higher_is_worse",
    maps=("shade_px",),
)
def shade_area_pct(shade_px):
    """Share of the region darker than the patient's baseline skin by a fixed margin.

    Formula
    -------
    100 * mean over the region of [G(1.5 px) * L* < med(L*) - max(2.5 * 1.4826 * MAD(L*), 6)],
    med and MAD over the baseline skin (the ``face`` region of the BEFORE photo).

    References
    ----------
    Rousseeuw P. J., Croux C., "Alternatives to the median absolute deviation", J. Am. Stat.
    Assoc. 88 (1993) 1273-1283. Freitag F. M., Cestari T. F., "What causes dark circles under
    the eyes?", J. Cosmet. Dermatol. 6 (2007) 211-215 (shadowing by puffiness).
    """
    return 100.0 * shade_px


@register(
    "swelling.puffiness_pct",
    display="under-eye shade",
    plain="How much of the skin below the eye is clearly darker than the cheek, as puffy eyes "
    "shade it.",
    unit_label="% of the under-eye area",
    unit="%",
    direction="higher_is_worse",
    maps=("puff_eye", "undereye_px"),
)
def puffiness_pct(puff_eye, undereye_px):
    """Share of the under-eye zone of the region's eye that is darker than the cheek below it.

    Formula
    -------
    100 * sum over the eyes e of w_e f_e, f_e = |{x in Z_e: G(s) * L*(x) < L*((1 - r) Y(m_e))}|
    / |Z_e| and w_e = |region and Z_e| / |region and (Z_1 or Z_2)|; Z_e the skin 0.08-0.30 IOD
    below eye e's lower lid, m_e the median of G(s) * L* over the cheek 0.30-0.50 IOD below
    the lid (the same eye; the same photo in its region of interest, or in a comparison the
    before photo for both, on its face without only its own clipped pixels; an eye with less
    than a quarter of that band on that skin is not measured), r = 0.15
    (``_undereye.DROP_RATIO``), s = 0.02 IOD (at least 1 px), Y(L*) the relative luminance of
    L*.

    References
    ----------
    Freitag F. M., Cestari T. F., "What causes dark circles under the eyes?", J. Cosmet.
    Dermatol. 6 (2007) 211-215 (shadowing by puffiness). CIE 15:2004, Colorimetry, 3rd ed.
    (L* and luminance).
    """
    return 100.0 * _ratio(puff_eye, undereye_px)


@register(
    "swelling.puffiness_mm2",
    display="under-eye shade (mm²)",
    plain="How large the skin below the eye that is clearly darker than the cheek is, in "
    "square millimetres.",
    unit_label="mm²",
    unit="mm^2",
    direction="higher_is_worse",
    needs_scale=True,
)
def puffiness_mm2(view) -> float:
    """Area of the under-eye zones of the region's eyes that is darker than the cheek below
    them, in mm² (needs a scale).

    Formula
    -------
    sum over the eyes e whose zone Z_e the region overlaps of |{x in Z_e: shaded}| /
    px_per_mm^2 (shaded as in ``swelling.puffiness_pct``).

    References
    ----------
    Freitag F. M., Cestari T. F., "What causes dark circles under the eyes?", J. Cosmet.
    Dermatol. 6 (2007) 211-215. CIE 15:2004, Colorimetry, 3rd ed.
    """
    if view.px_per_mm is None or view.n == 0:
        return float("nan")
    eyes = np.unique(view.values("undereye_id"))
    eyes = eyes[eyes > 0]
    if eyes.size == 0:
        return float("nan")
    ids, shaded = view.image.maps["undereye_id"], view.image.maps["puff_px"]
    return float(shaded[np.isin(ids, eyes)].sum()) / view.px_per_mm**2


def _densify(points: np.ndarray, per: int) -> np.ndarray:
    """``per`` evenly spaced points on each segment of a polyline, and its last point."""
    t = np.arange(per) / per
    seg = points[:-1, None, :] + t[None, :, None] * (points[1:] - points[:-1])[:, None, :]
    return np.vstack([seg.reshape(-1, 2), points[-1:]])


def _normals(points: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Unit normals of a polyline at its points, turned away from ``centre``."""
    tangent = np.gradient(points, axis=0)
    n = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
    flip = np.einsum("ij,ij->i", n, points - centre) < 0
    n[flip] *= -1.0
    return n


@dataclass(frozen=True)
class ContourFrame:
    """The contour samples of a face: ``points`` (n, 2), outward unit ``normals`` (n, 2),
    ``rays`` (n, 2) each sample's ray into the skin it bounds, its length in interocular
    distances (inward for the outline, outward, below the eye, for a lid), the stable
    ``centre`` (2,), ``index``: landmark -> its sample's row (the outline first, then the right
    and the left lower lid), and the number of samples of each contour (``lengths``)."""

    points: np.ndarray
    normals: np.ndarray
    rays: np.ndarray
    centre: np.ndarray
    index: dict[int, int]
    lengths: tuple[int, ...] = ()


def contour_frame(points: np.ndarray) -> ContourFrame:
    """The contour samples of 478 landmarks ``points`` (see :class:`ContourFrame`)."""
    points = np.asarray(points, np.float64)
    out_p, out_n, out_r, index, row = [], [], [], {}, 0
    contours = [(OUTLINE, points[list(OUTLINE)].mean(axis=0), -RAY_IOD)]
    contours += [
        (lid, points[list(eye)].mean(axis=0), LID_RAY_IOD)
        for lid, eye in zip(LOWER_LIDS, _EYES, strict=True)
    ]
    for idx, middle, into_skin in contours:
        p = _densify(points[list(idx)], SAMPLES_PER_SEGMENT)
        index.update({k: row + SAMPLES_PER_SEGMENT * j for j, k in enumerate(idx)})
        n = _normals(p, middle)
        out_p.append(p)
        out_n.append(n)
        out_r.append(into_skin * n)
        row += len(p)
    centre = points[list(STABLE_POINTS)].mean(axis=0)
    lengths = tuple(len(q) for q in out_p)
    return ContourFrame(
        np.vstack(out_p), np.vstack(out_n), np.vstack(out_r), centre, index, lengths
    )


def contour_samples(points: np.ndarray, reference: np.ndarray | None = None):
    """The contour samples of one photo: ``(positions, rays, values in IOD, own IOD px)``.

    ``points``: the photo's 478 landmarks; ``reference``: the landmarks it is measured against
    on the same pixels (default ``points``). The photo's contour samples are carried into the
    reference by the similarity that takes its stable landmarks onto the reference's; a value
    is a carried sample's signed distance from the reference's stable centre along its
    outward normal, over the reference's interocular distance. Positions and rays (for
    :func:`contour_maps`) stay on the photo's own pixels.
    """
    points = np.asarray(points, np.float64)
    ref = points if reference is None else np.asarray(reference, np.float64)
    frame = contour_frame(points)
    stable = list(STABLE_POINTS)
    p, n = frame.points, frame.normals
    if reference is not None:
        m = similarity(points[stable], ref[stable])
        p = p @ m[:, :2].T + m[:, 2]
        n = n @ m[:, :2].T
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    iod_ref = float(np.linalg.norm(ref[468] - ref[473]))
    values = np.einsum("ij,ij->i", p - ref[stable].mean(axis=0), n) / iod_ref
    return frame.points, frame.rays, values, float(np.linalg.norm(points[468] - points[473]))


def _contour_depth(z: np.ndarray) -> np.ndarray:
    """The depth of the contour samples of :func:`contour_frame` from the landmarks' ``z``."""
    z = np.asarray(z, np.float64)
    parts = [np.c_[z[list(i)], z[list(i)]] for i in (OUTLINE, *LOWER_LIDS)]
    return np.concatenate([_densify(c, SAMPLES_PER_SEGMENT)[:, 0] for c in parts])


def flow_samples(reference: np.ndarray, before_l, after_l, depth=None):
    """The contour samples of the ``reference`` landmarks (the before photo's, carried onto
    the after photo's pixels) followed on the skin: ``(positions, rays, outward motion in
    IOD, IOD px, turn)``; the motion is :func:`~mesovision.metrics._flow.outward_motion`
    of the flow from ``before_l`` (the L* of the before photo carried onto these pixels) to
    ``after_l`` (the after photo's L*), across :data:`OUTLINE_BAND_IOD` or
    :data:`LID_BAND_IOD`, less the stable points' motion. With ``depth`` (the reference
    landmarks' z) it includes the turn of the head in depth as far as the flow shows it
    (:func:`~mesovision.metrics._flow.turned_motion`); ``turn`` ``(2, n)`` is the outward part
    of what the turn moved each sample, taken off (row 0) and left in (row 1), in IOD."""
    reference = np.asarray(reference, np.float64)
    frame = contour_frame(reference)
    iod = float(np.linalg.norm(reference[468] - reference[473]))
    flow = skin_flow(before_l, after_l, iod)
    edges = edge_gradient(before_l)
    stable = reference[list(STABLE_POINTS)]
    margin, z, turn = FLOW_BORDER_IOD * iod, np.zeros(len(frame.points)), None
    if depth is None:  # the stable map fitted once for the outline and both lids
        motion = stable_motion(flow, stable, margin)
    else:
        z, z_stable = _contour_depth(depth), np.asarray(depth, np.float64)[list(STABLE_POINTS)]
        motion, turn, w = turned_motion(flow, stable, margin, z_stable)
    moved, start = np.empty(len(frame.points)), 0
    for k, n in enumerate(frame.lengths):
        band = OUTLINE_BAND_IOD if k == 0 else LID_BAND_IOD
        part = slice(start, start + n)
        moved[part] = outward_motion(
            flow, frame.points[part], frame.normals[part], band, iod, stable,
            edges=edges, motion=motion, depth=z[part],
        )  # fmt: skip
        start += n
    parts = np.zeros((2, len(z)))
    if turn is not None:  # the turn's part taken off the shift, and the part left in it
        parts = np.outer([w, 1.0 - w], turn_motion(turn, frame.points, z, frame.normals))
    return frame.points, frame.rays, moved / iod, iod, parts / iod


def contour_shift(points, reference=None, before_l=None, after_l=None, depth=None):
    """Each contour sample's outward shift against the reference: ``(positions, rays, shift
    in IOD, IOD px, turn)``, positions and rays the reference's samples', ``turn`` as
    :func:`flow_samples` gives it (zeros but with ``before_l`` and ``depth``).

    No ``reference``: the photo alone, shift 0 (its own samples). ``reference`` and
    ``before_l``: the skin's outward motion (:func:`flow_samples`). ``reference`` only: the
    landmark contour's shift (:func:`contour_samples` of ``points`` carried onto the
    reference, less the reference's own)."""
    if reference is None:
        p, rays, values, iod = contour_samples(points)
        return p, rays, np.zeros_like(values), iod, np.zeros((2, len(values)))
    if before_l is not None:
        return flow_samples(reference, before_l, after_l, depth)
    p, rays, base, iod = contour_samples(reference)
    return p, rays, contour_samples(points, reference)[2] - base, iod, np.zeros((2, len(base)))


def make_maps(ctx: MapContext) -> None:
    """The swelling maps: ``contour_sum`` (IOD), ``contour_sum_mm`` (mm, zero without a scale),
    ``contour_turn`` and ``contour_turn_left`` (the size of what the turn in depth moved each
    sample, taken off its shift and left in it, IOD) and ``contour_n`` on the contour
    samples' inward rays (zero without landmarks); ``shade_px``
    (1 where the smoothed L* is under the baseline margin) and ``shade_near`` (deferred)."""
    shape = ctx.L.shape
    total = total_mm = count = taken = left = np.zeros(shape, np.float64)
    lm, ref = ctx.landmarks, ctx.reference
    if lm is not None and lm.points.shape[0] >= 478 and lm.interocular_px > 0:
        ref_pts, depth = (None, None) if ref is None else (ref.points, ref.z)
        p, rays, values, iod, turn = contour_shift(
            lm.points, ref_pts, ctx.before_L(), ctx.L, depth if TURN_IN_DEPTH else None
        )
        rows = np.vstack([values, np.abs(turn)])  # the shift, and the turn taken and left
        (total, taken, left), count = contour_maps(shape, p, rays, rows, iod)
        if ctx.px_per_mm:
            iod_ref = lm.interocular_px if ref is None else ref.interocular_px
            total_mm = total * (iod_ref / ctx.px_per_mm)
    ctx.maps["contour_sum"] = total.astype(np.float32)
    ctx.maps["contour_sum_mm"] = total_mm.astype(np.float32)
    ctx.maps["contour_n"] = count.astype(np.float32)
    ctx.maps["contour_turn"] = taken.astype(np.float32)
    ctx.maps["contour_turn_left"] = left.astype(np.float32)
    l_s = ctx.smoothed_L(SHADE_SMOOTH_SIGMA_PX)
    margin = ctx.baseline.margin(0, k=SHADE_MARGIN_K, minimum=SHADE_MARGIN_MIN)
    dark = np.float32(-(ctx.baseline.lab_median[0] - margin))
    neg = np.negative(l_s)
    ctx.maps["shade_px"] = (neg > dark).astype(np.float32)
    ctx.maps.defer("shade_near", near_threshold, neg, dark)
    undereye_maps(ctx)


register_family(
    "swelling",
    make_maps=make_maps,
    near_threshold={"shade_px": "shade_near"},
    flip_variance=PUFFINESS_FLIP_VARIANCE,
    untiled=("swelling.puffiness_pct", "swelling.puffiness_mm2"),
    # the shade: each photo's own; a contour value: the after photo's shift (0 in the before)
    two_sided_registration=("swelling.shade_area_pct",),
    headline="swelling.contour_pct_iod",
    comparability="geometry",
    modes=("face",),
    local=True,
)
