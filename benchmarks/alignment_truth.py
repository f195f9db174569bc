"""Does the reported alignment residual bound the true alignment error?

For up to ``--per-person`` photos of each person of ``../shared/faces`` (or ``$MESOVISION_FACES``;
single-face photos with a long side of at least 300 px), the photo is moved by a known
similarity (rotation up to 8 deg, scale 0.9-1.1, shift up to 3 % of the width; JPEG quality 92)
and aligned back onto itself with ``align_pair``. The true error is the distance, over the 468
mesh points of the before photo, between where the estimated and the true transform send them
(% of the interocular distance); the reported figure is ``alignment.residual_px``.

    python benchmarks/alignment_truth.py

In-plane similarity only: head turns in depth (``mesovision.synthetic.turn_head``) are not
included yet.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _faces import faces_dir, labelled_faces  # noqa: E402

from mesovision.errors import MesovisionError  # noqa: E402
from mesovision.io import load_photo  # noqa: E402
from mesovision.pipeline import align_pair  # noqa: E402
from mesovision.synthetic import apply_similarity  # noqa: E402


def _u8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-person", type=int, default=2)
    ap.add_argument("--moves", type=int, default=2, help="known moves per photo")
    args = ap.parse_args(argv)
    folder = faces_dir()
    if folder is None:
        print("../shared/faces not found (set MESOVISION_FACES)", file=sys.stderr)
        return 1
    rng = np.random.default_rng(0)
    rows, seen = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for path, person in labelled_faces(folder):
            if seen.get(person, 0) >= args.per_person:
                continue
            rgb = load_photo(path).rgb
            if max(rgb.shape[:2]) < 300:
                continue
            seen[person] = seen.get(person, 0) + 1
            before = Path(tmp) / "before.png"
            Image.fromarray(_u8(rgb)).save(before)
            for k in range(args.moves):
                moved, m = apply_similarity(
                    rgb,
                    angle_deg=rng.uniform(-8, 8),
                    scale=rng.uniform(0.9, 1.1),
                    shift_xy=rng.uniform(-0.03, 0.03, 2) * rgb.shape[1],
                )
                after = Path(tmp) / f"after_{k}.jpg"
                Image.fromarray(_u8(moved)).save(after, quality=92)
                try:
                    pair = align_pair(str(before), str(after))
                except MesovisionError as e:
                    print(f"{path.name}: {e}", file=sys.stderr)
                    continue
                al, lm = pair.alignment, pair.before_landmarks
                pts = lm.points[:468]
                in_after = pts @ m[:2, :2].T + m[:2, 2]
                back = in_after @ al.matrix[:2, :2].T + al.matrix[:2, 2]
                err = 100 * np.linalg.norm(back - pts, axis=1) / lm.interocular_px
                rows.append((err.mean(), err.max(), 100 * al.residual_px / lm.interocular_px))
    r = np.array(rows)
    print(f"{len(r)} aligned pairs of {sum(seen.values())} photos of {len(seen)} people")
    print(
        f"true error, % IOD: mean {r[:, 0].mean():.2f} (largest pair mean {r[:, 0].max():.2f}; "
        f"largest point error {r[:, 1].max():.2f})"
    )
    print(f"reported residual, % IOD: median {np.median(r[:, 2]):.2f}")
    print(f"reported >= true mean error in {np.mean(r[:, 2] >= r[:, 0]):.0%} of pairs")
    print(f"reported >= true largest point error in {np.mean(r[:, 2] >= r[:, 1]):.0%} of pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
