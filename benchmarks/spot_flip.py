"""How far a spot candidate's tested quantities move between two captures of the same skin.

The spot count's flip variance (:mod:`mesovision.metrics._spot_flip`) needs, for each test of
the spot detector, the spread of the tested quantity between captures: peak darkness (L*),
log area, log elongation, log half-maximum area. This script measures them: every photo of the
chosen half of the people (``_faces.split_people``, as ``calibration.py``; the development half
by default) is recaptured ``--recaptures`` times (a seeded pose change as in ``calibration.py``:
rotation up to 4 deg, scale 0.93-1.07, shift up to 3 % of the width; a focus change, Gaussian
sigma up to 0.6 px; JPEG quality 60-95; and the lighting a colour normalization leaves: gain
+-5 %, white balance +-2 %, a ramp of +-5 %). The candidates of both photos
(:func:`mesovision.metrics.pigmentation.spot_pixels`, components of 3-400 px) are matched
through the known transform (mutual nearest centroids within 1.5 px), and the robust spread
(``MAD_TO_SD x MAD``) of the matched candidates' differences is printed per quantity, in the
units of the spread model of :mod:`mesovision.metrics._spot_flip` (the peak's difference
relative to the peak; the log areas' and the log elongation's times the square root of the
area), over all matched candidates and by half-maximum area: the constants
``SPOT_FLIP_REL_DL``, ``SPOT_FLIP_LOG_AREA`` and ``SPOT_FLIP_LOG_ELONGATION``.

    python benchmarks/spot_flip.py [--half dev] [--recaptures 2] [--photos N]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _faces import half_photos, recapture_arguments  # noqa: E402


def _recapture(rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The calibration's recapture under a milder light change, JPEG-compressed and decoded:
    ``(image, matrix)``."""
    from calibration import _jpeg_bytes
    from calibration import _recapture as recapture

    out, m = recapture(rgb, rng, (0.05, 0.02, 0.05), matrix=True)
    buf = io.BytesIO(_jpeg_bytes(out, int(rng.integers(60, 96))))
    return np.asarray(Image.open(buf).convert("RGB"), np.float32) / 255.0, m


def candidates(rgb: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(centroids (n, 2) x, y; per-candidate stats)`` of the candidates of 3-400 px."""
    from mesovision.color import rgb_to_lab
    from mesovision.metrics._spot_flip import candidate_stats
    from mesovision.metrics.pigmentation import (
        SPOT_EXTENT_SHARE,
        SPOT_PEAK_QUANTILE,
        spot_pixels,
    )

    lab = rgb_to_lab(rgb).astype(np.float32)
    L, b = np.ascontiguousarray(lab[..., 0]), np.ascontiguousarray(lab[..., 2])
    contrast, cand = spot_pixels(L, b)
    stats = candidate_stats(
        contrast, cand, extent_share=SPOT_EXTENT_SHARE, peak_quantile=SPOT_PEAK_QUANTILE
    )
    n = stats["area"].size
    ys, xs = np.nonzero(cand)
    lab_ = stats["labels"][ys, xs]
    w = np.maximum(np.bincount(lab_, minlength=n), 1)
    cxy = np.stack([np.bincount(lab_, xs, n) / w, np.bincount(lab_, ys, n) / w], axis=1)
    keep = (stats["area"] >= 3) & (stats["area"] <= 400)
    keep[0] = False
    return cxy[keep], {k: v[keep] for k, v in stats.items() if k != "labels"}


def matched(rgb: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The differences (after - before) of the tested quantities of the matched candidates,
    and the before values (``peak0``, ``half0``)."""
    from scipy.spatial import cKDTree

    c0, s0 = candidates(rgb)
    after, m = _recapture(rgb, rng)
    c1, s1 = candidates(after)
    if len(c0) == 0 or len(c1) == 0:
        return {}
    inv = np.linalg.inv(m)
    back = (np.c_[c1, np.ones(len(c1))] @ inv.T)[:, :2]
    d01, j = cKDTree(back).query(c0)
    _, i = cKDTree(c0).query(back)
    ok = (d01 <= 1.5) & (i[j] == np.arange(len(c0)))
    a, b = np.flatnonzero(ok), j[ok]
    scale = float(np.sqrt(abs(np.linalg.det(m[:2, :2]))))
    return {
        "peak": s1["peak"][b] - s0["peak"][a],
        # areas compared in the before frame (the recapture's scale taken out)
        "log_area": np.log(s1["area"][b] / scale**2) - np.log(s0["area"][a]),
        "log_half_area": np.log(np.maximum(s1["half_area"][b], 0.5) / scale**2)
        - np.log(np.maximum(s0["half_area"][a], 0.5)),
        "log_elongation": np.log(s1["elongation"][b]) - np.log(s0["elongation"][a]),
        "peak0": s0["peak"][a],
        "area0": s0["area"][a],
        "half0": s0["half_area"][a],
    }


def main(argv=None) -> int:
    from mesovision.io import load_photo
    from mesovision.noise import robust_sd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    recapture_arguments(ap)
    args = ap.parse_args(argv)
    rows = half_photos(args.half, args.photos)
    if rows is None:
        print("../shared/faces not found", file=sys.stderr)
        return 2
    chosen, people = [p for p, _ in rows], {q for _, q in rows}
    parts: dict[str, list] = {}
    for k, path in enumerate(chosen):
        rgb = load_photo(path).rgb
        rng = np.random.default_rng(7000 + k)
        for _ in range(args.recaptures):
            for key, v in matched(rgb, rng).items():
                parts.setdefault(key, []).append(v)
    d = {k: np.concatenate(v) for k, v in parts.items()}
    # Each difference in the units of its spread model (mesovision.metrics._spot_flip): the
    # peak's relative to the peak, the log areas' and log elongation's times sqrt(area).
    norm = {
        "peak / peak (SPOT_FLIP_REL_DL)": d["peak"] / np.maximum(d["peak0"], 1e-3),
        "log area x sqrt(area) (SPOT_FLIP_LOG_AREA)": d["log_area"] * np.sqrt(d["area0"]),
        "log half area x sqrt(half area) (SPOT_FLIP_LOG_AREA)": d["log_half_area"]
        * np.sqrt(np.maximum(d["half0"], 0.5)),
        "log elongation x sqrt(area) (SPOT_FLIP_LOG_ELONGATION)": d["log_elongation"]
        * np.sqrt(d["area0"]),
    }
    bins = ((4, 8), (8, 16), (16, 32), (32, 64), (64, 400))
    print(
        f"{len(chosen)} photos of the {args.half} half ({len(people)} people), "
        f"{args.recaptures} recaptures each: {d['peak'].size} matched candidates"
    )
    print("robust sd of the difference between captures, by half-maximum area (px):")
    print("| quantity | all | " + " | ".join(f"{lo}-{hi}" for lo, hi in bins) + " |")
    print("| --- | --- |" + " --- |" * len(bins))
    for name, x in norm.items():
        cells = [f"{robust_sd(x[(d['half0'] >= lo) & (d['half0'] < hi)]):.3f}" for lo, hi in bins]
        print(f"| {name} | {robust_sd(x[np.isfinite(x)]):.3f} | " + " | ".join(cells) + " |")
    n = [int(np.sum((d["half0"] >= lo) & (d["half0"] < hi))) for lo, hi in bins]
    print("| candidates | " + str(d["peak"].size) + " | " + " | ".join(map(str, n)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
