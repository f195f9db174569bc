"""Benchmark: prepare + score_regions (10 regions) on a 2048 x 1536 face image, with the
metrics a face comparison scores (``metrics_for_mode("face")``).

Printed beside a baseline measured in the same run (one cv2.cvtColor RGB->Lab of the same
image), as a ratio and in absolute ms (median of ``--repeat`` runs).

    python benchmarks/bench_metrics.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

import mesovision.metrics as M
from mesovision.metrics._samples import SAMPLE_REGIONS, region_mask, sample_face

#: Ten regions on grace_hopper (original pixels), as the landmark regions would give them: the
#: test regions plus four more.
REGIONS = {
    **SAMPLE_REGIONS["grace_hopper"],
    "glabella": ("rect", 248, 170, 276, 195),
    "perioral": ("rect", 228, 280, 298, 306),
    "left_periorbital": ("rect", 190, 200, 232, 226),
    "right_periorbital": ("rect", 290, 200, 332, 226),
}


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(1000.0 * (time.perf_counter() - t))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    small, _ = sample_face("grace_hopper")
    rgb = np.ascontiguousarray(
        cv2.resize(small, (1536, 2048), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    )  # 2048 rows x 1536 cols (portrait), scale 4 in x, 3.41 in y
    sx, sy = 1536 / small.shape[1], 2048 / small.shape[0]
    masks = {}
    for name, spec in REGIONS.items():
        if spec[0] == "rect":
            x0, y0, x1, y1 = spec[1:]
            m = np.zeros(rgb.shape[:2], bool)
            m[round(y0 * sy) : round(y1 * sy), round(x0 * sx) : round(x1 * sx)] = True
        else:
            m = region_mask(
                rgb.shape[:2], ("ellipse", spec[1] * sx, spec[2] * sy, spec[3] * sx, spec[4] * sy)
            )
        masks[name] = m
    masks["face"] = np.logical_or.reduce(list(masks.values()))
    names = list(M.metrics_for_mode("face"))
    lab_ms = _median_ms(lambda: cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab), args.repeat)
    base = M.SkinBaseline.from_image(rgb, masks["face"])
    baseline_ms = _median_ms(lambda: M.SkinBaseline.from_image(rgb, masks["face"]), args.repeat)
    prep_ms = _median_ms(lambda: M.prepare(rgb, roi_mask=masks["face"], baseline=base), args.repeat)
    maps = M.prepare(rgb, roi_mask=masks["face"], baseline=base)
    score_ms = _median_ms(
        lambda: {k: M.score_region(maps, m, metrics=names) for k, m in masks.items()}, args.repeat
    )
    total_ms = _median_ms(lambda: M.score_regions(rgb, masks, metrics=names), args.repeat)
    r0, r1, c0, c1 = maps.window
    print(
        f"image {rgb.shape[1]}x{rgb.shape[0]}, face window {c1 - c0}x{r1 - r0} px, "
        f"{len(masks)} regions, {len(names)} metrics, cv2 threads {cv2.getNumThreads()}"
    )
    print(f"{'step':<40}{'ms':>9}{'x cvtColor':>12}")
    for label, ms in [
        ("baseline: cv2.cvtColor RGB->Lab (full)", lab_ms),
        ("SkinBaseline.from_image (face)", baseline_ms),
        ("prepare (face window)", prep_ms),
        ("score_region x 10", score_ms),
        ("score_regions total (incl. baseline)", total_ms),
    ]:
        print(f"{label:<40}{ms:>9.1f}{ms / lab_ms:>12.1f}")


if __name__ == "__main__":
    main()
