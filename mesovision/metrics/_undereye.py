"""Under-eye (infraorbital) shade: the skin below each lower eyelid darker than the cheek below it.

Puffiness below the eyes is a raised surface; lit from above, as faces are, its lower slope
faces away from the light and, where it is steep, the bulge casts a crescent of shadow on the
skin below it (Freitag and Cestari 2007). What changes in a photo is therefore the area of
under-eye skin that is clearly darker than the patient's cheek.

* **The under-eye zone** of an eye (:func:`undereye_zones`) is the band below its lower lid:
  the lid's landmarks (:data:`LOWER_LIDS`, corner to corner)
  moved down by :data:`ZONE_IOD` (from 0 to 0.30 interocular distances), "down" being
  perpendicular to the line through the pupils, so that a tilted head keeps its zone on the
  same skin. The region masks clip it (the eye and its margin are not skin; the periorbital
  region ends at the cheek's upper landmarks).
* **The cheek's reference** is the skin of the band below it (:data:`CHEEK_IOD`, 0.30-0.50
  IOD below the lid, inside the region of interest: the face in a comparison): the median of
  its smoothed L*, in the same photo, after the lighting normalization of a comparison. A
  pixel of the zone is *shaded* where its smoothed L* (Gaussian of :data:`SMOOTH_IOD` x IOD,
  at least 1 px) is below the L* of the reference's luminance darkened by :data:`DROP_RATIO`:
  a threshold relative to the local skin, in luminance a ratio, as a shadow darkens by a
  ratio whatever the skin's tone and the light's level.
* **Per eye**: the measure is the shaded share of an eye's *whole* zone (its skin: the region
  of interest, the face in a comparison). A region reads the zones it overlaps, weighted by
  its pixels in each (a periorbital region its eye's, ``face`` both), so that the value does
  not hang on where a region's edge cuts the zone (the shade of puffiness lies at the lower
  edge of the periorbital region).
* **Maps**: ``undereye_px`` (1 on both zones), ``undereye_id`` (the eye of a zone's pixel: 1
  right, 2 left), ``puff_px`` (1 where shaded), ``puff_eye`` (on each zone's pixels, the
  shaded share of that whole zone), and ``puff_near`` (deferred; the zones' pixels at risk of
  flipping into the threshold when the sampling grid moves by a pixel,
  :func:`~mesovision.metrics._maps.near_threshold`), each eye with its own threshold.

Noise: the family registers :func:`puffiness_variance` and :func:`puffiness_mm2_variance`
as the metrics' ``flip_variance`` (their counting term): each zone's pixels at risk of
flipping (at least one), Poisson units, over the zone's pixels. The shaded pixels themselves
are not counted: an eye's shaded skin (the lid-cheek junction's shadow, a dark circle) is one
area that a second capture finds again, not detections drawn anew; what can change between
captures is the pixels near the threshold. A region's
tiles are no sample of a per-eye value (the family registers the metrics as ``untiled``: no
paired term); the registration, recapture and capture terms are as for every metric.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._maps import ImageMaps, MapContext, near_threshold

__all__ = [
    "CHEEK_IOD",
    "DROP_RATIO",
    "LOWER_LIDS",
    "SMOOTH_IOD",
    "ZONE_IOD",
    "cheek_threshold",
    "down_vector",
    "lid_band",
    "puffiness_mm2_variance",
    "puffiness_variance",
    "undereye_maps",
    "undereye_zones",
]

#: The under-eye zone: from the lower lid to this far below it (interocular distances).
ZONE_IOD = (0.0, 0.30)
#: The cheek's reference band below the zone (interocular distances below the lid).
CHEEK_IOD = (0.30, 0.50)
#: Smoothing of L* before the threshold: a Gaussian of this share of the IOD (at least 1 px).
SMOOTH_IOD = 0.02
#: A shaded pixel is darker than the L* of the cheek's median luminance darkened by this share.
DROP_RATIO = 0.15

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
    each zone, the shaded share of that whole zone) and (deferred) ``puff_near``."""
    shape = ctx.L.shape
    lm = ctx.reference if ctx.reference is not None else ctx.landmarks
    if lm is None or lm.points.shape[0] < 478 or lm.interocular_px <= 0:
        zero = np.zeros(shape, np.float32)
        ctx.maps.update(undereye_px=zero, undereye_id=zero, puff_px=zero, puff_eye=zero)
        ctx.maps.defer("puff_near", np.zeros, shape, bool)
        return
    points = np.asarray(lm.points, np.float64)
    sigma = max(1.0, SMOOTH_IOD * float(np.linalg.norm(points[468] - points[473])))
    l_s = ctx.smoothed_L(round(sigma, 2))
    zones = [z & ctx.skin for z in undereye_zones(points, shape)]
    shaded = np.zeros(shape, bool)
    ids = np.zeros(shape, np.float32)
    share = np.zeros(shape, np.float32)
    thresholds = []
    for k, zone in enumerate(zones):
        cheek = _fill(lid_band(points, k, CHEEK_IOD), shape) & ctx.skin
        t = cheek_threshold(l_s, cheek)
        thresholds.append(t)
        if np.isfinite(t):
            shaded |= zone & (l_s < t)
        ids[zone] = k + 1
        u = np.count_nonzero(zone)
        share[zone] = np.count_nonzero(shaded & zone) / u if u else 0.0
    ctx.maps["undereye_px"] = (ids > 0).astype(np.float32)
    ctx.maps["undereye_id"] = ids
    ctx.maps["puff_px"] = shaded.astype(np.float32)
    ctx.maps["puff_eye"] = share
    ctx.maps.defer("puff_near", _near, l_s, zones, thresholds)


