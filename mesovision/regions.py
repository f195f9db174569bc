"""Facial regions as landmark polygons, and their masks.

Regions are named from the patient's side: ``left_cheek`` is the patient's left, which is the
image's right in an unmirrored photo (MediaPipe's ``LEFT`` sets follow the same rule). MediaPipe
has no cheek, forehead, chin or periorbital sets: the polygons below are ours, drawn on the
478-point mesh topology and checked on the sample faces (``scripts/draw_regions.py``).

``face`` is all skin of the face: the face oval, its edge trimmed by ``FACE_EDGE_MARGIN_IOD``
(hair, ears and collars meet it there), minus eyes, brows, lips and nostrils (each dilated by
``EXCLUSION_MARGIN_IOD``), and, when the image is given, minus non-skin pixels (hair, spectacle
frames, deep shadow): pixels darker than the face's median L* by more than ``NON_SKIN_DL``, or by
more than ``NON_SKIN_DL_GREY`` when nearly achromatic (chroma below ``NON_SKIN_CHROMA``), kept
only where they survive a morphological opening of ``NON_SKIN_OPEN_IOD`` (masses of hair, frames;
not the thin shadow of a wrinkle, which is measured). Inside the ``HAIRLINE_REGION`` polygon
(the forehead, where scalp hair crosses the face's edge) the opening is taken on the image
rather than on the face mask: a fringe is a mass of hair however the face's outline cuts it, and
judged on the mask alone its wisps came and went as the landmarks moved by a pixel. A blue
bruise on pale skin is darker and greyer than that (on the development faces the rule took 23 %
of injected blue-green bruises on average for non-skin): in a comparison the after photo's
pixels are left out only when the before photo's are too (``paired_rgb``), so a bruise that
appeared is measured. Every other region is its polygon intersected with ``face``.
"""

from __future__ import annotations

import cv2
import numpy as np

from .color import keep_lab, kept_lab, rgb_to_lab
from .errors import UsageError
from .types import Landmarks

__all__ = [
    "FACE_OVAL",
    "REGION_POLYGONS",
    "EXCLUDED_POLYGONS",
    "REGION_NAMES",
    "EXCLUSION_MARGIN_IOD",
    "FACE_EDGE_MARGIN_IOD",
    "NON_SKIN_DL",
    "NON_SKIN_DL_GREY",
    "NON_SKIN_CHROMA",
    "NON_SKIN_OPEN_IOD",
    "HAIRLINE_REGION",
    "validate_region_names",
    "validate_treated",
    "region_polygons",
    "non_skin_mask",
    "region_masks",
]

#: Ordered face-oval contour (MediaPipe ``FACEMESH_FACE_OVAL`` walked as a loop).
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
             109)  # fmt: skip

#: Polygons (landmark indices, in order) of the measured regions.
REGION_POLYGONS: dict[str, tuple[int, ...]] = {
    "forehead": (70, 63, 105, 66, 107, 9, 336, 296, 334, 293, 300, 298, 284, 332, 297, 338, 10,
                 109, 67, 103, 54, 68),
    "glabella": (107, 9, 336, 285, 417, 168, 193, 55),
    "nose": (168, 417, 351, 412, 343, 437, 420, 429, 279, 294, 327, 326, 2, 97, 98, 64, 49, 209,
             198, 217, 114, 188, 122, 193),
    "right_cheek": (116, 117, 118, 119, 120, 100, 142, 203, 206, 216, 192, 213, 147, 123),
    "left_cheek": (345, 346, 347, 348, 349, 329, 371, 423, 426, 436, 416, 433, 376, 352),
    "right_periorbital": (156, 46, 53, 52, 65, 55, 193, 245, 121, 120, 119, 118, 117, 111, 143),
    "left_periorbital": (383, 276, 283, 282, 295, 285, 417, 465, 350, 349, 348, 347, 346, 340,
                         372),
    "perioral": (164, 167, 165, 92, 186, 57, 43, 202, 204, 194, 201, 200, 421, 418, 424, 422,
                 273, 287, 410, 322, 391, 393),
    "chin": (202, 210, 169, 150, 149, 176, 148, 152, 377, 400, 378, 379, 394, 430, 422, 424, 418,
             421, 200, 201, 194, 204),
}  # fmt: skip

