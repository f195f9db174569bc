"""``gamut``: colours outside sRGB in a wide-gamut photo are clipped by the conversion to sRGB,
not by the exposure. The loader marks them (``Photo.gamut_clipped``); the checks count them as
``gamut`` and leave them out of ``clipping``. Built from Grace Hopper's sample photo converted to
Display P3, with every fifth pixel (a diagonal dot pattern) painted a red outside sRGB."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import SAMPLES
from PIL import Image, ImageCms

from mesovision.checks import check_photo
from mesovision.io import load_photo
from mesovision.io.profiles import SRGB_CURVE, matrix_trc_icc

HOPPER = SAMPLES / "grace_hopper" / "before.jpg"
P3_XY = np.array([[0.680, 0.320], [0.265, 0.690], [0.150, 0.060], [0.3127, 0.3290]])
P3 = matrix_trc_icc(P3_XY, SRGB_CURVE, "Display P3 (test)")


@pytest.fixture(scope="module")
def p3_pixels():
    """Grace Hopper in Display P3 (8-bit): every colour inside sRGB."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    p3 = ImageCms.ImageCmsProfile(io.BytesIO(P3))
    with Image.open(HOPPER) as im:
        out = ImageCms.profileToProfile(im.convert("RGB"), srgb, p3, renderingIntent=1)
    return np.asarray(out)


def dots(shape) -> np.ndarray:
    rows, cols = np.indices(shape[:2])
    return (rows + cols) % 5 == 0  # a fifth of any region, to within its edge


def p3_png(path, pixels, colour=None):
    a = pixels.copy()
    if colour is not None:
        a[dots(a.shape)] = colour
    Image.fromarray(a).save(path, icc_profile=P3)
    return path


def _checks(path) -> dict[str, dict]:
    return {c["name"]: c for c in check_photo(str(path)).checks}


def test_colours_outside_srgb_are_marked_by_the_loader(tmp_path, p3_pixels):
    plain = load_photo(p3_png(tmp_path / "p3.png", p3_pixels))
    assert plain.icc_profile == "Display P3 (test)" and plain.gamut_clipped is None
    red = load_photo(p3_png(tmp_path / "red.png", p3_pixels, (250, 40, 40)))
    np.testing.assert_array_equal(red.gamut_clipped, dots(p3_pixels.shape))
    assert (red.rgb[red.gamut_clipped][:, 0] == 1.0).all()  # clipped at sRGB's red
    # a red at the file's own maximum was clipped at capture: not marked
    assert load_photo(p3_png(tmp_path / "r255.png", p3_pixels, (255, 40, 40))).gamut_clipped is None
    turned = red.turned(1)
    np.testing.assert_array_equal(turned.gamut_clipped, np.rot90(red.gamut_clipped))


def test_gamut_clipping_is_named_as_such_and_not_as_over_exposure(tmp_path, p3_pixels):
    plain = _checks(p3_png(tmp_path / "p3.png", p3_pixels))
    assert plain["gamut"]["ok"] and plain["gamut"]["value"] == 0.0
    red = _checks(p3_png(tmp_path / "red.png", p3_pixels, (250, 40, 40)))
    g = red["gamut"]
    assert g["value"] == pytest.approx(0.2, abs=0.005) and not g["ok"]
    assert g["severity"] == "warn"
    assert g["message"].startswith(f"{100 * g['value']:.1f} % of the face's pixels are outside ")
    assert "sRGB after the colour-profile conversion" in g["message"]
    # no over-exposure claim for them: clipping counts the photo's own dark pixels only
    assert red["clipping"]["ok"] and red["clipping"]["value"] < plain["clipping"]["value"] + 0.01
    # the same red at the file's maximum is clipped at capture: clipping, not gamut, and the
    # pixels one photo calls gamut are those the other calls clipped
    r255 = _checks(p3_png(tmp_path / "r255.png", p3_pixels, (255, 40, 40)))
    assert r255["gamut"]["value"] == 0.0 and r255["gamut"]["ok"]
    assert r255["clipping"]["value"] >= 0.2 and not r255["clipping"]["ok"]
    assert r255["clipping"]["message"].startswith("reduce the light: ")
    split = red["clipping"]["value"] + red["gamut"]["value"]
    assert split == pytest.approx(r255["clipping"]["value"], abs=0.005)
