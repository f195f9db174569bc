"""12-MP test photos for the benchmarks, made from the real sample face (seeded, in a temp dir)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from mesovision.testing.samples import sample_faces
from mesovision.testing.synthetic import apply_lighting, apply_similarity


def twelve_mp_pair(folder: Path, *, size=(4032, 3024)) -> tuple[Path, Path]:
    """Before/after 4032x3024 JPEGs (quality 92) of grace_hopper; after = small pose + light
    change. Fine sensor-like noise is added so the JPEGs are as heavy to decode as real ones."""
    w, h = size
    face = sample_faces()["grace_hopper"]
    s = h / face.shape[0]
    big = cv2.resize(face, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
    canvas = np.empty((h, w, 3), np.float32)
    canvas[:] = big[:, :1].mean(axis=0)
    x0 = (w - big.shape[1]) // 2
    canvas[:, x0 : x0 + big.shape[1]] = big
    rng = np.random.default_rng(0)
    paths = []
    for name, img in (("before", canvas), ("after", None)):
        if img is None:
            img, _ = apply_similarity(canvas, angle_deg=3, scale=1.03, shift_xy=(40, -25))
            img = apply_lighting(img, gain=1.1, white_balance=(1.04, 1.0, 0.95))
        noisy = img + rng.normal(0, 0.012, img.shape).astype(np.float32)
        u8 = np.clip(noisy * 255 + 0.5, 0, 255).astype(np.uint8)
        p = folder / f"{name}.jpg"
        Image.fromarray(u8).save(p, quality=92)
        paths.append(p)
    return paths[0], paths[1]
