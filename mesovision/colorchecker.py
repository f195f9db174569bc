"""24-patch ColorChecker Classic (or Mini): reference values, detection, colour correction.

A card in the frame turns a photo into a measurement: the 24 patches have published colours, so a
colour-correction model fitted from the patches as photographed to their reference values maps the
whole photo to a common sRGB reference, whatever the camera, lamp and white balance. Two photos
corrected to the same reference are then comparable independently of the camera.

Reference values
----------------
:data:`CLASSIC_SRGB8` holds the *BabelColor Avg.* sRGB (D65) coordinates, the spectral average of
30 Classic and Mini charts measured by D. Pascale ("RGB coordinates of the Macbeth ColorChecker",
BabelColor, 2006, table 2); they are the values of the Wikipedia "ColorChecker" article.
:data:`XRITE_2014_LAB_D50` holds X-Rite's own CIELAB (D50, 2 deg) values for charts made after
November 2014 (X-Rite data file, i1Pro 2, M0). ``tests/lighting/test_colorchecker.py`` checks
that the two sources agree once the X-Rite values are adapted to D65 (Bradford) and encoded in sRGB.

Patch order is the card's reading order with the dark-skin patch at the top-left and the
six greys on the bottom row: index ``row * 6 + col``.

Detection uses OpenCV contrib's ``cv2.mcc`` detector; when it fails (small, blurred or steeply
tilted cards) the caller can give the four card corners (``corners_xy``), from which the patches
are sampled through a homography.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from .color import delta_e_ciede2000, linear_to_srgb, rgb_to_lab, srgb_to_linear
from .errors import UsageError

__all__ = [
    "CLASSIC_NAMES",
    "CLASSIC_SRGB8",
    "XRITE_2014_LAB_D50",
    "CCM_MODELS",
    "CardDetection",
    "CardCorrection",
    "reference_srgb",
    "lab_d50_to_srgb",
    "card_geometry",
    "render_colorchecker",
    "sample_patches",
    "detect_colorchecker",
    "fit_ccm",
    "apply_ccm",
    "patch_delta_e",
    "correct_with_card",
]

log = logging.getLogger(__name__)

CLASSIC_NAMES: tuple[str, ...] = (
    "dark skin", "light skin", "blue sky", "foliage", "blue flower", "bluish green",
    "orange", "purplish blue", "moderate red", "purple", "yellow green", "orange yellow",
    "blue", "green", "red", "yellow", "magenta", "cyan",
    "white 9.5", "neutral 8", "neutral 6.5", "neutral 5", "neutral 3.5", "black 2",
)  # fmt: skip

#: BabelColor Avg. sRGB (8-bit, D65) of the 24 patches, in reading order (Pascale 2006, table 2).
CLASSIC_SRGB8 = np.array(
    [
        [115, 82, 68], [194, 150, 130], [98, 122, 157], [87, 108, 67], [133, 128, 177],
        [103, 189, 170], [214, 126, 44], [80, 91, 166], [193, 90, 99], [94, 60, 108],
        [157, 188, 64], [224, 163, 46], [56, 61, 150], [70, 148, 73], [175, 54, 60],
        [231, 199, 31], [187, 86, 149], [8, 133, 161], [243, 243, 242], [200, 200, 200],
        [160, 160, 160], [122, 122, 121], [85, 85, 85], [52, 52, 52],
    ],
    dtype=np.uint8,
)  # fmt: skip

#: X-Rite ColorChecker Classic CIELAB (D50, 2 deg), charts made after November 2014.
XRITE_2014_LAB_D50 = np.array(
    [
        [37.54, 14.37, 14.92], [64.66, 19.27, 17.50], [49.32, -3.82, -22.54],
        [43.46, -12.74, 22.72], [54.94, 9.61, -24.79], [70.48, -32.26, -0.37],
        [62.73, 35.83, 56.50], [39.43, 10.75, -45.17], [50.57, 48.64, 16.67],
        [30.10, 22.54, -20.87], [71.77, -24.13, 58.19], [71.51, 18.24, 67.37],
        [28.37, 15.42, -49.80], [54.38, -39.72, 32.27], [42.43, 51.05, 28.62],
        [81.80, 2.67, 80.41], [50.63, 51.28, -14.12], [49.57, -29.71, -28.32],
        [95.19, -1.03, 2.93], [81.29, -0.57, 0.44], [66.89, -0.75, -0.06],
        [50.76, -0.13, 0.14], [35.63, -0.46, -0.48], [20.64, 0.07, -0.46],
    ],
    dtype=np.float64,
)  # fmt: skip

# Card layout in "patch units" (a patch is 1 x 1): 6 x 4 patches separated by GAP, inside a dark
# frame of BORDER. The proportions follow the Classic card (patches ~ 4x their gaps).
_GAP = 0.25
_BORDER = 0.5
_CARD_W = 6 + 5 * _GAP + 2 * _BORDER
_CARD_H = 4 + 3 * _GAP + 2 * _BORDER
_FRAME_SRGB = 0.09  # near-black frame (sRGB), like the card's black plastic surround

#: Colour-correction models for :func:`fit_ccm`: name -> number of parameters.
CCM_MODELS: dict[str, int] = {"matrix": 9, "affine": 12}


def reference_srgb() -> np.ndarray:
    """The 24 reference patch colours, ``(24, 3)`` float32 sRGB in [0, 1] (BabelColor Avg.)."""
    return (CLASSIC_SRGB8.astype(np.float32) / 255.0).astype(np.float32)


_M_XYZ_TO_SRGB = np.array(
    [[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560],
     [0.0556434, -0.2040259, 1.0572252]]
)  # fmt: skip
_BRADFORD_D50_TO_D65 = np.array(
    [[0.9555766, -0.0230393, 0.0631636], [-0.0282895, 1.0099416, 0.0210077],
     [0.0122982, -0.0204830, 1.3299098]]
)  # fmt: skip
_WHITE_D50 = np.array([0.96422, 1.0, 0.82521])


def lab_d50_to_srgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D50) to sRGB (D65) in [0, 1], through XYZ and Bradford chromatic adaptation.

    Bradford matrix from B. Lindbloom's tables; values outside the sRGB gamut are clipped.
    """
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0
    f = np.stack([fx, fy, fz], axis=-1)
    eps, kappa = 216 / 24389, 24389 / 27
    xyz = np.where(f**3 > eps, f**3, (116 * f - 16) / kappa) * _WHITE_D50
    lin = xyz @ (_M_XYZ_TO_SRGB @ _BRADFORD_D50_TO_D65).T
    return linear_to_srgb(lin.astype(np.float32))


