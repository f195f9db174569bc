"""Tests for mesovision.io: every input file is generated in tmp_path at test time."""

from __future__ import annotations

import io
import json
import logging
import math
import os
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import bad_inputs_script
from PIL import Image, ImageOps

from mesovision import io as mio
from mesovision.errors import InputFileError, InvalidImage, OutputError, OutputExists
from mesovision.io import (
    atomic_write_bytes,
    load_photo,
    photo_from_array,
    prepare_output_dir,
    sha256_file,
    write_json,
    write_png,
)

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

W, H = 96, 64  # stored (file-orientation) size of the asymmetric test image
BLOCK = 16  # side of the red block that orientation 1 puts in the top-left corner


@pytest.fixture(autouse=True)
def _tiny_images_load(request, monkeypatch):
    """Most tests here load tiny synthetic images (a few px): the pipeline's minimum side
    (io.limits.MIN_SIDE_PX, tested by the *narrow* tests) is lifted for them."""
    if "narrow" not in request.node.name:
        monkeypatch.setattr(mio.limits, "MIN_SIDE_PX", 1)


def upright_image() -> np.ndarray:
    """Upright (H, W) grey image: red block top-left, blue bar along the top right."""
    a = np.full((H, W, 3), 128, np.uint8)
    a[:BLOCK, :BLOCK] = (230, 20, 20)
    a[:8, -32:] = (20, 20, 230)
    return a


def stored_for(orientation: int, upright: np.ndarray) -> np.ndarray:
    """The pixels a camera stores so that EXIF ``orientation`` displays ``upright`` (the bad-input
    corpus script's builder)."""
    return bad_inputs_script().stored_for(orientation, upright)


def exif_with(**tags: object) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[int(tag.removeprefix("t"), 16)] = value
    return exif


def save(path: Path, arr: np.ndarray, fmt: str | None = None, **kw: object) -> Path:
    Image.fromarray(arr).save(path, format=fmt, **kw)
    return path


def corner_colour(rgb: np.ndarray) -> np.ndarray:
    """Mean colour inside the top-left block (margin of 3 px against JPEG ringing)."""
    return rgb[3 : BLOCK - 3, 3 : BLOCK - 3].reshape(-1, 3).mean(axis=0)


# --------------------------------------------------------------------------------------------
# orientation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_puts_block_top_left(tmp_path, fmt, orientation):
    up = upright_image()
    stored = stored_for(orientation, up)
    path = tmp_path / f"o{orientation}.{fmt.lower()}"
    kw = {"quality": 95} if fmt == "JPEG" else {}
    save(path, stored, fmt, exif=exif_with(t0112=orientation), **kw)

    photo = load_photo(path, max_side=None)

    assert photo.exif_orientation == orientation
    assert photo.original_size == (W, H)  # upright size, whatever the stored one
    assert photo.rgb.shape == (H, W, 3)
    tol = 6 / 255 if fmt == "JPEG" else 1e-6
    np.testing.assert_allclose(corner_colour(photo.rgb), np.array([230, 20, 20]) / 255, atol=tol)
    np.testing.assert_allclose(photo.rgb[2, -16], np.array([20, 20, 230]) / 255, atol=tol * 2)
    np.testing.assert_allclose(photo.rgb[-10, 10], np.full(3, 128 / 255), atol=tol)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    rng = np.random.default_rng(orientation)
    stored = rng.integers(0, 256, (7, 11, 3), dtype=np.uint8)
    path = save(tmp_path / "r.png", stored, "PNG", exif=exif_with(t0112=orientation))
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im)).astype(np.float32) / 255
    photo = load_photo(path)
    np.testing.assert_array_equal(photo.rgb, expected)
    assert photo.rgb.flags.c_contiguous and photo.rgb.dtype == np.float32


def jpeg_with_raw_app1(arr: np.ndarray, app1_payload: bytes) -> bytes:
    """A JPEG whose first segment after SOI is an APP1 carrying ``app1_payload``."""
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    segment = b"\xff\xe1" + struct.pack(">H", len(app1_payload) + 2) + app1_payload
    return data[:2] + segment + data[2:]


def tiff_ifd0(orientation: int, extra_garbage: bytes = b"") -> bytes:
    """Little-endian TIFF: IFD0 holds Orientation and an Exif IFD pointer past the end."""
    entries = [
        struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0),
        struct.pack("<HHII", 0x8769, 4, 1, 0x7FFFFFF0),  # Exif IFD pointer far outside
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + extra_garbage


def test_malformed_exif_garbage_loads(tmp_path, caplog):
    up = upright_image()
    path = tmp_path / "garbage_exif.jpg"
    rng = np.random.default_rng(1)
    path.write_bytes(jpeg_with_raw_app1(up, b"Exif\x00\x00" + rng.bytes(300)))
    photo = load_photo(path)
    assert photo.exif_orientation == 1
    assert photo.capture == mio.CaptureInfo(chroma_p99=photo.capture.chroma_p99)
    np.testing.assert_allclose(
        corner_colour(photo.rgb), np.array([230, 20, 20]) / 255, atol=6 / 255
    )


def test_broken_exif_sub_ifd_keeps_orientation(tmp_path, caplog):
    # IFD0 is fine (orientation 6) but the Exif sub-IFD pointer leads nowhere.
    stored = stored_for(6, upright_image())
    path = tmp_path / "bad_subifd.jpg"
    path.write_bytes(jpeg_with_raw_app1(stored, b"Exif\x00\x00" + tiff_ifd0(6)))
    with caplog.at_level(logging.WARNING, logger="mesovision.io"):
        photo = load_photo(path)
    assert "Corrupt EXIF data" in caplog.text  # Pillow's warning, routed to our log
    assert photo.exif_orientation == 6
    assert photo.original_size == (W, H)
    np.testing.assert_allclose(
        corner_colour(photo.rgb), np.array([230, 20, 20]) / 255, atol=6 / 255
    )


