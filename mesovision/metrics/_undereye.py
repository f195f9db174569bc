"""Under-eye (infraorbital) shade: the skin below each lower eyelid darker than the cheek below it.

Puffiness below the eyes is a raised surface; lit from above, as faces are, its lower slope
faces away from the light and, where it is steep, the bulge casts a crescent of shadow on the
skin below it (Freitag and Cestari 2007). What changes in a photo is therefore the area of
under-eye skin that is clearly darker than the patient's cheek.

* **The under-eye zone** of an eye (:func:`undereye_zones`) is the band below its lower lid:
  the lid's landmarks (:data:`LOWER_LIDS`, corner to corner)
  moved down by :data:`ZONE_IOD` (from 0.08 to 0.30 interocular distances), "down" being
  perpendicular to the line through the pupils, so that a tilted head keeps its zone on the
  same skin. The region masks clip it (the periorbital region ends at the cheek's upper
  landmarks). It starts below the eye's excluded margin (0.06 IOD,
  ``regions.EXCLUSION_MARGIN_IOD``), which is drawn on each photo's own landmarks: a zone
  from the lid itself takes the lid's dark edge in and out with the landmarks' jitter between
  two photos (the Grace Hopper sample pair without changes: the right eye's zone 1256 px in
  the before photo and 1420 in the after one, its shade +2.9 points).
* **The cheek's reference** is the skin of the band below it (:data:`CHEEK_IOD`, 0.30-0.50
  IOD below the lid, on the context's ``reference_skin``: by default the region of interest):
  the median of its smoothed L*, after the lighting normalization of a comparison. In a
  comparison both photos read the *before* photo's cheek, on the before photo's face without
  only its own clipped pixels (the after photo's thresholds are taken on the before photo and
  that skin carried onto its crop, :func:`mesovision.scoring.reference_skin_in`): a treatment
  of the cheek (spots removed, redness lowered) or highlights the after photo clips must not
  move the under-eye shade, and a before photo reads the same thresholds in every comparison
  (only its zones lose the pixels the after photo clips). A single photo reads its own cheek
  in its region of interest. An eye with less than :data:`MIN_CHEEK_SHARE` of its band on the
  reference skin is not measured. A pixel of the zone is *shaded* where its smoothed L*
  (Gaussian of :data:`SMOOTH_IOD` x IOD, at least 1 px) is below the L* of the reference's
  luminance darkened by :data:`DROP_RATIO`: a threshold relative to the local skin, in
  luminance a ratio, as a shadow darkens by a ratio whatever the skin's tone and the light's
  level.
* **Per eye**: the measure is the shaded share of an eye's *whole* zone (its skin: the region
  of interest, the face in a comparison). A region reads the zones it overlaps, weighted by
  its pixels in each (a periorbital region its eye's, ``face`` both), so that the value does
  not hang on where a region's edge cuts the zone (the shade of puffiness lies at the lower
  edge of the periorbital region).
* **Maps**: ``undereye_px`` (1 on both zones), ``undereye_id`` (the eye of a zone's pixel: 1
  right, 2 left), ``puff_px`` (1 where shaded), ``puff_eye`` (on each zone's pixels, the
  shaded share of that whole zone), and ``puff_near`` (deferred; the zones' pixels at risk of
  flipping into the threshold when the sampling grid moves by a pixel,
  :func:`~mesovision.metrics._maps.near_threshold`) and ``puff_slope`` (deferred; on the
  zones' pixels within :data:`SLOPE_BAND_LSTAR` of the threshold, ``1 / (2 x
  SLOPE_BAND_LSTAR)``) and ``puff_shift`` (on both zones, in the after photo of a
  comparison, the light's residual between the two photos, :func:`light_residual`; 0
  otherwise), each eye with its own threshold.

Noise: the family registers :func:`puffiness_variance` and :func:`puffiness_mm2_variance`
as the metrics' ``flip_variance`` (their counting term). Two parts per zone:

* the pixels at risk of flipping when the sampling grid moves (at least one), Poisson units:
  the shaded pixels themselves are not counted, as an eye's shaded skin (the lid-cheek
  junction's shadow, a dark circle) is one area that a second capture finds again;
* the threshold's shift relative to the zone's skin between two captures (what the lighting
  normalization leaves), which moves the zone's whole edge at once: the zone's pixels per L*
  near its threshold (``puff_slope``, :func:`puffiness_shift_variance`) times the shift,
  :data:`SHIFT_SD_LSTAR` and, in the after photo of a comparison, the light's residual
  measured on the pair (``puff_shift``, :func:`light_residual`) in quadrature. A share of
  the zone that does not shrink as the face grows, where independent flips would.

A region's tiles are no sample of a per-eye value (the family registers the metrics as
``untiled``: no paired term); the registration, recapture and capture terms are as for every
metric.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._maps import ImageMaps, MapContext, near_threshold

__all__ = [
    "CHEEK_IOD",
    "DROP_RATIO",
    "LOWER_LIDS",
    "MIN_CHEEK_SHARE",
    "PUFFINESS_FLIP_VARIANCE",
    "RESIDUAL_TILE_IOD",
    "RESIDUAL_TRIM",
    "SHIFT_SD_LSTAR",
    "SLOPE_BAND_LSTAR",
    "SMOOTH_IOD",
    "ZONE_IOD",
    "cheek_threshold",
    "down_vector",
    "lid_band",
    "light_residual",
    "puffiness_mm2_variance",
    "puffiness_shift_variance",
    "puffiness_variance",
    "undereye_maps",
    "undereye_zones",
]

#: The under-eye zone: from this far below the lower lid to this far (interocular distances).
ZONE_IOD = (0.08, 0.30)
#: The cheek's reference band below the zone (interocular distances below the lid).
CHEEK_IOD = (0.30, 0.50)
#: An eye is measured only where at least this share of its cheek band is on the reference
#: skin (``MapContext.reference_skin``; a face turned away, hair or a hand can hide the cheek).
MIN_CHEEK_SHARE = 0.25
#: Smoothing of L* before the threshold: a Gaussian of this share of the IOD (at least 1 px).
SMOOTH_IOD = 0.02
#: A shaded pixel is darker than the L* of the cheek's median luminance darkened by this share.
DROP_RATIO = 0.15
#: The half-width (L*) of the band around a zone's threshold whose pixels estimate how many
#: change sides per L* the threshold moves by (:func:`_slope`).
SLOPE_BAND_LSTAR = 1.0
#: The side of the tiles (interocular distances) on which :func:`light_residual` compares the
#: two photos' L*.
RESIDUAL_TILE_IOD = 0.15
#: The share of the tiles with the largest residual that :func:`light_residual` leaves out.
RESIDUAL_TRIM = 0.1
#: The standard deviation (L*) of the threshold's shift relative to the zone's skin between two
#: captures beyond the light's measured residual: fitted on the development null pairs
#: (``benchmarks/calibration.py shift``).
SHIFT_SD_LSTAR = 0.12

#: The lower eyelids (right eye, then left), corner to corner.
LOWER_LIDS = ((33, 7, 163, 144, 145, 153, 154, 155, 133), (263, 249, 390, 373, 374, 380, 381, 382,
                                                           362))  # fmt: skip


def down_vector(points: np.ndarray) -> np.ndarray:
    """The face's unit "down" on the image: perpendicular to the line through the pupils
    (landmarks 468, 473), turned towards the mouth (landmark 13)."""
    e = points[473] - points[468]
    d = np.array([-e[1], e[0]]) / max(float(np.hypot(*e)), 1e-9)
    return d if np.dot(points[13] - 0.5 * (points[468] + points[473]), d) >= 0 else -d


def lid_band(points: np.ndarray, eye: int, band_iod: tuple[float, float]) -> np.ndarray:
    """The polygon (n, 2) of the band from ``band_iod[0]`` to ``band_iod[1]`` interocular
    distances below lower lid ``eye`` (0 the right eye, 1 the left)."""
    lid = points[list(LOWER_LIDS[eye])]
    iod = float(np.linalg.norm(points[468] - points[473]))
    d = down_vector(points) * iod
    return np.vstack([lid + band_iod[0] * d, (lid + band_iod[1] * d)[::-1]])


def _fill(poly: np.ndarray, shape) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    pts = np.round(poly * 16.0).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(out, [pts], 1, lineType=cv2.LINE_8, shift=4)
    return out.astype(bool)


def undereye_zones(points: np.ndarray, shape) -> tuple[np.ndarray, np.ndarray]:
    """The two under-eye zones (right eye, left eye) as bool masks of ``shape``."""
    points = np.asarray(points, np.float64)
    return tuple(_fill(lid_band(points, k, ZONE_IOD), shape) for k in (0, 1))


def _lstar(y: float) -> float:
    """CIE L* of relative luminance ``y`` (in (0, 1])."""
    return 116.0 * y ** (1.0 / 3.0) - 16.0 if y > 0.008856 else 903.3 * y


def _luminance(lstar: float) -> float:
    """Relative luminance of CIE L* ``lstar``."""
    return ((lstar + 16.0) / 116.0) ** 3 if lstar > 8.0 else lstar / 903.3


def cheek_threshold(l_smooth: np.ndarray, cheek: np.ndarray) -> float:
    """The L* under which a zone's pixel is shaded: that of the cheek's median L* with its
    luminance darkened by ``DROP_RATIO``; NaN with fewer than 8 cheek pixels."""
    v = l_smooth[cheek]
    if v.size < 8:
        return float("nan")
    return _lstar((1.0 - DROP_RATIO) * _luminance(float(np.median(v))))


def undereye_maps(ctx: MapContext) -> None:
    """Add the under-eye maps to ``ctx.maps`` (zeros without landmarks), on the zones of the
    reference landmarks (the before photo's in a comparison) or the photo's own, inside the
    region of interest: ``undereye_px`` (1 on both zones), ``undereye_id`` (1 on the right
    eye's zone, 2 on the left's, 0 elsewhere), ``puff_px`` (1 where shaded), ``puff_eye`` (on
    each zone, the shaded share of that whole zone), ``puff_shift`` and (deferred)
    ``puff_near`` and ``puff_slope``. Each eye's threshold is read on its cheek band's pixels
    in ``ctx.reference_skin``; in a comparison (``ctx.before``) it is the before photo's (its
    cheek band read on the before photo carried onto this crop), and ``puff_shift`` on the
    zones the light's residual (:func:`light_residual`)."""
    shape = ctx.L.shape
    lm = ctx.reference if ctx.reference is not None else ctx.landmarks
    if lm is None or lm.points.shape[0] < 478 or lm.interocular_px <= 0:
        zero = np.zeros(shape, np.float32)
        ctx.maps.update(undereye_px=zero, undereye_id=zero, puff_px=zero, puff_eye=zero,
                        puff_shift=zero)  # fmt: skip
        ctx.maps.defer("puff_near", np.zeros, shape, bool)
        ctx.maps.defer("puff_slope", np.zeros, shape, np.float32)
        return
    points = np.asarray(lm.points, np.float64)
    sigma = round(max(1.0, SMOOTH_IOD * float(np.linalg.norm(points[468] - points[473]))), 2)
    l_s = ctx.smoothed_L(sigma)
    l_ref = l_s if ctx.before is None else ctx.smoothed_before_L(sigma)
    zones = [z & ctx.skin for z in undereye_zones(points, shape)]
    shaded = np.zeros(shape, bool)
    ids = np.zeros(shape, np.float32)
    share = np.zeros(shape, np.float32)
    moved = np.zeros(shape, np.float32)
    thresholds = []
    for k, zone in enumerate(zones):
        band = _fill(lid_band(points, k, CHEEK_IOD), shape)
        cheek = band & ctx.reference_skin
        t = float("nan")
        if np.count_nonzero(cheek) >= MIN_CHEEK_SHARE * np.count_nonzero(band):
            t = cheek_threshold(l_ref, cheek)
        thresholds.append(t)
        if not np.isfinite(t):  # an eye without its cheek is not measured
            continue
        shaded |= zone & (l_s < t)
        ids[zone] = k + 1
        u = np.count_nonzero(zone)
        share[zone] = np.count_nonzero(shaded & zone) / u if u else 0.0
    ctx.maps["undereye_px"] = (ids > 0).astype(np.float32)
    ctx.maps["undereye_id"] = ids
    ctx.maps["puff_px"] = shaded.astype(np.float32)
    ctx.maps["puff_eye"] = share
    if ctx.before is not None:
        moved[ids > 0] = light_residual(l_s, l_ref, ctx.skin, lm.interocular_px)
    ctx.maps["puff_shift"] = moved
    ctx.maps.defer("puff_near", _near, l_s, zones, thresholds)
    ctx.maps.defer("puff_slope", _slope, l_s, zones, thresholds)


