"""A PNG that states its colour by gAMA and cHRM chunks only (no iCCP, no sRGB chunk)."""

from __future__ import annotations

import logging
import struct

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from test_nclx import P3_XY, SRGB_XY, rgb_to_xyz, srgb_decode

from mesovision.io import load_photo, strip_metadata

#: Skin, lips, grey, foliage, a dark and a light tone.
COLOURS = np.array(
    [[200, 150, 120], [170, 90, 90], [128, 128, 128], [90, 120, 80], [30, 25, 20], [240, 230, 220]],
    np.uint8,
)
SRGB_CHRM = (31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)


def chrm(xy: dict) -> tuple[int, ...]:
    pts = [(0.3127, 0.3290), xy["red"], xy["green"], xy["blue"]]
    return tuple(round(v * 100000) for p in pts for v in p)


def png(path, *, gama: int | None = None, chrm_: tuple | None = None, mode: str = "RGB", **kw):
    """Flat 16-px patches of :data:`COLOURS` with the given chunks."""
    arr = np.concatenate([np.full((40, 16, 3), c, np.uint8) for c in COLOURS], axis=1)
    im = Image.fromarray(arr).convert(mode)
    info = PngImagePlugin.PngInfo()
    if gama is not None:
        info.add(b"gAMA", struct.pack(">I", gama))
    if chrm_ is not None:
        info.add(b"cHRM", struct.pack(">8I", *chrm_))
    im.save(path, pnginfo=info, **kw)
    return path


def centres(photo) -> np.ndarray:
    return photo.rgb[20, 8::16]


def expected(gamma: float | None, xy: dict) -> np.ndarray:
    """The patches' sRGB floats: decoded by ``v ** gamma`` (the sRGB curve for ``None``) in the
    primaries ``xy`` (D65 white)."""
    v = COLOURS / 255
    lin = srgb_decode(v) if gamma is None else v**gamma
    lin = np.linalg.solve(rgb_to_xyz(SRGB_XY), rgb_to_xyz(xy) @ lin.T).T
    lin = np.clip(lin, 0, 1)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


@pytest.mark.parametrize(
    ("gama", "chrm_"), [(45455, None), (45455, SRGB_CHRM), (None, SRGB_CHRM), (45000, None)]
)
def test_srgb_like_gama_and_chrm_leave_the_pixels_unchanged(tmp_path, caplog, gama, chrm_):
    with caplog.at_level(logging.WARNING):
        photo = load_photo(png(tmp_path / "a.png", gama=gama, chrm_=chrm_))
    assert photo.icc_profile is None and not caplog.records
    np.testing.assert_array_equal(centres(photo), COLOURS / np.float32(255))


def test_linear_gama_is_converted_to_srgb(tmp_path):
    photo = load_photo(png(tmp_path / "linear.png", gama=100000))
    assert photo.icc_profile == "PNG gAMA/cHRM: sRGB primaries, gamma 1.00"
    want = expected(1.0, SRGB_XY)
    assert np.abs(want - COLOURS / 255).max() > 0.2  # a real change to detect
    np.testing.assert_allclose(centres(photo), want, atol=2 / 255)


def test_gamma_18_with_p3_chrm_is_converted_and_its_copy_keeps_it(tmp_path):
    path = png(tmp_path / "mac.png", gama=55556, chrm_=chrm(P3_XY))
    photo = load_photo(path)
    assert photo.icc_profile == "PNG gAMA/cHRM: cHRM primaries, gamma 1.80"
    np.testing.assert_allclose(centres(photo), expected(1.8, P3_XY), atol=2 / 255)
    copy, ext = strip_metadata(path.read_bytes(), path=str(path))
    (tmp_path / f"copy{ext}").write_bytes(copy)
    np.testing.assert_array_equal(load_photo(tmp_path / f"copy{ext}").rgb, photo.rgb)


def test_srgb_chunk_wins_over_gama(tmp_path):
    photo = load_photo(_srgb(tmp_path))
    assert photo.icc_profile is None
    np.testing.assert_array_equal(centres(photo), COLOURS / np.float32(255))


def _srgb(tmp_path):
    """A PNG with an sRGB chunk and a linear gAMA (a contradiction the sRGB chunk settles)."""
    arr = np.concatenate([np.full((40, 16, 3), c, np.uint8) for c in COLOURS], axis=1)
    info = PngImagePlugin.PngInfo()
    info.add(b"sRGB", b"\0")
    info.add(b"gAMA", struct.pack(">I", 100000))
    Image.fromarray(arr).save(tmp_path / "s.png", pnginfo=info)
    return tmp_path / "s.png"


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"gama": 0}, "PNG gAMA 0 is not a usable gamma"),
        ({"gama": 45455, "chrm_": (31270, 32900, 0, 0, 0, 0, 0, 0)}, "PNG cHRM"),
        ({"gama": 100000, "mode": "L"}, "does not match image mode L"),
    ],
)
def test_unusable_chunks_are_warned_and_read_as_srgb(tmp_path, caplog, kw, words):
    with caplog.at_level(logging.WARNING):
        photo = load_photo(png(tmp_path / "bad.png", **kw))
    assert photo.icc_profile is None
    assert any(words in r.getMessage() and "as sRGB" in r.getMessage() for r in caplog.records)