def _near(l_s: np.ndarray, zones, thresholds) -> np.ndarray:
    """The zones' pixels at risk of flipping into their eye's threshold."""
    out = np.zeros(l_s.shape, bool)
    neg = np.negative(l_s)
    for zone, t in zip(zones, thresholds, strict=True):
        if np.isfinite(t) and zone.any():
            out |= zone & near_threshold(neg, -t)
    return out


def _eyes(maps: ImageMaps, mask: np.ndarray):
    """``[(weight, shaded px, at-risk px, zone px)]`` of the eyes whose zones ``mask`` (full
    frame) overlaps, the weights its pixels in each zone over its pixels in both."""
    r0, r1, c0, c1 = maps.window
    ids = maps.maps["undereye_id"]
    inside = ids[mask[r0:r1, c0:c1]]
    overlap = np.array([np.count_nonzero(inside == e) for e in (1, 2)], np.float64)
    if overlap.sum() == 0:
        return []
    near, shaded = maps.maps["puff_near"], maps.maps["puff_px"]
    out = []
    for e, o in zip((1, 2), overlap, strict=True):
        if o > 0:
            zone = ids == e
            n_zone = np.count_nonzero(zone)
            out.append((o / overlap.sum(), float(shaded[zone].sum()),
                        np.count_nonzero(near & zone), n_zone))  # fmt: skip
    return out


def puffiness_variance(maps: ImageMaps, mask: np.ndarray) -> float:
    """Variance (%²) of ``swelling.puffiness_pct`` over ``mask`` from the pixels that flip:
    ``sum_e w_e^2 max(near_e, 1) / U_e^2 x 100^2`` over the eyes whose zones it overlaps
    (``near_e`` at-risk pixels of the ``U_e`` of zone ``e``)."""
    return 1e4 * sum(w * w * max(n, 1) / (u * u) for w, _, n, u in _eyes(maps, mask))


def puffiness_mm2_variance(maps: ImageMaps, mask: np.ndarray) -> float:
    """Variance (mm⁴) of ``swelling.puffiness_mm2`` over ``mask`` from the pixels that flip:
    ``sum_e max(near_e, 1) / px_per_mm^4`` over the eyes whose zones it overlaps; 0 without a
    scale."""
    if not maps.px_per_mm:
        return 0.0
    return sum(max(n, 1) for _, _, n, _ in _eyes(maps, mask)) / maps.px_per_mm**4
