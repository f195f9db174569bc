"""A camera JPEG in Adobe RGB signalled by EXIF (ColorSpace 0xFFFF, Interop index "R03")."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from test_nclx import SRGB_XY, rgb_to_xyz  # the primaries' matrix, from their chromaticities

from mesovision.io import load_photo, strip_metadata

ADOBE_XY = {"red": (0.64, 0.33), "green": (0.21, 0.71), "blue": (0.15, 0.06)}
#: Skin, lips, grey, foliage: inside sRGB's gamut once read as Adobe RGB.
COLOURS = np.array([[200, 150, 120], [170, 90, 90], [128, 128, 128], [90, 120, 80]], np.uint8)


def adobe_to_srgb(rgb8: np.ndarray) -> np.ndarray:
    """Adobe RGB (1998) 8-bit values (gamma 563/256, D65) as sRGB floats."""
    lin = (np.asarray(rgb8, float) / 255) ** (563 / 256)
    lin = np.linalg.solve(rgb_to_xyz(SRGB_XY), rgb_to_xyz(ADOBE_XY) @ lin.T).T
    assert 0 <= lin.min() and lin.max() <= 1, "test colour must be inside sRGB"
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def camera_jpeg(path, colour_space: int | None, interop: str | None):
    """Flat 32-px patches of :data:`COLOURS` as a camera writes them, without an ICC profile."""
    arr = np.concatenate([np.full((32, 32, 3), c, np.uint8) for c in COLOURS], axis=1)
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    sub = exif.get_ifd(0x8769)
    if colour_space is not None:
        sub[0xA001] = colour_space
    if interop is not None:
        sub[0xA005] = {0x0001: interop}
    Image.fromarray(arr).save(path, quality=100, subsampling=0, exif=exif.tobytes())
    return path


def centres(photo) -> np.ndarray:
    return photo.rgb[16, 16::32]


def test_exif_adobe_rgb_without_profile_is_converted_and_its_copy_keeps_it(tmp_path):
    path = camera_jpeg(tmp_path / "_MG_0001.JPG", 0xFFFF, "R03")
    photo = load_photo(path)
    assert photo.icc_profile == "Adobe RGB (1998) (EXIF colour space R03)"
    expected = adobe_to_srgb(COLOURS)
    assert np.abs(expected - COLOURS / 255).max() > 10 / 255  # a real change to detect
    np.testing.assert_allclose(centres(photo), expected, atol=2 / 255)

    copy, ext = strip_metadata(path.read_bytes(), path=str(path))
    assert ext == ".jpg" and b"Canon" not in copy and b"Exif" not in copy
    (tmp_path / "copy.jpg").write_bytes(copy)
    again = load_photo(tmp_path / "copy.jpg")
    assert again.icc_profile == photo.icc_profile
    np.testing.assert_array_equal(again.rgb, photo.rgb)


@pytest.mark.parametrize(
    ("colour_space", "interop"), [(1, "R98"), (0xFFFF, None), (None, None), (0xFFFF, "THM")]
)
def test_srgb_or_unknown_exif_colour_space_is_read_as_srgb(tmp_path, colour_space, interop):
    photo = load_photo(camera_jpeg(tmp_path / "IMG_0001.JPG", colour_space, interop))
    assert photo.icc_profile is None
    np.testing.assert_allclose(centres(photo), COLOURS / 255, atol=2 / 255)
