"""The enlargement factor (:func:`mesovision.enlargement.enlargement_factor`) on real faces.

For every single-face photo of one half of the people of ``../shared/faces``
(``benchmarks/_faces.py``), the working copy as loaded (at most 2048 px on a side) is measured as
it is (an *original*), and enlarged copies of it are made: reduced by 2, 3 and 4 (``INTER_AREA``
for the OpenCV kernels, Pillow's Lanczos for Pillow's), enlarged back to the same size with
OpenCV's bicubic, bilinear and Lanczos-4 and Pillow's bicubic, bilinear and Lanczos, and saved
as JPEG (quality 85 unless ``--quality``), then decoded and measured. The face mesh is the
original's (an enlarged copy has the same geometry). A photo is said enlarged when its factor
reaches :data:`mesovision.enlargement.ENLARGED_FACTOR`.

Printed: the originals said enlarged (false alarms; each named with its factor: some originals
are soft or themselves enlarged) and those with a pixel-grid pattern (the estimate's second cue,
step 5 of :mod:`mesovision.enlargement`, whether or not it counted), and per factor and kernel
the share said enlarged, the share with the pattern, the median factor and the 10th-90th
percentiles of the factor over the truth; then the estimate's cost on the originals, and the
pattern's alone.

Run: python benchmarks/enlarged.py --split dev|held-out [--quality 85] [--faces DIR]
About 0.3 s per photo (the face mesh of each original, 18 copies).
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _faces import faces_dir, labelled_faces, split_people  # noqa: E402

from mesovision.enlargement import (  # noqa: E402
    ENLARGED_FACTOR,
    _face_box,
    _pattern_frequency,
    enlargement_factor,
)
from mesovision.io import load_photo  # noqa: E402

FACTORS = (2, 3, 4)
KERNELS = {
    "cv2 bicubic": cv2.INTER_CUBIC,
    "cv2 bilinear": cv2.INTER_LINEAR,
    "cv2 lanczos": cv2.INTER_LANCZOS4,
    "PIL bicubic": Image.Resampling.BICUBIC,
    "PIL bilinear": Image.Resampling.BILINEAR,
    "PIL lanczos": Image.Resampling.LANCZOS,
}


def enlarged_copy(
    rgb8: np.ndarray, k: float, kernel: str, quality: int
) -> tuple[np.ndarray, float]:
    """``rgb8`` (uint8 RGB) reduced ``k`` times, enlarged back to its size with ``kernel``
    (a key of :data:`KERNELS`), saved as JPEG of ``quality`` and decoded; and the true factor
    (the size over the reduced size)."""
    h, w = rgb8.shape[:2]
    sw, sh = max(8, round(w / k)), max(8, round(h / k))
    if kernel.startswith("cv2"):
        small = cv2.resize(rgb8, (sw, sh), interpolation=cv2.INTER_AREA)
        big = cv2.resize(small, (w, h), interpolation=KERNELS[kernel])
    else:
        small = Image.fromarray(rgb8).resize((sw, sh), Image.Resampling.LANCZOS)
        big = np.asarray(small.resize((w, h), KERNELS[kernel]))
    buf = io.BytesIO()
    Image.fromarray(big).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB")), w / sw


def pattern(rgb: np.ndarray, points: np.ndarray) -> bool:
    """Whether the face of ``rgb`` has the pixel-grid pattern of an enlargement near 3x."""
    return _pattern_frequency(rgb, _face_box(rgb, points)) is not None


def measure(paths: list[Path], quality: int) -> tuple[list, dict, list[float]]:
    """``(originals, copies, costs)``: ``(name, factor, pattern)`` of each original, ``{(k,
    kernel): [(factor, true factor, pattern), ...]}`` and the cost of each estimate and of the
    pattern alone on each original (s)."""
    from mesovision.landmarks import detect_landmarks_upright

    originals, copies, costs = [], {}, []
    for path in paths:
        photo = load_photo(path)
        _, rgb, lm = detect_landmarks_upright(photo.rgb, path=str(path), warn_faces=False)
        pts, iod = lm.points, lm.interocular_px
        t = time.perf_counter()
        f = enlargement_factor(rgb, pts, iod)
        t2 = time.perf_counter()
        originals.append((path.name, f, pattern(rgb, pts)))
        costs.append((t2 - t, time.perf_counter() - t2))
        rgb8 = np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
        for k in FACTORS:
            for kernel in KERNELS:
                copy, truth = enlarged_copy(rgb8, k, kernel, quality)
                copy = copy.astype(np.float32) / 255
                f = enlargement_factor(copy, pts, iod)
                copies.setdefault((k, kernel), []).append((f, truth, pattern(copy, pts)))
    return originals, copies, costs


def report(originals, copies, costs) -> None:
    flagged = [(n, f) for n, f, _ in originals if f >= ENLARGED_FACTOR]
    print(f"said enlarged from a factor of {ENLARGED_FACTOR}")
    print(f"originals: {len(flagged)} of {len(originals)} said enlarged (false alarms)")
    for name, f in sorted(flagged, key=lambda x: -x[1]):
        print(f"  {name}: {f:.2f}")
    patterned = [(n, f) for n, f, p in originals if p]
    print(f"originals with the pixel-grid pattern: {len(patterned)}")
    for name, f in patterned:
        print(f"  {name}: {f:.2f}")
    head = f"{'copy':>18} {'n':>4} {'said':>6} {'pattern':>8} {'median':>7}"
    print(f"{head} {'factor/truth p10-p90':>21}")
    for (k, kernel), rows in copies.items():
        f = np.array([r[0] for r in rows])
        ratio = f / np.array([r[1] for r in rows])
        said = 100 * np.mean(f >= ENLARGED_FACTOR)
        found = 100 * np.mean([r[2] for r in rows])
        lo, hi = np.percentile(ratio, [10, 90])
        print(
            f"{k}x {kernel:>15} {len(rows):4d} {said:5.0f}% {found:7.0f}% {np.median(f):7.2f} "
            f"{lo:10.2f}-{hi:.2f}"
        )
    for name, group in (
        ("all copies", list(copies)),
        ("3x and 4x", [c for c in copies if c[0] > 2]),
    ):
        said = np.concatenate([[r[0] >= ENLARGED_FACTOR for r in copies[c]] for c in group])
        print(f"{name}: {100 * said.mean():.0f}% said enlarged")
    for name, c in zip(("cost per original", "the pattern alone"), np.array(costs).T, strict=True):
        print(f"{name}: median {1e3 * np.median(c):.1f} ms, max {1e3 * c.max():.1f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("dev", "held-out"), default="dev")
    ap.add_argument("--quality", type=int, default=85, help="JPEG quality of the copies")
    ap.add_argument("--faces", type=Path, default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    folder = args.faces or faces_dir()
    if folder is None:
        print("no faces folder: set MESOVISION_FACES", file=sys.stderr)
        return 2
    faces = labelled_faces(folder)
    dev, held = split_people({p for _, p in faces})
    people = dev if args.split == "dev" else held
    paths = [f for f, p in faces if p in people]
    print(f"{args.split}: {len(paths)} photos of {len(people)} people, JPEG quality {args.quality}")
    report(*measure(paths, args.quality))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