def test_concurrent_loads_keep_their_own_results_warnings_and_errors(tmp_path, caplog):
    # JPEG pixels are decoded outside the lock that guards `warnings` (load_photo): loads on
    # two threads must still give each file its sequential result, warning and error.
    broken = tmp_path / "bad_subifd.jpg"  # Pillow warns "Corrupt EXIF data" while opening
    broken.write_bytes(
        jpeg_with_raw_app1(stored_for(6, upright_image()), b"Exif\x00\x00" + tiff_ifd0(6))
    )
    clean = save(tmp_path / "clean.png", upright_image())
    truncated = tmp_path / "trunc.jpg"
    data = broken.read_bytes()
    truncated.write_bytes(data[: len(data) * 9 // 10])  # the same warning, then a decode error
    paths = [broken, clean, truncated, broken, clean, broken] * 8

    def outcome(p):
        try:
            return load_photo(p).rgb
        except InvalidImage as exc:
            return exc.message

    sequential = {p: outcome(p) for p in (broken, clean, truncated)}
    assert "truncated JPEG" in sequential[truncated]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mesovision.io"):
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(outcome, paths))
    for p, r in zip(paths, results, strict=True):
        if isinstance(r, str):
            assert r == sequential[p]
        else:
            np.testing.assert_array_equal(r, sequential[p])
    warned = [r.getMessage() for r in caplog.records]
    # Once per loaded broken file, named; none for the file that failed to load.
    assert len(warned) == paths.count(broken)
    assert all(m.startswith(f"{broken}: ") and "Corrupt EXIF data" in m for m in warned)


def test_orientation_fallback_when_pillow_exif_parser_fails(tmp_path, monkeypatch, caplog):
    stored = stored_for(8, upright_image())
    path = save(tmp_path / "o8.jpg", stored, "JPEG", quality=95, exif=exif_with(t0112=8))

    def broken_getexif(self):
        raise struct.error("unpack requires a buffer of 2 bytes")

    monkeypatch.setattr(Image.Image, "getexif", broken_getexif)
    with caplog.at_level(logging.WARNING, logger="mesovision.io"):
        photo = load_photo(path)
    assert "EXIF block could not be parsed" in caplog.text
    assert photo.exif_orientation == 8  # read from the raw bytes
    assert photo.original_size == (W, H)
    np.testing.assert_allclose(
        corner_colour(photo.rgb), np.array([230, 20, 20]) / 255, atol=6 / 255
    )


def test_orientation_out_of_range_is_ignored(tmp_path, caplog):
    path = save(tmp_path / "o9.png", upright_image(), "PNG", exif=exif_with(t0112=9))
    with caplog.at_level(logging.WARNING, logger="mesovision.io"):
        photo = load_photo(path)
    assert photo.exif_orientation == 1
    assert "invalid EXIF orientation 9" in caplog.text


# --------------------------------------------------------------------------------------------
# ICC
# --------------------------------------------------------------------------------------------

P3_D50 = np.array(  # Display P3 primaries adapted to D50 (columns: r, g, b XYZ), Apple's profile
    [
        [0.515102, 0.291965, 0.157153],
        [0.241182, 0.692236, 0.066582],
        [-0.001050, 0.041882, 0.784378],
    ]
)
SRGB_D50 = np.array(  # sRGB primaries adapted to D50 (Bradford), as in LittleCMS's sRGB profile
    [[0.436066, 0.385147, 0.143066], [0.222488, 0.716873, 0.060608], [0.013916, 0.097076, 0.714096]]
)
GAMMA = 563 / 256  # u8Fixed8 encoding of 2.2 in the curv tag


def _s15f16(x: float) -> bytes:
    return struct.pack(">i", round(x * 65536))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15f16(v) for v in xyz)


def _desc_tag(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    return (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(ascii_))
        + ascii_
        + struct.pack(">II", 0, 0)
        + struct.pack(">HB", 0, 0)
        + b"\0" * 67
    )