def light_residual(l_after: np.ndarray, l_before: np.ndarray, skin: np.ndarray, iod: float):
    """The light's residual between two photos of the same skin on the same pixels, in L*:
    over square tiles of :data:`RESIDUAL_TILE_IOD` x ``iod`` (with at least half their pixels
    on ``skin``), the root mean square of ``m = mean(l_after - l_before)`` over their skin
    pixels, leaving out the :data:`RESIDUAL_TRIM` share of the tiles with the largest
    ``|m|``: what a zone of that size moves by, without the few tiles whose skin changed (a
    bruise, spots removed). NaN without such tiles."""
    t = max(2, int(round(RESIDUAL_TILE_IOD * iod)))
    h, w = skin.shape
    hp, wp = -(-h // t) * t, -(-w // t) * t
    d = np.zeros((hp, wp), np.float64)
    n = np.zeros((hp, wp), np.float64)
    d[:h, :w] = np.where(skin, l_after - l_before, 0.0)
    n[:h, :w] = skin
    sums = d.reshape(hp // t, t, wp // t, t).sum(axis=(1, 3))
    counts = n.reshape(hp // t, t, wp // t, t).sum(axis=(1, 3))
    ok = counts >= 0.5 * t * t
    if not ok.any():
        return float("nan")
    m = np.sort(np.abs(sums[ok] / counts[ok]))
    kept = m[: max(1, int(np.ceil((1.0 - RESIDUAL_TRIM) * m.size)))]
    return float(np.sqrt(np.mean(kept * kept)))


def _near(l_s: np.ndarray, zones, thresholds) -> np.ndarray:
    """The zones' pixels at risk of flipping into their eye's threshold."""
    out = np.zeros(l_s.shape, bool)
    neg = np.negative(l_s)
    for zone, t in zip(zones, thresholds, strict=True):
        if np.isfinite(t) and zone.any():
            out |= zone & near_threshold(neg, -t)
    return out


def _slope(l_s: np.ndarray, zones, thresholds) -> np.ndarray:
    """On the zones' pixels within :data:`SLOPE_BAND_LSTAR` of their eye's threshold,
    ``1 / (2 SLOPE_BAND_LSTAR)``: summed over a zone, the pixels that change sides per L* that
    the threshold moves by relative to the zone's skin."""
    out = np.zeros(l_s.shape, np.float32)
    for zone, t in zip(zones, thresholds, strict=True):
        if np.isfinite(t):
            out[zone & (np.abs(l_s - np.float32(t)) < SLOPE_BAND_LSTAR)] = 0.5 / SLOPE_BAND_LSTAR
    return out


def _eyes(maps: ImageMaps, mask: np.ndarray):
    """``[(weight, at-risk px, px per L*, zone px, cheek's change in L*)]`` of the eyes whose
    zones ``mask`` (full frame) overlaps, the weights its pixels in each zone over its pixels
    in both."""
    r0, r1, c0, c1 = maps.window
    ids = maps.maps["undereye_id"]
    inside = ids[mask[r0:r1, c0:c1]]
    overlap = np.array([np.count_nonzero(inside == e) for e in (1, 2)], np.float64)
    if overlap.sum() == 0:
        return []
    near, slope, moved = (maps.maps[k] for k in ("puff_near", "puff_slope", "puff_shift"))
    out = []
    for e, o in zip((1, 2), overlap, strict=True):
        if o > 0:
            zone = ids == e
            s = float(slope[zone].sum(dtype=np.float64))
            out.append((o / overlap.sum(), np.count_nonzero(near & zone), s,
                        np.count_nonzero(zone), float(moved[zone].max())))  # fmt: skip
    return out


def _zone_variance(near: int, slope: float, moved: float) -> float:
    """Variance (px²) of a zone's shaded pixels: ``max(near, 1)`` flips, and ``slope`` pixels
    per L* times the threshold's shift, ``SHIFT_SD_LSTAR`` and the cheek's measured change
    ``moved`` in quadrature."""
    return max(near, 1) + slope * slope * (SHIFT_SD_LSTAR**2 + moved * moved)


def puffiness_variance(maps: ImageMaps, mask: np.ndarray) -> float:
    """Variance (%²) of ``swelling.puffiness_pct`` over ``mask``: ``sum_e w_e^2 v_e / U_e^2 x
    100^2`` over the eyes whose zones it overlaps (``v_e`` of zone ``e``'s ``U_e`` pixels,
    :func:`_zone_variance`)."""
    return 1e4 * sum(
        w * w * _zone_variance(n, s, m) / (u * u) for w, n, s, u, m in _eyes(maps, mask)
    )


def puffiness_shift_variance(maps: ImageMaps, mask: np.ndarray) -> float:
    """The part of :func:`puffiness_variance` that a shift of the thresholds by 1 L* makes:
    ``sum_e w_e^2 slope_e^2 / U_e^2 x 100^2`` (%² per L*²)."""
    return 1e4 * sum(w * w * s * s / (u * u) for w, _, s, u, _ in _eyes(maps, mask))


def puffiness_mm2_variance(maps: ImageMaps, mask: np.ndarray) -> float:
    """Variance (mm⁴) of ``swelling.puffiness_mm2`` over ``mask``: ``sum_e v_e /
    px_per_mm^4`` over the eyes whose zones it overlaps (:func:`_zone_variance`); 0 without a
    scale."""
    if not maps.px_per_mm:
        return 0.0
    return sum(_zone_variance(n, s, m) for _, n, s, _, m in _eyes(maps, mask)) / maps.px_per_mm**4


#: The swelling family's ``flip_variance`` (its counting term): metric -> its variance.
PUFFINESS_FLIP_VARIANCE = {
    "swelling.puffiness_pct": puffiness_variance,
    "swelling.puffiness_mm2": puffiness_mm2_variance,
}