#: Polygons excluded from all skin regions.
EXCLUDED_POLYGONS: dict[str, tuple[int, ...]] = {
    "right_eye": (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
    "left_eye": (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249),
    "right_brow": (70, 63, 105, 66, 107, 55, 65, 52, 53, 46),
    "left_brow": (300, 293, 334, 296, 336, 285, 295, 282, 283, 276),
    "lips": (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91,
             146),
    "right_nostril": (219, 218, 79, 239, 238, 20, 60, 75, 240, 235),
    "left_nostril": (439, 438, 309, 459, 458, 250, 290, 305, 460, 455),
}  # fmt: skip

#: The measured regions, in report order; ``face`` is their superset (all facial skin).
REGION_NAMES: tuple[str, ...] = (*REGION_POLYGONS, "face")

#: Margin around eyes, brows, lips and nostrils, as a fraction of the interocular distance.
EXCLUSION_MARGIN_IOD = 0.06
#: The face oval's edge is trimmed by this share of the interocular distance.
FACE_EDGE_MARGIN_IOD = 0.05
#: Non-skin rule (see module docstring): darker than the face median by this many L* units ...
NON_SKIN_DL = 28.0
#: ... or by this many when the chroma sqrt(a*^2 + b*^2) is below ``NON_SKIN_CHROMA``.
NON_SKIN_DL_GREY = 20.0
NON_SKIN_CHROMA = 12.0
NON_SKIN_OPEN_IOD = 0.04
#: Where scalp hair crosses the face's edge: in this region's polygon the non-skin opening is
#: taken on the image, not on the face mask (see module docstring).
HAIRLINE_REGION = "forehead"


def validate_region_names(names, *, allow_face: bool = True, mode: str = "face") -> tuple[str, ...]:
    """Return ``names`` as a tuple, raising :class:`UsageError` (listing valid names) on an
    unknown one. Accepts a comma-separated string. In ``mode`` ``body``, ``scalp`` or
    ``trichoscopy`` the only region is ``area`` (the measured skin or scalp)."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if mode != "face":
        bad = [n for n in names if n != "area"]
        if bad:
            raise UsageError(f"unknown region {bad[0]!r} in {mode} mode; its only region: area")
        return tuple(names)
    valid = REGION_NAMES if allow_face else tuple(REGION_POLYGONS)
    bad = [n for n in names if n not in valid]
    if bad:
        raise UsageError(f"unknown region {bad[0]!r}; valid regions: {', '.join(valid)}")
    return tuple(names)


def validate_treated(names) -> tuple[str, ...]:
    """A session's treated areas (:func:`mesovision.views.view_treated`) as a tuple: face
    region names and names of body, scalp or trichoscopy views (``body:thigh``: the ``area`` of
    that view's comparisons). Accepts a comma-separated string; :class:`UsageError` otherwise."""
    from .views import FACE_VIEWS, OTHER_VIEWS_TEXT, validate_view

    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    for n in names:
        if n == "area":
            raise UsageError(
                "treated area 'area': name the view whose area was treated (e.g. body:thigh)"
            )
        if n in REGION_NAMES:
            continue
        try:
            ok = ":" in n and validate_view(n) not in FACE_VIEWS
        except UsageError:
            ok = False
        if not ok:
            raise UsageError(
                f"unknown treated area {n!r}; valid: the regions {', '.join(REGION_NAMES)}, or "
                f"a view other than the face's: {OTHER_VIEWS_TEXT}"
            )
    return tuple(names)


def _fill(polys: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    shift = 4  # sub-pixel vertices: 1/16 px
    pts = [np.round((p + 0.0) * (1 << shift)).astype(np.int32).reshape(-1, 1, 2) for p in polys]
    cv2.fillPoly(out, pts, 1, lineType=cv2.LINE_8, shift=shift)
    return out.astype(bool)


def region_polygons(landmarks: Landmarks) -> dict[str, np.ndarray]:
    """Region polygons as ``(N, 2)`` pixel ``(x, y)`` arrays (``face`` is the face oval)."""
    p = landmarks.points
    out = {name: p[list(idx)] for name, idx in REGION_POLYGONS.items()}
    out["face"] = p[list(FACE_OVAL)]
    return out


def non_skin_mask(
    rgb: np.ndarray,
    face: np.ndarray,
    *,
    open_px: int = 1,
    hairline: np.ndarray | None = None,
    lab: np.ndarray | None = None,
) -> np.ndarray:
    """Pixels of ``face`` that are hair, frames or deep shadow by the documented rule.

    ``hairline`` (bool, the image's shape; optional): where the opening is taken on the image
    rather than on ``face`` (the ``HAIRLINE_REGION`` polygon, see the module docstring).
    ``lab``: the CIELAB of ``rgb`` (:func:`~mesovision.color.rgb_to_lab`) when the caller has
    it.
    """
    rows, cols = np.flatnonzero(face.any(axis=1)), np.flatnonzero(face.any(axis=0))
    if rows.size == 0:
        return np.zeros_like(face)
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    # The image around the face, by the opening's reach (2 * open_px) beyond its box.
    p = 2 * open_px
    py0, px0 = max(y0 - p, 0), max(x0 - p, 0)
    py1, px1 = min(y1 + p, face.shape[0]), min(x1 + p, face.shape[1])
    if lab is None:
        lab = rgb_to_lab(rgb[py0:py1, px0:px1])
    else:
        lab = np.ascontiguousarray(lab[py0:py1, px0:px1])
    inner = (slice(y0 - py0, y1 - py0), slice(x0 - px0, x1 - px0))
    sub = face[y0:y1, x0:x1]
    med_l = float(np.median(lab[inner][..., 0][sub]))
    dark = _dark(lab, med_l)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * open_px + 1,) * 2)
    masses = cv2.morphologyEx((dark[inner] & sub).view(np.uint8), cv2.MORPH_OPEN, k) > 0
    if hairline is not None and hairline[y0:y1, x0:x1].any():
        zone = hairline[y0:y1, x0:x1]
        on_image = _opened_near(dark, zone, (y0 - py0, x0 - px0), k, p)
        masses[zone] = on_image[zone]
    out = np.zeros_like(face)
    out[y0:y1, x0:x1] = masses & sub
    return out


def _dark(lab: np.ndarray, med_l: float) -> np.ndarray:
    """The non-skin rule's dark pixels of ``lab``: ``dl > NON_SKIN_DL``, or ``dl >
    NON_SKIN_DL_GREY`` with a chroma below ``NON_SKIN_CHROMA`` (``dl`` = ``med_l - L*``); the
    chroma is taken only where it decides (the same values at a fraction of the pixels)."""
    dl = med_l - lab[..., 0]
    dark = dl > NON_SKIN_DL
    idx = np.flatnonzero((dl > NON_SKIN_DL_GREY) & ~dark)
    if idx.size:
        ab = lab.reshape(-1, 3)[idx]
        dark.ravel()[idx] = np.hypot(ab[:, 1], ab[:, 2]) < NON_SKIN_CHROMA
    return dark


def _opened_near(dark: np.ndarray, zone: np.ndarray, at: tuple[int, int], k, reach: int):
    """The opening of ``dark`` by ``k`` (of radius ``reach / 2``) on the pixels of ``zone``'s
    box (``zone`` placed at ``at`` in ``dark``), as an array of ``zone``'s shape. Taken on that
    box plus ``reach`` (clipped to ``dark``): an opening's value at a pixel depends only on the
    pixels within its erosion's and dilation's reach, so the values are those of the opening of
    all of ``dark``."""
    rows, cols = np.flatnonzero(zone.any(axis=1)), np.flatnonzero(zone.any(axis=0))
    r0, c0 = max(at[0] + rows[0] - reach, 0), max(at[1] + cols[0] - reach, 0)
    r1 = min(at[0] + rows[-1] + 1 + reach, dark.shape[0])
    c1 = min(at[1] + cols[-1] + 1 + reach, dark.shape[1])
    win = np.ascontiguousarray(dark[r0:r1, c0:c1]).view(np.uint8)
    out = np.zeros(zone.shape, bool)
    zr0, zc0 = at[0] + rows[0] - r0, at[1] + cols[0] - c0
    opened = cv2.morphologyEx(win, cv2.MORPH_OPEN, k) > 0
    nr, nc = rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0]
    out[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] = opened[zr0 : zr0 + nr, zc0 : zc0 + nc]
    return out


