"""The measures of a pair's mismatch (:class:`mesovision.comparability.Mismatch`): what differs
between the two photos beyond the skin, each on the scoring frames.

* :func:`tile_colour_error`: the light the normalization left on untreated skin, CIEDE2000
  between tile means (free of pixel noise and texture);
* :func:`detail`: high- over mid-frequency energy of L*, whose ratio between the photos says
  that focus, sharpening or noise differ;
* :func:`noise_sigma`: Immerkaer's noise estimate;
* :func:`between_hairs`: in the hair modes, the scalp between the hairs, where these measures are
  taken (on all the skin they would read the hair change itself as light, noise and detail);
* :func:`hull_mask`, :func:`pose_deg` and :func:`ratio`: the landmarks' hull, the pose
  difference and a guarded ratio.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = [
    "DETAIL_MARGIN_PX",
    "SCALP_MARGIN_PX",
    "between_hairs",
    "detail",
    "hull_mask",
    "noise_sigma",
    "pose_deg",
    "ratio",
    "tile_colour_error",
]

#: In the hair modes the light and the noise are measured on scalp at least this far (px,
#: scoring frame) from any hair evidence: a hair's blurred edge and JPEG ringing stay out of the
#: tile means, and the 3 x 3 noise kernel reaches no hair.
SCALP_MARGIN_PX = 2
#: ... and the detail ratio this far: 3 x the 2.5 px Gaussian of its mid band, which otherwise
#: takes in the hairs' edges (the crowns of ``tests/compare/test_scalp_verdicts.py`` saved as
#: JPEG of quality 92, 36 % of the hairs lost: the ratio read 1.23 at 2 px and 1.00 at 8 px).
DETAIL_MARGIN_PX = 8


def _lightness(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2Lab)[..., 0]


def tile_colour_error(
    lab_b: np.ndarray,
    lab_a: np.ndarray,
    ref_b: np.ndarray,
    ref_a: np.ndarray,
    labels_b: np.ndarray,
    labels_a: np.ndarray,
    *,
    min_px: int = 20,
) -> tuple[float | None, int]:
    """Median over the shared tiles of CIEDE2000 between the mean CIELAB of each tile in the two
    photos (reference pixels only, tiles with at least ``min_px`` pixels in both), and the
    number of tiles: the colour error of the light, free of pixel noise and texture."""
    from .color import delta_e_ciede2000

    n = int(max(labels_b.max(), labels_a.max())) + 1
    means = []
    for lab, ref, labels in ((lab_b, ref_b, labels_b), (lab_a, ref_a, labels_a)):
        sel = ref & (labels >= 0)
        idx = labels[sel]
        cnt = np.bincount(idx, minlength=n)
        sums = np.stack([np.bincount(idx, lab[..., c][sel], minlength=n) for c in range(3)], 1)
        means.append((cnt, sums / np.maximum(cnt, 1)[:, None]))
    (cb, mb), (ca, ma) = means
    ok = (cb >= min_px) & (ca >= min_px)
    if ok.sum() < 3:
        return None, int(ok.sum())
    de = delta_e_ciede2000(mb[ok], ma[ok])
    return float(np.median(de)), int(ok.sum())


def detail(lightness: np.ndarray, mask: np.ndarray) -> float | None:
    """High- over mid-frequency energy of ``lightness`` on ``mask`` (RMS of ``L - G1(L)`` over
    RMS of ``G1(L) - G2.5(L)``, Gaussians of sigma 1 and 2.5 px): blur lowers it, noise and
    sharpening raise it; a ratio of two photos at the same scale does not depend on contrast."""
    if np.count_nonzero(mask) < 100:
        return None
    g1 = cv2.GaussianBlur(lightness, (0, 0), 1.0)
    g2 = cv2.GaussianBlur(lightness, (0, 0), 2.5)
    l_m, g1_m = lightness[mask], g1[mask]  # (the differences of the masked pixels only)
    hf = float(np.mean(np.square(l_m - g1_m)))
    mf = float(np.mean(np.square(g1_m - g2[mask])))
    return math.sqrt(hf / mf) if mf > 0 else None


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def noise_sigma(lightness: np.ndarray, mask: np.ndarray) -> float | None:
    """Immerkaer's fast noise estimate (CVIU 1996) on ``mask``: ``sqrt(pi / 2) / 6`` x the mean
    absolute response to the 3 x 3 Laplacian difference kernel."""
    if np.count_nonzero(mask) < 100:
        return None
    r = cv2.filter2D(lightness, cv2.CV_32F, _IMMERKAER, borderType=cv2.BORDER_REFLECT)
    return float(math.sqrt(math.pi / 2.0) / 6.0 * np.mean(np.abs(r[mask])))


def between_hairs(bare: np.ndarray, margin_px: int = SCALP_MARGIN_PX) -> np.ndarray:
    """The scalp between the hairs: ``bare`` (pixels without hair evidence,
    :class:`~mesovision.metrics._hair_segment.HairAnalysis`) eroded by ``margin_px``. Fewer or
    more hairs change how much of it there is, not its colour, noise or detail."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin_px + 1, 2 * margin_px + 1))
    out = cv2.erode(np.asarray(bare, np.uint8), k, borderType=cv2.BORDER_CONSTANT, borderValue=1)
    return out > 0


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b`` when both are positive and finite, else ``None``."""
    if a is None or b is None or not (a > 0 and b > 0):
        return None
    return float(a / b)


def hull_mask(points: np.ndarray | None, shape) -> np.ndarray | None:
    """The convex hull of landmark points as a mask (eyes, brows, nose and lips included: the
    strongest edges, which no skin treatment changes), or ``None`` without landmarks."""
    if points is None:
        return None
    mask = np.zeros(shape[:2], np.uint8)
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


def pose_deg(difference: dict | None) -> float | None:
    """The larger of the yaw and pitch differences (degrees), or ``None``."""
    if not difference:
        return None
    return float(max(abs(difference["yaw_deg"]), abs(difference["pitch_deg"])))
