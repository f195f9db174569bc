"""Measuring a photo once for the capture checks: face size, pose, eyes, mouth, image quality.

:func:`measure_capture` finds the face mesh (face views) or the skin (``body:<area>`` views) and
returns :class:`CaptureFeatures`: interocular distance, the size of another face seen beside
it (:func:`other_face_share`), head pose, eye aspect ratio, mouth opening, expression scores,
the face's enlargement factor (:mod:`mesovision.enlargement`),
and on the face skin sharpness (variance of the Laplacian at a fixed interocular distance),
median L*, clipped share (without the colours clipped by the conversion from a wide-gamut
profile: ``gamut_share``) and glare share, and on the whole photo its chroma
(:func:`mesovision.io.chroma_p99`: whether it has colour). The features of a session's photo are
stored with it and serve as the baseline of later sessions. Formulas: see
:mod:`mesovision.checks`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from ..align.capture import MAX_OTHER_FACE_SHARE, other_face_note, other_face_share
from ..expression import expression_scores
from ..views import FACE_VIEWS, validate_view
from .thresholds import (
    BLUR_IOD_PX,
    CLIP_HIGH,
    CLIP_LOW,
    GLARE_CHROMA_SHARE,
    GLARE_DL,
    GLARE_MIN_SIDE_IOD,
)

__all__ = [
    "CaptureFeatures",
    "INNER_LIPS",
    "LEFT_EYE",
    "MOUTH_CORNERS",
    "PUPILS",
    "RIGHT_EYE",
    "clipped_share",
    "eye_aspect_ratio",
    "gamut_share",
    "glare_share",
    "measure_capture",
    "mouth_open_ratio",
    "mouth_width_iod",
    "other_face_share",
    "sharpness",
]

log = logging.getLogger(__name__)

#: Mesh points (p1..p6) of each eye for the eye aspect ratio: outer corner, two upper-lid points,
#: inner corner, two lower-lid points (MediaPipe's ``RIGHT`` is the patient's right).
RIGHT_EYE = (33, 160, 158, 133, 153, 144)
LEFT_EYE = (362, 385, 387, 263, 373, 380)
MOUTH_CORNERS = (61, 291)
INNER_LIPS = (13, 14)
PUPILS = (468, 473)


def eye_aspect_ratio(points: np.ndarray) -> float:
    """Mean eye aspect ratio of both eyes from ``(478, 2)`` mesh points (see module docstring)."""
    p = np.asarray(points, dtype=np.float64)

    def one(idx):
        p1, p2, p3, p4, p5, p6 = (p[i] for i in idx)
        width = np.linalg.norm(p1 - p4)
        return (np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2 * width)

    return float(0.5 * (one(RIGHT_EYE) + one(LEFT_EYE)))


def mouth_open_ratio(points: np.ndarray) -> float:
    """Inner-lip gap (points 13-14) over mouth width (61-291); about 0 for a closed mouth."""
    p = np.asarray(points, dtype=np.float64)
    gap = np.linalg.norm(p[INNER_LIPS[0]] - p[INNER_LIPS[1]])
    return float(gap / np.linalg.norm(p[MOUTH_CORNERS[0]] - p[MOUTH_CORNERS[1]]))


def mouth_width_iod(points: np.ndarray) -> float:
    """Mouth width (61-291) over the interocular distance (pupils 468-473)."""
    p = np.asarray(points, dtype=np.float64)
    iod = np.linalg.norm(p[PUPILS[0]] - p[PUPILS[1]])
    return float(np.linalg.norm(p[MOUTH_CORNERS[0]] - p[MOUTH_CORNERS[1]]) / iod)


def _crop(mask: np.ndarray, pad: int) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return (
        slice(max(0, ys.min() - pad), min(h, ys.max() + pad + 1)),
        slice(max(0, xs.min() - pad), min(w, xs.max() + pad + 1)),
    )


def sharpness(rgb: np.ndarray, mask: np.ndarray, *, ref_px: float) -> float:
    """Variance of the 3x3 Laplacian of the grey image (0-255) over ``mask`` (eroded by 2 px),
    after resampling so that ``ref_px`` (the interocular distance) becomes :data:`BLUR_IOD_PX`.
    NaN for an empty mask."""
    import cv2

    if not mask.any():
        return float("nan")
    ys, xs = _crop(mask, int(ref_px))
    k = BLUR_IOD_PX / ref_px
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[ys, xs], np.float32), cv2.COLOR_RGB2GRAY) * 255
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC
    g = cv2.resize(grey, None, fx=k, fy=k, interpolation=interp)
    m = cv2.resize(mask[ys, xs].astype(np.uint8), (g.shape[1], g.shape[0]), cv2.INTER_NEAREST)
    m = cv2.erode(m, np.ones((5, 5), np.uint8)) > 0
    if not m.any():
        return float("nan")
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=1)
    return float(lap[m].var())


def clipped_share(
    rgb: np.ndarray, mask: np.ndarray, gamut: np.ndarray | None = None
) -> tuple[float, float]:
    """``(share, high share)``: pixels of ``mask`` with any channel >= 254/255 or <= 1/255, and
    those with a channel >= 254/255 only; without the pixels of ``gamut`` (clipped by the
    conversion from a wide-gamut profile, :attr:`mesovision.types.Photo.gamut_clipped`), which
    are not clipped by the exposure. Shares of all of ``mask``'s pixels."""
    px = rgb[mask]
    if px.size == 0:
        return float("nan"), float("nan")
    hi = (px >= CLIP_HIGH).any(axis=1)
    clipped = hi | (px <= CLIP_LOW).any(axis=1)
    if gamut is not None:
        exposure = ~gamut[mask]
        hi, clipped = hi & exposure, clipped & exposure
    return float(clipped.mean()), float(hi.mean())


