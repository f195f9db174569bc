"""Draw the region masks on the two sample faces, for checking the polygons by eye.

Usage: python scripts/draw_regions.py OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from mesovision.landmarks import detect_landmarks
from mesovision.regions import REGION_POLYGONS, region_masks
from mesovision.testing.samples import sample_faces

COLOURS = np.array(
    [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
     [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60]], np.float32) / 255  # fmt: skip


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, rgb in sample_faces().items():
        lm = detect_landmarks(rgb)
        masks = region_masks(lm, rgb.shape, rgb=rgb)
        vis = rgb * 0.55
        vis[masks["face"]] += 0.15
        for colour, region in zip(COLOURS, REGION_POLYGONS, strict=True):
            vis[masks[region]] = 0.5 * vis[masks[region]] + 0.5 * colour
        big = cv2.resize(np.clip(vis, 0, 1), None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
        path = out / f"regions_{name}.png"
        cv2.imwrite(str(path), (big[..., ::-1] * 255).astype(np.uint8))
        print(path)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "regions-out")
