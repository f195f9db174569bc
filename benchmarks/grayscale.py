"""The chroma statistic that tells a photo without colour: real colour photos against grey copies.

For every photo of the shared face set (all colour) :func:`mesovision.io.chroma_p99` is measured
on the working copy as loaded, and on copies of it made in a temporary folder: a grayscale JPEG
(quality 90), an RGB JPEG of equal channels at quality 95, one at quality 50 re-compressed at 30
with 4:2:0 subsampling, an RGB PNG of equal channels, the grey with independent noise of 2, 5
and 10 8-bit levels per channel before a JPEG at 90, a sepia toning (JPEG 85) and the photo
desaturated to a fifth of its colour (JPEG 85). Printed: the minimum, median and maximum of each,
against :data:`mesovision.io.GRAYSCALE_MAX_CHROMA`.

Run: python benchmarks/grayscale.py [--faces DIR]
The face folder defaults to ``$MESOVISION_FACES`` or ``../shared/faces``. About 0.5 s per photo.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _faces import faces_arguments  # noqa: E402

from mesovision.io import GRAYSCALE_MAX_CHROMA, chroma_p99, load_photo  # noqa: E402


def _variants(src: Image.Image, tmp: Path, rng: np.random.Generator) -> dict[str, Path]:
    """The grey and near-grey copies of ``src`` (8-bit RGB), written in ``tmp``."""
    grey = src.convert("L")
    out = {}

    def save(name, im, **kw):
        out[name] = tmp / name
        im.save(out[name], "PNG" if name.endswith(".png") else "JPEG", **kw)

    save("grey.jpg", grey, quality=90)
    save("equal_q95.jpg", grey.convert("RGB"), quality=95)
    save("equal_q50.jpg", grey.convert("RGB"), quality=50)
    save("equal_q50_30.jpg", Image.open(out["equal_q50.jpg"]).convert("RGB"), quality=30,
         subsampling=2)  # fmt: skip
    save("equal.png", grey.convert("RGB"))
    g = np.asarray(grey, np.float32)[..., None]
    for sd in (2, 5, 10):
        noisy = np.clip(g + rng.normal(0, sd, g.shape[:2] + (3,)), 0, 255).astype(np.uint8)
        save(f"noise{sd}.jpg", Image.fromarray(noisy), quality=90)
    sepia = ImageOps.colorize(grey, black="#2b1d0e", white="#fff4e0", mid="#a07850")
    save("sepia.jpg", sepia, quality=85)
    save("desaturated_20pct.jpg", Image.blend(grey.convert("RGB"), src, 0.2), quality=85)
    del out["equal_q50.jpg"]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args, folder = faces_arguments(ap, argv)
    if folder is None:
        return 2
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    rng = np.random.default_rng(0)
    values: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as d:
        for path in files:
            photo = load_photo(path)
            values.setdefault("colour (as loaded)", []).append(chroma_p99(photo.rgb))
            src = Image.fromarray((photo.rgb * 255 + 0.5).astype(np.uint8))
            for name, p in _variants(src, Path(d), rng).items():
                values.setdefault(name, []).append(load_photo(p).capture.chroma_p99)
    print(f"{len(files)} photos; grayscale at chroma_p99 <= {GRAYSCALE_MAX_CHROMA}")
    print(f"{'copy':24} {'min':>7} {'median':>7} {'max':>7}")
    for name, v in values.items():
        print(f"{name:24} {min(v):7.2f} {float(np.median(v)):7.2f} {max(v):7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
