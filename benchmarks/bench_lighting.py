"""Time lighting normalization for one photo pair at the working resolution (2048 x 1536).

The before photo is the astronaut sample upscaled (bicubic) to 1536 x 2048 (portrait); the after
photo is the same under another light (gain 0.8, white balance (1.1, 1.0, 0.9), gamma 0.95,
ramp +/-20 %). The reference mask is the face (an ellipse) minus one cheek, plus a uniform
background strip, as in real use. Each figure is the best of ``--repeat`` runs (the machine may be
shared), printed beside a baseline measured in the same run: converting the pair to CIELAB with
``cv2.cvtColor`` (float32), a cost every colour metric pays anyway.

Run: ``python benchmarks/bench_lighting.py [--repeat 7]``
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from mesovision import lighting
from mesovision.testing import samples, synthetic

H, W = 2048, 1536


def _best(fn, repeat: int) -> float:
    fn()  # warm-up (tables, imports)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    face = samples.sample_faces()["astronaut"]
    before = np.clip(cv2.resize(face, (W, H), interpolation=cv2.INTER_CUBIC), 0, 1)
    after = synthetic.apply_lighting(
        before, gain=0.8, white_balance=(1.1, 1.0, 0.9), gamma=0.95, ramp=0.2
    )
    # Face of the astronaut: x 179-271, y 71-177 in the 512 x 512 original.
    sx, sy = W / 512, H / 512
    ref = np.zeros((H, W), np.uint8)
    cv2.ellipse(ref, (int(225 * sx), int(124 * sy)), (int(44 * sx), int(52 * sy)), 0, 0, 360, 1, -1)
    cv2.circle(ref, (int(250 * sx), int(138 * sy)), int(12 * sx), 0, -1)  # a treated cheek
    ref[: int(40 * sy), int(300 * sx) :] = 1  # backdrop above the right shoulder
    ref = ref.astype(bool)

    def cvt_pair():
        cv2.cvtColor(before, cv2.COLOR_RGB2Lab)
        cv2.cvtColor(after, cv2.COLOR_RGB2Lab)

    t_base = _best(cvt_pair, args.repeat)
    print(f"pair {W}x{H}, reference pixels {int(ref.sum())}, best of {args.repeat}")
    print(f"baseline cv2.cvtColor RGB->Lab (pair)         {t_base * 1e3:7.1f} ms")
    for kw in (
        {"model": "auto", "shading": True},
        {"model": "gain", "shading": True},
        {"model": "matrix", "shading": True},
        {"model": "auto", "shading": False},
    ):
        t = _best(
            lambda kw=kw: lighting.normalize_lighting(before, after, reference_mask=ref, **kw),
            args.repeat,
        )
        label = f"normalize_lighting(model={kw['model']!r}, shading={kw['shading']})"
        print(f"{label:46s} {t * 1e3:7.1f} ms  ({t / t_base:4.1f}x baseline)")
    res = lighting.normalize_lighting(before, after, reference_mask=ref)
    rep = res.report
    print(
        f"chosen model {rep.model}; CIEDE2000 on reference px: median "
        f"{rep.delta_e_before['median']:.2f} -> {rep.delta_e_after['median']:.2f}"
    )


if __name__ == "__main__":
    main()
