"""Time lighting normalization for one photo pair at the working resolution (2048 x 1536).

The before photo is the astronaut sample upscaled (bicubic) to 1536 x 2048 (portrait); the after
photo is the same under another light (gain 0.8, white balance (1.1, 1.0, 0.9), gamma 0.95,
ramp +/-20 %). The reference mask is the face (an ellipse) minus one cheek, plus a uniform
background strip, as in real use. Each figure is the best of ``--repeat`` runs (the machine may be
shared), printed beside a baseline measured in the same run: converting the pair to CIELAB with
``cv2.cvtColor`` (float32), a cost every colour metric pays anyway.

``--srgb`` times the sRGB transfer curves instead, on random float32 RGB of 1 and 3 megapixels,
one OpenCV thread: :func:`mesovision.color.srgb_to_linear` and ``linear_to_srgb`` (the power in
place through ``cv2.pow``) against NumPy's formula and a 65536-entry look-up table,
with each candidate's largest error against the formula in float64 (2**20 values in [0, 1]).
Measured (best of 5, 2-core machine shared with other jobs, so within about 20 %): decoding 1 MP
26-68 ms (NumPy 62-146, table 28-74), 3 MP 103-166 ms (NumPy 269-475, table 94-170); encoding
3 MP 68-170 ms (NumPy 295-520, table 80-161); largest errors 2.3e-7 (decoding) and 1.5e-7
(encoding), against 1.7e-5 and 9.9e-5 for the tables.

Run: ``python benchmarks/bench_lighting.py [--repeat 7] [--srgb]``
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from mesovision import lighting
from mesovision.color import linear_to_srgb, srgb_to_linear
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


def _exact_decode(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((np.maximum(x, 0) + 0.055) / 1.055) ** 2.4)


def _exact_encode(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.maximum(x, 0) ** (1 / 2.4) - 0.055)


def _numpy_decode(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _numpy_encode(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


def _table(fn):
    """A 65536-entry float32 table of ``fn`` over [0, 1], looked up by rounding (inputs clipped)."""
    table = fn(np.linspace(0.0, 1.0, 65536)).astype(np.float32)

    def lookup(x: np.ndarray) -> np.ndarray:
        idx = np.empty(x.shape, np.float32)
        np.multiply(x, 65535, out=idx, dtype=np.float32, casting="unsafe")
        np.clip(idx, 0, 65535, out=idx)
        idx += 0.5
        return table[idx.astype(np.uint16)]

    return lookup


def bench_srgb(repeat: int) -> None:
    """Time and check the sRGB transfer-curve candidates (see the module docstring)."""
    cv2.setNumThreads(1)
    grid = np.linspace(0.0, 1.0, 2**20, dtype=np.float32)
    rng = np.random.default_rng(0)
    candidates = (
        ("decode color.srgb_to_linear", srgb_to_linear, _exact_decode),
        ("decode NumPy formula", _numpy_decode, _exact_decode),
        ("decode 65536-entry table", _table(_exact_decode), _exact_decode),
        ("encode color.linear_to_srgb", linear_to_srgb, _exact_encode),
        ("encode NumPy formula", _numpy_encode, _exact_encode),
        ("encode 65536-entry table", _table(_exact_encode), _exact_encode),
    )
    for label, (h, w) in (("1 MP", (1024, 1024)), ("3 MP", (2048, 1536))):
        x = rng.random((h, w, 3), dtype=np.float32)
        print(f"{label} ({w}x{h} RGB float32), best of {repeat}")
        for name, fn, exact in candidates:
            t = _best(lambda fn=fn, x=x: fn(x), repeat)
            err = np.abs(fn(grid) - exact(grid.astype(np.float64))).max()
            print(f"  {name:30s} {t * 1e3:7.1f} ms   max error {err:.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--srgb", action="store_true", help="time the sRGB transfer curves instead")
    args = ap.parse_args()
    if args.srgb:
        bench_srgb(args.repeat)
        return

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