def gamut_share(mask: np.ndarray, gamut: np.ndarray | None) -> float:
    """The share of ``mask``'s pixels in ``gamut`` (outside sRGB in the file's profile); 0.0
    without such pixels, NaN for an empty mask."""
    n = int(np.count_nonzero(mask))
    if n == 0:
        return float("nan")
    return 0.0 if gamut is None else int(np.count_nonzero(mask & gamut)) / n


def glare_share(rgb: np.ndarray, mask: np.ndarray, *, ref_px: float) -> float:
    """Share of ``mask`` covered by specular glare (see the module docstring)."""
    import cv2

    from ..color import rgb_to_lab

    if not mask.any():
        return float("nan")
    ys, xs = _crop(mask, 0)
    lab = rgb_to_lab(rgb[ys, xs])
    m = mask[ys, xs]
    light = lab[..., 0]
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    cand = (light >= np.median(light[m]) + GLARE_DL) & (
        chroma <= GLARE_CHROMA_SHARE * np.median(chroma[m])
    )
    cand &= m
    n, _, stats, _ = cv2.connectedComponentsWithStats(cand.astype(np.uint8), connectivity=8)
    min_area = (GLARE_MIN_SIDE_IOD * ref_px) ** 2
    area = sum(int(stats[i, cv2.CC_STAT_AREA]) for i in range(1, n) if stats[i, 4] >= min_area)
    return float(area / m.sum())