def card_geometry() -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Canonical card layout in patch units.

    Returns
    -------
    corners : (4, 2) float64
        Card corners ``(x, y)`` in the order top-left, top-right, bottom-right, bottom-left.
    patch_boxes : (24, 4) float64
        Each patch's ``(x0, y0, x1, y1)`` in reading order.
    size : (width, height)
        Card size in patch units.
    """
    corners = np.array([[0, 0], [_CARD_W, 0], [_CARD_W, _CARD_H], [0, _CARD_H]], dtype=np.float64)
    boxes = []
    for r in range(4):
        for c in range(6):
            x0 = _BORDER + c * (1 + _GAP)
            y0 = _BORDER + r * (1 + _GAP)
            boxes.append((x0, y0, x0 + 1, y0 + 1))
    return corners, np.array(boxes, dtype=np.float64), (_CARD_W, _CARD_H)


def _corners_from_pose(center_xy, width_px, angle_deg) -> np.ndarray:
    corners, _, (cw, ch) = card_geometry()
    s = width_px / cw
    p = (corners - [cw / 2, ch / 2]) * s
    t = np.radians(angle_deg)
    rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])  # counter-clockwise on screen
    return p @ rot.T + np.asarray(center_xy, dtype=np.float64)


def render_colorchecker(
    rgb: np.ndarray,
    *,
    corners_xy: np.ndarray | None = None,
    center_xy: tuple[float, float] | None = None,
    width_px: float | None = None,
    angle_deg: float = 0.0,
    patch_srgb: np.ndarray | None = None,
    blur_px: float = 0.6,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a ColorChecker Classic into a copy of ``rgb`` (for tests and samples).

    The card is a dark frame holding 4 x 6 square patches separated by dark gaps, drawn at
    ``corners_xy`` (top-left, top-right, bottom-right, bottom-left; any perspective) or, by
    default, centred at ``center_xy`` with width ``width_px`` and rotated by ``angle_deg``
    (counter-clockwise on screen). Edges are anti-aliased and softened by a Gaussian of
    ``blur_px`` so that the card looks photographed rather than pasted.

    Parameters
    ----------
    rgb : (H, W, 3) float32 sRGB in [0, 1]
    patch_srgb : (24, 3), optional
        Patch colours (sRGB in [0, 1]); default :func:`reference_srgb`.

    Returns
    -------
    image, corners_xy
        The image with the card, and the card corners actually used ``(4, 2)``.
    """
    h, w = rgb.shape[:2]
    if corners_xy is None:
        if center_xy is None:
            center_xy = (w * 0.78, h * 0.78)
        if width_px is None:
            width_px = 0.35 * min(w, h)
        corners_xy = _corners_from_pose(center_xy, width_px, angle_deg)
    corners_xy = np.asarray(corners_xy, dtype=np.float64)
    colours = reference_srgb() if patch_srgb is None else np.asarray(patch_srgb, np.float32)
    # Canonical card at 40 px per patch, then warped into the photo.
    ppu = 40.0
    corners, boxes, (cw, ch) = card_geometry()
    card = np.full((round(ch * ppu), round(cw * ppu), 3), _FRAME_SRGB, np.float32)
    for (x0, y0, x1, y1), col in zip(boxes * ppu, colours, strict=True):
        card[round(y0) : round(y1), round(x0) : round(x1)] = col
    src = (corners * ppu).astype(np.float32)
    hmat = cv2.getPerspectiveTransform(src, corners_xy.astype(np.float32))
    warped = cv2.warpPerspective(card, hmat, (w, h), flags=cv2.INTER_AREA)
    alpha = cv2.warpPerspective(
        np.ones(card.shape[:2], np.float32), hmat, (w, h), flags=cv2.INTER_LINEAR
    )
    if blur_px > 0:
        warped = cv2.GaussianBlur(warped * alpha[..., None], (0, 0), blur_px)
        alpha = cv2.GaussianBlur(alpha, (0, 0), blur_px)
        warped = warped / np.maximum(alpha, 1e-6)[..., None]
    a = np.clip(alpha, 0.0, 1.0)[..., None]
    out = rgb.astype(np.float32) * (1 - a) + np.clip(warped, 0, 1) * a
    return out.astype(np.float32), corners_xy


