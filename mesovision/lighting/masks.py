"""Reference pixels in a photo: facial regions the treatment leaves alone, and the background.

Lighting models must never be fitted on skin the treatment changed, or they cancel the very effect
being measured. :func:`reference_mask` builds the reference from named facial regions minus the
treated ones, plus a uniform background (a wall, a backdrop) found by :func:`detect_background`.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from ..color import rgb_to_lab
from ..errors import UsageError
from ..regions import REGION_NAMES

__all__ = ["reference_mask", "detect_background"]


def reference_mask(
    region_masks: dict[str, np.ndarray],
    *,
    treated: Iterable[str] = (),
    reference: Iterable[str] | None = None,
    image: np.ndarray | None = None,
    include_background: bool = True,
) -> np.ndarray:
    """Pixels that the treatment does not change, on which lighting models are fitted.

    The reference is the union of the ``reference`` regions (default: ``face``), minus every
    ``treated`` region, plus (when ``image`` is given and ``include_background``) the uniform
    background found by :func:`detect_background`.

    Parameters
    ----------
    region_masks : dict of name -> (H, W) bool
        From :func:`mesovision.regions.region_masks`.
    treated : names of the treated regions (e.g. ``("left_cheek", "right_cheek")``).
    reference : names of the regions to use as reference instead of the whole face.
    image : (H, W, 3) float sRGB, optional
        The photo, needed to find the background.

    Raises
    ------
    UsageError
        A name that is not a region, or a region absent from ``region_masks``.
    """
    treated = tuple(treated)
    ref_names = ("face",) if reference is None else tuple(reference)
    valid = set(REGION_NAMES) | set(region_masks)
    for name in treated + ref_names:
        if name not in valid:
            raise UsageError(f"unknown region {name!r}; valid: {', '.join(sorted(valid))}")
        if name not in region_masks:
            raise UsageError(
                f"region {name!r} is not available; available: {', '.join(sorted(region_masks))}"
            )
    if not region_masks:
        raise UsageError("no region masks given")
    shape = next(iter(region_masks.values())).shape
    ref = np.zeros(shape, bool)
    for name in ref_names:
        ref |= region_masks[name].astype(bool)
    for name in treated:
        ref &= ~region_masks[name].astype(bool)
    if image is not None and include_background:
        face = region_masks.get("face")
        if face is None:
            face = np.zeros(shape, bool)
            for m in region_masks.values():
                face |= m.astype(bool)
        ref |= detect_background(image, face)
    return ref


def detect_background(
    image: np.ndarray,
    face_mask: np.ndarray,
    *,
    min_distance: float = 0.35,
    max_std_l: float = 2.5,
    max_std_ab: float = 1.5,
    min_area: float = 0.01,
) -> np.ndarray:
    """A uniform background beside or above the head (a wall, a backdrop), or an empty mask.

    Kept are pixels that are (1) at least ``min_distance`` x the face size (the square root of the
    face area) away from the face, (2) above the chin (below it lies clothing, which changes from
    session to session), (3) locally uniform: the standard deviation of L* in a 7 x 7 window below
    ``max_std_l`` and of a*, b* below ``max_std_ab`` (CIELAB units), (4) not clipped
    (5 < L* < 97), and (5) in connected parts covering at least ``min_area`` of the image. The
    analysis runs at a width of 256 px.

    Returns
    -------
    (H, W) bool
    """
    h, w = image.shape[:2]
    face = np.asarray(face_mask, bool)
    if not face.any():
        return np.zeros((h, w), bool)
    s = min(1.0, 256.0 / max(h, w))
    sw, sh = max(1, round(w * s)), max(1, round(h * s))
    small = cv2.resize(np.asarray(image, np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
    face_s = cv2.resize(face.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST) > 0
    lab = rgb_to_lab(small)
    mean = cv2.blur(lab, (7, 7))
    var = np.maximum(cv2.blur(lab * lab, (7, 7)) - mean * mean, 0.0)
    std = np.sqrt(var)
    uniform = (std[..., 0] < max_std_l) & (std[..., 1] < max_std_ab) & (std[..., 2] < max_std_ab)
    uniform &= (lab[..., 0] > 5) & (lab[..., 0] < 97)
    face_size = np.sqrt(face_s.sum())
    dist = cv2.distanceTransform((~face_s).astype(np.uint8), cv2.DIST_L2, 5)
    far = dist >= min_distance * face_size
    rows = np.nonzero(face_s.any(axis=1))[0]
    above_chin = np.arange(sh)[:, None] <= rows.max()
    cand = (uniform & far & above_chin).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cand, connectivity=4)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area * sw * sh
    bg = keep[labels].astype(np.uint8)
    return cv2.resize(bg, (w, h), interpolation=cv2.INTER_NEAREST) > 0
