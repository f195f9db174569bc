"""What a palette (256-colour) PNG does to a comparison: each real face against its palette copy.

For every single-face photo of the shared face set, the working copy as loaded is written as a
lossless RGB PNG and as palette PNGs, the ways Pillow (and most exporters) quantize: an adaptive
palette of 256 colours (median cut) without dithering (``convert("P", palette=ADAPTIVE)``, as in
the inputs audit) and with Floyd-Steinberg dithering, and the fixed web palette of 216 colours,
dithered (``convert("P")``, Pillow's default). Each palette copy
is compared with the RGB PNG (:func:`mesovision.compare`, redness only: the mismatch and the
verdicts are the pair's); printed per way: the pair's light mismatch on untreated skin
(``mismatch.delta_e00``, CIEDE2000 of tile means, median over tiles), the colour family's verdicts,
and the per-pixel CIEDE2000 on the face skin (median and 95th percentile of each photo's, as
medians over photos), for development and held-out people.

Run: python benchmarks/palette.py [--faces DIR] [--limit N]
The face folder defaults to ``$MESOVISION_FACES`` or ``../shared/faces``. About 3 s per photo.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _faces import HELD_OUT_PEOPLE, faces_arguments, labelled_faces  # noqa: E402

import mesovision as mv  # noqa: E402
from mesovision.color import delta_e_ciede2000, rgb_to_lab  # noqa: E402
from mesovision.errors import MesovisionError  # noqa: E402
from mesovision.landmarks import detect_landmarks  # noqa: E402
from mesovision.regions import region_masks  # noqa: E402

WAYS = {
    "adaptive 256": lambda im: im.convert("P", palette=Image.Palette.ADAPTIVE),
    "adaptive 256, dithered": lambda im: im.quantize(palette=im.quantize(256)),
    "web 216, dithered": lambda im: im.convert("P"),
}


def _skin_de(pair_before, pair_after, mask) -> tuple[float, float]:
    de = delta_e_ciede2000(rgb_to_lab(pair_before[mask]), rgb_to_lab(pair_after[mask]))
    return float(np.median(de)), float(np.percentile(de, 95))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None)
    args, folder = faces_arguments(ap, argv)
    if folder is None:
        return 2
    rows: list[tuple[str, str, float | None, str, float, float]] = []
    faces = labelled_faces(folder)[: args.limit]
    with tempfile.TemporaryDirectory() as d:
        for path, person in faces:
            photo = mv.load_photo(path)
            try:
                lm = detect_landmarks(photo.rgb)
            except MesovisionError:
                continue
            src = Image.fromarray((photo.rgb * 255 + 0.5).astype(np.uint8))
            rgb_png = Path(d) / "rgb.png"
            src.save(rgb_png)
            skin = region_masks(lm, photo.rgb.shape, rgb=photo.rgb)["face"]
            half = "held-out" if person in HELD_OUT_PEOPLE else "development"
            for way, make in WAYS.items():
                pal = Path(d) / "palette.png"
                make(src).save(pal)
                try:
                    r = mv.compare(rgb_png, pal, metrics=["redness.mean_a"])
                except MesovisionError as exc:
                    print(f"{path.name}: {way}: {exc}", file=sys.stderr)
                    continue
                med, p95 = _skin_de(photo.rgb, mv.load_photo(pal).rgb, skin)
                de = r.mismatch.delta_e00 if r.mismatch is not None else None
                rows.append((half, way, de, r.verdicts["colour"].status, med, p95))
    for half in ("development", "held-out"):
        for way in WAYS:
            sel = [r for r in rows if r[0] == half and r[1] == way]
            if not sel:
                continue
            de = np.array([r[2] for r in sel if r[2] is not None])
            status = Counter(r[3] for r in sel)
            print(
                f"{half:11} {way:23} {len(sel):3d} faces: dE00 on reference skin median "
                f"{np.median(de):.2f} max {de.max():.2f}; colour {dict(status)}; per-pixel dE00 "
                f"on the face median {np.median([r[4] for r in sel]):.2f}, p95 "
                f"{np.median([r[5] for r in sel]):.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
