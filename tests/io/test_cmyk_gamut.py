"""A CMYK file's colours outside sRGB (a full cyan ink) are clipped by the conversion to sRGB and
marked in ``Photo.gamut_clipped`` as a wide-gamut RGB file's are; colours inside sRGB, those at
its edge included, are not. The profile is written by the test
(:func:`mesovision.testing.cmyk.cmyk_icc`: no CMYK profile ships with Pillow), its colours' truth
is :func:`~mesovision.testing.cmyk.cmyk_srgb_linear`."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import SAMPLES
from PIL import Image, ImageCms

from mesovision.io import load_photo
from mesovision.testing.cmyk import cmyk_icc, cmyk_srgb_linear

ICC = cmyk_icc()
SIDE = 16  # px of each colour's block (JPEG blocks of one colour: no ringing)
#: CMYK colours (0-1) and whether they lie outside sRGB
COLOURS = [
    ((1.0, 0.0, 0.0, 0.0), True),  # full cyan
    ((0.0, 1.0, 0.0, 0.0), True),  # full magenta
    ((1.0, 0.0, 1.0, 0.0), True),  # green
    ((0.7, 0.1, 0.0, 0.0), True),
    ((0.6, 0.0, 0.0, 0.0), True),
    ((0.4, 0.0, 0.0, 0.0), False),  # at sRGB's edge (green and blue at their maximum), inside
    ((0.1, 0.4, 0.5, 0.05), False),  # skin tones
    ((0.2, 0.3, 0.3, 0.1), False),
    ((0.5, 0.5, 0.5, 0.0), False),  # grey
    ((0.0, 0.0, 0.0, 1.0), False),  # black
    ((0.0, 0.0, 0.0, 0.0), False),  # paper white
]


def _blocks() -> tuple[np.ndarray, np.ndarray]:
    """The CMYK pixels (8-bit) of one block per colour, and the pixels outside sRGB."""
    cmyk = np.array([c for c, _ in COLOURS])
    pixels = np.repeat(np.round(cmyk * 255).astype(np.uint8), SIDE, axis=0)[None]
    pixels = np.repeat(pixels, 2 * SIDE, axis=0)
    outside = np.repeat(np.array([o for _, o in COLOURS]), SIDE)[None].repeat(2 * SIDE, axis=0)
    return pixels, outside


def test_the_colours_said_outside_srgb_are_outside_it():
    lin = cmyk_srgb_linear(np.array([c for c, _ in COLOURS]))
    beyond = np.maximum(lin - 1, -lin).max(axis=1)  # how far outside [0, 1], linear
    for (colour, outside), d in zip(COLOURS, beyond, strict=True):
        assert (d > 0.03) if outside else (d < 1e-9), (colour, d)


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_colours_outside_srgb_are_marked(tmp_path, fmt):
    pixels, outside = _blocks()
    path = tmp_path / f"cmyk.{fmt.lower()}"
    kw = {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(pixels, "CMYK").save(path, format=fmt, icc_profile=ICC, **kw)
    photo = load_photo(path)
    assert photo.icc_profile == "CMYK (test)"
    np.testing.assert_array_equal(photo.gamut_clipped, outside)
    cyan = photo.rgb[SIDE, SIDE // 2]
    np.testing.assert_allclose(cyan, [0, 1, 1], atol=1 / 255)  # clipped at sRGB's cyan
    edge = photo.rgb[SIDE, 5 * SIDE + SIDE // 2]
    assert edge[1] > 254 / 255 and edge[2] > 254 / 255  # clipped too, but inside sRGB
    # the same file without its profile: no conversion from a profile, nothing marked
    Image.fromarray(pixels, "CMYK").save(path, format=fmt, **kw)
    assert load_photo(path).gamut_clipped is None


def test_a_cmyk_face_with_cyan_dots_is_warned_as_gamut_not_as_clipping(tmp_path):
    """The Grace Hopper sample converted to the profile (every colour inside sRGB: none
    marked), then every fifth pixel a full cyan: ``gamut`` counts them, ``clipping`` does not."""
    from mesovision.checks import check_photo

    prof = ImageCms.ImageCmsProfile(io.BytesIO(ICC))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    with Image.open(SAMPLES / "grace_hopper" / "before.jpg") as im:
        cmyk = ImageCms.profileToProfile(im.convert("RGB"), srgb, prof, 1, outputMode="CMYK")
    plain = tmp_path / "plain.tif"
    cmyk.save(plain, icc_profile=ICC)
    assert load_photo(plain).gamut_clipped is None
    a = np.asarray(cmyk).copy()
    rows, cols = np.indices(a.shape[:2])
    dots = (rows + cols) % 5 == 0
    a[dots] = (255, 0, 0, 0)
    dotted = tmp_path / "cyan.tif"
    Image.fromarray(a, "CMYK").save(dotted, icc_profile=ICC)
    np.testing.assert_array_equal(load_photo(dotted).gamut_clipped, dots)
    checks = {c["name"]: c for c in check_photo(str(dotted)).checks}
    assert checks["gamut"]["value"] == pytest.approx(0.2, abs=0.005) and not checks["gamut"]["ok"]
    assert checks["clipping"]["ok"]
