"""Images for the report: loaded from the comparison's PNGs, optionally de-identified, re-encoded
from pixels only (no EXIF, no ICC, no text chunks) and embedded as ``data:`` URIs.

De-identification blurs both eyes: the eye landmarks of the face mesh (corners, lids, iris
centres) of the reference photo and of the after photo, a box padded by :data:`EYE_PAD_IOD` x
the interocular distance, pixelated to blocks of :data:`EYE_BLOCK_IOD` x IOD and then blurred
by a Gaussian of one block.
Every image of one comparison is in the reference photo's frame, so the same boxes apply to all.
"""

from __future__ import annotations

import base64
import io
import logging

import numpy as np

from ..errors import NoFace

__all__ = [
    "RIGHT_EYE",
    "LEFT_EYE",
    "EYE_PAD_IOD",
    "EYE_BLOCK_IOD",
    "FACE_PAD",
    "MAX_SIDE_PX",
    "JPEG_QUALITY",
    "load_rgb",
    "detect",
    "eye_boxes",
    "face_crop",
    "blur_boxes",
    "encode",
    "data_uri",
    "comparison_images",
]

log = logging.getLogger(__name__)

#: Eye landmarks of MediaPipe's 478-point mesh: corners, upper and lower lid, iris centre.
RIGHT_EYE = (33, 133, 159, 145, 160, 158, 153, 144, 468)
LEFT_EYE = (362, 263, 386, 374, 385, 387, 373, 380, 473)
#: Padding of each eye box on every side, as a share of the interocular distance.
EYE_PAD_IOD = 0.22
#: Pixelation block of the eye box, as a share of the interocular distance.
EYE_BLOCK_IOD = 0.15
#: Padding of the face crop around the face mesh, as a share of its width / height.
FACE_PAD = 0.22
#: Long side of embedded photos (px); larger images are reduced (area averaging).
MAX_SIDE_PX = 1024
JPEG_QUALITY = 88


def load_rgb(path: str, *, max_side: int | None = MAX_SIDE_PX) -> np.ndarray:
    """An image file as float32 RGB in [0, 1] (decoded by :func:`mesovision.io.load_photo`)."""
    from ..io import load_photo

    return load_photo(path, max_side=max_side).rgb


def detect(rgb: np.ndarray, *, path: str | None = None):
    """The face mesh of ``rgb`` (:func:`mesovision.landmarks.detect_landmarks`), or ``None``."""
    from ..landmarks import detect_landmarks

    try:
        return detect_landmarks(rgb, path=path)
    except NoFace:
        log.info("%s: no face found", path)
        return None


