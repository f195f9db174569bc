"""How much the expression scores move when nothing but the capture changes.

For every single-face photo of ``../shared/faces`` (or ``$MESOVISION_FACES``) and the two
sample faces, the Face Landmarker's expression scores (:mod:`mesovision.expression`) are read on
the photo and on synthetic recaptures of the same expression: rotated by +-5 deg, scaled by
0.85, another lamp (gain and white balance), a left-to-right light ramp, JPEG recompression at
quality 60, half the resolution, sensor noise. Each expression's limit for the
``*_vs_baseline`` checks is chosen on the recapture changes of half of the people (the 99th
percentile of ``|change|``, rounded up to 0.05, at least 0.10) and the false warnings of the
limits in use are counted on the other half. Also printed: how many photos read above the
neutral-expression limit.

    python benchmarks/expression.py

The 150 x 150 crops of the faces folder are enlarged to 600 px (cubic) before use.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _faces import faces_dir, labelled_faces, sample_faces, split_people  # noqa: E402

from mesovision.errors import NoFace  # noqa: E402
from mesovision.expression import (  # noqa: E402
    EXPRESSIONS,
    MAX_EXPRESSION_SCORE,
    NEUTRAL_CHECKED,
    expression_scores,
)
from mesovision.io import load_photo  # noqa: E402
from mesovision.landmarks import detect_landmarks  # noqa: E402
from mesovision.testing.synthetic import apply_lighting, apply_similarity  # noqa: E402


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)).save(
        buf, "JPEG", quality=quality
    )
    return np.asarray(Image.open(buf), np.float32) / 255


def _half(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _noise(rgb: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.clip(rgb + rng.normal(0, 0.02, rgb.shape).astype(np.float32), 0, 1)


#: The recaptures: name -> function of the photo.
RECAPTURES = {
    "rotate +5": lambda x: apply_similarity(x, angle_deg=5)[0],
    "rotate -5, scale 0.85": lambda x: apply_similarity(x, angle_deg=-5, scale=0.85)[0],
    "lamp": lambda x: apply_lighting(x, gain=0.75, white_balance=(1.08, 1.0, 0.9)),
    "light ramp": lambda x: apply_lighting(x, ramp=0.3),
    "jpeg 60": lambda x: _jpeg(x, 60),
    "half resolution": _half,
    "noise 0.02": _noise,
}


def photos() -> list[tuple[str, str, np.ndarray]]:
    """``(name, person, rgb)`` of the sample faces and the labelled faces."""
    out = []
    for p in sample_faces():
        out.append((f"sample {p.parent.name}", p.parent.name, load_photo(p, max_side=1024).rgb))
    folder = faces_dir()
    if folder is None:
        print("(../shared/faces not found: the sample faces only)")
        return out
    for path, person in labelled_faces(folder):
        rgb = load_photo(path, max_side=1024).rgb
        if max(rgb.shape[:2]) < 300:
            rgb = cv2.resize(rgb, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
        out.append((path.name, person, rgb))
    return out


def _scores(rgb: np.ndarray) -> dict[str, float] | None:
    try:
        return expression_scores(detect_landmarks(rgb).blendshapes)
    except NoFace:
        return None


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    rows = []  # (person, recapture, {expression: change})
    absolute = []
    n_photos, people = 0, set()
    for name, person, rgb in photos():
        base = _scores(rgb)
        if base is None:
            print(f"{name}: no face")
            continue
        n_photos += 1
        people.add(person)
        absolute.append(base)
        for rc, fn in RECAPTURES.items():
            s = _scores(fn(rgb))
            if s is not None:
                rows.append((person, rc, {k: s[k] - base[k] for k in EXPRESSIONS}))
    dev, held = split_people(people)
    print(f"{n_photos} photos of {len(people)} people; {len(rows)} recaptures")
    print(f"development half: {len(dev)} people; held-out half: {len(held)} people\n")

    def changes(subset, key=None):
        return np.array(
            [abs(d[k]) for p, _, d in rows if p in subset for k in EXPRESSIONS if key in (None, k)]
        )

    print("| expression | dev p95 | dev p99 | dev max | held-out p99 | held-out max |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k in EXPRESSIONS:
        a, b = changes(dev, k), changes(held, k)
        print(
            f"| {k} | {np.percentile(a, 95):.3f} | {np.percentile(a, 99):.3f} | {a.max():.3f} | "
            f"{np.percentile(b, 99):.3f} | {b.max():.3f} |"
        )
    print("\n| expression | limit from the development half | limit used | held-out warnings |")
    print("| --- | --- | --- | --- |")
    for k, e in EXPRESSIONS.items():
        chosen = max(0.10, math.ceil(np.percentile(changes(dev, k), 99) / 0.05) * 0.05)
        held_out = changes(held, k)
        warned = int(np.sum(held_out > e.max_change))
        print(f"| {k} | {chosen:.2f} | {e.max_change:.2f} | {warned} of {held_out.size} |")
    for label, subset in (("development", dev), ("held-out", held)):
        recs = [d for p, _, d in rows if p in subset]
        warned = sum(any(abs(v) > EXPRESSIONS[k].max_change for k, v in d.items()) for d in recs)
        print(f"{label}: {warned} of {len(recs)} recaptures warn on some expression")
    print("\nper recapture (all people): recaptures that warn on some expression")
    for rc in RECAPTURES:
        recs = [d for _, r, d in rows if r == rc]
        warned = sum(any(abs(v) > EXPRESSIONS[k].max_change for k, v in d.items()) for d in recs)
        print(f"  {rc}: {warned} of {len(recs)}")
    high = {k: sum(s[k] > MAX_EXPRESSION_SCORE for s in absolute) for k in NEUTRAL_CHECKED}
    print(f"\nphotos above the neutral limit {MAX_EXPRESSION_SCORE}: {high} of {len(absolute)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