@dataclass(frozen=True)
class CaptureFeatures:
    """What :func:`measure_capture` measured on one photo (NaN / None where not applicable)."""

    view: str
    face_found: bool
    #: Quarter turns (counterclockwise) that put the face upright: the photo's orientation tag
    #: is missing or wrong when not 0 (the other measures are of the photo turned upright).
    quarter_turns: int = 0
    interocular_px: float | None = None
    yaw_deg: float | None = None
    pitch_deg: float | None = None
    roll_deg: float | None = None
    eye_aspect_ratio: float | None = None
    mouth_open_ratio: float | None = None
    mouth_width_iod: float | None = None
    expression: dict[str, float] | None = None
    sharpness: float | None = None
    skin_l_median: float | None = None
    clipped_share: float | None = None
    clipped_high_share: float | None = None
    #: share of the face skin whose colour lay outside sRGB in the file's profile (clipped by
    #: the conversion, not by the exposure: left out of ``clipped_share``)
    gamut_share: float | None = None
    glare_share: float | None = None
    #: the chroma of the whole photo (C*ab, 99th percentile: mesovision.io.chroma)
    chroma_p99: float | None = None
    #: the largest other upright face's size over the measured face's (:func:`other_face_share`)
    other_face_share: float | None = None
    #: faces found (:func:`mesovision.landmarks.faces_found`: the measured one and the others
    #: lying as it lies); 0 without a face; None for other views and features stored without it
    faces_found: int | None = None
    #: the face's enlargement factor (:func:`mesovision.enlargement.enlargement_factor`: about
    #: k for a face enlarged k times from a smaller image, 1 at its own size); None for other
    #: views and features stored without it, NaN for a face too small to measure
    enlargement: float | None = None
    #: share of the file's pixels not fully opaque (``mesovision.types.Photo.transparent_share``)
    transparent_share: float | None = None
    #: colours of the file's palette, 0 for a file of full colour
    #: (``mesovision.types.Photo.palette_colours``)
    palette_colours: int | None = None
    #: ``(width, height)`` of the file's pixels and of the working copy measured (upright), which
    #: tell a small file or a small working copy (``--max-side``) from a face far away
    file_size: tuple[int, int] | None = None
    working_size: tuple[int, int] | None = None
    # body views: the raking light (mesovision.checks.body)
    light_azimuth_deg: float | None = None
    light_coherence: float | None = None
    #: body views: the size of a face found in the photo over the photo's
    #: (:func:`mesovision.align.face_fill`), 0 without a face; None when not measured
    face_fill: float | None = None

    def as_dict(self) -> dict:
        from ..io import to_jsonable

        return to_jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> CaptureFeatures:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def measure_capture(
    rgb: np.ndarray, *, view: str = "front", landmarks=None, path=None, gamut_clipped=None
):
    """Measure a photo's working copy (float RGB in [0, 1]) for the capture checks.

    ``landmarks`` (optional) saves a detection. ``gamut_clipped`` (optional, a bool mask like
    ``rgb``: :attr:`mesovision.types.Photo.gamut_clipped`) are the pixels clipped by the
    conversion to sRGB, measured as ``gamut_share`` and not as clipped. A face view without a
    face gives ``face_found=False`` and no other measure.
    """
    from ..errors import NoFace

    view = validate_view(view)
    if view not in FACE_VIEWS:
        from ..align import default_body_mask

        skin, _ = default_body_mask(rgb)
        ys, xs = np.nonzero(skin)
        ref = 0.2 * max(np.ptp(xs) + 1, np.ptp(ys) + 1)
        from ..align import face_fill
        from .body import light_features

        fill = None
        if view.startswith("body:"):  # a portrait filed as a body view (checks.body)
            fill = face_fill(rgb, path=path) or 0.0
        return CaptureFeatures(
            view=view,
            face_found=False,
            **_image_measures(rgb, skin, ref, gamut_clipped),
            **light_features(rgb, skin),
            face_fill=fill,
        )
    from ..enlargement import enlargement_factor
    from ..landmarks import detect_landmarks_upright, faces_found
    from ..regions import region_masks

    turns, detected = 0, landmarks is None
    if landmarks is None:
        try:  # several faces are said by the checks (single_face), or by the note below
            turns, rgb, landmarks = detect_landmarks_upright(rgb, path=path, warn_faces=False)
        except NoFace:
            return CaptureFeatures(view=view, face_found=False, faces_found=0)
    if gamut_clipped is not None:  # as the photo was turned
        gamut_clipped = np.rot90(gamut_clipped, turns)
    n_faces, share = faces_found(landmarks), other_face_share(landmarks)
    if detected and n_faces > 1 and share <= MAX_OTHER_FACE_SHARE:
        log.warning("%s: %s", path or "image", other_face_note(share, n_faces))
    p = landmarks.points
    iod = landmarks.interocular_px
    skin = region_masks(landmarks, rgb.shape, rgb=rgb)["face"]
    return CaptureFeatures(
        view=view,
        face_found=True,
        quarter_turns=turns,
        interocular_px=iod,
        yaw_deg=landmarks.pose.yaw_deg,
        pitch_deg=landmarks.pose.pitch_deg,
        roll_deg=landmarks.pose.roll_deg,
        eye_aspect_ratio=eye_aspect_ratio(p),
        mouth_open_ratio=mouth_open_ratio(p),
        mouth_width_iod=mouth_width_iod(p),
        expression=expression_scores(landmarks.blendshapes),
        other_face_share=share,
        faces_found=n_faces,
        enlargement=enlargement_factor(rgb, p, iod),
        **_image_measures(rgb, skin, iod, gamut_clipped),
    )


def _image_measures(
    rgb: np.ndarray, skin: np.ndarray, ref_px: float, gamut: np.ndarray | None = None
) -> dict:
    from ..color import rgb_to_lab
    from ..io import chroma_p99

    if gamut is not None and gamut.shape != skin.shape:
        raise ValueError(f"gamut_clipped is {gamut.shape}, the photo {skin.shape}")
    clip, clip_hi = clipped_share(rgb, skin, gamut)
    light = float(np.median(rgb_to_lab(rgb[skin])[..., 0])) if skin.any() else float("nan")
    return {
        "sharpness": sharpness(rgb, skin, ref_px=ref_px),
        "skin_l_median": light,
        "clipped_share": clip,
        "clipped_high_share": clip_hi,
        "gamut_share": gamut_share(skin, gamut),
        "glare_share": glare_share(rgb, skin, ref_px=ref_px),
        "chroma_p99": chroma_p99(rgb),
    }