def _non_skin_in(img: np.ndarray, window, face: np.ndarray, kw: dict) -> np.ndarray:
    """:func:`non_skin_mask` of ``img``'s ``window`` ``(y0, y1, x0, x1)`` (``face`` on it).
    In a comparison (:func:`~mesovision.color.sharing_lab`), when the window covers at least
    half the image (a scoring copy), the whole image's CIELAB is converted once and kept for
    the maps and the mismatch, which read the same image (:func:`~mesovision.color.keep_lab`);
    otherwise the window's alone."""
    y0, y1, x0, x1 = window
    lab = kept_lab(img)
    if lab is None and img.ndim == 3 and 2 * (y1 - y0) * (x1 - x0) >= img[..., 0].size:
        lab = keep_lab(img)  # (None outside a comparison)
    lab = None if lab is None else lab[y0:y1, x0:x1]
    return non_skin_mask(img[y0:y1, x0:x1], face, lab=lab, **kw)


def region_masks(
    landmarks: Landmarks,
    shape: tuple[int, ...],
    *,
    rgb: np.ndarray | None = None,
    paired_rgb: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Boolean masks of every region in :data:`REGION_NAMES` for an image of ``shape``.

    Pass ``rgb`` (the image the landmarks were found on) to drop non-skin pixels from ``face``.
    Regions may touch but the measured regions never include excluded features.
    ``paired_rgb`` (optional, with ``rgb``): the other photo of a comparison carried onto this
    one's frame; a pixel is then dropped only when it is non-skin in both photos, so that the
    after photo is measured over the skin the before photo measured (a dark bruise, darker and
    greyer than the face by the non-skin rule's margins, is skin that changed, not hair).
    """
    hw = (int(shape[0]), int(shape[1]))
    polys = region_polygons(landmarks)
    edge = max(1, int(round(FACE_EDGE_MARGIN_IOD * landmarks.interocular_px)))
    margin = max(1, int(round(EXCLUSION_MARGIN_IOD * landmarks.interocular_px)))
    excluded = [landmarks.points[list(idx)] for idx in EXCLUDED_POLYGONS.values()]
    # Every mask lies inside the face oval: draw them on the window of the oval and the excluded
    # features, wide enough that the erosion and dilation see the same pixels as on the whole
    # frame (the frame can be 12 MP), and paste them into the frame.
    open_px = max(1, int(round(NON_SKIN_OPEN_IOD * landmarks.interocular_px)))
    pts = np.vstack([polys["face"], *excluded])
    pad = max(edge, margin, 2 * open_px) + 2
    # (clamped inside the frame: a face wholly outside it gives empty masks)
    x0 = min(max(0, int(np.floor(pts[:, 0].min())) - pad), hw[1] - 1)
    y0 = min(max(0, int(np.floor(pts[:, 1].min())) - pad), hw[0] - 1)
    x1 = min(hw[1], max(x0 + 1, int(np.ceil(pts[:, 0].max())) + pad + 1))
    y1 = min(hw[0], max(y0 + 1, int(np.ceil(pts[:, 1].max())) + pad + 1))
    wh = (y1 - y0, x1 - x0)
    off = np.array([x0, y0], dtype=np.float64)
    face = _fill([polys["face"] - off], wh)
    face = cv2.erode(face.astype(np.uint8), np.ones((2 * edge + 1,) * 2, np.uint8)) > 0
    excl = _fill([p - off for p in excluded], wh)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    excl = cv2.dilate(excl.astype(np.uint8), kernel) > 0
    face &= ~excl
    masks = {name: _fill([polys[name] - off], wh) for name in REGION_POLYGONS}
    if rgb is not None:
        kw = {"open_px": open_px, "hairline": masks[HAIRLINE_REGION]}
        non = _non_skin_in(rgb, (y0, y1, x0, x1), face, kw)
        if paired_rgb is not None:
            non &= _non_skin_in(paired_rgb, (y0, y1, x0, x1), face, kw)
        face &= ~non
    masks = {name: m & face for name, m in masks.items()}
    masks["forehead"] &= ~masks["glabella"]
    masks["face"] = face
    out = {}
    for name, m in masks.items():
        full = np.zeros(hw, bool)
        full[y0:y1, x0:x1] = m
        out[name] = full
    return out