def eye_boxes(lm, shape: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
    """``(x0, y0, x1, y1)`` boxes (pixels, end exclusive) around both eyes of the face mesh
    ``lm``, padded by :data:`EYE_PAD_IOD` x its interocular distance, inside an image of
    ``shape``."""
    pad = EYE_PAD_IOD * lm.interocular_px
    h, w = shape[:2]
    boxes = []
    for idx in (RIGHT_EYE, LEFT_EYE):
        pts = lm.points[list(idx)]
        x0, y0 = pts.min(axis=0) - pad
        x1, y1 = pts.max(axis=0) + pad
        boxes.append(
            (
                max(0, int(np.floor(x0))),
                max(0, int(np.floor(y0))),
                min(w, int(np.ceil(x1)) + 1),
                min(h, int(np.ceil(y1)) + 1),
            )
        )
    return boxes


def face_crop(lms: list, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Rows and columns of the faces' bounding box, padded by :data:`FACE_PAD` of its size
    (more above, for the forehead), inside an image of ``shape``."""
    pts = np.concatenate([lm.points for lm in lms])
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    w, h = x1 - x0, y1 - y0
    h_img, w_img = shape[:2]
    c0 = max(0, int(np.floor(x0 - FACE_PAD * w)))
    c1 = min(w_img, int(np.ceil(x1 + FACE_PAD * w)) + 1)
    r0 = max(0, int(np.floor(y0 - 1.5 * FACE_PAD * h)))
    r1 = min(h_img, int(np.ceil(y1 + FACE_PAD * h)) + 1)
    return slice(r0, r1), slice(c0, c1)


def blur_boxes(
    rgb: np.ndarray, boxes: list[tuple[int, int, int, int]], *, iod_px: float
) -> np.ndarray:
    """``rgb`` with every box pixelated (blocks of :data:`EYE_BLOCK_IOD` x IOD), then blurred
    by a Gaussian of one block's size."""
    import cv2

    out = np.array(rgb, dtype=np.float32, copy=True)
    block = max(2, int(round(EYE_BLOCK_IOD * iod_px)))
    for x0, y0, x1, y1 in boxes:
        if x1 <= x0 or y1 <= y0:
            continue
        patch = out[y0:y1, x0:x1]
        ph, pw = patch.shape[:2]
        small = cv2.resize(
            patch, (max(1, pw // block), max(1, ph // block)), interpolation=cv2.INTER_AREA
        )
        coarse = cv2.resize(small, (pw, ph), interpolation=cv2.INTER_NEAREST)
        sigma = float(block)
        out[y0:y1, x0:x1] = cv2.GaussianBlur(coarse, (0, 0), sigmaX=sigma, sigmaY=sigma)
    return np.clip(out, 0.0, 1.0)


def encode(rgb: np.ndarray, *, fmt: str = "jpeg") -> bytes:
    """Encode float RGB in [0, 1] (or uint8) as a JPEG or PNG from the pixels alone."""
    from PIL import Image

    a = np.asarray(rgb)
    if a.dtype != np.uint8:
        a = np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    im = Image.fromarray(np.ascontiguousarray(a), mode="RGB" if a.ndim == 3 else "L")
    buf = io.BytesIO()
    if fmt == "jpeg":
        im.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    elif fmt == "png":
        im.save(buf, format="PNG", optimize=False)
    else:
        raise ValueError(f"unknown image format {fmt!r}; valid: jpeg, png")
    return buf.getvalue()


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _reduce(rgb: np.ndarray, max_side: int | None) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return rgb
    k = max_side / max(h, w)
    return cv2.resize(rgb, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)


def _find_faces(images: dict[str, str], probe: list[str]):
    """Load the probe images, find their faces: ``(landmarks found, frame shape, loaded)``."""
    lms, shape, loaded = [], None, {}
    for n in probe:
        rgb = load_rgb(images[n], max_side=None)
        loaded[n] = rgb
        shape = rgb.shape
        lm = detect(rgb, path=images[n])
        if lm is not None:
            lms.append(lm)
    return lms, shape, loaded


def _change_maps(images, loaded, lm, shape) -> dict[str, np.ndarray]:
    """The change maps (full frame) from the before and the normalized (or aligned) after."""
    from ..regions import region_masks
    from ._overlays import CHANGE_MAPS, change_map

    after_name = "normalized_after" if images.get("normalized_after") else "aligned_after"
    if not images.get("before") or not images.get(after_name):
        return {}
    before = loaded.get("before")
    before = before if before is not None else load_rgb(images["before"], max_side=None)
    after = loaded.get(after_name)
    after = after if after is not None else load_rgb(images[after_name], max_side=None)
    face = region_masks(lm, shape).get("face") if lm is not None else None
    return {name: change_map(before, after, spec, face) for name, spec in CHANGE_MAPS.items()}


def comparison_images(
    images: dict[str, str],
    *,
    deidentify: bool,
    names: list[str],
    crop_face: bool = True,
    max_side: int | None = MAX_SIDE_PX,
    treated: list[str] | tuple[str, ...] = (),
) -> dict[str, np.ndarray]:
    """The named images of one comparison (float RGB), cropped to the face (``crop_face``; all
    images of a comparison share the reference photo's frame, hence one crop), with the eyes
    blurred when ``deidentify``, then reduced to ``max_side``. Missing names are left out.

    ``change_redness`` and ``change_lightness`` among ``names`` are made here (see
    :mod:`mesovision.report._overlays`); with ``treated`` regions, the photos (``before``,
    ``normalized_after``, ``aligned_after``) carry their outlines, from the before photo's face.
    The face is found on the reference photo and the after photo (the union of both is used).
    Raises :class:`~mesovision.errors.NoFace` when ``deidentify`` and no face is found.
    """
    from ..regions import region_polygons
    from ._overlays import draw_outlines

    present = [n for n in names if images.get(n)]
    probe = [n for n in ("before", "normalized_after", "aligned_after") if images.get(n)][:2]
    lms, shape, loaded = [], None, {}
    if crop_face or deidentify or treated or any(n.startswith("change_") for n in names):
        lms, shape, loaded = _find_faces(images, probe)
    if deidentify and not lms:
        raise NoFace(
            "cannot de-identify: no face found to locate the eyes",
            path=images.get(probe[0]) if probe else None,
        )
    made = _change_maps(images, loaded, lms[0] if lms else None, shape) if lms else {}
    made = {k: v for k, v in made.items() if k in names}
    crop = face_crop(lms, shape) if crop_face and lms else None
    boxes = [b for lm in lms for b in eye_boxes(lm, shape)] if deidentify else []
    iod = min(lm.interocular_px for lm in lms) if lms else 0.0
    polys = region_polygons(lms[0]) if lms and treated else {}
    outlines = [polys[r] for r in treated if r in polys]
    out: dict[str, np.ndarray] = {}
    for name in present + list(made):
        rgb = made[name] if name in made else loaded.pop(name, None)
        if rgb is None:
            rgb = load_rgb(images[name], max_side=None)
        if shape is not None and rgb.shape[:2] != shape[:2]:
            raise ValueError(
                f"{images[name]}: {rgb.shape[1]}x{rgb.shape[0]} px, but the comparison's "
                f"reference frame is {shape[1]}x{shape[0]} px"
            )
        if outlines and (name in ("before", "normalized_after", "aligned_after") or name in made):
            rgb = draw_outlines(rgb, outlines, width_px=max(1.0, iod / 220))
        if boxes:  # after the outlines: nothing sharp is left in the eye boxes
            rgb = blur_boxes(rgb, boxes, iod_px=iod)
        if crop is not None:
            rgb = rgb[crop]
        out[name] = _reduce(rgb, max_side)
    return out