def matrix_trc_icc(matrix_d50: np.ndarray, description: str) -> bytes:
    """A minimal ICC v2 display profile (matrix/TRC, gamma 563/256) written byte by byte."""
    curv = b"curv\0\0\0\0" + struct.pack(">IH", 1, 563) + b"\0\0"
    tags = [
        (b"desc", _desc_tag(description)),
        (b"wtpt", _xyz_tag((0.9642, 1.0, 0.8249))),
        (b"rXYZ", _xyz_tag(matrix_d50[:, 0])),
        (b"gXYZ", _xyz_tag(matrix_d50[:, 1])),
        (b"bXYZ", _xyz_tag(matrix_d50[:, 2])),
        (b"rTRC", curv),
        (b"gTRC", curv),
        (b"bTRC", curv),
        (b"cprt", b"text\0\0\0\0" + b"public domain\0"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        pad = (-len(data)) % 4
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * pad
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"APPL"
        + b"\0" * 4  # flags
        + b"\0" * 8  # manufacturer, model
        + b"\0" * 8  # attributes
        + struct.pack(">I", 0)  # intent
        + _xyz_tag((0.9642, 1.0, 0.8249))[8:]
        + b"lcms"
        + b"\0" * 44
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def p3_to_srgb(rgb8: np.ndarray) -> np.ndarray:
    """Expected sRGB (float) of 8-bit values in the test profile (gamma 563/256, P3 primaries)."""
    lin = (np.asarray(rgb8, float) / 255) ** GAMMA
    lin_srgb = np.linalg.solve(SRGB_D50, P3_D50 @ lin.T).T
    assert lin_srgb.min() >= 0 and lin_srgb.max() <= 1, "test colour must be inside sRGB"
    return np.where(lin_srgb <= 0.0031308, 12.92 * lin_srgb, 1.055 * lin_srgb ** (1 / 2.4) - 0.055)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_icc_profile_converted_to_srgb(tmp_path, fmt):
    colours = np.array([[200, 150, 120], [90, 160, 90], [128, 128, 128], [60, 80, 170]], np.uint8)
    arr = np.repeat(np.repeat(colours[None], 16, axis=0), 16, axis=1)  # 16 x 64 stripes
    icc = matrix_trc_icc(P3_D50, "Test Display P3 gamma 2.2")
    path = tmp_path / f"p3.{fmt.lower()}"
    save(path, arr, fmt, icc_profile=icc, **({"quality": 100} if fmt == "JPEG" else {}))

    photo = load_photo(path)

    assert photo.icc_profile == "Test Display P3 gamma 2.2"
    got = photo.rgb[8, 8::16]
    expected = p3_to_srgb(colours)
    tol = 2.5 / 255 if fmt == "PNG" else 4 / 255
    np.testing.assert_allclose(got, expected, atol=tol)
    # The conversion must matter: without it the colours would be off by far more than tol.
    assert np.abs(expected - colours / 255).max() > 3 * tol


def test_icc_srgb_like_profile_is_near_identity(tmp_path):
    arr = np.full((8, 8, 3), (200, 150, 120), np.uint8)
    path = save(tmp_path / "s.png", arr, "PNG", icc_profile=matrix_trc_icc(SRGB_D50, "sRGB-ish"))
    photo = load_photo(path)
    # gamma 2.2 vs the sRGB curve differ by < 2/255 at these values
    np.testing.assert_allclose(photo.rgb[0, 0], np.array([200, 150, 120]) / 255, atol=3 / 255)


def test_corrupt_icc_profile_loads_with_warning(tmp_path, caplog):
    arr = np.full((8, 8, 3), (200, 150, 120), np.uint8)
    rng = np.random.default_rng(7)
    path = save(tmp_path / "bad_icc.png", arr, "PNG", icc_profile=rng.bytes(500))
    with caplog.at_level(logging.WARNING, logger="mesovision.io"):
        photo = load_photo(path)
    assert "ICC profile could not be parsed" in caplog.text
    assert photo.icc_profile is None
    np.testing.assert_allclose(photo.rgb[0, 0], np.array([200, 150, 120]) / 255, atol=1e-6)


# --------------------------------------------------------------------------------------------
# modes and formats
# --------------------------------------------------------------------------------------------


def rgb16() -> np.ndarray:
    a = np.zeros((6, 8, 3), np.uint16)
    a[..., 0], a[..., 1], a[..., 2] = 1000, 30000, 65535
    a[0, 0] = (1, 2, 3)
    return a


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16bit_rgb_keeps_depth(tmp_path, ext):
    import cv2

    a = rgb16()
    path = tmp_path / f"rgb16.{ext}"
    assert cv2.imwrite(str(path), a[:, :, ::-1])
    photo = load_photo(path)
    assert photo.bit_depth == 16
    assert photo.format == ("PNG" if ext == "png" else "TIFF")
    np.testing.assert_allclose(photo.rgb[3, 3], np.array([1000, 30000, 65535]) / 65535, rtol=1e-6)
    np.testing.assert_allclose(photo.rgb[0, 0], np.array([1, 2, 3]) / 65535, rtol=1e-6)


def test_16bit_tiff_orientation_applied_once(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    up = np.full((H, W, 3), 20000, np.uint16)
    up[:BLOCK, :BLOCK] = (60000, 1000, 1000)
    path = tmp_path / "o6_16.tif"
    # tag 274 = Orientation; OpenCV would also apply it if we did not ask it not to
    tifffile.imwrite(path, stored_for(6, up), photometric="rgb", extratags=[(274, "H", 1, 6, True)])
    photo = load_photo(path)
    assert photo.bit_depth == 16 and photo.exif_orientation == 6
    assert photo.original_size == (W, H)
    np.testing.assert_allclose(
        corner_colour(photo.rgb), np.array([60000, 1000, 1000]) / 65535, atol=1e-6
    )
    np.testing.assert_allclose(photo.rgb[-1, -1], np.full(3, 20000 / 65535), atol=1e-7)


def test_16bit_png_with_exif_orientation(tmp_path):
    import cv2

    up = np.full((H, W, 3), 20000, np.uint16)
    up[:BLOCK, :BLOCK] = (60000, 1000, 1000)
    ok, buf = cv2.imencode(".png", stored_for(8, up)[:, :, ::-1])
    png = buf.tobytes()
    exif = tiff_ifd0(8)
    png = png[:33] + bad_inputs_script().png_chunk(b"eXIf", exif) + png[33:]  # right after IHDR
    path = tmp_path / "o8_16.png"
    path.write_bytes(png)
    photo = load_photo(path)
    assert photo.bit_depth == 16 and photo.exif_orientation == 8
    assert photo.original_size == (W, H)
    np.testing.assert_allclose(
        corner_colour(photo.rgb), np.array([60000, 1000, 1000]) / 65535, atol=1e-6
    )


def test_16bit_greyscale_png_and_tiff(tmp_path):
    g = (np.arange(12 * 10).reshape(12, 10) * 500).astype(np.uint16)
    for ext in ("png", "tif"):
        path = save(tmp_path / f"g16.{ext}", g)
        photo = load_photo(path)
        assert photo.bit_depth == 16
        np.testing.assert_allclose(photo.rgb[0, 2], np.full(3, 1000 / 65535), rtol=1e-6)
        np.testing.assert_array_equal(photo.rgb[..., 0], photo.rgb[..., 2])


def test_greyscale_8bit(tmp_path):
    g = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (4, 1))
    photo = load_photo(save(tmp_path / "g.png", g))
    assert photo.bit_depth == 8 and photo.rgb.shape == (4, 25, 3)
    np.testing.assert_allclose(photo.rgb[1, 3], np.full(3, 30 / 255), atol=1e-7)


def test_float_tiff(tmp_path):
    f = np.linspace(0, 1, 20, dtype=np.float32).reshape(4, 5)
    photo = load_photo(save(tmp_path / "f.tif", f))
    assert photo.bit_depth == 16
    np.testing.assert_allclose(photo.rgb[..., 1], f, atol=1e-7)


def test_float_tiff_out_of_range_rejected(tmp_path):
    f = np.full((4, 5), 3.5, np.float32)
    path = save(tmp_path / "f.tif", f)
    with pytest.raises(InvalidImage, match=r"values must be in \[0, 1\]"):
        load_photo(path)


def test_cmyk_jpeg_adobe_inverted(tmp_path):
    # Pillow writes CMYK JPEGs with an Adobe APP14 marker and inverted values (Photoshop style).
    im = Image.new("CMYK", (32, 16), (0, 255, 255, 0))  # pure red ink-wise
    im.paste((0, 0, 0, 255), (16, 0, 32, 16))  # black
    path = tmp_path / "cmyk.jpg"
    im.save(path, quality=95)
    assert b"Adobe" in path.read_bytes()[:400]
    photo = load_photo(path)
    assert photo.format == "JPEG"
    np.testing.assert_allclose(photo.rgb[8, 4], [1, 0, 0], atol=4 / 255)
    np.testing.assert_allclose(photo.rgb[8, 28], [0, 0, 0], atol=4 / 255)


def test_palette_with_transparency_and_rgba(tmp_path):
    p = Image.new("P", (8, 8), 0)
    p.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    p.paste(1, (4, 0, 8, 8))
    path = tmp_path / "p.png"
    p.save(path, transparency=1)
    photo = load_photo(path)
    np.testing.assert_array_equal(photo.rgb[0, 0], [1, 0, 0])
    np.testing.assert_array_equal(photo.rgb[0, 6], [0, 1, 0])  # alpha dropped, colour kept

    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[...] = (10, 20, 30, 0)
    photo = load_photo(save(tmp_path / "a.png", rgba))
    np.testing.assert_allclose(photo.rgb[0, 0], np.array([10, 20, 30]) / 255, atol=1e-7)


def test_webp_bmp(tmp_path):
    up = upright_image()
    for name, kw in (("a.webp", {"lossless": True}), ("a.bmp", {})):
        photo = load_photo(save(tmp_path / name, up, **kw))
        np.testing.assert_allclose(photo.rgb, up / 255, atol=1e-6)
        assert photo.format == ("WEBP" if name.endswith("webp") else "BMP")


def test_heic_round_trip_and_orientation_not_applied_twice(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("libheif in this pillow-heif wheel has no HEIF (x265) encoder")
    pillow_heif.register_heif_opener()
    up = np.full((64, 96, 3), 128, np.uint8)
    up[:32, :32] = (230, 20, 20)
    path = tmp_path / "a.heic"
    # Stored rotated, with orientation 6: the encoder writes an irot box, the decoder applies it.
    Image.fromarray(stored_for(6, up)).save(path, quality=95, exif=exif_with(t0112=6).tobytes())
    photo = load_photo(path)
    assert photo.format == "HEIF"
    assert photo.exif_orientation == 6
    assert photo.original_size == (96, 64)
    np.testing.assert_allclose(
        photo.rgb[8:24, 8:24].mean(axis=(0, 1)), [230 / 255, 0.08, 0.08], atol=0.05
    )
    np.testing.assert_allclose(photo.rgb[-10, -10], [0.5, 0.5, 0.5], atol=0.03)


def test_animated_uses_first_frame(tmp_path, caplog):
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.webp"
    frames[0].save(path, save_all=True, append_images=frames[1:], lossless=True, duration=100)
    with caplog.at_level(logging.WARNING, logger="mesovision.io"):
        photo = load_photo(path)
    assert "has 2 frames; using frame 0" in caplog.text
    np.testing.assert_allclose(photo.rgb[4, 4], [1, 0, 0], atol=1e-6)


# --------------------------------------------------------------------------------------------
# failures
# --------------------------------------------------------------------------------------------


def _jpeg_bytes(shape=(120, 160)) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def _png_bytes(shape=(120, 160)) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _webp_bytes(shape=(120, 160)) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(buf, "WEBP")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "exc", "reason"),
    [
        (
            "trunc.jpg",
            lambda: _jpeg_bytes()[: len(_jpeg_bytes()) // 2],
            InvalidImage,
            "truncated JPEG",
        ),
        (
            "trunc.png",
            lambda: _png_bytes()[: len(_png_bytes()) // 2],
            InvalidImage,
            "truncated PNG",
        ),
        ("head.png", lambda: _png_bytes()[:30], InvalidImage, "truncated or corrupt PNG header"),
        (
            "trunc.webp",
            lambda: _webp_bytes()[: len(_webp_bytes()) * 6 // 10],
            InvalidImage,
            "truncated WebP",
        ),
        ("head.webp", lambda: _webp_bytes()[:40], InvalidImage, "truncated WebP"),
        ("empty.jpg", lambda: b"", InvalidImage, "zero bytes"),
        (
            "notes.jpg",
            lambda: b"patient notes\nline two\n",
            InvalidImage,
            "not an image (text file?)",
        ),
        (
            "blob.png",
            lambda: bytes(range(256)) * 4,
            InvalidImage,
            "not an image (unrecognised format)",
        ),
        ("anim.gif", lambda: b"GIF89a" + b"\0" * 40, InvalidImage, "unsupported format (GIF)"),
    ],
)
def test_bad_files(tmp_path, name, content, exc, reason):
    path = tmp_path / name
    path.write_bytes(content())
    with pytest.raises(exc) as info:
        load_photo(path)
    err = info.value
    assert str(err) == f"{path}: {err.message}"
    assert reason in err.message
    assert "\n" not in str(err)
    assert err.path == str(path)
    assert err.exit_code == 4


@pytest.mark.parametrize("keep", [0.6, 0.05])
def test_a_heic_cut_short_is_named_truncated(tmp_path, keep):
    """A HEIC partly copied (a phone's photo still syncing) is "truncated", not "corrupt"."""
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("libheif in this pillow-heif wheel has no HEIF (x265) encoder")
    pillow_heif.register_heif_opener()
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)).save(buf, "HEIF")
    data = buf.getvalue()
    path = tmp_path / "IMG_0001.heic"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InvalidImage) as info:
        load_photo(path)
    assert info.value.message == "truncated HEIF"
    assert info.value.exit_code == 4


def test_real_gif_is_refused_by_whitelist(tmp_path):
    path = tmp_path / "a.gif"
    Image.new("RGB", (4, 4)).save(path)
    with pytest.raises(InvalidImage, match=r"unsupported format \(GIF\)"):
        load_photo(path)


def test_missing_file_and_directory(tmp_path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(InputFileError) as info:
        load_photo(missing)
    assert str(info.value) == f"{missing}: no such file"
    assert info.value.exit_code == 3

    with pytest.raises(InputFileError) as info:
        load_photo(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a directory"

    with pytest.raises(InputFileError, match="no such file"):
        sha256_file(missing)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = save(tmp_path / "a.png", upright_image())
    path.chmod(0)
    with pytest.raises(InputFileError, match="permission denied"):
        load_photo(path)


@pytest.mark.parametrize(
    ("size", "max_pixels", "message"),
    [
        ((30000, 30000), 60_000_000, "photo of 900 MP; at most 60 MP: set the camera to 12-50"),
        ((10000, 10000), 60_000_000, "photo of 100 MP; at most 60 MP: set the camera to 12-50"),
        ((2000, 1000), 1_000_000, "photo of 2 MP (2000 x 1000 px); at most 1 MP: export the"),
        ((10000, 10000), 200_000_000, "limit is 89478485 (PIL.Image.MAX_IMAGE_PIXELS"),
    ],
)
def test_pixel_bomb_refused_before_decoding(tmp_path, size, max_pixels, message):
    import tracemalloc

    path = tmp_path / "bomb.png"
    path.write_bytes(bad_inputs_script().png_bomb(*size))
    assert path.stat().st_size < 200
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(InvalidImage) as info:
        load_photo(path, max_pixels=max_pixels)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert message in str(info.value)
    assert elapsed < 1.0
    assert peak < 20e6  # no pixel buffer was allocated (tracemalloc sees numpy's allocations)


def test_bad_options():
    with pytest.raises(ValueError, match="max_side"):
        load_photo("x.jpg", max_side=0)
    with pytest.raises(ValueError, match="max_pixels"):
        load_photo("x.jpg", max_pixels=-1)


# --------------------------------------------------------------------------------------------
# working copy
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory) -> tuple[Path, list[tuple[int, int]]]:
    """4000x3000 JPEG, grey, with 40x40 black marker squares at known original centres."""
    a = np.full((3000, 4000, 3), 200, np.uint8)
    centres = [(100, 100), (3899, 100), (100, 2899), (3899, 2899), (2000, 1500), (1234, 567)]
    for x, y in centres:
        a[y - 20 : y + 20, x - 20 : x + 20] = 0
    path = tmp_path_factory.mktemp("big") / "big.jpg"
    Image.fromarray(a).save(path, quality=90)
    return path, centres


def _dark_centroid(rgb: np.ndarray, x: float, y: float, r: int = 12) -> np.ndarray:
    x0, y0 = int(round(x)) - r, int(round(y)) - r
    win = 1.0 - rgb[y0 : y0 + 2 * r + 1, x0 : x0 + 2 * r + 1].mean(axis=2)
    win = np.clip(win - 0.1, 0, None)
    ys, xs = np.mgrid[y0 : y0 + 2 * r + 1, x0 : x0 + 2 * r + 1]
    return np.array([(xs * win).sum() / win.sum(), (ys * win).sum() / win.sum()])


@pytest.mark.parametrize("max_side", [1024, 2048])
def test_working_copy_scale_and_mapping(big_jpeg, max_side):
    path, centres = big_jpeg
    photo = load_photo(path, max_side=max_side)
    assert photo.original_size == (4000, 3000)
    # A JPEG reduction by 2/4/8 within 10 % of max_side is taken as is (decoded in the DCT
    # domain): 4000 px gives 1000 at max_side 1024 and 2000 at 2048.
    side = {1024: 1000, 2048: 2000}[max_side]
    assert photo.scale == pytest.approx(side / 4000, abs=1e-12)
    assert photo.size == (side, side * 3 // 4)
    for x, y in centres:
        # the marker's centre in the original, (x - 0.5, y - 0.5) in pixel-centre coordinates
        true_orig = np.array([x - 0.5, y - 0.5])
        guess = photo.from_original(true_orig)
        found = _dark_centroid(photo.rgb, *guess)
        back = photo.to_original(found)
        np.testing.assert_allclose(back, true_orig, atol=0.6 / photo.scale * 0.5 + 0.5)
        np.testing.assert_allclose(photo.from_original(back), found, atol=1e-9)


def test_working_copy_rotated_portrait(tmp_path):
    a = np.full((300, 400, 3), 200, np.uint8)
    a[:40, :40] = 0  # stored top-left -> displayed top-right with orientation 6
    path = save(tmp_path / "p.jpg", a, "JPEG", quality=95, exif=exif_with(t0112=6))
    photo = load_photo(path, max_side=100)
    assert photo.original_size == (300, 400)
    assert photo.size == (75, 100)
    assert photo.scale == 0.25
    assert photo.rgb[2:8, -8:-2].mean() < 0.1 and photo.rgb[2:8, 2:8].mean() > 0.7


def test_small_image_not_upscaled_and_extreme_aspect(tmp_path):
    photo = load_photo(save(tmp_path / "s.png", upright_image()), max_side=2048)
    assert photo.scale == 1.0 and photo.size == (W, H)
    thin = np.zeros((7, 3000, 3), np.uint8)  # 7 px high at scale 1/3: 2 px, ratio 0.286
    with pytest.raises(InvalidImage, match="with one scale"):
        load_photo(save(tmp_path / "thin.png", thin), max_side=1000)


def test_sha256_is_of_file_bytes(tmp_path):
    import hashlib

    path = save(tmp_path / "s.png", upright_image())
    photo = load_photo(path)
    assert photo.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == sha256_file(path)


# --------------------------------------------------------------------------------------------
# privacy
# --------------------------------------------------------------------------------------------

PRIVATE = {
    "GPS": None,
    "SN-BODY-123456": 0xA431,
    "SN-LENS-987654": 0xA435,
    "OWNER Dr Secret": 0xA430,
    "UNIQUE-ID-abcdef0123": 0xA420,
    "ARTIST Jane Patient": 0x013B,
    "MAKERNOTE-PAYLOAD": 0x927C,
}


def private_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS R6"
    exif[0x0132] = "2026:01:01 00:00:00"
    exif[0x013B] = "ARTIST Jane Patient"
    exif[0xC62F] = "SN-CAMERA-555"
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = "2026:03:01 10:22:05"
    ifd[0x829A] = 1 / 125
    ifd[0x829D] = 5.6
    ifd[0x8827] = 400
    ifd[0x920A] = 85.0
    ifd[0xA434] = "RF85mm F2 MACRO IS STM"
    ifd[0xA431] = "SN-BODY-123456"
    ifd[0xA435] = "SN-LENS-987654"
    ifd[0xA430] = "OWNER Dr Secret"
    ifd[0xA420] = "UNIQUE-ID-abcdef0123"
    ifd[0x927C] = b"MAKERNOTE-PAYLOAD"
    ifd[0x9286] = b"ASCII\0\0\0USERCOMMENT patient 42"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 29.0)
    gps[3] = "E"
    gps[4] = (2.0, 17.0, 40.0)
    return exif


def test_capture_info_keeps_only_whitelisted_fields(tmp_path):
    path = save(tmp_path / "p.jpg", upright_image(), "JPEG", exif=private_exif(), icc_profile=b"")
    raw = path.read_bytes()
    assert b"SN-BODY-123456" in raw and b"USERCOMMENT" in raw  # the file does carry them
    photo = load_photo(path)
    c = photo.capture
    assert c.datetime_original == "2026:03:01 10:22:05"
    assert (c.make, c.model, c.lens_model) == ("Canon", "EOS R6", "RF85mm F2 MACRO IS STM")
    assert c.exposure_time_s == pytest.approx(1 / 125)
    assert c.f_number == pytest.approx(5.6)
    assert c.iso == 400
    assert c.focal_length_mm == pytest.approx(85.0)
    text = repr(photo.capture) + repr(photo) + json.dumps(mio.to_jsonable(photo.capture))
    for secret in (
        "SN-BODY",
        "SN-LENS",
        "SN-CAMERA",
        "OWNER",
        "UNIQUE-ID",
        "ARTIST",
        "MAKERNOTE",
        "USERCOMMENT",
        "48.0",
        "51.0",
        "29.0",
        "Jane",
        "patient 42",
    ):
        assert secret not in text


def test_datetime_falls_back_to_ifd0(tmp_path):
    exif = Image.Exif()
    exif[0x0132] = "2025:12:24 08:00:00"
    photo = load_photo(save(tmp_path / "d.jpg", upright_image(), "JPEG", exif=exif))
    assert photo.capture.datetime_original == "2025:12:24 08:00:00"


def test_write_png_carries_no_metadata(tmp_path):
    src = save(
        tmp_path / "p.png",
        upright_image(),
        "PNG",
        exif=private_exif(),
        icc_profile=matrix_trc_icc(P3_D50, "P3"),
    )
    photo = load_photo(src)
    out = write_png(tmp_path / "out.png", photo.rgb)
    with Image.open(out) as im:
        assert "exif" not in im.info and "icc_profile" not in im.info
        assert not im.getexif()
        assert im.mode == "RGB" and im.size == (W, H)
        back = np.asarray(im)
    np.testing.assert_array_equal(back, np.rint(photo.rgb * 255).astype(np.uint8))
    assert b"SN-BODY" not in out.read_bytes()


# --------------------------------------------------------------------------------------------
# photo_from_array
# --------------------------------------------------------------------------------------------


def test_photo_from_array():
    a8 = upright_image()
    p8 = photo_from_array(a8, path="mem")
    assert p8.rgb.dtype == np.float32 and p8.rgb.flags.c_contiguous
    np.testing.assert_allclose(p8.rgb, a8 / 255, atol=1e-7)
    assert p8.original_size == (W, H) and p8.scale == 1.0 and p8.bit_depth == 8
    pf = photo_from_array(a8 / 255.0)
    assert pf.sha256 == p8.sha256  # same content -> same hash, whatever the input dtype
    assert photo_from_array(a8.reshape(W, H, 3)).sha256 != p8.sha256  # shape is hashed
    assert len(p8.sha256) == 64
    with pytest.raises(InvalidImage, match=r"shape \(4, 4\)"):
        photo_from_array(np.zeros((4, 4)))
    with pytest.raises(InvalidImage, match=r"\[0, 1\]"):
        photo_from_array(np.full((2, 2, 3), 1.5))
    with pytest.raises(InvalidImage, match="NaN"):
        photo_from_array(np.full((2, 2, 3), np.nan))
    with pytest.raises(InvalidImage, match="dtype int64"):
        photo_from_array(np.zeros((2, 2, 3), np.int64), path="p")


# --------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_refuses_existing_then_force(tmp_path):
    target = tmp_path / "r.txt"
    target.write_bytes(b"original")
    with pytest.raises(OutputExists) as info:
        atomic_write_bytes(target, b"new")
    assert str(info.value) == f"{target}: exists; use --force to overwrite"
    assert info.value.exit_code == 9
    assert target.read_bytes() == b"original"
    assert leftovers(tmp_path) == []
    atomic_write_bytes(target, b"new", force=True)
    assert target.read_bytes() == b"new"
    assert leftovers(tmp_path) == []
    assert atomic_write_bytes(tmp_path / "fresh.bin", b"\x00\x01") == tmp_path / "fresh.bin"


def test_atomic_write_cleans_up_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "r.bin"

    def failing_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mio.write.os, "fsync", failing_fsync)
    with pytest.raises(OutputError, match="No space left on device"):
        atomic_write_bytes(target, b"x" * 1000)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_missing_directory_and_dir_target(tmp_path):
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write_bytes(tmp_path / "no" / "such" / "f.txt", b"x")
    with pytest.raises(OutputExists, match="is a directory"):
        atomic_write_bytes(tmp_path, b"x", force=True)


def test_atomic_write_without_hard_links(tmp_path, monkeypatch):
    def no_link(src, dst):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(mio.write.os, "link", no_link)
    target = tmp_path / "a.txt"
    atomic_write_bytes(target, b"one")
    assert target.read_bytes() == b"one"
    with pytest.raises(OutputExists):
        atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"one" and leftovers(tmp_path) == []


@dataclass
class _Result:
    name: str
    value: float
    where: Path
    arr: np.ndarray


def test_write_json_converts_and_nulls_nonfinite(tmp_path):
    obj = {
        "result": _Result("redness", np.float32(0.25), Path("/a/b.jpg"), np.array([1.0, np.nan])),
        "ints": np.arange(3, dtype=np.int64),
        "pair": (1, 2),
        "inf": math.inf,
        "nested": [np.float64(-np.inf), {"ok": True, "n": np.int32(7)}],
        "set": {3, 1, 2},
        "b": np.bool_(True),
    }
    path = write_json(tmp_path / "r.json", obj)
    text = path.read_text("utf-8")
    assert "NaN" not in text and "Infinity" not in text
    back = json.loads(text)
    assert back == {
        "result": {"name": "redness", "value": 0.25, "where": "/a/b.jpg", "arr": [1.0, None]},
        "ints": [0, 1, 2],
        "pair": [1, 2],
        "inf": None,
        "nested": [None, {"ok": True, "n": 7}],
        "set": [1, 2, 3],
        "b": True,
    }
    assert list(back) == list(obj)  # key order kept
    assert text.startswith('{\n  "result"') and text.endswith("}\n")


def test_write_json_failure_leaves_nothing(tmp_path):
    target = tmp_path / "r.json"
    with pytest.raises(TypeError, match="cannot write object to JSON"):
        write_json(target, {"x": object()})
    assert list(tmp_path.iterdir()) == []
    target.write_text("{}")
    with pytest.raises(OutputExists):
        write_json(target, {"a": 1})
    assert target.read_text() == "{}"
    write_json(target, {"a": 1}, force=True)
    assert json.loads(target.read_text()) == {"a": 1}


def test_write_png_masks_and_validation(tmp_path):
    mask = np.zeros((5, 7), bool)
    mask[1:3, 2:5] = True
    with Image.open(write_png(tmp_path / "m.png", mask)) as im:
        assert im.mode == "L"
        np.testing.assert_array_equal(np.asarray(im), mask.astype(np.uint8) * 255)
    u8 = np.arange(35, dtype=np.uint8).reshape(5, 7)
    with Image.open(write_png(tmp_path / "u.png", u8)) as im:
        np.testing.assert_array_equal(np.asarray(im), u8)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        write_png(tmp_path / "bad.png", np.full((2, 2, 3), 2.0))
    with pytest.raises(ValueError, match="expected"):
        write_png(tmp_path / "bad.png", np.zeros((2, 2, 4)))
    with pytest.raises(OutputExists):
        write_png(tmp_path / "m.png", mask)
    assert not (tmp_path / "bad.png").exists() and leftovers(tmp_path) == []


def test_prepare_output_dir(tmp_path):
    out = tmp_path / "a" / "b"
    assert prepare_output_dir(out, ["r.json", "img/x.png"]) == out
    assert out.is_dir() and (out / "img").is_dir()
    (out / "r.json").write_text("old")
    (out / "img" / "x.png").write_text("old")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(OutputExists) as info:
        prepare_output_dir(out, ["new.json", "r.json", "img/x.png", "img2/y.png"])
    assert str(info.value) == f"{out / 'r.json'}: exists; use --force to overwrite (and 1 more)"
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # nothing created
    assert prepare_output_dir(out, ["r.json"], force=True) == out
    with pytest.raises(ValueError, match="relative"):
        prepare_output_dir(out, ["../escape.json"])
    f = tmp_path / "file"
    f.write_text("x")
    for force in (False, True):  # a file is never an output folder: exit 10, not 9
        with pytest.raises(OutputError, match="is a file, not a folder"):
            prepare_output_dir(f, ["a"], force=force)
    assert f.read_text() == "x"


def test_module_import_is_cheap():
    import subprocess
    import sys

    code = "import sys, mesovision.io; print('pillow_heif' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (FileNotFoundError(2, "No such file or directory"), "no such file"),
        (IsADirectoryError(21, "Is a directory"), "is a directory"),
        (PermissionError(13, "Permission denied"), "permission denied"),
        (OSError(5, "Input/output error"), "cannot read (Input/output error)"),
        (OSError(), "cannot read (OSError)"),
    ],
)
def test_os_reason_names_the_cause(exc, reason):
    assert mio.os_reason(exc) == reason


