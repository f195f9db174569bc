"""Sample faces with hand-made region masks, for tests, baselines and benchmarks.

Two public-domain portraits shipped with our dependencies: matplotlib's ``grace_hopper.jpg``
(600 x 512, face about x 173-356, y 132-334) and scikit-image's ``astronaut`` (512 x 512, face
about x 179-271, y 71-177). Regions are rectangles / ellipses placed by hand on skin (no glasses,
brows, eyes or lips), in the frame of the image upscaled by ``scale`` (bicubic).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["sample_face", "SAMPLE_REGIONS"]

#: name -> {region: ("rect", x0, y0, x1, y1) | ("ellipse", cx, cy, ax, ay)} in original pixels.
SAMPLE_REGIONS: dict[str, dict[str, tuple]] = {
    "grace_hopper": {
        "face": ("ellipse", 264.0, 236.0, 82.0, 98.0),
        "forehead": ("rect", 205, 140, 300, 168),
        "left_cheek": ("rect", 183, 236, 228, 286),
        "right_cheek": ("rect", 288, 236, 328, 286),
        "nose": ("rect", 246, 228, 270, 262),
        "chin": ("rect", 232, 308, 282, 328),
    },
    "astronaut": {
        "face": ("ellipse", 224.0, 124.0, 40.0, 50.0),
        "forehead": ("rect", 195, 78, 250, 98),
        "left_cheek": ("rect", 188, 116, 212, 140),
        "right_cheek": ("rect", 236, 116, 260, 140),
        "nose": ("rect", 218, 108, 232, 128),
        "chin": ("rect", 212, 160, 236, 172),
    },
}


def _load(name: str) -> np.ndarray:
    if name == "grace_hopper":
        import matplotlib.cbook
        from PIL import Image

        with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as im:
            return np.asarray(im.convert("RGB"))
    if name == "astronaut":
        import skimage.data

        return skimage.data.astronaut()
    raise ValueError(f"unknown sample {name!r}; valid: {', '.join(SAMPLE_REGIONS)}")


def region_mask(shape: tuple[int, int], spec: tuple, *, scale: float = 1.0) -> np.ndarray:
    """Rasterise one region spec (original pixels) at ``scale`` into a bool mask."""
    mask = np.zeros(shape, dtype=np.uint8)
    if spec[0] == "rect":
        x0, y0, x1, y1 = (int(round(v * scale)) for v in spec[1:])
        mask[y0:y1, x0:x1] = 1
    else:
        cx, cy, ax, ay = (v * scale for v in spec[1:])
        cv2.ellipse(mask, (round(cx), round(cy)), (round(ax), round(ay)), 0, 0, 360, 1, -1)
    return mask.astype(bool)


def sample_face(name: str, *, scale: float = 1.0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(rgb, masks)``: the sample upscaled by ``scale`` (bicubic) as float32 sRGB in [0, 1],
    and its hand-made region masks (the ``face`` mask contains every other region)."""
    img = _load(name)
    if scale != 1.0:
        h, w = img.shape[:2]
        img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
    rgb = img.astype(np.float32) / np.float32(255.0)
    masks = {k: region_mask(rgb.shape[:2], v, scale=scale) for k, v in SAMPLE_REGIONS[name].items()}
    face = masks["face"]
    for m in masks.values():
        face |= m
    return rgb, masks
