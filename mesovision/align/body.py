"""Body mode: photos without a face (thigh, abdomen, arm, scalp).

:func:`align_body` matches SIFT features, fits a RANSAC homography and refines it by ECC on the
measured area (by default the skin pixels, :func:`default_body_mask`). Its residual is the RMS
reprojection error of the RANSAC inliers. A homography that fewer than :data:`MIN_INLIERS`
matches agree on is refused.

:func:`face_fill` and :func:`face_fill_warning` say when a photo given to the body or a hair mode
shows a face that fills it (a portrait, which these modes would measure as body skin or scalp).
"""

from __future__ import annotations

from functools import partial

import cv2
import numpy as np

from ..errors import AlignmentError
from ..types import Alignment, Photo
from .ecc import gray, refine_ecc
from .face import THRESHOLDS
from .fit import apply_matrix, rms_distance
from .warp import covered_share, original_matrix

__all__ = [
    "MIN_FACE_FILL",
    "MIN_INLIERS",
    "MIN_SKIN_SHARE",
    "align_body",
    "default_body_mask",
    "face_fill",
    "face_fill_warning",
    "skin_mask",
]

#: The fewest RANSAC inliers (matches within 3 px of the fitted homography) an alignment is
#: accepted on; fewer: :class:`~mesovision.errors.AlignmentError` (exit 7), which ``force`` does
#: not override. Chosen on this function's counts (``docs/body.md``, "Alignment and identity"):
#: pairs of one skin or scalp under a steady lamp got 28 or more (8 sample pairs: 41-2652; 64
#: rendered body pairs, the lamp turned by at most 9 degrees: 28-137; 32 rendered close-up
#: pairs: 177-593; 5 rendered pairs of the tests: 112-3510); 17 rendered body pairs with the
#: lamp turned by 35-60 degrees 0-18; 347 pairs of different people's full photos of
#: ``shared/faces`` 0-30 (median 5, 319 of them below 12). Twelve is three times the four
#: matches that determine a homography.
MIN_INLIERS = 12


def skin_mask(rgb: np.ndarray) -> np.ndarray:
    """Skin pixels by the classic YCrCb box (Cr 133-173, Cb 77-127; Chai & Ngan 1999), cleaned by
    a morphological opening and closing. For body mode when no mask file is given."""
    u8 = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    ycc = cv2.cvtColor(u8, cv2.COLOR_RGB2YCrCb)
    m = (ycc[..., 1] >= 133) & (ycc[..., 1] <= 173) & (ycc[..., 2] >= 77) & (ycc[..., 2] <= 127)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    m = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_OPEN, k)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, k)
    return m.astype(bool)


#: Body mode measures the whole image when skin pixels cover less than this share of it.
MIN_SKIN_SHARE = 0.05


