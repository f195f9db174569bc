"""``benchmarks/_melanin.small_photo``: a photo made small and dark as the 150-px crops of
``../shared/faces`` are, for ``bruise.py --shrink-iod``."""

from __future__ import annotations

import io
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

sys.path.insert(0, str(REPO / "benchmarks"))

import _melanin  # noqa: E402


def _photo():
    """400 x 300 px: flat skin, one dark column 20 px wide (a shadow) at columns 100-119."""
    rgb = np.empty((300, 400, 3), np.float32)
    rgb[:] = (0.8, 0.6, 0.5)
    rgb[:, 100:120] = (0.2, 0.15, 0.12)
    return rgb


def test_the_photo_is_reduced_to_the_eyes_distance_asked_and_read_back_as_a_jpeg():
    lm = SimpleNamespace(interocular_px=200.0)
    out = _melanin.small_photo(_photo(), lm, 0.0, 50.0)  # 0.25 x
    assert out.shape == (75, 100, 3) and out.dtype == np.float32
    # decoded 8-bit values
    assert np.allclose(out * 255, np.round(out * 255), atol=1e-3)
    # area-averaged: the 20-px column is 5 px wide, flat skin stays within JPEG's steps
    assert out[30, 27:29].max() < 0.25
    assert np.abs(out[30, 60] - (0.8, 0.6, 0.5)).max() < 0.03


def test_a_small_photo_is_not_enlarged_and_is_encoded_as_the_crops_are(monkeypatch):
    saved = {}
    real = Image.Image.save

    def save(self, fp, format=None, **params):
        saved.update(params, format=format)
        return real(self, fp, format, **params)

    monkeypatch.setattr(Image.Image, "save", save)
    lm = SimpleNamespace(interocular_px=40.0)
    out = _melanin.small_photo(_photo(), lm, 0.0, 50.0)
    assert out.shape == (300, 400, 3)
    assert saved == {"format": "JPEG", "quality": _melanin.SMALL_JPEG_QUALITY, "subsampling": 2}
    # quality 93: the crops' quantization (mean luma step 8.1, chroma 12.2)
    buf = io.BytesIO()
    real(Image.new("RGB", (16, 16)), buf, "JPEG", quality=_melanin.SMALL_JPEG_QUALITY)
    tables = Image.open(io.BytesIO(buf.getvalue())).quantization
    assert np.mean(tables[0]) == pytest.approx(8.1, abs=1.0)
    assert np.mean(tables[1]) == pytest.approx(12.2, abs=1.5)


def test_the_skin_is_darkened_before_the_photo_is_reduced(monkeypatch):
    face = np.zeros((300, 400), bool)
    face[50:250, 150:350] = True
    monkeypatch.setattr(
        "mesovision.regions.region_masks", lambda lm, shape, rgb=None: {"face": face}
    )
    lm = SimpleNamespace(interocular_px=100.0)
    light = _melanin.small_photo(_photo(), lm, 0.0, 50.0)
    dark = _melanin.small_photo(_photo(), lm, 0.6, 50.0)
    # inside the face (rows 25-124, cols 75-174 at half size) the skin is darker, red least
    inside = (slice(50, 100), slice(100, 160))
    ratio = dark[inside].mean(axis=(0, 1)) / light[inside].mean(axis=(0, 1))
    assert (ratio < 0.9).all() and ratio[0] > ratio[2]
    # far outside the grown face region it is not
    assert np.abs(dark[5:15, 5:40] - light[5:15, 5:40]).max() < 0.02
