"""Colours inside sRGB are never marked as outside it: real faces re-encoded in wide-gamut profiles.

Every single-face photo of the shared face set (sRGB, so inside sRGB's gamut) is converted to
Display P3, Adobe RGB (1998) and ProPhoto (ROMM, gamma 1.8) with Pillow's LittleCMS binding
(relative colorimetric), written as a PNG with the profile embedded and loaded
(:func:`mesovision.io.load_photo`). Printed per profile: the pixels that the conversion back to
sRGB clips while the file does not (a channel at 0-1 or 254-255 after it, none in the file: the
candidates of :func:`mesovision.io.icc.gamut_clipped`), the largest difference in 8-bit levels of
their colour taken back to the profile from the file's (at most
:data:`mesovision.io.icc.GAMUT_TOLERANCE` for a colour inside sRGB), and the pixels marked
``gamut_clipped`` (0 expected). The same for a CMYK profile of known colours
(:func:`mesovision.testing.cmyk.cmyk_icc`, written as a CMYK TIFF, lossless): the pixels the
conversion to sRGB clips, and those marked, with how far the marked ones lie outside sRGB in that
profile's model (:func:`~mesovision.testing.cmyk.cmyk_srgb_linear`, in 8-bit sRGB levels).

Run: python benchmarks/gamut.py [--faces DIR]
The face folder defaults to ``$MESOVISION_FACES`` or ``../shared/faces``. About 0.3 s per photo.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _faces import faces_arguments, labelled_faces  # noqa: E402

from mesovision.io import load_photo  # noqa: E402
from mesovision.io.icc import GAMUT_TOLERANCE  # noqa: E402
from mesovision.io.profiles import (  # noqa: E402
    ADOBE_RGB_GAMMA,
    ADOBE_RGB_XY,
    PROPHOTO_XY,
    SRGB_CURVE,
    matrix_trc_icc,  # noqa: E402
)
from mesovision.testing.cmyk import cmyk_icc, cmyk_srgb_linear  # noqa: E402

P3_XY = np.array([[0.680, 0.320], [0.265, 0.690], [0.150, 0.060], [0.3127, 0.3290]])
PROFILES = {
    "Display P3": matrix_trc_icc(P3_XY, SRGB_CURVE, "Display P3"),
    "Adobe RGB": matrix_trc_icc(ADOBE_RGB_XY, (ADOBE_RGB_GAMMA,), "Adobe RGB"),
    "ProPhoto": matrix_trc_icc(PROPHOTO_XY, (1.8,), "ProPhoto"),
}


def _clipped(a: np.ndarray) -> np.ndarray:
    return ((a <= 1) | (a >= 254)).any(axis=-1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args, folder = faces_arguments(ap, argv)
    if folder is None:
        return 2
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    faces = labelled_faces(folder)
    stats = {name: [0, 0, 0] for name in PROFILES}  # candidates, largest error, marked
    with tempfile.TemporaryDirectory() as d:
        for path, _ in faces:
            im = Image.fromarray((load_photo(path).rgb * 255 + 0.5).astype(np.uint8))
            for name, raw in PROFILES.items():
                prof = ImageCms.ImageCmsProfile(io.BytesIO(raw))
                src = ImageCms.profileToProfile(im, srgb, prof, renderingIntent=1)
                src.save(Path(d) / "p.png", icc_profile=raw)
                photo = load_photo(Path(d) / "p.png")
                a, b = np.asarray(src), (photo.rgb * 255 + 0.5).astype(np.uint8)
                cand = _clipped(b) & ~_clipped(a)
                s = stats[name]
                s[2] += 0 if photo.gamut_clipped is None else int(photo.gamut_clipped.sum())
                if cand.any():
                    back = ImageCms.profileToProfile(
                        Image.fromarray(np.ascontiguousarray(b[cand][None])), srgb, prof,
                        renderingIntent=1,
                    )  # fmt: skip
                    err = np.abs(np.asarray(back)[0].astype(int) - a[cand]).max()
                    s[0], s[1] = s[0] + int(cand.sum()), max(s[1], int(err))
    print(f"{len(faces)} photos; tolerance {GAMUT_TOLERANCE} levels")
    for name, (n, err, marked) in stats.items():
        print(f"{name:11} candidates {n:8d}, largest error {err} levels, marked {marked}")
    clipped, beyond = _cmyk(faces, srgb)
    print(
        f"CMYK (test) clipped {clipped:8d}, marked {beyond.size}, outside sRGB by "
        f"{beyond.min() if beyond.size else 0:.1f}-{beyond.max() if beyond.size else 0:.1f} levels"
    )
    return 0


def _cmyk(faces, srgb) -> tuple[int, np.ndarray]:
    """The faces converted to the test CMYK profile (TIFF) and loaded: the pixels the conversion
    to sRGB clips, and how far outside sRGB (8-bit levels, the model's truth) each marked one
    lies."""
    raw = cmyk_icc()
    prof = ImageCms.ImageCmsProfile(io.BytesIO(raw))
    clipped, beyond = 0, []
    with tempfile.TemporaryDirectory() as d:
        for path, _ in faces:
            im = Image.fromarray((load_photo(path).rgb * 255 + 0.5).astype(np.uint8))
            src = ImageCms.profileToProfile(im, srgb, prof, renderingIntent=1, outputMode="CMYK")
            src.save(Path(d) / "c.tif", icc_profile=raw)
            photo = load_photo(Path(d) / "c.tif")
            clipped += int(_clipped((photo.rgb * 255 + 0.5).astype(np.uint8)).sum())
            if photo.gamut_clipped is not None:
                lin = cmyk_srgb_linear(np.asarray(src)[photo.gamut_clipped] / 255.0)
                hi = (np.maximum(lin, 1) ** (1 / 2.4) * 1.055 - 0.055 - 1) * 255
                beyond.append(np.maximum(hi, -np.minimum(lin, 0) * 12.92 * 255).max(axis=1))
    return clipped, np.concatenate(beyond) if beyond else np.zeros(0)


if __name__ == "__main__":
    raise SystemExit(main())