def default_body_mask(rgb: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The measured area of a body photo without a mask file: :func:`skin_mask`, or the whole
    image when skin covers less than ``MIN_SKIN_SHARE`` (then a warning is returned too)."""
    mask = skin_mask(rgb)
    if mask.mean() < MIN_SKIN_SHARE:
        return np.ones(rgb.shape[:2], bool), "no skin area detected; the whole image is measured"
    return mask, None


def align_body(
    before_rgb: np.ndarray,
    after_rgb: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    refine: bool = True,
    before: Photo | None = None,
    after: Photo | None = None,
    path: str | None = None,
) -> Alignment:
    """Align photos without a face (thigh, abdomen, arm, scalp): SIFT + RANSAC homography, then
    ECC (homography motion) on ``mask`` (the measured area in the before frame; default: skin
    pixels by :func:`default_body_mask`). Residual = RMS reprojection error of the
    RANSAC inliers.

    Raises :class:`~mesovision.errors.AlignmentError` naming ``path`` (the after photo) when
    either photo has fewer than 8 features, fewer than 8 features match, no homography fits, or
    fewer than :data:`MIN_INLIERS` matches agree on it."""
    g1 = np.clip(gray(before_rgb) * 255, 0, 255).astype(np.uint8)
    g2 = np.clip(gray(after_rgb) * 255, 0, 255).astype(np.uint8)
    sift = cv2.SIFT_create(nfeatures=4000)
    k1, d1 = sift.detectAndCompute(g1, None)
    k2, d2 = sift.detectAndCompute(g2, None)
    refused = partial(AlignmentError, path=path, check="features")
    if d1 is None or d2 is None or len(k1) < 8 or len(k2) < 8:
        msg = "too few image features to align (uniform or blurred photo?)"
        raise refused(msg, value=float(min(len(k1), len(k2))), limit=8.0)
    matches = cv2.BFMatcher(cv2.NORM_L2).knnMatch(d2, d1, k=2)
    good = [m for m, n in (p for p in matches if len(p) == 2) if m.distance < 0.75 * n.distance]
    if len(good) < 8:
        msg = f"only {len(good)} matching features; at least 8 are needed"
        raise refused(msg, value=float(len(good)), limit=8.0)
    src = np.float32([k2[m.queryIdx].pt for m in good])
    dst = np.float32([k1[m.trainIdx].pt for m in good])
    H, inl = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
    if H is None:
        raise refused("no consistent homography between the photos")
    keep = inl.ravel().astype(bool)
    if keep.sum() < MIN_INLIERS:
        msg = (
            f"only {int(keep.sum())} of {len(good)} matching features agree on one alignment; at "
            f"least {MIN_INLIERS} are needed (do the photos show the same area?)"
        )
        raise refused(msg, value=float(keep.sum()), limit=float(MIN_INLIERS))
    warnings = []
    if mask is None:
        mask, note = default_body_mask(before_rgb)
        if note:
            warnings.append(note)
    method = "sift-ransac-homography"
    if refine:
        res = refine_ecc(before_rgb, after_rgb, H, mask, motion=cv2.MOTION_HOMOGRAPHY)
        if res is not None and res[2] > res[1]:
            r1 = rms_distance(apply_matrix(H, src[keep]), dst[keep])
            r2 = rms_distance(apply_matrix(res[0], src[keep]), dst[keep])
            if r2 <= max(1.5 * r1, r1 + 1.0):
                H, method = res[0] / res[0][2, 2], method + "+ecc"
    resid = rms_distance(apply_matrix(H, src[keep]), dst[keep])
    return Alignment(
        method=method,
        matrix=H,
        matrix_original=original_matrix(H, before, after),
        residual_px=resid,
        residual_iod=None,
        coverage=covered_share(H, None, (after_rgb.shape[1], after_rgb.shape[0]), mask),
        n_points=int(keep.sum()),
        thresholds={"min_coverage": THRESHOLDS["min_coverage"]},
        warnings=tuple(warnings),
    )


#: A face "fills" a photo when its size (the square root of its face mesh's bounding-box area)
#: is at least this share of the photo's (the square root of its area). The faces the Face
#: Landmarker finds upright in the photos of ``../shared/faces`` measure 0.14-0.62 (the smallest
#: in a group photo); the astronaut portrait of ``sample_images`` 0.19; the thigh and scalp
#: samples, the rendered close-ups, crowns and thighs show none. A tenth keeps every face-mode
#: photo and leaves out a head far away (a face a tenth of a full-length photo's side).
MIN_FACE_FILL = 0.1

#: What each mode measures, for the warning about a face that fills its photo.
_MEASURES = {
    "body": "body mode measures body skin (thigh, buttock, abdomen, arm)",
    "trichoscopy": "trichoscopy mode measures a close-up of the scalp",
    "scalp": "scalp mode measures crown, part-line and frontal-hairline views",
}


def face_fill(rgb: np.ndarray, landmarks=None, *, path: str | None = None) -> float | None:
    """The size of the face found upright in ``rgb`` (the square root of its mesh's bounding-box
    area) over the photo's (the square root of its area); ``None`` without a face.
    ``landmarks`` saves the search (points in ``rgb``'s frame, or in the frame turned upright:
    the area does not change); ``path`` names the photo in the search's log."""
    from ..errors import NoFace
    from ..landmarks import detect_landmarks_upright

    if landmarks is None:
        try:
            _, _, landmarks = detect_landmarks_upright(rgb, path=path)
        except NoFace:
            return None
    span = np.ptp(np.asarray(landmarks.points, np.float64)[:, :2], axis=0)
    return float(np.sqrt(span[0] * span[1] / (rgb.shape[0] * rgb.shape[1])))


def face_fill_warning(
    photos, mode: str, *, landmarks=None, no_hairline: bool = False
) -> str | None:
    """The one-line warning about the photos of a body or hair mode (``mode``) that a face fills
    (:func:`face_fill` at least :data:`MIN_FACE_FILL`), naming them and what the mode measures;
    ``None`` when no face fills any. ``photos``: ``(rgb, name)`` pairs; ``landmarks``: their face
    meshes where found already (``None`` items: none found). In the scalp mode a face is expected
    on a frontal-hairline view: its caller passes only the photos whose hairline was found at no
    site, with ``no_hairline``."""
    photos = list(photos)
    meshes = list(landmarks) if landmarks is not None else [None] * len(photos)
    filled = []
    for (rgb, name), lm in zip(photos, meshes, strict=True):
        if landmarks is not None and lm is None:
            continue
        share = face_fill(rgb, lm, path=name)
        if share is not None and share >= MIN_FACE_FILL:
            filled.append(name)
    if not filled:
        return None
    above = f" and no hairline is found above {'it' if len(filled) == 1 else 'them'}"
    return (
        f"a face fills {' and '.join(filled)}{above if no_hairline else ''}: {_MEASURES[mode]}; "
        "use --mode face"
    )