def test_package_reexports_every_public_name_of_its_modules():
    """``from mesovision.io import X`` works for every name the package lists, and it is the
    object its module defines."""
    from mesovision.io import folders, load, reasons, strip, write

    assert mio.load_photo is load.load_photo and mio.FORMATS is load.FORMATS
    assert mio.output_folder is folders.output_folder
    assert mio.strip_metadata is strip.strip_metadata and mio.write_png is write.write_png
    assert mio.os_reason is reasons.os_reason
    missing = [name for name in mio.__all__ if not hasattr(mio, name)]
    assert missing == []
    assert {"load_photo", "write_json", "to_jsonable", "sha256_file", "MIN_SIDE_PX"} <= set(
        mio.__all__
    )


# --- output_folder: all outputs or none ----------------------------------------------------------


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` (files with their bytes, folders and links as None)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
        for p in sorted(folder.rglob("*"))
    }


def test_output_folder_new_target_appears_whole(tmp_path):
    out = tmp_path / "a" / "out"
    with mio.output_folder(out, ["r.json", "img/x.png"]) as staging:
        assert not out.exists() and staging.parent == out.parent
        assert staging.name.startswith(".out.") and staging.name.endswith(".partial")
        mio.write_json(staging / "r.json", {"a": 1})
        mio.write_png(staging / "img" / "x.png", np.zeros((2, 2), bool))
    assert sorted(_tree(out)) == ["img", "img/x.png", "r.json"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


def test_output_folder_refuses_existing_without_force_and_touches_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "r.json").write_text("old")
    before = _tree(tmp_path)
    with pytest.raises(OutputExists, match="use --force"):
        with mio.output_folder(out, ["r.json", "x.png"]):
            raise AssertionError("the block must not run")
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_output_folder_failure_leaves_previous_outputs(tmp_path, exc):
    out = tmp_path / "out"
    out.mkdir()
    (out / "r.json").write_text("old")
    (out / "other.txt").write_text("not ours")
    before = _tree(tmp_path)
    with pytest.raises(type(exc)):
        with mio.output_folder(out, ["r.json", "x.png"], force=True) as staging:
            mio.write_json(staging / "r.json", {"new": True})
            raise exc
    assert _tree(tmp_path) == before


def test_output_folder_undeclared_name_fails_before_anything_moves(tmp_path):
    # A name problem found late (here: a file the command did not declare) moves nothing.
    out = tmp_path / "out"
    out.mkdir()
    (out / "r.json").write_text("old")
    before = _tree(tmp_path)
    with pytest.raises(OutputError, match="not declared"):
        with mio.output_folder(out, ["r.json"], force=True) as staging:
            mio.write_json(staging / "r.json", {"new": True})
            mio.write_json(staging / "extra.json", {})
    assert _tree(tmp_path) == before


def test_output_folder_force_replaces_each_file_by_rename(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "r.json").write_text("old")
    (out / "keep.txt").write_text("not an output")
    ino = (out / "r.json").stat().st_ino
    with mio.output_folder(out, ["r.json", "x.json"], force=True) as staging:
        assert staging.parent == out  # an existing target stages inside itself
        mio.write_json(staging / "r.json", {"new": True})
        mio.write_json(staging / "x.json", {})
    assert json.loads((out / "r.json").read_text()) == {"new": True}
    assert (out / "r.json").stat().st_ino != ino
    assert sorted(_tree(out)) == ["keep.txt", "r.json", "x.json"]


def test_output_folder_removes_only_our_leftovers(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "r.json").write_text("old")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("x")
    # Left by a SIGKILL'd run: staging folders beside and inside, a temporary file.
    for d in (tmp_path / ".out.abcd_123.partial", out / ".out.zz99zz99.partial"):
        d.mkdir()
        (d / "r.json").write_text("partial")
    (out / ".r.json.q1w2e3r4.tmp").write_text("partial")
    # Not ours: other names, another target's staging, links matching our patterns.
    keep = [
        tmp_path / ".other.abcd1234.partial",
        tmp_path / ".out.toolongname.partial",
        out / ".notes.txt.abcd1234.tmp",
        out / ".r.json.keep",
    ]
    for k in keep:
        k.mkdir() if k.name.endswith(".partial") else k.write_text("x")
    (tmp_path / ".out.lnk12345.partial").symlink_to(outside, target_is_directory=True)
    (out / ".r.json.lnk12345.tmp").symlink_to(outside / "precious")
    with mio.output_folder(out, ["r.json"], force=True) as staging:
        mio.write_json(staging / "r.json", {})
    assert not (tmp_path / ".out.abcd_123.partial").exists()
    assert not (out / ".out.zz99zz99.partial").exists()
    assert not (out / ".r.json.q1w2e3r4.tmp").exists()
    assert all(k.exists() for k in keep)
    assert (tmp_path / ".out.lnk12345.partial").is_symlink()
    assert (out / ".r.json.lnk12345.tmp").is_symlink()
    assert (outside / "precious").read_text() == "x"


def test_output_folder_leaves_a_running_staging_folder(tmp_path):
    # Two runs into one target: the second does not remove the first one's (locked) staging.
    out = tmp_path / "out"
    with mio.output_folder(out, ["a.json"]) as first:
        with mio.output_folder(out, ["b.json"]) as second:
            assert first.exists()
            mio.write_json(second / "b.json", {})
        assert first.exists()
        mio.write_json(first / "a.json", {})
    assert sorted(_tree(out)) == ["a.json", "b.json"]


# --- images too narrow to measure ---------------------------------------------------------------


@pytest.mark.parametrize("size", [(1, 300), (300, 1), (1, 1), (31, 500)])
def test_too_narrow_image_is_refused(tmp_path, size):
    p = tmp_path / "n.png"
    Image.new("RGB", size, (90, 60, 50)).save(p)
    w, h = size
    with pytest.raises(InvalidImage, match=rf"image too narrow \({w} x {h} px; at least 32 px"):
        load_photo(p)


def test_too_narrow_once_reduced_to_max_side(tmp_path):
    p = tmp_path / "strip.png"
    Image.new("RGB", (40, 4000), (90, 60, 50)).save(p)
    with pytest.raises(InvalidImage, match=r"image too narrow \(40 x 4000 px, about 20 px"):
        load_photo(p, max_side=2048)
    assert load_photo(p, max_side=None).rgb.shape == (4000, 40, 3)
    assert load_photo(tmp_path / "strip.png", max_side=3200).rgb.shape[1] == 32


# --------------------------------------------------------------------------------------------
# colour: a photo without colour is recorded at load
# --------------------------------------------------------------------------------------------

SAMPLE = Path(__file__).resolve().parents[2] / "sample_images" / "grace_hopper" / "before.jpg"


def test_chroma_statistic_is_the_99th_percentile_of_c_ab():
    from mesovision.color import rgb_to_lab

    c = np.array([200, 150, 120], np.uint8)
    lab = rgb_to_lab(c[None, None] / 255.0)[0, 0]
    flat = np.broadcast_to(c / 255.0, (40, 60, 3))
    assert mio.chroma_p99(flat) == pytest.approx(math.hypot(lab[1], lab[2]), abs=0.05)
    assert mio.chroma_p99(flat) == pytest.approx(27.57, abs=0.05)
    # 2 % of colour over grey is above the 99th percentile, 0.5 % is not
    grey = np.full((100, 100, 3), 0.5, np.float32)
    two, half = grey.copy(), grey.copy()
    two[:2] = c / 255.0
    half[:1, :50] = c / 255.0
    assert mio.chroma_p99(two) == pytest.approx(27.57, abs=0.05)
    assert mio.chroma_p99(half) < 0.5
    assert mio.is_grayscale(mio.chroma_p99(half)) and not mio.is_grayscale(27.57)
    assert mio.is_grayscale(mio.GRAYSCALE_MAX_CHROMA) and not mio.is_grayscale(4.01)


def test_a_colour_photo_and_its_grey_copies(tmp_path):
    """A real colour photo reads far above the limit; its grayscale copies (a grayscale JPEG,
    an RGB JPEG of equal channels re-compressed, an RGB PNG of equal channels, an array of
    equal channels) far below it, and are recorded as grayscale."""
    photo = load_photo(SAMPLE)
    assert photo.capture.chroma_p99 == pytest.approx(64.05, abs=0.05)
    assert not photo.capture.grayscale
    grey = Image.open(SAMPLE).convert("L")
    grey.save(tmp_path / "l.jpg", quality=90)
    grey.convert("RGB").save(tmp_path / "rgb50.jpg", quality=50)
    Image.open(tmp_path / "rgb50.jpg").save(tmp_path / "rgb30.jpg", quality=30, subsampling=2)
    grey.convert("RGB").save(tmp_path / "rgb.png")
    with Image.open(tmp_path / "rgb.png") as im:
        assert im.mode == "RGB"
    for name in ("l.jpg", "rgb30.jpg", "rgb.png"):
        c = load_photo(tmp_path / name).capture
        assert c.grayscale and c.chroma_p99 < 0.2, (name, c)
    arr = photo_from_array(np.repeat(np.asarray(grey)[:, :, None], 3, axis=2))
    assert arr.capture.grayscale and arr.capture.chroma_p99 < 0.2
    assert not photo_from_array(photo.rgb).capture.grayscale


# --- camera raw files: refused, not read as their preview -----------------------------------


def _raw_tiff(path: Path, *, dng: bool, preview_first: bool = True) -> Path:
    """A TIFF laid out as a camera raw: a 64 x 48 RGB preview (NewSubFileType 1) whose
    sub-directory holds a 1-channel 16-bit CFA mosaic (DNG with tag 50706, else as NEF/ARW)."""
    tifffile = pytest.importorskip("tifffile")
    preview = np.full((48, 64, 3), (200, 150, 120), np.uint8)
    mosaic = np.full((96, 128), 4000, np.uint16)
    extra = [(50706, "B", 4, (1, 4, 0, 0), True)] if dng else []
    with tifffile.TiffWriter(path) as tw:
        first, sub = (preview, mosaic) if preview_first else (mosaic, preview)
        tw.write(first, subfiletype=1 if preview_first else 0, subifds=1, extratags=extra)
        tw.write(sub, subfiletype=0 if preview_first else 1)
    return path


@pytest.mark.parametrize(("dng", "kind"), [(True, "DNG raw"), (False, "camera raw")])
def test_a_tiff_based_raw_is_refused_not_read_as_its_preview(tmp_path, dng, kind):
    path = _raw_tiff(tmp_path / ("IMG_0001.dng" if dng else "DSC_0001.nef"), dng=dng)
    with Image.open(path) as im:  # what Pillow alone would measure: the preview
        assert im.size == (64, 48)
    with pytest.raises(InvalidImage) as info:
        load_photo(path)
    assert info.value.message == (
        f"unsupported format ({kind} photo): export it as JPEG or TIFF from the raw converter"
    )
    assert info.value.exit_code == 4


def test_a_tiff_whose_first_image_is_full_size_still_loads(tmp_path):
    """A pyramid TIFF (full image first, reductions in sub-directories) is not a raw file."""
    path = _raw_tiff(tmp_path / "scan.tif", dng=False, preview_first=False)
    assert load_photo(path).original_size == (128, 96)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"II*\x00\x10\x00\x00\x00CR\x02\x00", "Canon CR2 raw"),
        (b"IIRO\x08\x00\x00\x00", "Olympus ORF raw"),
        (b"IIU\x00\x08\x00\x00\x00", "Panasonic RW2 raw"),
        (b"FUJIFILMCCD-RAW 0201", "Fujifilm RAF raw"),
        (b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01", "Canon CR3 raw"),
    ],
)
def test_raw_files_pillow_cannot_open_are_named(tmp_path, head, kind):
    path = tmp_path / "IMG_0001.raw"
    path.write_bytes(head + bytes(200))
    with pytest.raises(InvalidImage) as info:
        load_photo(path)
    assert info.value.message.startswith(f"unsupported format ({kind} photo): export it as")