def _patch_sampling_homography(corners_xy: np.ndarray) -> np.ndarray:
    corners, _, _ = card_geometry()
    return cv2.getPerspectiveTransform(
        corners.astype(np.float32), np.asarray(corners_xy, np.float32)
    )


def sample_patches(
    rgb: np.ndarray, corners_xy: np.ndarray, *, inner: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Median colour of each patch's central part, given the card's four corners.

    Parameters
    ----------
    corners_xy : (4, 2)
        Card corners, top-left (next to the dark-skin patch), top-right, bottom-right,
        bottom-left (next to the white patch).
    inner : float
        Side of the sampled square as a share of the patch side (0.5 keeps clear of edges and of
        corner errors up to a quarter patch).

    Returns
    -------
    patch_srgb : (24, 3) float32
        Median sRGB of each patch.
    centres_xy : (24, 2) float64
        Patch centres in the image.
    """
    h, w = rgb.shape[:2]
    hmat = _patch_sampling_homography(corners_xy)
    _, boxes, _ = card_geometry()
    out = np.zeros((24, 3), np.float32)
    centres = np.zeros((24, 2))
    n = 9
    t = (np.arange(n) + 0.5) / n - 0.5
    gx, gy = np.meshgrid(t * inner, t * inner)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        pts = np.stack([cx + gx.ravel(), cy + gy.ravel()], axis=1).astype(np.float32)
        img_pts = cv2.perspectiveTransform(pts[None], hmat)[0]
        centres[i] = cv2.perspectiveTransform(np.array([[[cx, cy]]], np.float32), hmat)[0, 0]
        xs = np.clip(np.round(img_pts[:, 0]).astype(int), 0, w - 1)
        ys = np.clip(np.round(img_pts[:, 1]).astype(int), 0, h - 1)
        out[i] = np.median(rgb[ys, xs], axis=0)
    return out, centres


@dataclass(frozen=True, eq=False)
class CardDetection:
    """A card found in a photo.

    ``patch_srgb`` are the patches' measured sRGB values (``(24, 3)``, reading order);
    ``centres_xy`` their centres; ``corners_xy`` the card corners given by the user, or for
    ``cv2.mcc`` the box around the patch area that the detector reports; ``method`` is
    ``"mcc"`` or ``"corners"``; ``cost`` the detector's own fit cost (lower is better; ``nan``
    for user corners).
    """

    patch_srgb: np.ndarray
    centres_xy: np.ndarray
    corners_xy: np.ndarray | None
    method: str
    cost: float = float("nan")

    def mask(self, shape: tuple[int, ...], *, margin_px: float = 4.0) -> np.ndarray:
        """Bool mask of the card (its hull, grown by ``margin_px``) in an image of ``shape``."""
        h, w = shape[:2]
        m = np.zeros((h, w), np.uint8)
        hull = cv2.convexHull(np.round(self.centres_xy).astype(np.int32))
        cv2.fillConvexPoly(m, hull, 1)
        # From the outer patch centres to the card's edge: half a patch plus the frame, i.e.
        # (0.5 + BORDER) / (1 + GAP) patch pitches.
        pitch = float(
            np.median(np.linalg.norm(np.diff(self.centres_xy.reshape(4, 6, 2), axis=1), axis=2))
        )
        r = max(1, int(round((0.5 + _BORDER) / (1 + _GAP) * pitch + margin_px)))
        m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        return m.astype(bool)


def _order_mcc_patches(centres: np.ndarray, values: np.ndarray):
    """Put cv2.mcc's 24 patches in reading order (dark skin first, greys on the bottom row).

    ``cv2.mcc`` returns the patches in the card's own order already; this only checks that the
    grey row is where it should be and flips the order (card upside down) when it is not.
    """
    lab = rgb_to_lab(values)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    if chroma[18:24].mean() > chroma[:6].mean():  # greys found in the first row: reversed
        return centres[::-1].copy(), values[::-1].copy()
    return centres, values


def detect_colorchecker(
    rgb: np.ndarray, *, corners_xy: np.ndarray | None = None, max_cost: float = np.inf
) -> CardDetection | None:
    """Find a 24-patch ColorChecker Classic (or Mini) in ``rgb``.

    With ``corners_xy`` the patches are sampled through the homography from the card layout
    (:func:`sample_patches`); otherwise OpenCV contrib's ``cv2.mcc`` detector (chart type
    ``MCC24``) searches the whole image and the best chart is kept.

    Returns
    -------
    CardDetection or None
        ``None`` when no card was found (failure is a value, not an exception).
    """
    if corners_xy is not None:
        vals, centres = sample_patches(rgb, np.asarray(corners_xy, np.float64))
        return CardDetection(vals, centres, np.asarray(corners_xy, np.float64), "corners")
    bgr8 = cv2.cvtColor(
        np.clip(np.round(np.asarray(rgb, np.float32) * 255), 0, 255).astype(np.uint8),
        cv2.COLOR_RGB2BGR,
    )
    det = cv2.mcc.CCheckerDetector_create()
    det.setColorChartType(cv2.mcc.MCC24)
    if not det.process(bgr8, 1):
        return None
    checkers = det.getListColorChecker()
    if not checkers:
        return None
    best = min(checkers, key=lambda c: c.getCost())
    cost = float(best.getCost())
    if cost > max_cost:
        log.info("colour card found with cost %.3g above the limit %.3g: ignored", cost, max_cost)
        return None
    # getChartsRGB(): (3 * 24, 5) rows = patch-major, channel-minor (R, G, B); columns = pixel
    # count, mean, stddev, max, min, in 8-bit units. Sampled from the RGB-converted input.
    charts = np.asarray(best.getChartsRGB(), dtype=np.float64)
    values = (charts[:, 1].reshape(24, 3) / 255.0).astype(np.float32)
    centres = np.asarray(best.getColorCharts(), np.float64).reshape(24, 4, 2).mean(axis=1)
    box = np.asarray(best.getBox(), np.float64).reshape(4, 2)
    centres, values = _order_mcc_patches(centres, values)
    # Re-sample each patch as the median of a square around its centre (half-side 0.15 x the
    # patch pitch: inside the patch at any rotation), robust to the edge pixels and glare specks
    # that cv2.mcc's mean includes.
    pitch = float(np.median(np.linalg.norm(np.diff(centres.reshape(4, 6, 2), axis=1), axis=2)))
    r = max(1, int(0.15 * pitch))
    h, w = rgb.shape[:2]
    for i, (cx, cy) in enumerate(centres):
        x, y = int(round(cx)), int(round(cy))
        win = rgb[max(0, y - r) : min(h, y + r + 1), max(0, x - r) : min(w, x + r + 1)]
        if win.size:
            values[i] = np.median(win.reshape(-1, 3), axis=0)
    return CardDetection(values, centres, box, "mcc", cost)


@dataclass(frozen=True, eq=False)
class CardCorrection:
    """A fitted colour correction: linear ``ref_lin = M @ [meas_lin, 1]`` (``M`` is 3 x 4; its
    last column is zero for the ``matrix`` model)."""

    model: str
    matrix: np.ndarray
    residual_lin_rms: float
    extra: dict = field(default_factory=dict)


def fit_ccm(
    measured_srgb: np.ndarray,
    reference: np.ndarray | None = None,
    *,
    model: str = "affine",
    exclude: tuple[int, ...] = (),
) -> CardCorrection:
    """Least-squares colour-correction model in linear RGB from the patches to their references.

    Solves ``min sum_i w_i || M x_i - y_i ||^2`` where ``x_i = [lin(measured_i), 1]`` (affine,
    ``M`` 3 x 4) or ``x_i = lin(measured_i)`` (matrix, ``M`` 3 x 3), ``y_i = lin(reference_i)``
    and ``lin`` is the sRGB decoding (IEC 61966-2-1). The weights
    ``w_i = 1 / (0.05 + Y_i)`` (``Y_i`` the reference luminance) stop the bright patches from
    dominating, so that the dark patches keep a CIEDE2000 error comparable to the light ones.
    Patches clipped in the photo (a channel at or above 0.995, i.e. 254/255) are left out.

    Parameters
    ----------
    measured_srgb : (24, 3)
        Patches as photographed, sRGB in [0, 1].
    reference : (24, 3), optional
        Target sRGB values; default :func:`reference_srgb`.
    model : {"affine", "matrix"}
    exclude : indices of patches to leave out (e.g. for leave-one-out checks).
    """
    if model not in CCM_MODELS:
        raise UsageError(f"unknown card model {model!r}; valid: {', '.join(sorted(CCM_MODELS))}")
    meas = np.asarray(measured_srgb, np.float32)
    ref = reference_srgb() if reference is None else np.asarray(reference, np.float32)
    x = srgb_to_linear(meas).astype(np.float64)
    y = srgb_to_linear(ref).astype(np.float64)
    keep = np.ones(len(x), bool)
    keep[list(exclude)] = False
    keep &= ~(meas >= 0.995).any(axis=1)
    if keep.sum() < CCM_MODELS[model] // 3 + 1:
        raise ValueError(f"only {int(keep.sum())} usable patches for the {model} model")
    lum = y @ np.array([0.2126, 0.7152, 0.0722])
    wts = np.sqrt(1.0 / (0.05 + lum))[keep, None]
    design = np.hstack([x, np.ones((len(x), 1))]) if model == "affine" else x
    coef, *_ = np.linalg.lstsq(design[keep] * wts, y[keep] * wts, rcond=None)
    m = coef.T
    if model == "matrix":
        m = np.hstack([m, np.zeros((3, 1))])
    resid = (np.hstack([x, np.ones((len(x), 1))]) @ m.T - y)[keep]
    return CardCorrection(model, m, float(np.sqrt(np.mean(resid**2))))


def apply_ccm(rgb: np.ndarray, correction: CardCorrection) -> np.ndarray:
    """Apply a :class:`CardCorrection` to an sRGB image or colour array (``(..., 3)``)."""
    lin = srgb_to_linear(rgb)
    m = correction.matrix.astype(np.float32)
    out = lin @ m[:, :3].T + m[:, 3]
    return linear_to_srgb(out)


def patch_delta_e(patch_srgb: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """CIEDE2000 of each patch against its reference (``(24,)``)."""
    ref = reference_srgb() if reference is None else np.asarray(reference, np.float32)
    return delta_e_ciede2000(rgb_to_lab(np.asarray(patch_srgb, np.float32)), rgb_to_lab(ref))


def correct_with_card(
    rgb: np.ndarray,
    *,
    detection: CardDetection | None = None,
    corners_xy: np.ndarray | None = None,
    model: str = "affine",
) -> tuple[np.ndarray, dict, CardDetection | None]:
    """Detect the card (unless given), fit :func:`fit_ccm`, and map the photo to the reference.

    Returns
    -------
    corrected : (H, W, 3) float32 or None
        The photo in the reference sRGB; ``None`` when no card was found.
    report : dict
        ``found``, ``method``, ``model``, patch CIEDE2000 ``mean``/``max`` ``before`` and ``after``
        correction (fitted patches) and ``after_loo_mean`` (each patch predicted by a model fitted
        on the other 23: an honest estimate of the error on colours that are not on the card).
    detection : CardDetection or None
    """
    if detection is None:
        detection = detect_colorchecker(rgb, corners_xy=corners_xy)
    if detection is None:
        return None, {"found": False}, None
    corr = fit_ccm(detection.patch_srgb, model=model)
    de_before = patch_delta_e(detection.patch_srgb)
    de_after = patch_delta_e(apply_ccm(detection.patch_srgb, corr))
    loo = []
    for i in range(24):
        try:
            ci = fit_ccm(detection.patch_srgb, model=model, exclude=(i,))
        except ValueError:
            continue
        pred = apply_ccm(detection.patch_srgb[i : i + 1], ci)
        loo.append(patch_delta_e(pred, reference_srgb()[i : i + 1])[0])
    report = {
        "found": True,
        "method": detection.method,
        "model": model,
        "detector_cost": detection.cost,
        "n_patches_clipped": int((np.asarray(detection.patch_srgb) >= 0.995).any(axis=1).sum()),
        "delta_e_before": {"mean": float(de_before.mean()), "max": float(de_before.max())},
        "delta_e_after": {"mean": float(de_after.mean()), "max": float(de_after.max())},
        "delta_e_after_loo_mean": float(np.mean(loo)) if loo else float("nan"),
        "matrix": corr.matrix.round(6).tolist(),
    }
    return apply_ccm(rgb, corr), report, detection
