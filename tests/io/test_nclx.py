"""HEIF colour given as an nclx box (H.273 code points) instead of an ICC profile."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest
from PIL import Image, ImageCms

from mesovision.io import load_photo, strip_metadata
from mesovision.io.nclx import nclx_icc

# Display P3 (SMPTE EG 432-1) and sRGB (IEC 61966-2-1) chromaticities, both with a D65 white.
P3_XY = {"red": (0.680, 0.320), "green": (0.265, 0.690), "blue": (0.150, 0.060)}
SRGB_XY = {"red": (0.640, 0.330), "green": (0.300, 0.600), "blue": (0.150, 0.060)}
D65_XY = (0.3127, 0.3290)
#: Colours inside sRGB's gamut once read as Display P3 (skin, lips, grey).
COLOURS = np.array([[200, 150, 120], [170, 90, 90], [128, 128, 128], [90, 120, 80]], np.uint8)


def nclx(primaries: int, transfer: int, xy: dict = P3_XY) -> dict:
    box = {"color_primaries": primaries, "transfer_characteristics": transfer}
    for c, (x, y) in {**xy, "white": D65_XY}.items():
        box[f"color_primary_{c}_x"], box[f"color_primary_{c}_y"] = x, y
    return box


def rgb_to_xyz(xy: dict) -> np.ndarray:
    pts = [xy["red"], xy["green"], xy["blue"], D65_XY]
    xyz = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in pts])
    prim = xyz[:3].T
    return prim * np.linalg.solve(prim, xyz[3])


def srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def srgb_encode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)


def p3_to_srgb(rgb8: np.ndarray) -> np.ndarray:
    """Display P3 8-bit values (sRGB transfer) as sRGB floats: same D65 white, no adaptation."""
    lin = srgb_decode(np.asarray(rgb8, float) / 255)
    lin_srgb = np.linalg.solve(rgb_to_xyz(SRGB_XY), rgb_to_xyz(P3_XY) @ lin.T).T
    assert 0 <= lin_srgb.min() and lin_srgb.max() <= 1, "test colour must be inside sRGB"
    return srgb_encode(lin_srgb)


def patches(side: int = 32) -> np.ndarray:
    """The :data:`COLOURS` as flat ``side`` x ``side`` patches in a row."""
    return np.concatenate([np.full((side, side, 3), c, np.uint8) for c in COLOURS], axis=1)


def test_display_p3_nclx_profile_converts_like_the_standard():
    raw, why = nclx_icc(nclx(12, 13))
    assert why is None and raw is not None
    prof = ImageCms.ImageCmsProfile(io.BytesIO(raw))
    assert ImageCms.getProfileDescription(prof).strip() == (
        "HEIF nclx: Display P3 primaries, sRGB transfer"
    )
    im = Image.fromarray(COLOURS[None])
    out = ImageCms.profileToProfile(
        im,
        prof,
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        outputMode="RGB",
    )
    got = np.asarray(out, float)[0] / 255
    expected = p3_to_srgb(COLOURS)
    assert np.abs(expected - COLOURS / 255).max() > 10 / 255  # a real change to detect
    np.testing.assert_allclose(got, expected, atol=1.5 / 255)


@pytest.mark.parametrize(
    ("primaries", "transfer"), [(1, 13), (2, 2), (1, 1), (1, 6), (2, 13), (1, 15)]
)
def test_srgb_like_nclx_needs_no_profile(primaries, transfer):
    assert nclx_icc(nclx(primaries, transfer, SRGB_XY)) == (None, None)
    assert nclx_icc(None) == (None, None)


@pytest.mark.parametrize("transfer", [16, 18, 3, 17])
def test_hdr_or_unknown_transfer_is_named_not_converted(transfer):
    raw, why = nclx_icc(nclx(9, transfer))
    assert raw is None
    assert why == f"HEIF nclx transfer characteristics {transfer} (HDR or unsupported)"


def test_nclx_without_chromaticities_is_named():
    assert nclx_icc({"color_primaries": 12, "transfer_characteristics": 13}) == (
        None,
        "HEIF nclx primaries 12 without chromaticities",
    )


def _heif_encoder():
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("libheif in this pillow-heif wheel has no HEIF (x265) encoder")
    pillow_heif.register_heif_opener()


def test_heic_with_p3_nclx_loads_in_srgb_and_its_copy_keeps_it(tmp_path):
    _heif_encoder()
    path = tmp_path / "android.heic"
    Image.fromarray(patches()).save(
        path,
        quality=-1,  # lossless
        chroma=444,
        color_primaries=12,
        transfer_characteristics=13,
        matrix_coefficients=0,
        full_range_flag=1,
    )
    with Image.open(path) as im:
        assert "icc_profile" not in im.info or not im.info["icc_profile"]
        assert im.info["nclx_profile"]["color_primaries"] == 12
    photo = load_photo(path)
    assert photo.icc_profile == "HEIF nclx: Display P3 primaries, sRGB transfer"
    centres = photo.rgb[16, 16::32]
    np.testing.assert_allclose(centres, p3_to_srgb(COLOURS), atol=2 / 255)

    copy, ext = strip_metadata(path.read_bytes(), path=str(path))
    assert ext == ".heic"  # the file itself, its nclx box untouched
    (tmp_path / "copy.heic").write_bytes(copy)
    again = load_photo(tmp_path / "copy.heic")
    assert again.icc_profile == photo.icc_profile
    np.testing.assert_array_equal(again.rgb, photo.rgb)


def test_heic_with_hdr_transfer_warns_and_keeps_pixels(tmp_path, caplog):
    _heif_encoder()
    path = tmp_path / "hdr.heic"
    Image.fromarray(patches()).save(
        path, quality=-1, chroma=444, color_primaries=9, transfer_characteristics=16,
        matrix_coefficients=0, full_range_flag=1,
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="mesovision"):
        photo = load_photo(path)
    assert photo.icc_profile is None
    np.testing.assert_allclose(photo.rgb[16, 16::32], COLOURS / 255, atol=1.5 / 255)
    assert any(
        "transfer characteristics 16 (HDR or unsupported); treating pixels as sRGB" in r.message
        for r in caplog.records
    )
