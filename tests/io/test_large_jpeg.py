"""Photos over the pixel limit: a JPEG is read when the pixels it is decoded at (1/2, 1/4 or 1/8
of its size, for the working copy) fit under the limit, and its declared size is bounded (4x the
limit); formats that decode in full keep the limit on the file. The refusal says what to do in a
clinic's words. Fast with a small ``max_pixels``; one real 108 MP photo through the CLI, with its
peak memory."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO, SAMPLES
from PIL import Image

from mesovision.errors import InvalidImage
from mesovision.io import load_photo
from mesovision.io.limits import JPEG_DECLARED_FACTOR, jpeg_decoded_size


def _photo(size: tuple[int, int]) -> Image.Image:
    """A sample face pasted, upright, on a skin-coloured canvas of ``size``."""
    from PIL import ImageOps

    w, h = size
    canvas = Image.new("RGB", size, (200, 190, 180))
    with Image.open(SAMPLES / "astronaut" / "before.jpg") as im:
        face = ImageOps.exif_transpose(im).convert("RGB")
    face = face.resize((round(h * face.width / face.height), h))
    canvas.paste(face, ((w - face.width) // 2, 0))
    return canvas


def test_the_decoded_size_is_pillows_draft():
    cases = (((1600, 1200), (256, 192)), ((4032, 3024), (1000, 750)), ((999, 777), (500, 389)))
    for size, target in cases:
        with Image.open(_jpeg(size)) as im:
            im.draft(None, target)
            assert jpeg_decoded_size(*size, target) == im.size


def _jpeg(size, **kw) -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", size, (180, 150, 130)).save(buf, "JPEG", **kw)
    buf.seek(0)
    return buf


def test_a_jpeg_over_the_limit_is_read_reduced(tmp_path):
    path = tmp_path / "big.jpg"
    _photo((1600, 1200)).save(path, quality=90)  # 1.92 MP, limit 1 MP
    photo = load_photo(path, max_side=256, max_pixels=1_000_000)
    assert photo.original_size == (1600, 1200) and photo.size == (256, 192)
    ref = load_photo(path, max_side=256)  # the default limit: the same working copy
    assert np.array_equal(photo.rgb, ref.rgb)
    # decoded in full (no working size, or one too large to reduce the decode): refused
    for side in (None, 1600):
        with pytest.raises(InvalidImage) as info:
            load_photo(path, max_side=side, max_pixels=1_000_000)
        assert str(info.value) == (
            f"{path}: photo of 2 MP (1600 x 1200 px); at most 1 MP decoded at this working "
            "size: export the photo smaller, or lower max_side (--max-side)"
        )


def test_a_png_over_the_limit_is_refused_in_a_clinics_words(tmp_path):
    path = tmp_path / "big.png"
    _photo((1600, 1200)).save(path)
    with pytest.raises(InvalidImage) as info:
        load_photo(path, max_side=256, max_pixels=1_000_000)
    assert str(info.value) == (
        f"{path}: photo of 2 MP (1600 x 1200 px); at most 1 MP: export the photo smaller"
    )


def _declaring(width: int, height: int, *, progressive: bool = False) -> bytes:
    """A small JPEG whose frame header declares ``width`` x ``height``."""
    data = bytearray(_jpeg((64, 48), progressive=progressive).getvalue())
    i = data.find(b"\xff\xc2" if progressive else b"\xff\xc0")
    data[i + 5 : i + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize("progressive", [False, True])
def test_a_jpeg_declaring_a_huge_size_is_refused_from_its_header(tmp_path, progressive):
    """The declared size stays bounded: 4x the limit (240 MP at the default), checked before any
    pixel is decoded (Pillow's own bomb check, 179 MP, does not apply to a JPEG)."""
    assert JPEG_DECLARED_FACTOR == 4
    path = tmp_path / "bomb.jpg"
    path.write_bytes(_declaring(65535, 65535, progressive=progressive))
    t0 = time.perf_counter()
    with pytest.raises(InvalidImage) as info:
        load_photo(path)
    assert time.perf_counter() - t0 < 1.0
    assert str(info.value) == (
        f"{path}: photo of 4295 MP (65535 x 65535 px); at most 240 MP for a JPEG: set the camera "
        "to 12-50 MP or export the photo smaller"
    )
    path.write_bytes(_declaring(1100, 1000))  # 1.1 MP: over 4 x 0.25 MP
    with pytest.raises(InvalidImage, match=r"at most 1 MP for a JPEG: export the photo smaller"):
        load_photo(path, max_side=128, max_pixels=250_000)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("time") is None, reason="needs /usr/bin/time")
def test_a_108_mp_phone_photo_is_checked_within_300_mb(tmp_path):
    """12000 x 9000 px (the 108 MP mode of Samsung phones): checked at 1/4 size (3000 x 2250
    decoded for the 2048-px working copy); measured 258 MB peak, 2.9 s."""
    path = tmp_path / "huge.jpg"
    _photo((12000, 9000)).save(path, quality=90)
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "maxrss %M", sys.executable, "-m", "mesovision", "check", path],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "face_size " not in proc.stdout  # the face is found, large enough
    rss_kb = int(proc.stderr.rsplit("maxrss ", 1)[1].split()[0])
    assert rss_kb < 350_000, rss_kb
